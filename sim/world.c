/*
 * world.c — the event loop and the network model.
 *
 * Connections are FIFO byte streams between two nodes: the dialer sends requests,
 * the acceptor answers.  Each send() becomes one message that arrives after a
 * latency drawn for its link, never before an earlier message of the same
 * direction (so bytes are never reordered).  A broken connection loses what is in
 * flight; both ends hear on_closed one latency later.  Links between brokers can
 * be cut or slowed; clients always reach every live broker.
 */
#include "world.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "trace.h"

enum conn_state { CONN_CONNECTING = 1, CONN_OPEN, CONN_BROKEN };

typedef struct world_conn {
    conn_id id;
    int32_t node[2];  /* [0] dialer, [1] acceptor */
    sim_node *end[2]; /* world_node(node[k]), looked up once; NULL if no such node */
    enum conn_state state;
    int closed_seen[2];
    int64_t last_deliver_us[2]; /* per direction, indexed by sender side */
    /* Requests seen from the dialer, to label responses in the trace. */
    struct {
        int32_t correlation_id;
        int16_t api_key, api_version;
    } pending[64];
    uint32_t pending_head, pending_count;
} world_conn;

typedef struct world_message {
    trace_message info;
    int side;       /* sender side */
    int size_class; /* capacity 256 B << size_class, or -1: not pooled */
    struct world_message *next_free;
    size_t len;
    uint8_t bytes[];
} world_message;

/* ---- message buffers ----------------------------------------------------------
 *
 * Every send() copies its bytes into a message that lives until delivery: a
 * malloc and a free per message.  Delivered messages go back to a free list per
 * power-of-two capacity instead (at most the peak in flight of each class). */

#define MESSAGE_BYTES_MIN 256

static world_message *message_alloc(world *w, size_t len) {
    size_t need = sizeof(world_message) + len;
    int cls = 0;
    while (cls < WORLD_MESSAGE_CLASSES && ((size_t)MESSAGE_BYTES_MIN << cls) < need) cls++;
    world_message *m;
    if (cls == WORLD_MESSAGE_CLASSES) {
        m = malloc(need);
        if (!m) abort();
        m->size_class = -1;
    } else if (w->message_free[cls]) {
        m = w->message_free[cls];
        w->message_free[cls] = m->next_free;
    } else {
        m = malloc((size_t)MESSAGE_BYTES_MIN << cls);
        if (!m) abort();
        m->size_class = cls;
    }
    return m;
}

static void message_free(world *w, world_message *m) {
#if defined(__SANITIZE_ADDRESS__)
    /* Freed, not pooled, in the sanitizer builds: a receiver that reads a message's
     * bytes after its on_bytes returned (frame readers borrow them) is caught. */
    const int pooled = 0;
#else
    const int pooled = 1;
#endif
    if (m->size_class < 0 || !pooled) {
        free(m);
        return;
    }
    m->next_free = w->message_free[m->size_class];
    w->message_free[m->size_class] = m;
}

/* ---- env callbacks handed to nodes ------------------------------------------ */

static int64_t env_now_us(void *ctx) {
    return ((sim_node *)ctx)->w->now_us;
}
static int64_t env_epoch_ms(void *ctx) {
    return WORLD_EPOCH_MS_START + ((sim_node *)ctx)->w->now_us / 1000;
}
static uint64_t env_random_u64(void *ctx) {
    return prng_next(&((sim_node *)ctx)->w->rng);
}
static conn_id env_connect(void *ctx, int32_t node_id);
static void env_send(void *ctx, conn_id conn, const uint8_t *bytes, size_t len);
static void env_close(void *ctx, conn_id conn);
static void env_observe(void *ctx, const observe_event *ev) {
    world_observe(((sim_node *)ctx)->w, ev);
}

/* ---- set up --------------------------------------------------------------- */

