/* sim_consumer.c — the consumer's reading half: positions, ListOffsets, Fetch (with an
 * incremental fetch session per broker, as Java's consumer, core/fetch_session.h).
 * The group protocol lives in sim_consumer_group.c. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "record_batch.h"
#include "sim_consumer_internal.h"

#define FETCH_VERSION 11
#define LIST_OFFSETS_VERSION 2
#define FETCH_MAX_WAIT_MS 500
#define FETCH_MAX_BYTES (50 * 1024 * 1024)
#define FETCH_PARTITION_MAX_BYTES (1024 * 1024)
/* Tags: the request kind in the low byte, the assignment epoch above it, so an
 * answer to a request sent before a revoke is recognised and dropped. */
#define TAG_FETCH 1
#define TAG_LIST_OFFSETS 2
#define TAG_KIND(tag) ((tag)&0xff)
#define TAG_EPOCH(tag) ((uint32_t)((tag) >> 8))

static uint64_t tag_of(const sim_consumer *c, uint64_t kind) {
    return kind | (uint64_t)c->assignment_epoch << 8;
}

static int32_t leader_of(const sim_consumer *c, const assigned_partition *a) {
    const sim_client_topic *t = &c->client.topics[a->topic];
    if (a->partition >= t->partition_count) return -1;
    return t->partitions[a->partition].leader;
}

/* ---- requests ------------------------------------------------------------------------- */

static void encode_list_offsets(const void *body, wire_writer *w, int16_t version) {
    kafka_list_offsets_request_encode(body, w, version);
}
static void encode_fetch(const void *body, wire_writer *w, int16_t version) {
    kafka_fetch_request_encode(body, w, version);
}

void consumer_pick(const sim_consumer *c, int32_t node, enum position_state state, int64_t now,
                   int32_t topic, partition_pick *out) {
    out->count = 0;
    for (int32_t i = 0; i < c->assigned_count; i++) {
        const assigned_partition *a = &c->assigned[i];
        if (a->topic == topic && a->state == state && a->retry_at_us <= now &&
            (node < 0 || leader_of(c, a) == node))
            out->index[out->count++] = i;
    }
}

static void send_list_offsets(sim_consumer *c, int32_t node, int64_t now) {
    if (c->list_inflight[node]) return;
    int32_t unknown = 0; /* usually none: every position is known */
    for (int32_t i = 0; i < c->assigned_count; i++)
        unknown += c->assigned[i].state == POSITION_UNKNOWN;
    if (unknown == 0) return;
    kafka_list_offsets_request_list_offsets_partition parts[CONSUMER_ASSIGNED_MAX];
    kafka_list_offsets_request_list_offsets_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t n = 0, topic_n = 0;
    for (int32_t t = 0; t < c->client.topic_count; t++) {
        partition_pick p;
        consumer_pick(c, node, POSITION_UNKNOWN, now, t, &p);
        if (p.count == 0) continue;
        for (int32_t k = 0; k < p.count; k++) {
            kafka_list_offsets_request_list_offsets_partition_init(&parts[n + k]);
            parts[n + k].partition_index = c->assigned[p.index[k]].partition;
            parts[n + k].timestamp =
                c->group.auto_offset_reset == SCENARIO_RESET_EARLIEST ? -2 : -1;
        }
        kafka_list_offsets_request_list_offsets_topic_init(&topics[topic_n]);
        topics[topic_n].name = kafka_str_c(c->client.topics[t].name);
        topics[topic_n].partitions = &parts[n];
        topics[topic_n].partitions_count = p.count;
        topic_n++;
        n += p.count;
    }
    if (topic_n == 0) return;
    kafka_list_offsets_request req;
    kafka_list_offsets_request_init(&req);
    req.replica_id = -1;
    req.topics = topics;
    req.topics_count = topic_n;
    if (sim_client_send(&c->client, node, KAFKA_API_LIST_OFFSETS, LIST_OFFSETS_VERSION, &req,
                        encode_list_offsets, tag_of(c, TAG_LIST_OFFSETS), 1) != 0)
        return;
    c->list_inflight[node] = 1;
    for (int32_t i = 0; i < c->assigned_count; i++) {
        assigned_partition *a = &c->assigned[i];
        if (a->state == POSITION_UNKNOWN && a->retry_at_us <= now && leader_of(c, a) == node)
            a->state = POSITION_RESETTING;
    }
}

