/* test_world.c — the event loop and network model with tiny fake nodes: an echo
 * server and a client that logs what it receives and when.  Connections are FIFO
 * and never faster than the minimum latency; a seed fixes the digest; cuts, node
 * stops and drops break connections (both ends hear on_closed, in-flight bytes
 * are lost); slow links are slow; stale timers are not events; run_until stops at
 * its time. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "trace.h"
#include "world.h"

#define FAKE_RX_MAX 2048
#define FAKE_CLOSED_MAX 64
#define MSG_BYTES 16 /* 8 bytes sequence, 8 bytes send time, little-endian */

typedef struct fake_rx {
    conn_id conn;
    int64_t at_us;
    uint64_t seq;
    int64_t sent_us;
} fake_rx;

typedef struct fake fake;
struct fake {
    sim_node *n;
    int echo; /* answer every message with the same bytes */
    int accepts, connects, closes;
    int timers;  /* on_timer calls with the deadline due */
    int wakeups; /* every on_timer call, early ones included */
    int64_t gap_us;
    conn_id accepted, connected;
    int64_t connected_at_us;
    conn_id closed[FAKE_CLOSED_MAX];
    int64_t closed_at_us[FAKE_CLOSED_MAX];
    fake_rx rx[FAKE_RX_MAX];
    int rx_count;
    int64_t deadline_us;
    int64_t timer_at_us[FAKE_RX_MAX];
    void (*on_timer_fn)(fake *f);
    void (*on_connected_fn)(fake *f);
};

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int64_t fake_now(fake *f) {
    return f->n->env.now_us(f->n->env.ctx);
}

static void fake_send(fake *f, conn_id c, uint64_t seq) {
    uint8_t m[MSG_BYTES];
    put_u64(m, seq);
    put_u64(m + 8, (uint64_t)fake_now(f));
    f->n->env.send(f->n->env.ctx, c, m, sizeof m);
}

static conn_id fake_connect(fake *f, int32_t peer) {
    return f->n->env.connect(f->n->env.ctx, peer);
}

static void on_accept(void *impl, conn_id c) {
    fake *f = impl;
    f->accepts++;
    f->accepted = c;
}

static void on_connected(void *impl, conn_id c) {
    fake *f = impl;
    f->connects++;
    f->connected = c;
    f->connected_at_us = fake_now(f);
    if (f->on_connected_fn) f->on_connected_fn(f);
}

static void on_closed(void *impl, conn_id c) {
    fake *f = impl;
    cr_assert_lt(f->closes, FAKE_CLOSED_MAX);
    f->closed[f->closes] = c;
    f->closed_at_us[f->closes] = fake_now(f);
    f->closes++;
}

static void on_bytes(void *impl, conn_id c, const uint8_t *bytes, size_t len) {
    fake *f = impl;
    cr_assert_eq(len, MSG_BYTES, "the world delivers each send whole");
    cr_assert_lt(f->rx_count, FAKE_RX_MAX);
    f->rx[f->rx_count++] = (fake_rx){c, fake_now(f), get_u64(bytes), (int64_t)get_u64(bytes + 8)};
    if (f->echo) f->n->env.send(f->n->env.ctx, c, bytes, len);
}

static int64_t next_deadline_us(const void *impl) {
    return ((const fake *)impl)->deadline_us;
}

static void on_timer(void *impl) {
    fake *f = impl;
    f->wakeups++;
    if (fake_now(f) < f->deadline_us) return; /* early: nothing due, as a real node does */
    if (f->timers < FAKE_RX_MAX) f->timer_at_us[f->timers] = fake_now(f);
    f->timers++;
    f->deadline_us = INT64_MAX;
    if (f->on_timer_fn) f->on_timer_fn(f);
}

static const sim_node_ops fake_ops = {on_accept, on_connected,     on_closed,
                                      on_bytes,  next_deadline_us, on_timer};

/* A world of `count` fake nodes with the given ids; f[i] is node ids[i]. */
typedef struct rig {
    world w;
    fake f[4];
    int count;
    trace_message lost[FAKE_RX_MAX];
    int lost_count, delivered_count;
} rig;

static void on_message(void *ctx, const trace_message *m) {
    rig *r = ctx;
    if (!m->lost) {
        r->delivered_count++;
        return;
    }
    cr_assert_lt(r->lost_count, FAKE_RX_MAX);
    r->lost[r->lost_count++] = *m;
}

