/*
 * bench_engine.c — how many events per second the engine alone can move.
 *
 * Two layers, each with trivial events, so the figures are the ceiling that the
 * broker and client code then share:
 *
 *   queue   sim/event_queue.h alone, in the "hold" model: the heap holds a fixed
 *           number of pending events; each step pops the earliest and pushes one a
 *           random delay later.  One event = one pop + one push.  Also fill-then-drain.
 *   world   world_run_until() with trivial nodes whose timer re-arms a random delay
 *           later on every call: the real dispatch path (stale-token check, livelock
 *           guard, digest fold, next_deadline_us, reschedule) with no network.
 *
 * Usage: bench_engine [--quick]   prints a markdown table; --quick runs ~10x fewer events.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event_queue.h"
#include "prng.h"
#include "world.h"

#define BENCH_DELAY_US_MAX 10000 /* events land up to 10 ms after the current one */
#define BENCH_NODES_MAX 200

static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, uint64_t events, double seconds, uint64_t check) {
    assert(seconds > 0);
    printf("| %-34s | %12llu | %8.3f | %14.0f | %016llx |\n", name, (unsigned long long)events,
           seconds, (double)events / seconds, (unsigned long long)check);
}

/* ---- queue alone ------------------------------------------------------------------ */

static void bench_queue_hold(size_t pending, uint64_t events) {
    event_queue q;
    prng rng;
    event_queue_init(&q);
    prng_seed(&rng, 42);
    for (size_t i = 0; i < pending; i++)
        event_queue_push(&q, (int64_t)prng_range(&rng, 0, BENCH_DELAY_US_MAX), 1, (uint32_t)i, i,
                         NULL);
    uint64_t check = 0;
    sim_event e;
    double t0 = wall_s();
    for (uint64_t n = 0; n < events; n++) {
        int ok = event_queue_pop(&q, &e);
        assert(ok);
        (void)ok;
        check += e.seq ^ (uint64_t)e.at_us;
        int64_t at = e.at_us + 1 + (int64_t)(prng_next(&rng) % BENCH_DELAY_US_MAX);
        event_queue_push(&q, at, e.kind, e.target, e.token, NULL);
    }
    double t1 = wall_s();
    assert(q.count == pending);
    event_queue_deinit(&q);
    char name[64];
    snprintf(name, sizeof name, "queue hold, %zu pending", pending);
    report(name, events, t1 - t0, check);
}

static void bench_queue_fill_drain(uint64_t events) {
    event_queue q;
    prng rng;
    event_queue_init(&q);
    prng_seed(&rng, 43);
    uint64_t check = 0;
    sim_event e;
    double t0 = wall_s();
    for (uint64_t n = 0; n < events; n++)
        event_queue_push(&q, (int64_t)(prng_next(&rng) % 1000000000), 1, 0, n, NULL);
    int64_t last_us = -1;
    while (event_queue_pop(&q, &e)) {
        assert(e.at_us >= last_us);
        last_us = e.at_us;
        check += e.token;
    }
    double t1 = wall_s();
    event_queue_deinit(&q);
    report("queue fill then drain", events, t1 - t0, check);
}

/* ---- the world's event loop ---------------------------------------------------------- */

typedef struct tick_node {
    int64_t next_us;
    prng rng;
    uint64_t fired;
} tick_node;

static int64_t tick_next_deadline_us(const void *impl) {
    return ((const tick_node *)impl)->next_us;
}

static void tick_on_timer(void *impl) {
    tick_node *t = impl;
    t->fired++;
    t->next_us += 1 + (int64_t)(prng_next(&t->rng) % BENCH_DELAY_US_MAX);
}

static const sim_node_ops tick_ops = {.next_deadline_us = tick_next_deadline_us,
                                      .on_timer = tick_on_timer};

static void bench_world_timers(int32_t nodes, uint64_t events) {
    assert(nodes > 0 && nodes <= BENCH_NODES_MAX);
    static world w; /* large: keep it off the stack */
    static tick_node ticks[BENCH_NODES_MAX];
    world_init(&w, 7, 1000, 2000, 0);
    for (int32_t i = 0; i < nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "tick-%d", (int)i);
        sim_node *n = world_add_node(&w, WORLD_CLIENT_ID_BASE + i, SIM_NODE_PRODUCER, name);
        ticks[i] = (tick_node){.next_us = 1 + i};
        prng_seed(&ticks[i].rng, (uint64_t)i + 1);
        world_node_start(&w, n, &ticks[i], &tick_ops);
    }
    /* Mean delay is BENCH_DELAY_US_MAX / 2, so this many virtual µs gives ~events. */
    int64_t until_us = (int64_t)(events / (uint64_t)nodes) * (BENCH_DELAY_US_MAX / 2);
    double t0 = wall_s();
    world_run_until(&w, until_us);
    double t1 = wall_s();
    uint64_t fired = 0;
    for (int32_t i = 0; i < nodes; i++) fired += ticks[i].fired;
    assert(fired == w.stats.events);
    uint64_t check = w.digest;
    world_deinit(&w);
    char name[64];
    snprintf(name, sizeof name, "world_run_until, %d timer node%s", (int)nodes,
             nodes == 1 ? "" : "s");
    report(name, fired, t1 - t0, check);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 1 && !quick) {
        fprintf(stderr, "usage: bench_engine [--quick]\n");
        return 2;
    }
    uint64_t events = quick ? 1000000 : 10000000;
    printf("| %-34s | %12s | %8s | %14s | %-16s |\n", "benchmark", "events", "wall s", "events/s",
           "check");
    printf("|%s|%s|%s|%s|%s|\n", "------------------------------------",
           "-------------:", "---------:", "---------------:", "------------------");
    bench_queue_hold(1000, events);
    bench_queue_hold(100000, events);
    bench_queue_fill_drain(events / 10);
    bench_world_timers(1, events / 2);
    bench_world_timers(BENCH_NODES_MAX, events / 2);
    return 0;
}
