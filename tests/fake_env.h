/*
 * fake_env.h — a broker_env for driving one broker by hand in unit tests.
 *
 * The clock is a number the test sets, "random" is a counter, connect hands out
 * ids, send appends to a per-connection output buffer the test reads frames from,
 * close and observe are recorded, and storage is a mem_storage view.  Connection
 * ids index the arrays directly, so tests use ids below FAKE_CONNS_MAX.
 */
#ifndef STREAMLAB_TESTS_FAKE_ENV_H
#define STREAMLAB_TESTS_FAKE_ENV_H

#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "mem_storage.h"

#define FAKE_CONNS_MAX 4096

typedef struct fake_out {
    uint8_t *data;
    size_t len, cap;
    size_t pos; /* bytes already taken as frames */
} fake_out;

typedef struct fake_env {
    broker_env env;
    mem_storage *mem;
    int32_t node;
    int64_t now_us;
    int64_t epoch_ms;
    uint64_t counter;
    conn_id next_dial;
    fake_out out[FAKE_CONNS_MAX];
    int closes[FAKE_CONNS_MAX]; /* env->close calls per connection */
    int close_calls;
    int sends;
    int observed[OBSERVE_KIND_COUNT];
} fake_env;

static inline int64_t fake_now_us(void *ctx) {
    return ((fake_env *)ctx)->now_us;
}

static inline int64_t fake_epoch_ms(void *ctx) {
    return ((fake_env *)ctx)->epoch_ms;
}

static inline uint64_t fake_random_u64(void *ctx) {
    return ++((fake_env *)ctx)->counter;
}

static inline conn_id fake_connect(void *ctx, int32_t node_id) {
    fake_env *f = ctx;
    (void)node_id;
    return f->next_dial < FAKE_CONNS_MAX ? f->next_dial++ : 0;
}

static inline void fake_send(void *ctx, conn_id conn, const uint8_t *bytes, size_t len) {
    fake_env *f = ctx;
    if (conn >= FAKE_CONNS_MAX) abort();
    fake_out *o = &f->out[conn];
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->len + len) cap *= 2;
        o->data = realloc(o->data, cap);
        if (!o->data) abort();
        o->cap = cap;
    }
    memcpy(o->data + o->len, bytes, len);
    o->len += len;
    f->sends++;
}

static inline void fake_close(void *ctx, conn_id conn) {
    fake_env *f = ctx;
    if (conn >= FAKE_CONNS_MAX) abort();
    f->closes[conn]++;
    f->close_calls++;
}

static inline void fake_observe(void *ctx, const observe_event *ev) {
    fake_env *f = ctx;
    if ((int)ev->kind > 0 && ev->kind < OBSERVE_KIND_COUNT) f->observed[ev->kind]++;
}

/* Storage for `node` in mem (the caller owns mem, so it survives broker restarts). */
static inline void fake_env_init(fake_env *f, mem_storage *mem, int32_t node) {
    memset(f, 0, sizeof *f);
    f->mem = mem;
    f->node = node;
    f->now_us = 1000000;
    f->epoch_ms = 1700000000000LL;
    f->next_dial = FAKE_CONNS_MAX / 2; /* dialled ids never collide with the test's */
    f->env.ctx = f;
    f->env.now_us = fake_now_us;
    f->env.epoch_ms = fake_epoch_ms;
    f->env.random_u64 = fake_random_u64;
    f->env.connect = fake_connect;
    f->env.send = fake_send;
    f->env.close = fake_close;
    f->env.observe = fake_observe;
    f->env.fs = mem_storage_view(mem, node);
}

static inline void fake_env_deinit(fake_env *f) {
    for (int i = 0; i < FAKE_CONNS_MAX; i++) free(f->out[i].data);
    memset(f->out, 0, sizeof f->out);
}

/* Bytes sent on conn and not yet taken. */
static inline size_t fake_pending(const fake_env *f, conn_id conn) {
    return f->out[conn].len - f->out[conn].pos;
}

/* Takes the next whole response frame sent on conn (without its size prefix):
 * 1 and the frame, 0 when none is complete.  The pointer is valid until the next
 * send on conn. */
static inline int fake_take_frame(fake_env *f, conn_id conn, const uint8_t **frame, size_t *len) {
    fake_out *o = &f->out[conn];
    size_t avail = o->len - o->pos;
    if (avail < 4) return 0;
    const uint8_t *p = o->data + o->pos;
    uint32_t size = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (avail - 4 < size) return 0;
    *frame = p + 4;
    *len = size;
    o->pos += 4 + (size_t)size;
    return 1;
}

#endif
