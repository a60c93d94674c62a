/*
 * source_live.h — a run simulated in-process while the viewer shows it.
 *
 * The run is driven with sim_run_advance() in small virtual steps; clicks become
 * sim_run_live_action() calls, which the run records in its trace with their virtual
 * time and engine sequence, so `streamlab replay` reproduces the same digest.
 *
 * The view is folded here from the run's own observe stream, and messages are taken
 * from its message stream, through the hooks in live_hooks.c (see there for the
 * sim_run function this wants instead).
 */
#ifndef STREAMLAB_VIZ_SOURCE_LIVE_H
#define STREAMLAB_VIZ_SOURCE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "scene.h"

typedef struct viz_live viz_live;

typedef struct viz_live_options {
    const char *scenario_path;
    uint64_t seed;
    int seed_set;
    const char *trace_path; /* NULL = no trace */
} viz_live_options;

viz_live *viz_live_open(const viz_live_options *o, char *err, size_t err_len);
/* Finishes the run (to its end, so the trace is complete and replayable) and frees it.
 * 0, or -1 with err when the trace failed. */
int viz_live_close(viz_live *l, char *err, size_t err_len);

/* Runs the simulation on to t_us, spending at most wall_budget_s; returns the time reached. */
int64_t viz_live_advance(viz_live *l, int64_t t_us, double wall_budget_s);
int64_t viz_live_now_us(const viz_live *l);
int64_t viz_live_end_us(const viz_live *l);
const char *viz_live_scenario_name(const viz_live *l);

/* The input for the instant now, dots staying dot_window_us. */
const viz_input *viz_live_input(viz_live *l, int64_t dot_window_us);

/* Clicks: crash or restart broker `id`; cut or heal the link a-b.  0, or -1 with err.
 * `what` gets the action in words. */
int viz_live_toggle_broker(viz_live *l, int32_t id, char *what, size_t what_len);
int viz_live_toggle_link(viz_live *l, int32_t a, int32_t b, char *what, size_t what_len);

#endif