static rig *rig_new(uint64_t seed, int64_t lat_min, int64_t lat_max, uint32_t drop_ppm,
                    const int32_t *ids, int count) {
    rig *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    world_init(&r->w, seed, lat_min, lat_max, drop_ppm);
    r->w.message_observer = on_message;
    r->w.message_observer_ctx = r;
    r->count = count;
    for (int i = 0; i < count; i++) {
        enum sim_node_kind kind =
            ids[i] >= WORLD_CLIENT_ID_BASE ? SIM_NODE_PRODUCER : SIM_NODE_BROKER;
        r->f[i].n =
            world_add_node(&r->w, ids[i], kind, kind == SIM_NODE_BROKER ? "broker" : "client");
        r->f[i].deadline_us = INT64_MAX;
        world_node_start(&r->w, r->f[i].n, &r->f[i], &fake_ops);
    }
    return r;
}

static void rig_free(rig *r) {
    world_deinit(&r->w);
    free(r);
}

/* Runs until f's connection is established; returns it. */
static conn_id connect_and_wait(rig *r, fake *f, int32_t peer) {
    int before = f->connects;
    conn_id c = fake_connect(f, peer);
    cr_assert_neq(c, 0);
    world_run_until(&r->w, r->w.now_us + 1000000);
    cr_assert_eq(f->connects, before + 1, "no on_connected for a dial to %d", peer);
    cr_assert_eq(f->connected, c);
    return c;
}

/* ---- FIFO and latency ------------------------------------------------------------ */

enum { STREAM_MESSAGES = 300 };

/* The client sends one message every gap_us once connected: with 100 µs and
 * latency drawn from 1–5 ms, many are in flight at once, so any reordering
 * would show. */
static void stream_tick(fake *f) {
    fake_send(f, f->connected, (uint64_t)f->timers);
    if (f->timers < STREAM_MESSAGES) f->deadline_us = fake_now(f) + f->gap_us;
}

static void stream_start(fake *f) {
    f->deadline_us = fake_now(f);
}

/* Client 100 streams to echo server 1; returns the rig after everything arrived. */
static rig *run_stream_gap(uint64_t seed, int64_t gap_us) {
    int32_t ids[] = {100, 1};
    rig *r = rig_new(seed, 1000, 5000, 0, ids, 2);
    fake *client = &r->f[0], *server = &r->f[1];
    server->echo = 1;
    client->on_timer_fn = stream_tick;
    client->on_connected_fn = stream_start;
    client->gap_us = gap_us;
    fake_connect(client, 1);
    world_run_until(&r->w, 100000000);
    return r;
}

static rig *run_stream(uint64_t seed) {
    return run_stream_gap(seed, 100);
}

Test(world, bytes_arrive_in_order_and_never_before_min_latency) {
    rig *r = run_stream(1);
    fake *client = &r->f[0], *server = &r->f[1];
    cr_assert_eq(server->accepts, 1);
    cr_assert_eq(client->connects, 1);
    cr_assert_geq(client->connected_at_us, 1000, "a connection takes at least one latency");
    cr_assert_eq(server->rx_count, STREAM_MESSAGES);
    cr_assert_eq(client->rx_count, STREAM_MESSAGES);
    for (int i = 0; i < STREAM_MESSAGES; i++) {
        const fake_rx *s = &server->rx[i], *c = &client->rx[i];
        cr_assert_eq(s->seq, (uint64_t)i + 1, "server got message %llu at position %d",
                     (unsigned long long)s->seq, i);
        cr_assert_eq(c->seq, (uint64_t)i + 1, "client got echo %llu at position %d",
                     (unsigned long long)c->seq, i);
        cr_assert_geq(s->at_us - s->sent_us, 1000, "message %d took %lld us", i,
                      (long long)(s->at_us - s->sent_us));
        cr_assert_geq(c->at_us - c->sent_us, 1000, "echo %d took %lld us", i,
                      (long long)(c->at_us - c->sent_us));
        if (i > 0) cr_assert_geq(s->at_us, server->rx[i - 1].at_us);
    }
    cr_assert_eq(r->w.stats.messages, 2 * STREAM_MESSAGES);
    cr_assert_eq(r->w.stats.messages_lost, 0);
    cr_assert_eq(r->w.stats.bytes, 2 * STREAM_MESSAGES * MSG_BYTES);
    cr_assert_eq(r->delivered_count, 2 * STREAM_MESSAGES);
    rig_free(r);
}