void world_init(world *w, uint64_t seed, int64_t latency_us_min, int64_t latency_us_max,
                uint32_t drop_rate_ppm) {
    memset(w, 0, sizeof *w);
    event_queue_init(&w->queue);
    prng_seed(&w->rng, seed);
    w->digest = DIGEST_INIT;
    w->latency_us_min = latency_us_min;
    w->latency_us_max = latency_us_max;
    w->drop_rate_ppm = drop_rate_ppm;
    w->message_id_next = 1;
    w->timer_next = -1;
    assert(latency_us_min >= 0 && latency_us_min <= latency_us_max);
}

void world_deinit(world *w) {
    sim_event e;
    while (event_queue_pop(&w->queue, &e))
        if (e.kind == WORLD_EV_DELIVER) free(e.payload);
    event_queue_deinit(&w->queue);
    for (int cls = 0; cls < WORLD_MESSAGE_CLASSES; cls++)
        while (w->message_free[cls]) {
            world_message *m = w->message_free[cls];
            w->message_free[cls] = m->next_free;
            free(m);
        }
    for (int32_t i = 0; i < w->node_count; i++) free(w->nodes[i]);
    free(w->conns);
}

sim_node *world_add_node(world *w, int32_t id, enum sim_node_kind kind, const char *name) {
    assert(w->node_count < WORLD_NODES_MAX);
    assert(world_node(w, id) == NULL);
    sim_node *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->w = w;
    n->id = id;
    n->kind = kind;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->index = w->node_count;
    n->timer_at_us = INT64_MAX;
    w->timer_fire_us[n->index] = INT64_MAX;
    n->env = (broker_env){.ctx = n,
                          .now_us = env_now_us,
                          .epoch_ms = env_epoch_ms,
                          .random_u64 = env_random_u64,
                          .connect = env_connect,
                          .send = env_send,
                          .close = env_close,
                          .observe = env_observe,
                          .clock_us = &w->now_us};
    w->nodes[w->node_count++] = n;
    return n;
}

sim_node *world_node(world *w, int32_t id) {
    for (int32_t i = 0; i < w->node_count; i++)
        if (w->nodes[i]->id == id) return w->nodes[i];
    return NULL;
}

void world_observe(world *w, const observe_event *ev) {
    if (w->observer) w->observer(w->observer_ctx, w->now_us, w->seq_now, ev);
}

/* ---- timers -----------------------------------------------------------------
 *
 * Each node has at most one pending timer event, held in the node (fire time and
 * the sequence number it took when set) rather than in the queue; the loop runs
 * whichever of the queue's head and the earliest node timer comes first in
 * (time, sequence) order.  A timer replaced by an earlier one simply disappears
 * (it used to stay in the heap and pop as a stale, uncounted event). */

static int timer_before(const world *w, int32_t a, int32_t b) {
    if (w->timer_fire_us[a] != w->timer_fire_us[b])
        return w->timer_fire_us[a] < w->timer_fire_us[b];
    return w->timer_seq[a] < w->timer_seq[b];
}

/* After the earliest timer fired or was cancelled: a scan (a heap of ~13 nodes
 * cost more to keep than this).  Most nodes' timers are later than the best so
 * far, so that test comes first. */
static void timers_rescan(world *w) {
    int32_t best = -1;
    int64_t best_at = INT64_MAX;
    uint64_t best_seq = UINT64_MAX;
    for (int32_t i = 0; i < w->node_count; i++) {
        int64_t at = w->timer_fire_us[i];
        if (at > best_at) continue;
        if (at == best_at && (at == INT64_MAX || w->timer_seq[i] >= best_seq)) continue;
        best = i;
        best_at = at;
        best_seq = w->timer_seq[i];
    }
    w->timer_next = best;
}

static void timer_cancel(world *w, sim_node *n) {
    if (w->timer_fire_us[n->index] == INT64_MAX) return;
    w->timer_fire_us[n->index] = INT64_MAX;
    if (w->timer_next == n->index) timers_rescan(w);
}

