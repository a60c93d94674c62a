#include "sim_client.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "kafka_errors.gen.h"

#define METADATA_VERSION 4
#define METADATA_RETRY_US 100000

static int64_t now_us(const sim_client *c) {
    return c->env->now_us(c->env->ctx);
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
    for (int32_t i = 0; i < broker_count; i++) {
        c->brokers[i].node_id = i + 1;
        c->brokers[i].backoff_us = SIM_CLIENT_RECONNECT_BACKOFF_US_MIN;
        frame_reader_init(&c->brokers[i].reader, 64 * 1024 * 1024);
    }
    wire_writer_init(&c->out);
    arena_init(&c->scratch);
    c->metadata_wanted = 1;
    c->bootstrap_next = (int32_t)(env->random_u64(env->ctx) % (uint64_t)broker_count);
}

void sim_client_deinit(sim_client *c) {
    for (int32_t i = 0; i < c->broker_count; i++) frame_reader_deinit(&c->brokers[i].reader);
    wire_writer_deinit(&c->out);
    arena_deinit(&c->scratch);
}

static sim_client_broker *broker_of(sim_client *c, int32_t node_id) {
    if (node_id < 1 || node_id > c->broker_count) return NULL;
    return &c->brokers[node_id - 1];
}

static sim_client_broker *broker_by_conn(sim_client *c, conn_id conn) {
    for (int32_t i = 0; i < c->broker_count; i++)
        if (c->brokers[i].conn == conn && c->brokers[i].state != SIM_CONN_DOWN)
            return &c->brokers[i];
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

static void start_connect(sim_client *c, sim_client_broker *b) {
    if (b->state != SIM_CONN_DOWN || now_us(c) < b->retry_at_us) return;
    b->state = SIM_CONN_CONNECTING;
    b->conn = c->env->connect(c->env->ctx, b->node_id);
    assert(b->conn != 0);
}

int sim_client_ready(sim_client *c, int32_t node) {
    sim_client_broker *b = broker_of(c, node);
    if (!b) return 0;
    if (b->state == SIM_CONN_DOWN) start_connect(c, b);
    return b->state == SIM_CONN_READY;
}

int32_t sim_client_inflight_count(const sim_client *c, int32_t node) {
    if (node < 1 || node > c->broker_count) return 0;
    return c->brokers[node - 1].inflight_count;
}

static void fail_inflight(sim_client *c, sim_client_broker *b) {
    /* Callbacks may send again: take the list first. */
    sim_client_inflight failed[SIM_CLIENT_INFLIGHT_MAX];
    int32_t n = b->inflight_count;
    memcpy(failed, b->inflight, (size_t)n * sizeof failed[0]);
    b->inflight_count = 0;
    for (int32_t i = 0; i < n; i++) {
        if (failed[i].api_key == KAFKA_API_METADATA && failed[i].tag == 0) {
            c->metadata_inflight = 0;
            c->metadata_wanted = 1;
            continue;
        }
        c->on_response(c, c->owner, b->node_id, failed[i].api_key, failed[i].api_version,
                       failed[i].tag, NULL);
    }
}

static void conn_down(sim_client *c, sim_client_broker *b) {
    b->state = SIM_CONN_DOWN;
    b->conn = 0;
    b->retry_at_us = now_us(c) + b->backoff_us;
    if (c->metadata_retry_at_us == INT64_MAX) c->metadata_retry_at_us = b->retry_at_us;
    b->backoff_us *= 2;
    if (b->backoff_us > SIM_CLIENT_RECONNECT_BACKOFF_US_MAX)
        b->backoff_us = SIM_CLIENT_RECONNECT_BACKOFF_US_MAX;
    frame_reader_deinit(&b->reader);
    frame_reader_init(&b->reader, 64 * 1024 * 1024);
    fail_inflight(c, b);
}

void sim_client_on_connected(sim_client *c, conn_id conn) {
    sim_client_broker *b = broker_by_conn(c, conn);
    if (!b) return;
    b->state = SIM_CONN_READY;
    b->backoff_us = SIM_CLIENT_RECONNECT_BACKOFF_US_MIN;
    if (c->metadata_retry_at_us == INT64_MAX) c->metadata_retry_at_us = 0; /* was waiting for us */
}

void sim_client_on_closed(sim_client *c, conn_id conn) {
    sim_client_broker *b = broker_by_conn(c, conn);
    if (b) conn_down(c, b);
}

/* ---- requests --------------------------------------------------------------------- */

int sim_client_send(sim_client *c, int32_t node, int16_t api_key, int16_t api_version,
                    const void *body, sim_client_encode_fn *encode, uint64_t tag,
                    int expects_response) {
    sim_client_broker *b = broker_of(c, node);
    assert(b);
    if (!sim_client_ready(c, node) || b->inflight_count == SIM_CLIENT_INFLIGHT_MAX) return -1;
    kafka_request_header h;
    kafka_request_header_init(&h);
    h.request_api_key = api_key;
    h.request_api_version = api_version;
    h.correlation_id = c->correlation_next++;
    h.client_id = kafka_str_c(c->client_id);
    wire_writer_reset(&c->out);
    wire_put_i32(&c->out, 0);
    kafka_request_header_encode(&h, &c->out, kafka_request_header_version(api_key, api_version));
    encode(body, &c->out, api_version);
    wire_patch_i32(&c->out, 0, (int32_t)(c->out.len - 4));
    if (expects_response) {
        sim_client_inflight *f = &b->inflight[b->inflight_count++];
        f->correlation_id = h.correlation_id;
        f->api_key = api_key;
        f->api_version = api_version;
        f->tag = tag;
        f->deadline_us = now_us(c) + SIM_CLIENT_REQUEST_TIMEOUT_US;
        f->expects_response = 1;
    }
    c->env->send(c->env->ctx, b->conn, c->out.data, c->out.len);
    return 0;
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
    req.allow_auto_topic_creation = 1;
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
        if (c->brokers[i].state == SIM_CONN_CONNECTING)
            retry = INT64_MAX - 1;
        else if (c->brokers[i].state == SIM_CONN_DOWN && c->brokers[i].retry_at_us < retry &&
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

static void handle_frame(sim_client *c, sim_client_broker *b, const uint8_t *frame, size_t len) {
    wire_reader r;
    wire_reader_init(&r, frame, len);
    int32_t correlation_id = wire_get_i32(&r);
    int32_t i = 0;
    while (i < b->inflight_count && b->inflight[i].correlation_id != correlation_id) i++;
    if (r.failed || i == b->inflight_count) return; /* not ours: ignore */
    sim_client_inflight f = b->inflight[i];
    memmove(&b->inflight[0], &b->inflight[i + 1],
            (size_t)(b->inflight_count - i - 1) * sizeof b->inflight[0]);
    b->inflight_count -= i + 1;
    if (f.api_key != KAFKA_API_API_VERSIONS &&
        kafka_response_header_version(f.api_key, f.api_version) >= 1) {
        uint32_t tags = wire_get_uvarint(&r);
        for (uint32_t t = 0; t < tags && !r.failed; t++) {
            wire_get_uvarint(&r);
            wire_skip(&r, wire_get_uvarint(&r));
        }
    }
    if (f.api_key == KAFKA_API_METADATA && f.tag == 0) {
        c->metadata_inflight = 0;
        apply_metadata(c, &r);
    }
    c->on_response(c, c->owner, b->node_id, f.api_key, f.api_version, f.tag, &r);
}

void sim_client_on_bytes(sim_client *c, conn_id conn, const uint8_t *bytes, size_t len) {
    sim_client_broker *b = broker_by_conn(c, conn);
    if (!b) return;
    frame_reader_feed(&b->reader, bytes, len);
    for (;;) {
        const uint8_t *frame;
        size_t flen;
        enum frame_result fr = frame_reader_next(&b->reader, &frame, &flen);
        if (fr == FRAME_NONE) return;
        if (fr != FRAME_READY) {
            c->env->close(c->env->ctx, b->conn);
            conn_down(c, b);
            return;
        }
        handle_frame(c, b, frame, flen);
        if (b->state == SIM_CONN_DOWN) return;
    }
}

/* ---- timers --------------------------------------------------------------------------- */

int64_t sim_client_next_deadline_us(const sim_client *c) {
    int64_t at = INT64_MAX;
    if (c->metadata_wanted && !c->metadata_inflight)
        at = c->metadata_retry_at_us;
    else if (c->metadata_refresh_at_us && c->metadata_refresh_at_us < at)
        at = c->metadata_refresh_at_us;
    for (int32_t i = 0; i < c->broker_count; i++) {
        const sim_client_broker *b = &c->brokers[i];
        if (b->inflight_count && b->inflight[0].deadline_us < at) at = b->inflight[0].deadline_us;
    }
    return at;
}

void sim_client_on_timer(sim_client *c) {
    int64_t now = now_us(c);
    for (int32_t i = 0; i < c->broker_count; i++) {
        sim_client_broker *b = &c->brokers[i];
        if (b->inflight_count && b->inflight[0].deadline_us <= now) {
            c->env->close(c->env->ctx, b->conn); /* request.timeout.ms: drop the connection */
            conn_down(c, b);
        }
    }
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
