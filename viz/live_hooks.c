/*
 * live_hooks.c — watching a sim_run from outside (see live_hooks.h for why).
 */
#include "live_hooks.h"

#include "sim_run_internal.h"

static void on_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    viz_hooks *h = ctx;
    if (h->prev_event) h->prev_event(h->prev_event_ctx, t_us, seq, ev);
    h->on_event(h->ctx, t_us, seq, ev);
}

static void on_message(void *ctx, const trace_message *m) {
    viz_hooks *h = ctx;
    if (h->prev_message) h->prev_message(h->prev_message_ctx, m);
    h->on_message(h->ctx, m);
}

void viz_hooks_install(sim_run *r, viz_hooks *h) {
    h->prev_event = r->w.observer;
    h->prev_event_ctx = r->w.observer_ctx;
    h->prev_message = r->w.message_observer;
    h->prev_message_ctx = r->w.message_observer_ctx;
    r->w.observer = on_event;
    r->w.observer_ctx = h;
    r->w.message_observer = on_message;
    r->w.message_observer_ctx = h;
}

const cluster_view *viz_hooks_view(const sim_run *r) {
    return r->trace ? trace_writer_view(r->trace) : NULL;
}

int viz_hooks_link_cut(const sim_run *r, int32_t a, int32_t b) {
    return world_link_is_cut(&r->w, a, b);
}