static void send_fetch(sim_consumer *c, int32_t node, int64_t now) {
    if (c->fetch_inflight[node]) return;
    kafka_fetch_request_fetch_partition parts[CONSUMER_ASSIGNED_MAX];
    kafka_fetch_request_fetch_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t n = 0, topic_n = 0;
    for (int32_t t = 0; t < c->client.topic_count; t++) {
        partition_pick p;
        consumer_pick(c, node, POSITION_VALID, now, t, &p);
        if (p.count == 0) continue;
        for (int32_t k = 0; k < p.count; k++) {
            kafka_fetch_request_fetch_partition *fp = &parts[n + k];
            kafka_fetch_request_fetch_partition_init(fp);
            fp->partition = c->assigned[p.index[k]].partition;
            fp->current_leader_epoch = -1;
            fp->fetch_offset = c->assigned[p.index[k]].position;
            fp->log_start_offset = -1;
            fp->partition_max_bytes = FETCH_PARTITION_MAX_BYTES;
        }
        kafka_fetch_request_fetch_topic_init(&topics[topic_n]);
        topics[topic_n].topic = kafka_str_c(c->client.topics[t].name);
        topics[topic_n].partitions = &parts[n];
        topics[topic_n].partitions_count = p.count;
        topic_n++;
        n += p.count;
    }
    if (topic_n == 0) return;
    kafka_fetch_request req;
    kafka_fetch_request_init(&req);
    req.replica_id = -1;
    req.max_wait_ms = FETCH_MAX_WAIT_MS;
    req.min_bytes = 1;
    req.max_bytes = FETCH_MAX_BYTES;
    req.isolation_level = 0;
    req.topics = topics;
    req.topics_count = topic_n;
    req.rack_id = kafka_str_c("");
    fetch_session_handler *h = &c->fetch_sessions[node];
    fetch_session_handler_build(h, &req); /* only what changed, once a session is open */
    if (sim_client_send(&c->client, node, KAFKA_API_FETCH, FETCH_VERSION, &req, encode_fetch,
                        tag_of(c, TAG_FETCH), 1) != 0) {
        fetch_session_handler_failed(h); /* the session never saw it */
        return;
    }
    c->fetch_inflight[node] = 1;
}

static void pump(sim_consumer *c) {
    consumer_group_step(c);
    int64_t now = consumer_now_us(c);
    for (int32_t b = 1; b <= c->client.broker_count; b++) {
        send_list_offsets(c, b, now);
        send_fetch(c, b, now);
    }
}

/* ---- responses ------------------------------------------------------------------------------ */

assigned_partition *consumer_find_assigned(sim_consumer *c, kafka_str topic, int32_t partition) {
    for (int32_t i = 0; i < c->assigned_count; i++) {
        assigned_partition *a = &c->assigned[i];
        if (a->partition == partition && kafka_str_eq(topic, c->client.topics[a->topic].name))
            return a;
    }
    return NULL;
}

static void partition_error(sim_consumer *c, assigned_partition *a, int16_t error) {
    a->retry_at_us = consumer_now_us(c) + CONSUMER_RETRY_BACKOFF_US;
    if (error == KAFKA_ERROR_OFFSET_OUT_OF_RANGE)
        a->state = POSITION_UNKNOWN;
    else
        sim_client_refresh_metadata(&c->client);
}