Test(world, latency_spans_its_range) {
    /* Messages 20 ms apart never queue behind each other, so their trips show
     * the drawn latency: some near 1 ms, some near 5 ms, none outside. */
    rig *r = run_stream_gap(3, 20000);
    fake *server = &r->f[1];
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < server->rx_count; i++) {
        int64_t d = server->rx[i].at_us - server->rx[i].sent_us;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    cr_assert(lo >= 1000 && lo < 1500, "fastest trip %lld us", (long long)lo);
    cr_assert(hi > 4500 && hi <= 5000, "slowest trip %lld us", (long long)hi);
    rig_free(r);
}

/* ---- determinism ------------------------------------------------------------------ */

Test(world, same_seed_same_digest_different_seed_different_digest) {
    rig *a = run_stream(42), *b = run_stream(42), *c = run_stream(43);
    cr_assert_eq(a->w.digest, b->w.digest);
    cr_assert_eq(a->w.stats.events, b->w.stats.events);
    cr_assert_eq(a->w.now_us, b->w.now_us);
    for (int i = 0; i < STREAM_MESSAGES; i++)
        cr_assert_eq(a->f[1].rx[i].at_us, b->f[1].rx[i].at_us, "arrival %d", i);
    cr_assert_neq(a->w.digest, c->w.digest);
    cr_assert_neq(a->w.digest, DIGEST_INIT);
    rig_free(a);
    rig_free(b);
    rig_free(c);
}

Test(world, digest_excludes_the_seed_itself) {
    /* With a fixed latency nothing random shapes the run, so the seed must not
     * show in the digest (DESIGN.md §3). */
    int32_t ids[] = {100, 1};
    uint64_t digests[2];
    for (int k = 0; k < 2; k++) {
        rig *r = rig_new(k ? 777 : 1, 2000, 2000, 0, ids, 2);
        r->f[1].echo = 1;
        r->f[0].on_timer_fn = stream_tick;
        r->f[0].on_connected_fn = stream_start;
        r->f[0].gap_us = 100;
        fake_connect(&r->f[0], 1);
        world_run_until(&r->w, 10000000);
        cr_assert_eq(r->f[0].rx_count, STREAM_MESSAGES);
        digests[k] = r->w.digest;
        rig_free(r);
    }
    cr_assert_eq(digests[0], digests[1]);
}

/* ---- cut and heal ------------------------------------------------------------------- */

Test(world, cut_breaks_connections_both_sides_hear) {
    int32_t ids[] = {1, 2, 3};
    rig *r = rig_new(5, 1000, 3000, 0, ids, 3);
    fake *a = &r->f[0], *b = &r->f[1], *c = &r->f[2];
    conn_id ab = connect_and_wait(r, a, 2);
    conn_id ac = connect_and_wait(r, a, 3);
    int64_t cut_at = r->w.now_us;
    fake_send(a, ab, 1); /* in flight when the cut happens: lost */
    world_link_cut(&r->w, 1, 2);
    cr_assert(world_link_is_cut(&r->w, 1, 2));
    cr_assert(world_link_is_cut(&r->w, 2, 1));
    cr_assert(!world_link_is_cut(&r->w, 1, 3));
    world_run_until(&r->w, cut_at + 1000000);
    cr_assert_eq(a->closes, 1);
    cr_assert_eq(a->closed[0], ab);
    cr_assert_eq(b->closes, 1);
    cr_assert_eq(b->closed[0], ab);
    cr_assert_geq(a->closed_at_us[0], cut_at + 1000, "on_closed comes one latency later");
    cr_assert_geq(b->closed_at_us[0], cut_at + 1000);
    cr_assert_eq(b->rx_count, 0);
    cr_assert_eq(r->w.stats.messages_lost, 1);
    cr_assert_eq(r->lost_count, 1);
    cr_assert_eq(r->lost[0].conn, ab);
    /* The other link is untouched. */
    cr_assert_eq(c->closes, 0);
    fake_send(a, ac, 7);
    world_run_until(&r->w, r->w.now_us + 1000000);
    cr_assert_eq(c->rx_count, 1);
    cr_assert_eq(c->rx[0].seq, 7);
    rig_free(r);
}

