#include "sim_client.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "kafka_errors.gen.h"

#define METADATA_VERSION 4
#define METADATA_RETRY_US 100000

static int64_t now_us(const sim_client *c) {
    return broker_env_now_us(c->env);
}

void sim_client_init(sim_client *c, const broker_env *env, int32_t node_id, const char *client_id,
                     int32_t broker_count, void *owner, sim_client_response_fn *on_response) {
    assert(broker_count > 0 && broker_count <= SIM_CLIENT_BROKERS_MAX);
    memset(c, 0, sizeof *c);
    c->env = env;
    c->node_id = node_id;
    snprintf(c->client_id, sizeof c->client_id, "%s", client_id);
    c->owner = owner;
    c->on_response = on_response;
    c->broker_count = broker_count;
    c->correlation_next = 1;
    for (int32_t i = 0; i < broker_count; i++)
        peer_channel_init(&c->brokers[i], i + 1, client_id, SIM_CLIENT_INFLIGHT_MAX);
    wire_writer_init(&c->out);
    arena_init(&c->scratch);
    c->coordinator_node = -1;
    peer_channel_init(&c->coordinator, 1, client_id, SIM_CLIENT_INFLIGHT_MAX);
    c->metadata_wanted = 1;
    c->bootstrap_next = (int32_t)(env->random_u64(env->ctx) % (uint64_t)broker_count);
}

void sim_client_deinit(sim_client *c) {
    for (int32_t i = 0; i < c->broker_count; i++) peer_channel_deinit(&c->brokers[i]);
    peer_channel_deinit(&c->coordinator);
    wire_writer_deinit(&c->out);
    arena_deinit(&c->scratch);
}

static peer_channel *broker_of(sim_client *c, int32_t node) {
    if (node < 1 || node > c->broker_count) return NULL;
    return &c->brokers[node - 1];
}

static peer_channel *broker_by_conn(sim_client *c, conn_id conn) {
    for (int32_t i = 0; i < c->broker_count; i++)
        if (peer_channel_owns(&c->brokers[i], conn)) return &c->brokers[i];
    if (c->coordinator_node > 0 && peer_channel_owns(&c->coordinator, conn)) return &c->coordinator;
    return NULL;
}

int32_t sim_client_want_topic(sim_client *c, const char *topic) {
    for (int32_t i = 0; i < c->topic_count; i++)
        if (strcmp(c->topics[i].name, topic) == 0) return i;
    assert(c->topic_count < SIM_CLIENT_TOPICS_MAX);
    sim_client_topic *t = &c->topics[c->topic_count];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", topic);
    c->metadata_wanted = 1;
    return c->topic_count++;
}

const sim_client_topic *sim_client_topic_get(const sim_client *c, const char *topic) {
    for (int32_t i = 0; i < c->topic_count; i++)
        if (strcmp(c->topics[i].name, topic) == 0) return &c->topics[i];
    return NULL;
}

void sim_client_refresh_metadata(sim_client *c) {
    c->metadata_wanted = 1;
}

/* ---- connections ------------------------------------------------------------------ */

int sim_client_ready_slow_(sim_client *c, int32_t node) {
    peer_channel *b = broker_of(c, node);
    return b && peer_channel_ready(b, c->env);
}

/* Every response, and every failure, passes here first. */
static void on_channel_response(void *ctx, peer_channel *pc, int16_t api_key, int16_t api_version,
                                uint64_t tag, wire_reader *r);

void sim_client_on_connected(sim_client *c, conn_id conn) {
    peer_channel *b = broker_by_conn(c, conn);
    if (!b) return;
    peer_channel_on_connected(b);
    if (c->metadata_retry_at_us == INT64_MAX) c->metadata_retry_at_us = 0; /* was waiting for us */
}

void sim_client_on_closed(sim_client *c, conn_id conn) {
    peer_channel *b = broker_by_conn(c, conn);
    if (!b) return;
    peer_channel_on_closed(b, c->env, on_channel_response, c);
    if (c->metadata_retry_at_us == INT64_MAX) c->metadata_retry_at_us = b->retry_at_us;
    c->metadata_wanted = 1; /* as the Java client: a lost broker may mean a moved leader */
}

/* ---- requests --------------------------------------------------------------------- */

