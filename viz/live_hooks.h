/*
 * live_hooks.h — what live mode needs from a sim_run beyond sim_run.h.
 *
 * A thin layer over sim_run_watch / sim_run_view / sim_run_link_is_cut.
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
} viz_hooks;

/* Chains h's callbacks after the run's own (h must outlive the run). */
void viz_hooks_install(sim_run *r, viz_hooks *h);
/* The run's cluster_view (its trace writer's: live mode always traces). */
const cluster_view *viz_hooks_view(const sim_run *r);
int viz_hooks_link_cut(const sim_run *r, int32_t a, int32_t b);

#endif
