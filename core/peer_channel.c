#include "peer_channel.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "kafka_messages.gen.h"

static int64_t now_us(const broker_env *env) {
    return broker_env_now_us(env);
}

void peer_channel_init(peer_channel *pc, int32_t node, const char *client_id,
                       int32_t inflight_max) {
    assert(inflight_max >= 1 && inflight_max <= PEER_CHANNEL_INFLIGHT_MAX);
    memset(pc, 0, sizeof *pc);
    pc->node = node;
    pc->backoff_us = PEER_CHANNEL_BACKOFF_US_MIN;
    pc->inflight_max = inflight_max;
    pc->correlation_next = 1;
    snprintf(pc->client_id, sizeof pc->client_id, "%s", client_id);
    frame_reader_init(&pc->reader, PEER_CHANNEL_FRAME_BYTES_MAX);
}

void peer_channel_deinit(peer_channel *pc) {
    frame_reader_deinit(&pc->reader);
}

int peer_channel_ready_slow(peer_channel *pc, const broker_env *env) {
    if (pc->state == PEER_DOWN && now_us(env) >= pc->retry_at_us) {
        pc->state = PEER_CONNECTING;
        pc->conn = env->connect(env->ctx, pc->node);
        if (pc->conn == 0) pc->state = PEER_DOWN;
    }
    return pc->state == PEER_READY;
}

int peer_channel_send(peer_channel *pc, const broker_env *env, wire_writer *scratch,
                      int16_t api_key, int16_t api_version, const void *body,
                      peer_encode_fn *encode, uint64_t tag, int expects_response,
                      int64_t timeout_us) {
    if (!peer_channel_ready(pc, env) || pc->inflight_count == pc->inflight_max) return -1;
    kafka_request_header h;
    kafka_request_header_init(&h);
    h.request_api_key = api_key;
    h.request_api_version = api_version;
    h.correlation_id = pc->correlation_next++;
    h.client_id = kafka_str_c(pc->client_id);
    wire_writer_reset(scratch);
    wire_put_i32(scratch, 0);
    kafka_request_header_encode(&h, scratch, kafka_request_header_version(api_key, api_version));
    encode(body, scratch, api_version);
    assert(!scratch->failed);
    wire_patch_i32(scratch, 0, (int32_t)(scratch->len - 4));
    if (expects_response) {
        peer_inflight *f = &pc->inflight[pc->inflight_count++];
        *f = (peer_inflight){h.correlation_id, api_key, api_version, tag, now_us(env) + timeout_us};
    }
    env->send(env->ctx, pc->conn, scratch->data, scratch->len);
    return 0;
}

void peer_channel_on_connected(peer_channel *pc) {
    assert(pc->state == PEER_CONNECTING);
    pc->state = PEER_READY;
    pc->backoff_us = PEER_CHANNEL_BACKOFF_US_MIN;
}

static void fail_all(peer_channel *pc, peer_response_fn *cb, void *ctx) {
    /* Callbacks may send on this channel again: take the list first. */
    peer_inflight failed[PEER_CHANNEL_INFLIGHT_MAX];
    int32_t n = pc->inflight_count;
    memcpy(failed, pc->inflight, (size_t)n * sizeof failed[0]);
    pc->inflight_count = 0;
    for (int32_t i = 0; i < n; i++)
        cb(ctx, pc, failed[i].api_key, failed[i].api_version, failed[i].tag, NULL);
}

static void go_down(peer_channel *pc, const broker_env *env) {
    pc->state = PEER_DOWN;
    pc->conn = 0;
    pc->retry_at_us = now_us(env) + pc->backoff_us;
    pc->backoff_us *= 2;
    if (pc->backoff_us > PEER_CHANNEL_BACKOFF_US_MAX) pc->backoff_us = PEER_CHANNEL_BACKOFF_US_MAX;
    frame_reader_deinit(&pc->reader);
    frame_reader_init(&pc->reader, PEER_CHANNEL_FRAME_BYTES_MAX);
}

void peer_channel_on_closed(peer_channel *pc, const broker_env *env, peer_response_fn *cb,
                            void *ctx) {
    go_down(pc, env);
    fail_all(pc, cb, ctx);
}

void peer_channel_reset(peer_channel *pc, const broker_env *env, peer_response_fn *cb, void *ctx) {
    if (pc->state == PEER_DOWN) return;
    env->close(env->ctx, pc->conn);
    peer_channel_on_closed(pc, env, cb, ctx);
}

/* Handles one response frame; -1 when it is not an answer to anything in flight. */
static int handle_frame(peer_channel *pc, const uint8_t *frame, size_t len, peer_response_fn *cb,
                        void *ctx) {
    wire_reader r;
    wire_reader_init(&r, frame, len);
    int32_t correlation_id = wire_get_i32(&r);
    if (r.failed || pc->inflight_count == 0 || pc->inflight[0].correlation_id != correlation_id)
        return -1;
    peer_inflight f = pc->inflight[0];
    memmove(&pc->inflight[0], &pc->inflight[1], (size_t)(--pc->inflight_count) * sizeof f);
    if (f.api_key != KAFKA_API_API_VERSIONS &&
        kafka_response_header_version(f.api_key, f.api_version) >= 1) {
        uint32_t tags = wire_get_uvarint(&r);
        for (uint32_t t = 0; t < tags && !r.failed; t++) {
            wire_get_uvarint(&r);
            wire_skip(&r, wire_get_uvarint(&r));
        }
    }
    cb(ctx, pc, f.api_key, f.api_version, f.tag, r.failed ? NULL : &r);
    return 0;
}

void peer_channel_on_bytes(peer_channel *pc, const broker_env *env, const uint8_t *bytes,
                           size_t len, peer_response_fn *cb, void *ctx) {
    conn_id conn = pc->conn;
    frame_reader_feed_lent(&pc->reader, bytes, len); /* read in place: no copy */
    while (pc->state == PEER_READY && pc->conn == conn) {
        const uint8_t *frame;
        size_t flen;
        enum frame_result fr = frame_reader_next(&pc->reader, &frame, &flen);
        if (fr == FRAME_NONE) break;
        if (fr != FRAME_READY || handle_frame(pc, frame, flen, cb, ctx) != 0) {
            peer_channel_reset(pc, env, cb, ctx); /* the stream cannot be trusted now */
            return;
        }
    }
    frame_reader_keep(&pc->reader); /* what is left outlives bytes */
}

void peer_channel_on_timer(peer_channel *pc, const broker_env *env, peer_response_fn *cb,
                           void *ctx) {
    if (pc->inflight_count && pc->inflight[0].deadline_us <= now_us(env))
        peer_channel_reset(pc, env, cb, ctx);
}
