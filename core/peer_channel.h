/*
 * peer_channel.h — one outbound Kafka connection and the requests in flight on it.
 *
 * Brokers talk to each other over channels they dial (followers to leaders, voters
 * to voters, brokers to the active controller); simulated clients talk to brokers
 * the same way.  A channel connects on demand, frames each request with the Kafka
 * request header, matches responses by correlation id (they come back in request
 * order), fails every request in flight when the connection breaks or a request
 * times out, and reconnects with exponential backoff.
 */
#ifndef STREAMLAB_PEER_CHANNEL_H
#define STREAMLAB_PEER_CHANNEL_H

#include <stdint.h>

#include "broker.h"
#include "framing.h"
#include "wire.h"

#define PEER_CHANNEL_INFLIGHT_MAX 8
#define PEER_CHANNEL_BACKOFF_US_MIN 50000
#define PEER_CHANNEL_BACKOFF_US_MAX 1000000
#define PEER_CHANNEL_FRAME_BYTES_MAX (64 * 1024 * 1024)

enum peer_channel_state { PEER_DOWN = 0, PEER_CONNECTING, PEER_READY };

typedef struct peer_inflight {
    int32_t correlation_id;
    int16_t api_key, api_version;
    uint64_t tag;
    int64_t deadline_us;
} peer_inflight;

typedef struct peer_channel {
    int32_t node;
    conn_id conn;
    enum peer_channel_state state;
    int64_t retry_at_us;
    int64_t backoff_us;
    frame_reader reader;
    peer_inflight inflight[PEER_CHANNEL_INFLIGHT_MAX];
    int32_t inflight_count;
    int32_t inflight_max;
    int32_t correlation_next;
    char client_id[48];
} peer_channel;

/* A response body (r positioned after the response header), or r == NULL when the
 * request failed: connection lost, timed out, or garbage came back. */
typedef void peer_response_fn(void *ctx, peer_channel *pc, int16_t api_key, int16_t api_version,
                              uint64_t tag, wire_reader *r);
typedef void peer_encode_fn(const void *body, wire_writer *w, int16_t version);

void peer_channel_init(peer_channel *pc, int32_t node, const char *client_id, int32_t inflight_max);
void peer_channel_deinit(peer_channel *pc);

/* Starts connecting when down and the backoff has passed; 1 when ready now.
 * Inline: brokers and clients ask it (and can_send) after nearly every event. */
int peer_channel_ready_slow(peer_channel *pc, const broker_env *env);
static inline int peer_channel_ready(peer_channel *pc, const broker_env *env) {
    return pc->state == PEER_READY || peer_channel_ready_slow(pc, env);
}
static inline int peer_channel_can_send(const peer_channel *pc) {
    return pc->state == PEER_READY && pc->inflight_count < pc->inflight_max;
}
/* Frames and sends a request using `scratch` as the output buffer.  Returns 0
 * when sent, -1 when not ready or the in-flight window is full. */
int peer_channel_send(peer_channel *pc, const broker_env *env, wire_writer *scratch,
                      int16_t api_key, int16_t api_version, const void *body,
                      peer_encode_fn *encode, uint64_t tag, int expects_response,
                      int64_t timeout_us);

/* Inline: brokers and clients ask it of each channel for every message received. */
static inline int peer_channel_owns(const peer_channel *pc, conn_id conn) {
    return pc->state != PEER_DOWN && pc->conn == conn && conn != 0;
}
void peer_channel_on_connected(peer_channel *pc);
void peer_channel_on_closed(peer_channel *pc, const broker_env *env, peer_response_fn *cb,
                            void *ctx);
void peer_channel_on_bytes(peer_channel *pc, const broker_env *env, const uint8_t *bytes,
                           size_t len, peer_response_fn *cb, void *ctx);
/* The earliest request deadline, or INT64_MAX.  Inline: every broker and client
 * asks it of each channel after every event. */
static inline int64_t peer_channel_next_deadline_us(const peer_channel *pc) {
    return pc->inflight_count ? pc->inflight[0].deadline_us : INT64_MAX;
}
/* Fails the connection when a request has timed out. */
void peer_channel_on_timer(peer_channel *pc, const broker_env *env, peer_response_fn *cb,
                           void *ctx);
/* Closes the connection (if any) and fails what is in flight. */
void peer_channel_reset(peer_channel *pc, const broker_env *env, peer_response_fn *cb, void *ctx);

#endif
