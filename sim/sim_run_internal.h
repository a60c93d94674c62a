/*
 * sim_run_internal.h — the parts of a run that its summary code reads.
 */
#ifndef STREAMLAB_SIM_RUN_INTERNAL_H
#define STREAMLAB_SIM_RUN_INTERNAL_H

#include "broker.h"
#include "sim_run.h"
#include "world.h"

typedef struct trace_writer trace_writer;
typedef struct mem_storage mem_storage;

#define ONLINE_POINTS_MAX 4096

typedef struct run_broker {
    sim_node *node;
    broker *b;
    broker_config cfg;
} run_broker;

typedef struct run_client {
    sim_node *node;
    void *impl;     /* NULL before add_consumer starts it and after crash_consumer */
    int32_t group;  /* consumers: group index */
    int32_t number; /* consumers: GROUP/N's N, from 1 */
    int started;
} run_client;

#define RUN_CONSUMERS_MAX (SCENARIO_GROUPS_MAX * 16)

struct sim_run {
    const scenario *s;
    sim_run_options opt;
    world w;
    mem_storage *store;
    run_broker brokers[SCENARIO_BROKERS_MAX + 1];
    broker_topic_config topic_cfgs[SCENARIO_TOPICS_MAX];
    run_client producers[SCENARIO_PRODUCERS_MAX];
    run_client consumers[RUN_CONSUMERS_MAX]; /* scenario order, then added ones */
    int32_t consumer_count;
    run_client admin;
    sim_run_event_fn *watch_event; /* an outside observer (sim_run_watch) */
    sim_run_message_fn *watch_message;
    void *watch_ctx;
    scenario_fault *chaos; /* drawn from the seed at creation */
    int32_t chaos_count;
    checker *chk;
    trace_writer *trace;
    struct {
        int64_t t_us;
        int32_t count;
    } online[ONLINE_POINTS_MAX];
    int32_t online_count;
    int finished;
};

#endif