Test(world, connect_across_cut_fails_until_heal) {
    int32_t ids[] = {1, 2};
    rig *r = rig_new(6, 1000, 3000, 0, ids, 2);
    fake *a = &r->f[0], *b = &r->f[1];
    world_link_cut(&r->w, 1, 2);
    for (int dir = 0; dir < 2; dir++) {
        fake *dialer = dir ? b : a;
        int32_t peer = dir ? 1 : 2;
        conn_id c = fake_connect(dialer, peer);
        cr_assert_neq(c, 0);
        world_run_until(&r->w, r->w.now_us + 1000000);
        cr_assert_eq(dialer->connects, 0);
        cr_assert_eq(dialer->closes, 1, "dir %d", dir);
        cr_assert_eq(dialer->closed[0], c);
        cr_assert_eq(a->accepts + b->accepts, 0, "the far side never sees a failed dial");
        dialer->closes = 0;
    }
    cr_assert_eq(a->closes + b->closes, 0);
    world_link_heal(&r->w, 2, 1);
    cr_assert(!world_link_is_cut(&r->w, 1, 2));
    conn_id c = connect_and_wait(r, a, 2);
    cr_assert_eq(b->accepts, 1);
    cr_assert_eq(b->accepted, c);
    rig_free(r);
}

Test(world, heal_all_heals_every_cut) {
    int32_t ids[] = {1, 2, 3};
    rig *r = rig_new(7, 1000, 1000, 0, ids, 3);
    world_link_cut(&r->w, 1, 2);
    world_link_cut(&r->w, 2, 3);
    world_heal_all(&r->w);
    connect_and_wait(r, &r->f[0], 2);
    connect_and_wait(r, &r->f[1], 3);
    cr_assert_eq(r->f[0].closes + r->f[1].closes + r->f[2].closes, 0);
    rig_free(r);
}

Test(world, dial_while_connecting_across_new_cut_fails) {
    /* A cut that lands while the handshake is in flight fails the dial. */
    int32_t ids[] = {1, 2};
    rig *r = rig_new(8, 5000, 5000, 0, ids, 2);
    fake *a = &r->f[0], *b = &r->f[1];
    conn_id c = fake_connect(a, 2);
    world_run_until(&r->w, 1000);
    world_link_cut(&r->w, 1, 2);
    world_run_until(&r->w, 1000000);
    cr_assert_eq(a->connects, 0);
    cr_assert_eq(b->accepts, 0);
    cr_assert_eq(a->closes, 1);
    cr_assert_eq(a->closed[0], c);
    cr_assert_eq(b->closes, 0);
    rig_free(r);
}

Test(world, clients_are_not_cut) {
    int32_t ids[] = {100, 1, 2};
    rig *r = rig_new(9, 1000, 1000, 0, ids, 3);
    world_link_cut(&r->w, 1, 2);
    connect_and_wait(r, &r->f[0], 1);
    connect_and_wait(r, &r->f[0], 2);
    cr_assert_eq(r->f[0].closes, 0);
    rig_free(r);
}

/* ---- close and stop ---------------------------------------------------------------- */

Test(world, close_tells_only_the_peer) {
    int32_t ids[] = {100, 1};
    rig *r = rig_new(10, 1000, 2000, 0, ids, 2);
    fake *client = &r->f[0], *server = &r->f[1];
    conn_id c = connect_and_wait(r, client, 1);
    int64_t t = r->w.now_us;
    client->n->env.close(client->n->env.ctx, c);
    world_run_until(&r->w, t + 1000000);
    cr_assert_eq(client->closes, 0, "the closer hears nothing");
    cr_assert_eq(server->closes, 1);
    cr_assert_eq(server->closed[0], c);
    cr_assert_geq(server->closed_at_us[0], t + 1000);
    /* A send on a closed connection goes nowhere. */
    fake_send(client, c, 1);
    world_run_until(&r->w, r->w.now_us + 1000000);
    cr_assert_eq(server->rx_count, 0);
    rig_free(r);
}

