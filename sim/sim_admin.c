#include "sim_admin.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"

#define CREATE_TOPICS_VERSION 4
#define RETRY_US 200000
#define TAG_CREATE 1

struct sim_admin {
    sim_client client;
    const broker_env *env;
    const scenario *s;
    int created[SCENARIO_TOPICS_MAX];
    int32_t created_count;
    int inflight;
    int32_t target; /* broker asked next */
    int64_t retry_at_us;
};

static int64_t now_us(const sim_admin *a) {
    return broker_env_now_us(a->env);
}

static void encode_create(const void *body, wire_writer *w, int16_t version) {
    kafka_create_topics_request_encode(body, w, version);
}

static void send_create(sim_admin *a) {
    if (a->inflight || sim_admin_done(a) || now_us(a) < a->retry_at_us) return;
    kafka_create_topics_request_creatable_topic topics[SCENARIO_TOPICS_MAX];
    int32_t n = 0;
    for (int32_t i = 0; i < a->s->topic_count; i++) {
        if (a->created[i]) continue;
        kafka_create_topics_request_creatable_topic_init(&topics[n]);
        topics[n].name = kafka_str_c(a->s->topics[i].name);
        topics[n].num_partitions = a->s->topics[i].partitions;
        topics[n].replication_factor = (int16_t)a->s->topics[i].replication_factor;
        n++;
    }
    kafka_create_topics_request req;
    kafka_create_topics_request_init(&req);
    req.topics = topics;
    req.topics_count = n;
    req.timeout_ms = 30000;
    if (sim_client_send(&a->client, a->target, KAFKA_API_CREATE_TOPICS, CREATE_TOPICS_VERSION, &req,
                        encode_create, TAG_CREATE, 1) == 0)
        a->inflight = 1;
}

static void mark_created(sim_admin *a, kafka_str name) {
    for (int32_t i = 0; i < a->s->topic_count; i++)
        if (!a->created[i] && kafka_str_eq(name, a->s->topics[i].name)) {
            a->created[i] = 1;
            a->created_count++;
        }
}

static void on_response(sim_client *c, void *owner, int32_t node, int16_t api_key,
                        int16_t api_version, uint64_t tag, wire_reader *r) {
    sim_admin *a = owner;
    (void)c;
    (void)node;
    (void)api_version;
    if (api_key != KAFKA_API_CREATE_TOPICS || tag != TAG_CREATE) return;
    a->inflight = 0;
    kafka_create_topics_response resp;
    arena_reset(&a->client.scratch);
    int ok = r && kafka_create_topics_response_decode(&resp, r, CREATE_TOPICS_VERSION,
                                                      &a->client.scratch) == 0;
    for (int32_t i = 0; ok && i < resp.topics_count; i++) {
        int16_t e = resp.topics[i].error_code;
        if (e == KAFKA_ERROR_NONE || e == KAFKA_ERROR_TOPIC_ALREADY_EXISTS)
            mark_created(a, resp.topics[i].name);
    }
    if (!sim_admin_done(a)) { /* not yet: no controller, or too few brokers registered */
        a->retry_at_us = now_us(a) + RETRY_US;
        a->target = a->target % a->client.broker_count + 1;
    }
}

sim_admin *sim_admin_create(const broker_env *env, int32_t node_id, const scenario *s) {
    sim_admin *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->env = env;
    a->s = s;
    sim_client_init(&a->client, env, node_id, "admin", s->cluster.brokers, a, on_response);
    a->client.metadata_wanted = 0; /* it needs no metadata */
    a->target = (int32_t)(env->random_u64(env->ctx) % (uint64_t)s->cluster.brokers) + 1;
    return a;
}

void sim_admin_destroy(sim_admin *a) {
    if (!a) return;
    sim_client_deinit(&a->client);
    free(a);
}

int sim_admin_done(const sim_admin *a) {
    return a->created_count == a->s->topic_count;
}

void sim_admin_on_connected(void *impl, conn_id conn) {
    sim_admin *a = impl;
    sim_client_on_connected(&a->client, conn);
    send_create(a);
}

void sim_admin_on_closed(void *impl, conn_id conn) {
    sim_admin *a = impl;
    sim_client_on_closed(&a->client, conn);
    a->inflight = 0;
    a->retry_at_us = now_us(a) + RETRY_US;
}

void sim_admin_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len) {
    sim_admin *a = impl;
    sim_client_on_bytes(&a->client, conn, bytes, len);
    send_create(a);
}

int64_t sim_admin_next_deadline_us(const void *impl) {
    const sim_admin *a = impl;
    int64_t at = sim_client_next_deadline_us(&a->client);
    if (!sim_admin_done(a) && !a->inflight) {
        const peer_channel *pc = &a->client.brokers[a->target - 1];
        int64_t retry = a->retry_at_us > pc->retry_at_us ? a->retry_at_us : pc->retry_at_us;
        if (pc->state != PEER_CONNECTING && retry < at)
            at = retry > now_us(a) ? retry : now_us(a) + 1000;
    }
    return at;
}

void sim_admin_on_timer(void *impl) {
    sim_admin *a = impl;
    sim_client_on_timer(&a->client);
    if (!a->inflight && a->client.brokers[a->target - 1].state == PEER_DOWN)
        a->target = a->target % a->client.broker_count + 1; /* that one is away: ask another */
    send_create(a);
}