void world_node_reschedule(world *w, sim_node *n) {
    int64_t at = n->up ? n->ops->next_deadline_us(n->impl) : INT64_MAX;
    if (at == n->timer_at_us) return;
    /* A pending timer that fires earlier stays: the node is asked again then (an
     * early on_timer finds nothing due). */
    if (at > n->timer_at_us) return;
    n->timer_token++;
    n->timer_at_us = at;
    if (at == INT64_MAX) {
        timer_cancel(w, n);
        return;
    }
    if (at < w->now_us) at = w->now_us;
    /* Only ever earlier than the node's pending timer: it replaces it, and is the
     * world's earliest if it beats the current one. */
    w->timer_fire_us[n->index] = at;
    w->timer_seq[n->index] = event_queue_take_seq(&w->queue);
    if (w->timer_next < 0 || timer_before(w, n->index, w->timer_next)) w->timer_next = n->index;
}

void world_node_start(world *w, sim_node *n, void *impl, const sim_node_ops *ops) {
    assert(!n->up);
    n->impl = impl;
    n->ops = ops;
    n->up = 1;
    n->timer_at_us = INT64_MAX;
    n->timer_token++;
    timer_cancel(w, n);
    world_node_reschedule(w, n);
}

/* ---- links -------------------------------------------------------------------- */

static int is_broker(int32_t id) {
    return id >= 1 && id <= WORLD_BROKERS_MAX;
}

static world_link *link_of(world *w, int32_t a, int32_t b) {
    if (!is_broker(a) || !is_broker(b)) return NULL;
    return &w->links[a][b];
}

int world_link_is_cut(const world *w, int32_t a, int32_t b) {
    if (!is_broker(a) || !is_broker(b)) return 0;
    return w->links[a][b].cut;
}

static int64_t draw_latency_us(world *w, int32_t a, int32_t b) {
    world_link *l = link_of(w, a, b);
    int64_t lo = w->latency_us_min, hi = w->latency_us_max;
    if (l && l->latency_us_max > 0) {
        lo = l->latency_us_min;
        hi = l->latency_us_max;
    }
    return (int64_t)prng_range(&w->rng, (uint64_t)lo, (uint64_t)hi);
}

static world_conn *conn_get(world *w, conn_id id) {
    if (id == 0 || id > w->conn_count) return NULL;
    return &w->conns[id - 1];
}

static void conn_break(world *w, world_conn *c) {
    if (c->state == CONN_BROKEN) return;
    int was_open = c->state == CONN_OPEN;
    c->state = CONN_BROKEN;
    for (int side = 0; side < 2; side++) {
        sim_node *n = c->end[side];
        if (!n || !n->up) continue;
        /* A connecting dialer hears the failure; an acceptor that never saw the
         * connection hears nothing. */
        if (!was_open && side == 1) continue;
        int64_t at = w->now_us + draw_latency_us(w, c->node[0], c->node[1]);
        event_queue_push(&w->queue, at, WORLD_EV_CLOSED, c->id, (uint64_t)side, NULL);
    }
}

static void break_link_conns(world *w, int32_t a, int32_t b) {
    for (uint32_t i = 0; i < w->conn_count; i++) {
        world_conn *c = &w->conns[i];
        if (c->state == CONN_BROKEN) continue;
        if ((c->node[0] == a && c->node[1] == b) || (c->node[0] == b && c->node[1] == a))
            conn_break(w, c);
    }
}

void world_link_cut(world *w, int32_t a, int32_t b) {
    assert(is_broker(a) && is_broker(b) && a != b);
    w->links[a][b].cut = w->links[b][a].cut = 1;
    break_link_conns(w, a, b);
}

void world_link_heal(world *w, int32_t a, int32_t b) {
    assert(is_broker(a) && is_broker(b));
    w->links[a][b] = w->links[b][a] = (world_link){0};
}

void world_link_slow(world *w, int32_t a, int32_t b, int64_t latency_us_min,
                     int64_t latency_us_max) {
    assert(latency_us_min <= latency_us_max && latency_us_max > 0);
    for (int k = 0; k < 2; k++) {
        world_link *l = k ? &w->links[b][a] : &w->links[a][b];
        l->latency_us_min = latency_us_min;
        l->latency_us_max = latency_us_max;
    }
}

void world_heal_all(world *w) {
    memset(w->links, 0, sizeof w->links);
}

/* ---- connections ---------------------------------------------------------------- */