int sim_client_send(sim_client *c, int32_t node, int16_t api_key, int16_t api_version,
                    const void *body, sim_client_encode_fn *encode, uint64_t tag,
                    int expects_response) {
    peer_channel *b = broker_of(c, node);
    assert(b);
    return peer_channel_send(b, c->env, &c->out, api_key, api_version, body, encode, tag,
                             expects_response, SIM_CLIENT_REQUEST_TIMEOUT_US);
}

/* The coordinator channel is always initialised (to node 1 while unused), so a
 * caller still inside one of its callbacks never sees freed state. */
void sim_client_set_coordinator(sim_client *c, int32_t node) {
    assert(node == -1 || (node >= 1 && node <= c->broker_count));
    if (node == c->coordinator_node) return;
    int used = c->coordinator_node > 0;
    peer_channel gone = c->coordinator;
    peer_channel_init(&c->coordinator, node > 0 ? node : 1, c->client_id, SIM_CLIENT_INFLIGHT_MAX);
    c->coordinator_node = node;
    if (used) peer_channel_reset(&gone, c->env, on_channel_response, c); /* fails its requests */
    peer_channel_deinit(&gone);
}

int sim_client_send_coordinator(sim_client *c, int16_t api_key, int16_t api_version,
                                const void *body, sim_client_encode_fn *encode, uint64_t tag,
                                int64_t timeout_us) {
    if (c->coordinator_node <= 0) return -1;
    return peer_channel_send(&c->coordinator, c->env, &c->out, api_key, api_version, body, encode,
                             tag, 1, timeout_us);
}

int sim_client_coordinator_ready(sim_client *c) {
    return c->coordinator_node > 0 && peer_channel_ready(&c->coordinator, c->env);
}

int64_t sim_client_coordinator_retry_us(const sim_client *c) {
    if (c->coordinator_node <= 0 || c->coordinator.state != PEER_DOWN) return INT64_MAX;
    return c->coordinator.retry_at_us;
}

/* ---- metadata ---------------------------------------------------------------------- */

static void encode_metadata(const void *body, wire_writer *w, int16_t version) {
    kafka_metadata_request_encode(body, w, version);
}

static void send_metadata(sim_client *c) {
    if (c->metadata_inflight || now_us(c) < c->metadata_retry_at_us) return;
    kafka_metadata_request_metadata_request_topic topics[SIM_CLIENT_TOPICS_MAX];
    kafka_metadata_request req;
    kafka_metadata_request_init(&req);
    for (int32_t i = 0; i < c->topic_count; i++) {
        kafka_metadata_request_metadata_request_topic_init(&topics[i]);
        topics[i].name = kafka_str_c(c->topics[i].name);
    }
    req.topics = topics;
    req.topics_count = c->topic_count;
    req.allow_auto_topic_creation = 0; /* scenario topics come from the admin client */
    for (int32_t k = 0; k < c->broker_count; k++) {
        int32_t node = (c->bootstrap_next + k) % c->broker_count + 1;
        if (sim_client_send(c, node, KAFKA_API_METADATA, METADATA_VERSION, &req, encode_metadata, 0,
                            1) == 0) {
            c->metadata_inflight = 1;
            c->metadata_wanted = 0;
            return;
        }
    }
    c->bootstrap_next = (c->bootstrap_next + 1) % c->broker_count;
    /* Nothing ready: wait for a connection in progress, else for the first retry. */
    int64_t retry = INT64_MAX;
    for (int32_t i = 0; i < c->broker_count; i++) {
        if (c->brokers[i].state == PEER_CONNECTING)
            retry = INT64_MAX - 1;
        else if (c->brokers[i].state == PEER_DOWN && c->brokers[i].retry_at_us < retry &&
                 retry != INT64_MAX - 1)
            retry = c->brokers[i].retry_at_us;
    }
    c->metadata_retry_at_us = retry == INT64_MAX - 1 ? INT64_MAX : retry;
    if (c->metadata_retry_at_us <= now_us(c))
        c->metadata_retry_at_us = now_us(c) + METADATA_RETRY_US;
}