static void on_list_offsets(sim_consumer *c, int32_t node, wire_reader *r) {
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    arena_reset(&c->client.scratch);
    int ok = r && kafka_list_offsets_response_decode(&resp, r, LIST_OFFSETS_VERSION,
                                                     &c->client.scratch) == 0;
    for (int32_t t = 0; ok && t < resp.topics_count; t++)
        for (int32_t k = 0; k < resp.topics[t].partitions_count; k++) {
            kafka_list_offsets_response_list_offsets_partition_response *pr =
                &resp.topics[t].partitions[k];
            assigned_partition *a =
                consumer_find_assigned(c, resp.topics[t].name, pr->partition_index);
            if (!a || a->state != POSITION_RESETTING) continue;
            if (pr->error_code != KAFKA_ERROR_NONE) {
                a->state = POSITION_UNKNOWN;
                partition_error(c, a, pr->error_code);
                continue;
            }
            a->position = pr->offset;
            a->state = POSITION_VALID;
        }
    for (int32_t i = 0; i < c->assigned_count; i++) /* anything unanswered starts over */
        if (c->assigned[i].state == POSITION_RESETTING && leader_of(c, &c->assigned[i]) == node) {
            c->assigned[i].state = POSITION_UNKNOWN;
            c->assigned[i].retry_at_us = consumer_now_us(c) + CONSUMER_RETRY_BACKOFF_US;
        }
}

typedef struct consume_ctx {
    sim_consumer *c;
    assigned_partition *a;
} consume_ctx;

static int consume_batch(void *arg, const uint8_t *batch, size_t len) {
    consume_ctx *ctx = arg;
    assigned_partition *a = ctx->a;
    /* Java's consumer (check.crcs) checks each batch as ensureValid does; records
     * are parsed only as they are read */
    if (!record_batch_crc_valid(batch, len)) return 1;
    int64_t last = record_batch_last_offset(batch);
    if (last < a->position) return 0;
    int64_t first = record_batch_base_offset(batch);
    if (first < a->position) first = a->position;
    observe_event ev = {.kind = OBSERVE_CONSUME,
                        .node = ctx->c->node_id,
                        .topic = ctx->c->client.topics[a->topic].name,
                        .partition = a->partition,
                        .leader_epoch = ctx->c->owned_generation,
                        .offset = first,
                        .offset_last = last,
                        .batch = batch,
                        .batch_len = len,
                        .count = (int32_t)(last - first + 1),
                        .detail = ctx->c->group.name};
    ctx->c->env->observe(ctx->c->env->ctx, &ev);
    ctx->c->stats.records += last - first + 1;
    ctx->c->stats.batches++;
    a->position = last + 1;
    return 0;
}

/* The session takes every answer, even one for an assignment given up since
 * (`current` 0); partitions an incremental response leaves out had nothing new. */
static void on_fetch(sim_consumer *c, int32_t node, int current, wire_reader *r) {
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    arena_reset(&c->client.scratch);
    fetch_session_handler *h = &c->fetch_sessions[node];
    if (!r || kafka_fetch_response_decode(&resp, r, FETCH_VERSION, &c->client.scratch) != 0) {
        fetch_session_handler_failed(h);
        if (current) sim_client_refresh_metadata(&c->client);
        return;
    }
    if (!fetch_session_handler_response(h, &resp) || !current) return;
    for (int32_t t = 0; t < resp.responses_count; t++)
        for (int32_t k = 0; k < resp.responses[t].partitions_count; k++) {
            kafka_fetch_response_partition_data *pd = &resp.responses[t].partitions[k];
            assigned_partition *a =
                consumer_find_assigned(c, resp.responses[t].topic, pd->partition_index);
            if (!a || a->state != POSITION_VALID) continue;
            if (pd->error_code != KAFKA_ERROR_NONE) {
                partition_error(c, a, pd->error_code);
                continue;
            }
            if (pd->records.len <= 0) continue;
            consume_ctx ctx = {c, a};
            record_batch_split(pd->records.ptr, (size_t)pd->records.len, consume_batch, &ctx);
        }
}