static conn_id env_connect(void *ctx, int32_t node_id) {
    sim_node *self = ctx;
    world *w = self->w;
    if (w->conn_count == w->conn_cap) {
        uint32_t cap = w->conn_cap ? w->conn_cap * 2 : 256;
        world_conn *conns = realloc(w->conns, cap * sizeof *conns);
        if (!conns) abort();
        w->conns = conns;
        w->conn_cap = cap;
    }
    world_conn *c = &w->conns[w->conn_count++];
    memset(c, 0, sizeof *c);
    c->id = w->conn_count;
    c->node[0] = self->id;
    c->node[1] = node_id;
    c->state = CONN_CONNECTING;
    w->stats.connections++;
    sim_node *peer = world_node(w, node_id);
    c->end[0] = self;
    c->end[1] = peer;
    int reachable = peer && peer->up && !world_link_is_cut(w, self->id, node_id);
    if (!reachable) {
        conn_break(w, c); /* refused or timed out: the dialer hears on_closed */
        return c->id;
    }
    int64_t at = w->now_us + draw_latency_us(w, self->id, node_id);
    event_queue_push(&w->queue, at, WORLD_EV_ESTABLISH, c->id, 0, NULL);
    return c->id;
}

static void label_message(world_conn *c, int side, const uint8_t *bytes, size_t len,
                          trace_message *m) {
    m->api_key = -1;
    m->api_version = -1;
    m->correlation_id = -1;
    m->is_response = side == 1;
    if (side == 0 && len >= 12) {
        m->api_key = (int16_t)((bytes[4] << 8) | bytes[5]);
        m->api_version = (int16_t)((bytes[6] << 8) | bytes[7]);
        m->correlation_id = (int32_t)((uint32_t)bytes[8] << 24 | (uint32_t)bytes[9] << 16 |
                                      (uint32_t)bytes[10] << 8 | bytes[11]);
        uint32_t slot = (c->pending_head + c->pending_count) % 64;
        if (c->pending_count == 64)
            c->pending_head = (c->pending_head + 1) % 64;
        else
            c->pending_count++;
        c->pending[slot].correlation_id = m->correlation_id;
        c->pending[slot].api_key = m->api_key;
        c->pending[slot].api_version = m->api_version;
    } else if (side == 1 && len >= 8) {
        m->correlation_id = (int32_t)((uint32_t)bytes[4] << 24 | (uint32_t)bytes[5] << 16 |
                                      (uint32_t)bytes[6] << 8 | bytes[7]);
        /* Responses come in request order; requests with no response (acks=0) are skipped. */
        while (c->pending_count) {
            uint32_t slot = c->pending_head;
            c->pending_head = (c->pending_head + 1) % 64;
            c->pending_count--;
            if (c->pending[slot].correlation_id == m->correlation_id) {
                m->api_key = c->pending[slot].api_key;
                m->api_version = c->pending[slot].api_version;
                break;
            }
        }
    }
}

static void env_send(void *ctx, conn_id id, const uint8_t *bytes, size_t len) {
    sim_node *self = ctx;
    world *w = self->w;
    world_conn *c = conn_get(w, id);
    assert(c && (c->node[0] == self->id || c->node[1] == self->id));
    if (c->state != CONN_OPEN || len == 0) return;
    int side = c->node[0] == self->id ? 0 : 1;
    world_message *m = message_alloc(w, len);
    memcpy(m->bytes, bytes, len);
    m->len = len;
    m->side = side;
    memset(&m->info, 0, sizeof m->info);
    m->info.id = w->message_id_next++;
    m->info.send_us = w->now_us;
    m->info.src = self->id;
    m->info.dst = c->node[1 - side];
    m->info.conn = id;
    m->info.size_bytes = (uint32_t)len;
    label_message(c, side, bytes, len, &m->info);
    int64_t at = w->now_us + draw_latency_us(w, c->node[0], c->node[1]);
    if (at < c->last_deliver_us[side]) at = c->last_deliver_us[side];
    c->last_deliver_us[side] = at;
    m->info.deliver_us = at;
    w->stats.messages++;
    w->stats.bytes += len;
    event_queue_push(&w->queue, at, WORLD_EV_DELIVER, id, 0, m);
    if (prng_chance_ppm(&w->rng, w->drop_rate_ppm)) conn_break(w, c);
}

