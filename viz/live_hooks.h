/*
 * live_hooks.h — what live mode needs from a sim_run beyond sim_run.h.
 *
 * sim_run.h has no way to watch a run's events and messages or to read its
 * cluster_view or link state, so this reaches into sim_run_internal.h (read-only
 * use of the struct, nothing in sim/ edited).  The functions wanted in sim_run.h
 * instead, with which this file goes away:
 *
 *   // in sim_run_options: called for every event / final message, after the
 *   // checker and the trace, from sim_run_create on (so broker starts are seen)
 *   void (*on_event)(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev);
 *   void (*on_message)(void *ctx, const trace_message *m);
 *   void *observer_ctx;
 *   // the state after the last event (the trace writer's view, or one kept
 *   // by the run when it has no trace)
 *   const cluster_view *sim_run_view(const sim_run *r);
 *   int sim_run_link_is_cut(const sim_run *r, int32_t a, int32_t b);
 */
#ifndef STREAMLAB_VIZ_LIVE_HOOKS_H
#define STREAMLAB_VIZ_LIVE_HOOKS_H

#include "cluster_view.h"
#include "sim_run.h"
#include "trace.h"

typedef void viz_event_fn(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev);
typedef void viz_message_fn(void *ctx, const trace_message *m);

typedef struct viz_hooks {
    viz_event_fn *on_event;
    viz_message_fn *on_message;
    void *ctx;
    /* the run's own observers, called first */
    void (*prev_event)(void *, int64_t, uint64_t, const observe_event *);
    void *prev_event_ctx;
    void (*prev_message)(void *, const trace_message *);
    void *prev_message_ctx;
} viz_hooks;

/* Chains h's callbacks after the run's own (h must outlive the run). */
void viz_hooks_install(sim_run *r, viz_hooks *h);
/* The run's cluster_view (its trace writer's: live mode always traces). */
const cluster_view *viz_hooks_view(const sim_run *r);
int viz_hooks_link_cut(const sim_run *r, int32_t a, int32_t b);

#endif
