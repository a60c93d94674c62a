/*
 * handle_metadata.c — Metadata (key 3), versions 0..8.
 *
 * v0 asks for every topic with an empty list; v1+ with a null list.  The
 * controller id is never -1: admin clients send CreateTopics there.
 *
 * A request that auto-creates topics (v0-3 always may, v4+ when it says so) asks
 * the active controller to create them and waits, up to `auto_create_wait_ms`,
 * until they are in the committed image with their leaders; without an active
 * controller yet (a quorum still electing) the ask is made once there is one.
 * Kafka answers LEADER_NOT_AVAILABLE at once and lets the client ask again after
 * its retry backoff (librdkafka: a second); Redpanda waits like this.  At the
 * deadline the answer is Kafka's.
 */
#include "broker_internal.h"
#include "controller.h"
#include "kafka_errors.gen.h"
#include "offsets_topic.h"

#include <string.h>

typedef kafka_metadata_response_metadata_response_topic md_topic;
typedef kafka_metadata_response_metadata_response_partition md_partition;

static void fill_partition(md_partition *out, const broker_partition *p) {
    kafka_metadata_response_metadata_response_partition_init(out);
    out->partition_index = p->index;
    out->leader_id = p->leader;
    out->leader_epoch = p->leader_epoch;
    out->replica_nodes = (int32_t *)p->replicas;
    out->replica_nodes_count = p->replica_count;
    out->isr_nodes = (int32_t *)p->isr;
    out->isr_nodes_count = p->isr_count;
    out->offline_replicas_count = 0;
    if (p->leader < 0) out->error_code = KAFKA_ERROR_LEADER_NOT_AVAILABLE;
}

static void fill_topic(md_topic *out, broker_topic *t, arena *a) {
    kafka_metadata_response_metadata_response_topic_init(out);
    out->name = kafka_str_c(t->name);
    out->is_internal = (uint8_t)offsets_topic_is_internal(t->name);
    memcpy(out->topic_id, t->id, 16);
    out->partitions = arena_alloc(a, (size_t)t->partition_count * sizeof *out->partitions);
    out->partitions_count = t->partition_count;
    for (int32_t p = 0; p < t->partition_count; p++)
        fill_partition(&out->partitions[p], &t->partitions[p]);
}

/* Live brokers only, as Kafka lists them; every configured broker before the
 * first registration is known, so that clients can bootstrap. */
static int listed(const broker *b, int32_t id) {
    if (!broker_quorum_enabled(b)) return 1;
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        if (metadata_image_broker_alive(&b->image, b->cfg.nodes[i].node_id))
            return metadata_image_broker_alive(&b->image, id);
    return 1;
}

static void fill_brokers(broker *b, kafka_metadata_response *resp, arena *a) {
    resp->brokers_count = 0;
    resp->brokers = arena_alloc(a, (size_t)b->cfg.node_count * sizeof *resp->brokers);
    for (int32_t i = 0; i < b->cfg.node_count; i++) {
        if (!listed(b, b->cfg.nodes[i].node_id)) continue;
        kafka_metadata_response_metadata_response_broker *mb =
            &resp->brokers[resp->brokers_count++];
        kafka_metadata_response_metadata_response_broker_init(mb);
        mb->node_id = b->cfg.nodes[i].node_id;
        mb->host = kafka_str_c(b->cfg.nodes[i].host);
        mb->port = b->cfg.nodes[i].port;
    }
}

/* Whether the request may wait for the topics it creates: while the deadline set
 * when it first arrived has not passed. */
static int may_wait(broker *b, broker_conn *c) {
    if (b->cfg.auto_create_wait_ms <= 0) return 0;
    int64_t now = broker_env_now_us(&b->env);
    int retry = c->parked_frame != NULL; /* served again from its parked copy */
    if (!retry) c->parked_deadline_us = now + b->cfg.auto_create_wait_ms * 1000;
    return now < c->parked_deadline_us;
}

int broker_handle_metadata(broker *b, broker_conn *c, const broker_request *req) {
    kafka_metadata_request body;
    kafka_metadata_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_metadata_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    int all = body.topics_count < 0 || (req->api_version == 0 && body.topics_count == 0);
    int creating = 0;

    kafka_metadata_response resp;
    kafka_metadata_response_init(&resp);
    fill_brokers(b, &resp, &c->arena);
    resp.cluster_id = kafka_str_c(b->cfg.cluster_id);
    resp.controller_id = broker_controller_id(b);
    int32_t n = all ? b->topic_count : body.topics_count;
    resp.topics = arena_alloc(&c->arena, (size_t)(n > 0 ? n : 1) * sizeof *resp.topics);
    int32_t k = 0; /* answered topics: all of them but deleted ones, or one per name asked */
    for (int32_t i = 0; i < n; i++) {
        if (all) {
            if (!broker_topic_deleted(&b->topics[i]))
                fill_topic(&resp.topics[k++], &b->topics[i], &c->arena);
            continue;
        }
        md_topic *out = &resp.topics[k++];
        broker_topic *t = broker_topic_find(b, body.topics[i].name);
        if (t) {
            fill_topic(out, t, &c->arena);
            continue;
        }
        kafka_metadata_response_metadata_response_topic_init(out);
        out->name = body.topics[i].name;
        out->error_code = KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION;
        int allowed = req->api_version < 4 || body.allow_auto_topic_creation;
        if (!b->cfg.auto_create_topics || !allowed || !broker_quorum_enabled(b)) continue;
        if (!controller_topic_name_valid(body.topics[i].name)) {
            out->error_code = KAFKA_ERROR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        broker_quorum_request_topic(b, body.topics[i].name); /* created by the controller */
        out->error_code = KAFKA_ERROR_LEADER_NOT_AVAILABLE;
        creating = 1;
    }
    resp.topics_count = k;
    if (creating && may_wait(b, c)) {
        broker_park_metadata(b, c);
        return 1;
    }
    broker_response_begin(b, req);
    kafka_metadata_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