Test(world, node_stop_breaks_connections_and_loses_in_flight) {
    int32_t ids[] = {100, 1, 101};
    rig *r = rig_new(11, 2000, 2000, 0, ids, 3);
    fake *client = &r->f[0], *server = &r->f[1], *other = &r->f[2];
    server->echo = 1;
    conn_id c = connect_and_wait(r, client, 1);
    conn_id oc = connect_and_wait(r, other, 1);
    int64_t t0 = r->w.now_us;
    fake_send(client, c, 1); /* arrives at t0+2000; its echo is in flight at the stop */
    world_run_until(&r->w, t0 + 1500);
    fake_send(client, c, 2); /* due at t0+3500: in flight to the server at the stop */
    world_run_until(&r->w, t0 + 2500);
    cr_assert_eq(server->rx_count, 1);
    cr_assert_eq(client->rx_count, 0);
    int64_t t = r->w.now_us;
    world_node_stop(&r->w, server->n);
    cr_assert(!server->n->up);
    world_run_until(&r->w, t + 1000000);
    cr_assert_eq(server->rx_count, 1, "a stopped node receives nothing");
    cr_assert_eq(server->closes, 0, "a stopped node hears nothing");
    cr_assert_eq(client->rx_count, 0, "the echo in flight was lost");
    cr_assert_eq(client->closes, 1);
    cr_assert_eq(client->closed[0], c);
    cr_assert_geq(client->closed_at_us[0], t + 2000);
    cr_assert_eq(other->closes, 1);
    cr_assert_eq(other->closed[0], oc);
    cr_assert_eq(r->w.stats.messages_lost, 2);
    cr_assert_eq(r->lost_count, 2);
    rig_free(r);
}

Test(world, connect_to_stopped_node_fails_and_restart_accepts) {
    int32_t ids[] = {100, 1};
    rig *r = rig_new(12, 1000, 2000, 0, ids, 2);
    fake *client = &r->f[0], *server = &r->f[1];
    world_node_stop(&r->w, server->n);
    conn_id c = fake_connect(client, 1);
    world_run_until(&r->w, 1000000);
    cr_assert_eq(client->connects, 0);
    cr_assert_eq(client->closes, 1);
    cr_assert_eq(client->closed[0], c);
    cr_assert_geq(client->closed_at_us[0], 1000, "refusal takes a latency too");
    /* Restart with a fresh implementation, as a crashed broker would be. */
    fake *fresh = calloc(1, sizeof *fresh);
    cr_assert_not_null(fresh);
    fresh->n = server->n;
    fresh->deadline_us = INT64_MAX;
    fresh->echo = 1;
    world_node_start(&r->w, server->n, fresh, &fake_ops);
    conn_id c2 = connect_and_wait(r, client, 1);
    cr_assert_neq(c2, c);
    cr_assert_eq(fresh->accepts, 1);
    fake_send(client, c2, 5);
    world_run_until(&r->w, r->w.now_us + 1000000);
    cr_assert_eq(fresh->rx_count, 1);
    cr_assert_eq(client->rx_count, 1);
    cr_assert_eq(server->accepts, 0, "the old implementation is never called again");
    rig_free(r);
    free(fresh);
}

Test(world, connect_to_unknown_node_fails) {
    int32_t ids[] = {100};
    rig *r = rig_new(13, 1000, 2000, 0, ids, 1);
    conn_id c = fake_connect(&r->f[0], 7);
    world_run_until(&r->w, 1000000);
    cr_assert_eq(r->f[0].closes, 1);
    cr_assert_eq(r->f[0].closed[0], c);
    rig_free(r);
}

Test(world, stopped_node_timer_does_not_fire) {
    int32_t ids[] = {1};
    rig *r = rig_new(14, 1000, 1000, 0, ids, 1);
    r->f[0].deadline_us = 5000;
    world_node_reschedule(&r->w, r->f[0].n);
    world_run_until(&r->w, 1000);
    world_node_stop(&r->w, r->f[0].n);
    world_run_until(&r->w, 100000);
    cr_assert_eq(r->f[0].timers, 0);
    cr_assert_eq(r->w.stats.events, 0);
    rig_free(r);
}

/* ---- slow links and drops -------------------------------------------------------------- */