static void env_close(void *ctx, conn_id id) {
    sim_node *self = ctx;
    world_conn *c = conn_get(self->w, id);
    assert(c);
    int side = c->node[0] == self->id ? 0 : 1;
    c->closed_seen[side] = 1; /* the closer gets no on_closed of its own */
    conn_break(self->w, c);
}

void world_node_stop(world *w, sim_node *n) {
    assert(n->up);
    n->up = 0;
    n->timer_token++;
    n->timer_at_us = INT64_MAX;
    timer_cancel(w, n);
    for (uint32_t i = 0; i < w->conn_count; i++) {
        world_conn *c = &w->conns[i];
        if (c->node[0] != n->id && c->node[1] != n->id) continue;
        c->closed_seen[c->node[0] == n->id ? 0 : 1] = 1;
        conn_break(w, c);
    }
}

/* ---- the loop -------------------------------------------------------------------- */

void world_schedule_action(world *w, int64_t at_us, uint32_t action_index) {
    event_queue_push(&w->queue, at_us, WORLD_EV_ACTION, action_index, 0, NULL);
}

void world_fold_action(world *w, uint64_t action_hash) {
    w->digest = digest_fold(w->digest, action_hash);
}

static int by_message_id(const void *a, const void *b) {
    uint64_t x = (*(const world_message *const *)a)->info.id;
    uint64_t y = (*(const world_message *const *)b)->info.id;
    return x < y ? -1 : x > y;
}

void world_report_in_flight(world *w) {
    if (!w->message_observer || w->queue.count == 0) return;
    /* In send order: the heap's layout is no order at all. */
    const world_message **in_flight = malloc(w->queue.count * sizeof *in_flight);
    if (!in_flight) abort();
    size_t n = 0;
    for (size_t i = 0; i < w->queue.count; i++) {
        sim_event e;
        event_queue_get(&w->queue, i, &e);
        if (e.kind == WORLD_EV_DELIVER) in_flight[n++] = e.payload;
    }
    qsort(in_flight, n, sizeof *in_flight, by_message_id);
    for (size_t i = 0; i < n; i++) /* deliver_us after the end */
        w->message_observer(w->message_observer_ctx, &in_flight[i]->info);
    free(in_flight);
}

void world_stop(world *w) {
    w->stopped = 1;
}

static void fold_event(world *w, const sim_event *e, int32_t src, int32_t dst, int16_t api_key,
                       int16_t api_version, uint64_t frame_hash) {
    uint64_t d = w->digest;
    d = digest_step(d, (uint64_t)e->at_us);
    d = digest_step(d, e->seq);
    d = digest_step(d, e->kind);
    d = digest_step(d, (uint64_t)(uint32_t)src << 32 | (uint32_t)dst);
    d = digest_step(d, e->target);
    d = digest_step(d, (uint64_t)(uint16_t)api_key << 16 | (uint16_t)api_version);
    w->digest = digest_mix(digest_step(d, frame_hash));
    w->stats.events++;
}

static void deliver(world *w, const sim_event *e) {
    world_message *m = e->payload;
    world_conn *c = conn_get(w, e->target);
    sim_node *dst = c->end[1 - m->side];
    int ok = c->state == CONN_OPEN && dst && dst->up;
    m->info.lost = !ok;
    if (!ok) m->info.deliver_us = -1;
    if (w->message_observer) w->message_observer(w->message_observer_ctx, &m->info);
    if (!ok) {
        w->stats.messages_lost++;
        message_free(w, m);
        return;
    }
    fold_event(w, e, m->info.src, m->info.dst, m->info.api_key, m->info.api_version,
               digest_bytes(m->bytes, m->len));
    dst->ops->on_bytes(dst->impl, c->id, m->bytes, m->len);
    message_free(w, m);
    world_node_reschedule(w, dst);
}

