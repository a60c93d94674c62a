/*
 * live_hooks.c — watching a sim_run from outside, through sim_run_watch.
 */
#include "live_hooks.h"

static void on_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    viz_hooks *h = ctx;
    h->on_event(h->ctx, t_us, seq, ev);
}

static void on_message(void *ctx, const trace_message *m) {
    viz_hooks *h = ctx;
    h->on_message(h->ctx, m);
}

void viz_hooks_install(sim_run *r, viz_hooks *h) {
    sim_run_watch(r, on_event, on_message, h);
}

const cluster_view *viz_hooks_view(const sim_run *r) {
    return sim_run_view(r);
}

int viz_hooks_link_cut(const sim_run *r, int32_t a, int32_t b) {
    return sim_run_link_is_cut(r, a, b);
}
