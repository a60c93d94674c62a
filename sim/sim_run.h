/*
 * sim_run.h — one simulated run of a scenario: the cluster, its clients, the
 * faults, the checker and (optionally) the trace.
 *
 * `streamlab run`, `check` and `replay` and the viewer's live mode all drive a
 * run through this interface: create, advance (all at once, or step by step for
 * live mode), inject live actions, finish, read the results.
 */
#ifndef STREAMLAB_SIM_RUN_H
#define STREAMLAB_SIM_RUN_H

#include <stdint.h>

#include "checker.h"
#include "observe.h"
#include "scenario.h"

typedef struct sim_run sim_run;

typedef struct sim_run_options {
    uint64_t seed;
    int64_t end_us;             /* duration_s, or --until */
    const char *trace_path;     /* NULL = no trace */
    const char *overrides_json; /* recorded in the trace: ["k=v", ...] */
    int64_t until_us_override;  /* -1 when --until was not given */
} sim_run_options;

typedef struct sim_run_producer_result {
    const char *name;
    int64_t produced, acked, failed;
} sim_run_producer_result;

sim_run *sim_run_create(const scenario *s, const sim_run_options *o, char *err, size_t err_len);
void sim_run_destroy(sim_run *r);

/* Advances virtual time to t_us (at most the end). */
void sim_run_advance(sim_run *r, int64_t t_us);
int64_t sim_run_now_us(const sim_run *r);
int64_t sim_run_end_us(const sim_run *r);
int sim_run_done(const sim_run *r);

/* A live action, applied now, between events ("crash", "restart", "cut", "heal"
 * with one or two broker ids).  Recorded in the trace with origin "live".
 * Returns 0, or -1 with err for an impossible action. */
int sim_run_live_action(sim_run *r, const char *action_json, char *err, size_t err_len);
/* Replays a recorded live action at its virtual time and sequence: runs the
 * world to t_us, checks the engine sequence matches, applies it. */
int sim_run_replay_action(sim_run *r, int64_t t_us, uint64_t seq, const char *action_json,
                          char *err, size_t err_len);

/* Runs to the end (if not there yet), runs the final checks, writes the summary
 * into the trace and closes it.  Returns 0, or -1 when the trace failed. */
int sim_run_finish(sim_run *r, double wall_s, char *err, size_t err_len);

/* Results. */
uint64_t sim_run_digest(const sim_run *r);
uint64_t sim_run_events(const sim_run *r);
uint64_t sim_run_messages(const sim_run *r);
const checker *sim_run_checker(const sim_run *r);
/* The summary as a JSON object (DESIGN.md §5), malloc'd. */
char *sim_run_summary_json(const sim_run *r, double wall_s);
/* The summary for people, malloc'd. */
char *sim_run_summary_text(const sim_run *r, double wall_s);
int32_t sim_run_broker_up(const sim_run *r, int32_t broker_id);

/* Watching a run from outside (the viewer's live mode): on_event is called for every
 * state change and on_message for every network message whose fate is decided,
 * after the checker and the trace have seen them. */
typedef struct trace_message trace_message;
typedef void sim_run_event_fn(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev);
typedef void sim_run_message_fn(void *ctx, const trace_message *m);
void sim_run_watch(sim_run *r, sim_run_event_fn *on_event, sim_run_message_fn *on_message,
                   void *ctx);
/* The cluster state after the last event (kept by the trace writer: NULL when the
 * run has no trace). */
struct cluster_view;
const struct cluster_view *sim_run_view(const sim_run *r);
int sim_run_link_is_cut(const sim_run *r, int32_t a, int32_t b);

/* Lists in s->not_simulated the keys whose behaviour is not simulated yet. */
void sim_run_mark_not_simulated(scenario *s);

#endif