static void apply_metadata(sim_client *c, wire_reader *r) {
    kafka_metadata_response resp;
    kafka_metadata_response_init(&resp);
    arena_reset(&c->scratch);
    if (kafka_metadata_response_decode(&resp, r, METADATA_VERSION, &c->scratch) != 0) return;
    int complete = 1;
    for (int32_t i = 0; i < resp.topics_count; i++) {
        kafka_metadata_response_metadata_response_topic *mt = &resp.topics[i];
        for (int32_t k = 0; k < c->topic_count; k++) {
            sim_client_topic *t = &c->topics[k];
            if (!kafka_str_eq(mt->name, t->name)) continue;
            t->error = mt->error_code;
            if (mt->error_code != KAFKA_ERROR_NONE) {
                complete = 0;
                continue;
            }
            int32_t n = mt->partitions_count < SIM_CLIENT_PARTITIONS_MAX
                            ? mt->partitions_count
                            : SIM_CLIENT_PARTITIONS_MAX;
            t->partition_count = n;
            for (int32_t p = 0; p < mt->partitions_count; p++) {
                int32_t idx = mt->partitions[p].partition_index;
                if (idx < 0 || idx >= n) continue;
                t->partitions[idx].leader = mt->partitions[p].leader_id;
                t->partitions[idx].leader_epoch = mt->partitions[p].leader_epoch;
                if (mt->partitions[p].leader_id < 0) complete = 0;
            }
        }
    }
    c->metadata_refresh_at_us = now_us(c) + SIM_CLIENT_METADATA_REFRESH_US;
    if (!complete) {
        c->metadata_wanted = 1;
        c->metadata_retry_at_us = now_us(c) + METADATA_RETRY_US;
    }
}

/* ---- responses ---------------------------------------------------------------------- */

static void on_channel_response(void *ctx, peer_channel *pc, int16_t api_key, int16_t api_version,
                                uint64_t tag, wire_reader *r) {
    sim_client *c = ctx;
    if (api_key == KAFKA_API_METADATA && tag == 0) {
        c->metadata_inflight = 0;
        if (r)
            apply_metadata(c, r);
        else
            c->metadata_wanted = 1;
        return;
    }
    c->on_response(c, c->owner, pc->node, api_key, api_version, tag, r);
}

void sim_client_on_bytes(sim_client *c, conn_id conn, const uint8_t *bytes, size_t len) {
    peer_channel *b = broker_by_conn(c, conn);
    if (b) peer_channel_on_bytes(b, c->env, bytes, len, on_channel_response, c);
}

/* ---- timers --------------------------------------------------------------------------- */

int64_t sim_client_next_deadline_us(const sim_client *c) {
    int64_t at = INT64_MAX;
    if (c->metadata_wanted && !c->metadata_inflight)
        at = c->metadata_retry_at_us;
    else if (c->metadata_refresh_at_us && c->metadata_refresh_at_us < at)
        at = c->metadata_refresh_at_us;
    for (int32_t i = 0; i < c->broker_count; i++) {
        int64_t d = peer_channel_next_deadline_us(&c->brokers[i]);
        if (d < at) at = d;
    }
    if (c->coordinator_node > 0) {
        int64_t d = peer_channel_next_deadline_us(&c->coordinator);
        if (d < at) at = d;
    }
    return at;
}

/* peer_channel_on_timer's own test, asked here first: most timers find no request
 * overdue on any of the client's channels. */
static int request_overdue(const peer_channel *pc, int64_t now) {
    return pc->inflight_count && pc->inflight[0].deadline_us <= now;
}

void sim_client_on_timer(sim_client *c) {
    int64_t now = now_us(c);
    for (int32_t i = 0; i < c->broker_count; i++) /* request.timeout.ms: drop the connection */
        if (request_overdue(&c->brokers[i], now))
            peer_channel_on_timer(&c->brokers[i], c->env, on_channel_response, c);
    if (c->coordinator_node > 0 && request_overdue(&c->coordinator, now))
        peer_channel_on_timer(&c->coordinator, c->env, on_channel_response, c);
    if (c->metadata_refresh_at_us && now >= c->metadata_refresh_at_us) {
        c->metadata_wanted = 1;
        c->metadata_refresh_at_us = 0; /* set again by the next answer */
    }
    if (c->metadata_wanted) send_metadata(c);
}

/* ---- partitioning ------------------------------------------------------------------------ */

uint32_t sim_client_murmur2(const uint8_t *data, size_t len) {
    const uint32_t m = 0x5bd1e995;
    const int r = 24;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)data[i + 2] << 16; /* fall through */
    case 2:
        h ^= (uint32_t)data[i + 1] << 8; /* fall through */
    case 1:
        h ^= data[i];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}