Test(world, slow_link_raises_latency_until_healed) {
    int32_t ids[] = {1, 2, 3};
    rig *r = rig_new(15, 1000, 1000, 0, ids, 3);
    fake *a = &r->f[0], *b = &r->f[1], *c = &r->f[2];
    conn_id ab = connect_and_wait(r, a, 2);
    conn_id ac = connect_and_wait(r, a, 3);
    world_link_slow(&r->w, 2, 1, 50000, 60000);
    for (uint64_t i = 0; i < 20; i++) {
        fake_send(a, ab, i);
        fake_send(a, ac, i);
        world_run_until(&r->w, r->w.now_us + 10);
    }
    world_run_until(&r->w, r->w.now_us + 1000000);
    cr_assert_eq(b->rx_count, 20);
    cr_assert_eq(c->rx_count, 20);
    for (int i = 0; i < 20; i++) {
        int64_t slow = b->rx[i].at_us - b->rx[i].sent_us;
        int64_t fast = c->rx[i].at_us - c->rx[i].sent_us;
        cr_assert(slow >= 50000 && slow <= 60000 + 200, "slow link trip %lld us", (long long)slow);
        cr_assert_eq(fast, 1000, "other link trip %lld us", (long long)fast);
    }
    cr_assert_eq(a->closes + b->closes, 0, "slow is not broken");
    world_link_heal(&r->w, 1, 2);
    fake_send(a, ab, 99);
    world_run_until(&r->w, r->w.now_us + 1000000);
    cr_assert_eq(b->rx_count, 21);
    cr_assert_eq(b->rx[20].at_us - b->rx[20].sent_us, 1000);
    rig_free(r);
}

Test(world, full_drop_rate_breaks_every_connection_at_its_first_message) {
    int32_t ids[] = {100, 1};
    rig *r = rig_new(16, 1000, 2000, 1000000, ids, 2);
    fake *client = &r->f[0], *server = &r->f[1];
    for (int i = 0; i < 5; i++) {
        conn_id c = connect_and_wait(r, client, 1);
        fake_send(client, c, (uint64_t)i);
        fake_send(client, c, 100 + (uint64_t)i); /* after the break: goes nowhere */
        world_run_until(&r->w, r->w.now_us + 1000000);
        cr_assert_eq(client->closes, i + 1);
        cr_assert_eq(client->closed[i], c);
        cr_assert_eq(server->closes, i + 1);
        cr_assert_eq(server->closed[i], c);
    }
    cr_assert_eq(server->accepts, 5, "the handshake is not a message");
    cr_assert_eq(server->rx_count, 0);
    cr_assert_eq(r->w.stats.messages_lost, 5);
    rig_free(r);
}

Test(world, zero_drop_rate_breaks_nothing) {
    rig *r = run_stream(17);
    cr_assert_eq(r->f[0].closes + r->f[1].closes, 0);
    rig_free(r);
}

/* ---- timers and the clock --------------------------------------------------------------- */

Test(world, stale_timer_is_not_an_event) {
    /* Deadline moved earlier: the event pushed for the old, later deadline is
     * stale when it pops, so it is neither called nor counted nor folded. */
    int32_t ids[] = {1};
    rig *r = rig_new(18, 1000, 1000, 0, ids, 1);
    fake *f = &r->f[0];
    f->deadline_us = 5000;
    world_node_reschedule(&r->w, f->n);
    f->deadline_us = 2000;
    world_node_reschedule(&r->w, f->n);
    world_run_until(&r->w, 3000);
    cr_assert_eq(f->timers, 1);
    cr_assert_eq(f->timer_at_us[0], 2000);
    cr_assert_eq(r->w.stats.events, 1);
    uint64_t digest = r->w.digest;
    world_run_until(&r->w, 10000); /* pops the stale event at 5000 */
    cr_assert_eq(f->wakeups, 1);
    cr_assert_eq(r->w.stats.events, 1);
    cr_assert_eq(r->w.digest, digest, "a stale timer is not folded");
    rig_free(r);
}