static void establish(world *w, const sim_event *e) {
    world_conn *c = conn_get(w, e->target);
    if (c->state != CONN_CONNECTING) return;
    sim_node *dialer = c->end[0], *acceptor = c->end[1];
    if (!acceptor->up || world_link_is_cut(w, c->node[0], c->node[1])) {
        conn_break(w, c);
        return;
    }
    c->state = CONN_OPEN;
    fold_event(w, e, c->node[0], c->node[1], -1, -1, 0);
    acceptor->ops->on_accept(acceptor->impl, c->id);
    world_node_reschedule(w, acceptor);
    if (dialer->up && c->state == CONN_OPEN) {
        dialer->ops->on_connected(dialer->impl, c->id);
        world_node_reschedule(w, dialer);
    }
}

static void closed(world *w, const sim_event *e) {
    world_conn *c = conn_get(w, e->target);
    int side = (int)e->token;
    if (c->closed_seen[side]) return;
    c->closed_seen[side] = 1;
    sim_node *n = c->end[side];
    if (!n || !n->up) return;
    fold_event(w, e, c->node[side], c->node[1 - side], -1, -1, 0);
    n->ops->on_closed(n->impl, c->id);
    world_node_reschedule(w, n);
}

static void timer(world *w, const sim_event *e) {
    sim_node *n = w->nodes[e->target];
    if (!n->up || e->token != n->timer_token) return; /* stale */
    n->timer_at_us = INT64_MAX;
    /* A node whose deadline never moves past now would spin for ever. */
    n->timer_repeats = e->at_us == n->timer_last_us ? n->timer_repeats + 1 : 0;
    n->timer_last_us = e->at_us;
    if (n->timer_repeats > WORLD_TIMER_REPEATS_MAX) {
        fprintf(stderr, "streamlab: node %s keeps asking for a timer at %lld us: livelock\n",
                n->name, (long long)e->at_us);
        abort();
    }
    fold_event(w, e, n->id, n->id, -1, -1, 0);
    n->ops->on_timer(n->impl);
    world_node_reschedule(w, n);
}

static void dispatch(world *w, const sim_event *e) {
    switch (e->kind) {
    case WORLD_EV_DELIVER:
        deliver(w, e);
        break;
    case WORLD_EV_ESTABLISH:
        establish(w, e);
        break;
    case WORLD_EV_CLOSED:
        closed(w, e);
        break;
    case WORLD_EV_TIMER:
        timer(w, e);
        break;
    case WORLD_EV_ACTION:
        fold_event(w, e, 0, 0, -1, -1, 0);
        if (w->action_handler) w->action_handler(w->action_ctx, e->target, e->at_us, e->seq);
        break;
    default:
        assert(0 && "unknown event kind");
    }
}

/* Takes the next event, queued or a node's timer, if it is due by until_us. */
static int next_event(world *w, int64_t until_us, sim_event *e) {
    int32_t t = w->timer_next;
    const event_queue *q = &w->queue;
    int timer_first = t >= 0 && (q->count == 0 || w->timer_fire_us[t] < event_queue_next_at_us(q) ||
                                 (w->timer_fire_us[t] == event_queue_next_at_us(q) &&
                                  w->timer_seq[t] < event_queue_next_seq(q)));
    if (!timer_first) {
        if (q->count == 0 || event_queue_next_at_us(q) > until_us) return 0;
        return event_queue_pop(&w->queue, e);
    }
    if (w->timer_fire_us[t] > until_us) return 0;
    *e = (sim_event){.at_us = w->timer_fire_us[t],
                     .seq = w->timer_seq[t],
                     .kind = WORLD_EV_TIMER,
                     .target = (uint32_t)t,
                     .token = w->nodes[t]->timer_token};
    w->timer_fire_us[t] = INT64_MAX;
    timers_rescan(w);
    return 1;
}

void world_run_until(world *w, int64_t until_us) {
    w->stopped = 0;
    while (!w->stopped) {
        sim_event e;
        if (!next_event(w, until_us, &e)) {
            if (w->now_us < until_us) w->now_us = until_us;
            return;
        }
        assert(e.at_us >= w->now_us);
        w->now_us = e.at_us;
        w->seq_now = e.seq;
        dispatch(w, &e);
    }
}
