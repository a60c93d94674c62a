/*
 * world.h — the simulated world: virtual clock, event loop, nodes and network.
 *
 * The world owns everything a run has: the event queue, the one prng, the
 * in-memory storage that outlives broker crashes, the connections between
 * nodes, and the nodes themselves (brokers and simulated clients).  Every node is
 * a state machine behind sim_node_ops; the world calls it when bytes arrive, a
 * connection opens or closes, or its deadline passes, and asks it for its next
 * deadline after every call — there are no polling ticks.
 *
 * Each popped, non-stale event is folded into the digest (DESIGN.md §3).
 */
#ifndef STREAMLAB_WORLD_H
#define STREAMLAB_WORLD_H

#include <stdint.h>

#include "broker.h"
#include "event_queue.h"
#include "observe.h"
#include "prng.h"

#define WORLD_NODES_MAX 256
#define WORLD_BROKERS_MAX 16
#define WORLD_CLIENT_ID_BASE 100
#define WORLD_TIMER_REPEATS_MAX 100000
#define WORLD_MESSAGE_CLASSES 16             /* pooled message buffers: 256 B << class */
#define WORLD_EPOCH_MS_START 1735689600000LL /* 2025-01-01T00:00:00Z: virtual time zero */

typedef struct mem_storage mem_storage;
typedef struct trace_message trace_message;

enum world_event_kind {
    WORLD_EV_DELIVER = 1, /* target = connection; payload = world_message */
    WORLD_EV_ESTABLISH,   /* target = connection: accept + connected */
    WORLD_EV_CLOSED,      /* target = connection; token = side (0 dialer, 1 acceptor) */
    WORLD_EV_TIMER,       /* target = node index; token = timer token */
    WORLD_EV_ACTION,      /* target = action index in the driver's table */
};

typedef struct sim_node_ops {
    void (*on_accept)(void *impl, conn_id conn);
    void (*on_connected)(void *impl, conn_id conn);
    void (*on_closed)(void *impl, conn_id conn);
    void (*on_bytes)(void *impl, conn_id conn, const uint8_t *bytes, size_t len);
    int64_t (*next_deadline_us)(const void *impl);
    void (*on_timer)(void *impl);
} sim_node_ops;

enum sim_node_kind { SIM_NODE_BROKER = 1, SIM_NODE_PRODUCER, SIM_NODE_CONSUMER, SIM_NODE_ADMIN };

typedef struct world world;

typedef struct sim_node {
    world *w;
    int32_t id; /* brokers 1..N, clients from WORLD_CLIENT_ID_BASE */
    enum sim_node_kind kind;
    char name[64];
    int up;
    void *impl;
    const sim_node_ops *ops;
    broker_env env;
    int32_t index;       /* in world.nodes */
    int64_t timer_at_us; /* the deadline last scheduled, INT64_MAX none */
    uint64_t timer_token;
    int64_t timer_last_us; /* livelock guard: timers at one instant */
    uint32_t timer_repeats;
} sim_node;

typedef void world_observer_fn(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev);
typedef void world_message_fn(void *ctx, const trace_message *m);
typedef void world_action_fn(void *ctx, uint32_t action_index, int64_t t_us, uint64_t seq);

typedef struct world_link {
    int cut;
    int64_t latency_us_min, latency_us_max; /* 0,0 = the network default */
} world_link;

typedef struct world_stats {
    uint64_t events;
    uint64_t messages;
    uint64_t messages_lost;
    uint64_t bytes;
    uint64_t connections;
} world_stats;

struct world {
    event_queue queue;
    prng rng;
    int64_t now_us;
    uint64_t seq_now; /* sequence of the event being processed */
    uint64_t digest;
    world_stats stats;
    mem_storage *store;
    int64_t latency_us_min, latency_us_max;
    uint32_t drop_rate_ppm;
    world_link links[WORLD_BROKERS_MAX + 1][WORLD_BROKERS_MAX + 1];
    sim_node *nodes[WORLD_NODES_MAX];
    int32_t node_count;
    /* Each node's pending timer event, by node index, kept here rather than in the
     * queue: one per node, replaced in place when its deadline moves earlier (no
     * stale entries), in arrays so that finding the earliest is a short scan. */
    int64_t timer_fire_us[WORLD_NODES_MAX]; /* not before the time it was set; INT64_MAX none */
    uint64_t timer_seq[WORLD_NODES_MAX];
    int32_t timer_next;       /* index of the node with the earliest pending timer, -1 none */
    struct world_conn *conns; /* indexed by conn id - 1 */
    struct world_message *message_free[WORLD_MESSAGE_CLASSES]; /* delivered, for reuse */
    uint32_t conn_count, conn_cap;
    uint64_t message_id_next;
    world_observer_fn *observer;
    void *observer_ctx;
    world_message_fn *message_observer; /* NULL unless tracing */
    void *message_observer_ctx;
    world_action_fn *action_handler;
    void *action_ctx;
    int stopped;
};

void world_init(world *w, uint64_t seed, int64_t latency_us_min, int64_t latency_us_max,
                uint32_t drop_rate_ppm);
void world_deinit(world *w);

/* Adds a node (not yet up).  Returns it; the world owns the struct, not impl. */
sim_node *world_add_node(world *w, int32_t id, enum sim_node_kind kind, const char *name);
sim_node *world_node(world *w, int32_t id);

/* Marks a node up with its implementation, and schedules its first deadline. */
void world_node_start(world *w, sim_node *n, void *impl, const sim_node_ops *ops);
/* Takes a node down: every connection breaks (peers see on_closed after a
 * latency), in-flight messages are lost, its timer is cancelled.  The caller
 * frees impl. */
void world_node_stop(world *w, sim_node *n);
/* Asks the node for its next deadline and (re)schedules its timer. */
void world_node_reschedule(world *w, sim_node *n);

/* Network faults between brokers.  cut breaks the link's connections now. */
void world_link_cut(world *w, int32_t a, int32_t b);
void world_link_heal(world *w, int32_t a, int32_t b);
void world_link_slow(world *w, int32_t a, int32_t b, int64_t latency_us_min,
                     int64_t latency_us_max);
void world_heal_all(world *w);
int world_link_is_cut(const world *w, int32_t a, int32_t b);

/* Schedules a driver action (scripted fault, chaos step, live click). */
void world_schedule_action(world *w, int64_t at_us, uint32_t action_index);
void world_fold_action(world *w, uint64_t action_hash);

/* Runs events until the queue is empty, world_stop() is called, or the next event
 * is later than until_us.  Leaves now_us = until_us when it stops for time. */
void world_run_until(world *w, int64_t until_us);
void world_stop(world *w);
/* Hands every message still in flight to the message observer (at the end of a
 * traced run, so the trace holds every message sent). */
void world_report_in_flight(world *w);

/* Emits an observe event on behalf of the world (broker start/stop). */
void world_observe(world *w, const observe_event *ev);

#endif