static void on_response(sim_client *client, void *owner, int32_t node, int16_t api_key,
                        int16_t api_version, uint64_t tag, wire_reader *r) {
    sim_consumer *c = owner;
    (void)client;
    (void)api_version;
    if (consumer_group_on_response(c, api_key, tag, r)) return;
    int current = TAG_EPOCH(tag) == c->assignment_epoch;
    if (api_key == KAFKA_API_FETCH && TAG_KIND(tag) == TAG_FETCH) {
        c->fetch_inflight[node] = 0;
        on_fetch(c, node, current, r);
    }
    if (api_key == KAFKA_API_LIST_OFFSETS && TAG_KIND(tag) == TAG_LIST_OFFSETS) {
        c->list_inflight[node] = 0;
        if (current) on_list_offsets(c, node, r);
    }
}

/* ---- node callbacks ----------------------------------------------------------------------------
 */

sim_consumer *sim_consumer_create(const broker_env *env, int32_t node_id,
                                  const scenario_group *group, int32_t member_number,
                                  int32_t broker_count) {
    assert(member_number >= 1);
    assert(group->topic_count <= SIM_CLIENT_TOPICS_MAX);
    sim_consumer *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->env = env;
    c->group = *group;
    c->node_id = node_id;
    c->generation = -1;
    c->owned_generation = -1;
    char client_id[96];
    snprintf(client_id, sizeof client_id, "%s-%d", group->name, (int)member_number);
    sim_client_init(&c->client, env, node_id, client_id, broker_count, c, on_response);
    for (int32_t i = 0; i <= SIM_CLIENT_BROKERS_MAX; i++)
        fetch_session_handler_init(&c->fetch_sessions[i]);
    for (int32_t t = 0; t < group->topic_count; t++)
        sim_client_want_topic(&c->client, group->topics[t]);
    return c;
}

void sim_consumer_destroy(sim_consumer *c) {
    if (!c) return;
    sim_client_deinit(&c->client);
    for (int32_t i = 0; i <= SIM_CLIENT_BROKERS_MAX; i++)
        fetch_session_handler_deinit(&c->fetch_sessions[i]);
    free(c);
}

sim_consumer_stats sim_consumer_get_stats(const sim_consumer *c) {
    return c->stats;
}

int32_t sim_consumer_generation(const sim_consumer *c) {
    return c->owns ? c->owned_generation : -1;
}

void sim_consumer_on_connected(void *impl, conn_id conn) {
    sim_consumer *c = impl;
    sim_client_on_connected(&c->client, conn);
    c->find_retry_at_us = 0; /* FindCoordinator waited for a ready broker */
    sim_client_on_timer(&c->client);
    pump(c);
}

void sim_consumer_on_closed(void *impl, conn_id conn) {
    sim_consumer *c = impl;
    int coordinator =
        c->client.coordinator_node > 0 && peer_channel_owns(&c->client.coordinator, conn);
    sim_client_on_closed(&c->client, conn);
    if (coordinator) consumer_group_coordinator_closed(c);
    pump(c);
}

void sim_consumer_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len) {
    sim_consumer *c = impl;
    sim_client_on_bytes(&c->client, conn, bytes, len);
    sim_client_on_timer(&c->client);
    pump(c);
}

int64_t sim_consumer_next_deadline_us(const void *impl) {
    const sim_consumer *c = impl;
    int64_t at = sim_client_next_deadline_us(&c->client);
    int64_t now = consumer_now_us(c);
    for (int32_t i = 0; i < c->assigned_count; i++) {
        const assigned_partition *a = &c->assigned[i];
        int32_t leader = leader_of(c, a);
        int64_t retry = a->retry_at_us;
        if (leader >= 1 && leader <= c->client.broker_count) {
            const peer_channel *cb = &c->client.brokers[leader - 1];
            if (cb->state == PEER_CONNECTING) continue;
            if (cb->state == PEER_DOWN && cb->retry_at_us > retry) retry = cb->retry_at_us;
        }
        if (retry > now && retry < at) at = retry;
    }
    int64_t g = consumer_group_deadline_us(c);
    if (g < at) at = g;
    return at;
}

void sim_consumer_on_timer(void *impl) {
    sim_consumer *c = impl;
    sim_client_on_timer(&c->client);
    pump(c);
}