Test(world, later_deadline_is_served_at_its_time) {
    /* Deadline moved later: the node may be woken early (world.c keeps the
     * earlier timer rather than piling up stale ones), but the work it asked for
     * happens exactly at the new deadline, once. */
    int32_t ids[] = {1};
    rig *r = rig_new(19, 1000, 1000, 0, ids, 1);
    fake *f = &r->f[0];
    f->deadline_us = 1000;
    world_node_reschedule(&r->w, f->n);
    f->deadline_us = 5000;
    world_node_reschedule(&r->w, f->n);
    world_run_until(&r->w, 10000);
    cr_assert_eq(f->timers, 1);
    cr_assert_eq(f->timer_at_us[0], 5000);
    cr_assert_leq(f->wakeups, 2);
    cr_assert_eq(r->w.stats.events, (uint64_t)f->wakeups, "every wakeup is one event");
    rig_free(r);
}

Test(world, deadline_unchanged_is_not_rescheduled) {
    int32_t ids[] = {1};
    rig *r = rig_new(20, 1000, 1000, 0, ids, 1);
    fake *f = &r->f[0];
    f->deadline_us = 3000;
    for (int i = 0; i < 100; i++) world_node_reschedule(&r->w, f->n);
    world_run_until(&r->w, 10000);
    cr_assert_eq(f->wakeups, 1);
    cr_assert_eq(r->w.stats.events, 1);
    rig_free(r);
}

static void repeat_tick(fake *f) {
    if (f->timers < 10) f->deadline_us = fake_now(f) + 1000;
}

Test(world, timers_repeat_at_their_deadlines) {
    int32_t ids[] = {1};
    rig *r = rig_new(25, 1000, 1000, 0, ids, 1);
    fake *f = &r->f[0];
    f->on_timer_fn = repeat_tick;
    f->deadline_us = 500;
    world_node_reschedule(&r->w, f->n);
    world_run_until(&r->w, 1000000);
    cr_assert_eq(f->timers, 10);
    for (int i = 0; i < 10; i++) cr_assert_eq(f->timer_at_us[i], 500 + 1000 * i);
    cr_assert_eq(r->w.stats.events, 10);
    rig_free(r);
}

Test(world, run_until_stops_at_the_time) {
    int32_t ids[] = {1};
    rig *r = rig_new(21, 1000, 1000, 0, ids, 1);
    fake *f = &r->f[0];
    f->deadline_us = 5000;
    world_node_reschedule(&r->w, f->n);
    world_run_until(&r->w, 4999);
    cr_assert_eq(r->w.now_us, 4999);
    cr_assert_eq(f->timers, 0);
    world_run_until(&r->w, 5000);
    cr_assert_eq(f->timers, 1, "an event exactly at until runs");
    cr_assert_eq(r->w.now_us, 5000);
    world_run_until(&r->w, 123456); /* empty queue: the clock still moves */
    cr_assert_eq(r->w.now_us, 123456);
    rig_free(r);
}

static void stop_world(fake *f) {
    world_stop(f->n->w);
}

Test(world, world_stop_stops_at_the_event) {
    int32_t ids[] = {1};
    rig *r = rig_new(22, 1000, 1000, 0, ids, 1);
    fake *f = &r->f[0];
    f->on_timer_fn = stop_world;
    f->deadline_us = 3000;
    world_node_reschedule(&r->w, f->n);
    world_run_until(&r->w, 100000);
    cr_assert_eq(f->timers, 1);
    cr_assert_eq(r->w.now_us, 3000);
    rig_free(r);
}

static void spin(fake *f) {
    f->deadline_us = fake_now(f); /* never moves on */
}

Test(world, a_deadline_that_never_moves_aborts, .signal = SIGABRT) {
    int32_t ids[] = {1};
    rig *r = rig_new(23, 1000, 1000, 0, ids, 1);
    r->f[0].on_timer_fn = spin;
    r->f[0].deadline_us = 10;
    world_node_reschedule(&r->w, r->f[0].n);
    world_run_until(&r->w, 1000);
    rig_free(r);
}

Test(world, env_clock_and_randomness) {
    int32_t ids[] = {1};
    rig *r = rig_new(24, 1000, 1000, 0, ids, 1);
    const broker_env *env = &r->f[0].n->env;
    world_run_until(&r->w, 2500000);
    cr_assert_eq(env->now_us(env->ctx), 2500000);
    cr_assert_eq(env->epoch_ms(env->ctx), WORLD_EPOCH_MS_START + 2500);
    prng p;
    prng_seed(&p, 24);
    cr_assert_eq(env->random_u64(env->ctx), prng_next(&p), "nodes draw from the world's prng");
    rig_free(r);
}
