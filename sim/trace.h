/*
 * trace.h — the run recorded to SQLite (DESIGN.md §5 "The trace"), and read back.
 *
 * The writer stores the run, the nodes, one row per network message, one row per
 * observe_event, every injected action, and a keyframe of the cluster_view every
 * virtual second, so that a viewer can seek anywhere without replaying from zero.
 * The schema, each column and the keyframe rule are in docs/trace.md.
 *
 * Writer calls return 0, or -1 after an SQLite error; the first error sticks (every
 * later call returns -1 at once) and trace_writer_close() reports it.  Nothing
 * written depends on the wall clock, so the same calls give the same rows.
 */
#ifndef STREAMLAB_TRACE_H
#define STREAMLAB_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster_view.h"
#include "observe.h"

#define TRACE_SCHEMA_VERSION 1
#define TRACE_KEYFRAME_INTERVAL_US 1000000 /* one keyframe per virtual second of events */
#define TRACE_COMMIT_ROWS_MAX 50000        /* rows per transaction ... */
#define TRACE_COMMIT_INTERVAL_US 10000000  /* ... or virtual time per transaction */

/* ---- writer (sim/trace.c) ------------------------------------------------------- */

typedef struct trace_writer trace_writer;

typedef struct trace_message { /* one network message: one send() of bytes on a connection */
    uint64_t id;               /* engine-assigned, increasing */
    int64_t send_us;
    int64_t deliver_us; /* -1 when lost */
    int lost;           /* 1 = the connection broke before delivery */
    int32_t src, dst;   /* node ids (brokers 1..N, clients 100+) */
    uint32_t conn;      /* connection id */
    int16_t api_key;    /* -1 when unknown (e.g. a partial frame) */
    int16_t api_version;
    int is_response;
    int32_t correlation_id;
    uint32_t size_bytes;
} trace_message;

/* Creates `path`, replacing an existing file.  NULL with a message in err on failure. */
trace_writer *trace_writer_open(const char *path, char *err, size_t err_len);
int trace_write_run(trace_writer *t, const char *scenario_name, const char *scenario_json,
                    uint64_t seed, const char *overrides_json, int64_t until_us,
                    const char *version);
/* A "broker" node also enters the cluster_view (down until its BROKER_START). */
int trace_write_node(trace_writer *t, int32_t id, const char *kind, const char *name);
int trace_write_message(trace_writer *t, const trace_message *m); /* when its fate is final */
/* The run reached t_us (engine order): writes the keyframes due by then, so that
 * quiet seconds with network traffic but no state change still get one. */
int trace_write_time(trace_writer *t, int64_t t_us);
/* Events come in engine order (t_us never decreases); each may first write keyframes. */
int trace_write_event(trace_writer *t, int64_t t_us, uint64_t seq, const observe_event *ev);
int trace_write_action(trace_writer *t, int64_t t_us, uint64_t seq, const char *origin,
                       const char *action_json);
/* Records end time, digest and summary, and writes the final keyframe at end_us. */
int trace_write_finish(trace_writer *t, int64_t end_us, const char *digest_hex,
                       const char *summary_json);
/* Builds the indexes, commits and closes; frees t (also on error).  0 or -1 with err. */
int trace_writer_close(trace_writer *t, char *err, size_t err_len);

/* The first error, or "" when none. */
const char *trace_writer_error(const trace_writer *t);
/* The cluster_view the writer maintains (state after the last event written). */
const cluster_view *trace_writer_view(const trace_writer *t);
/* Rows written so far, over all tables. */
uint64_t trace_writer_rows(const trace_writer *t);

/* ---- reader (sim/trace_read.c) -------------------------------------------------- *
 * Every reader opens the file SQLITE_OPEN_READONLY and never creates one.  Errors
 * are one line "PATH: what is wrong" in err.
 */

typedef struct trace_run_info {
    char *scenario_name, *scenario_json, *overrides_json, *version;
    char *digest, *summary_json; /* NULL when the run never finished */
    uint64_t seed;
    int64_t until_us; /* -1 when not overridden */
    int64_t end_us;   /* -1 when the run never finished */
} trace_run_info;

/* -1 for: no such file, not a SQLite file, not a streamlab trace (no run table),
 * a newer schema, an empty trace (no run row). */
int trace_read_run(const char *path, trace_run_info *out, char *err, size_t err_len);
void trace_run_info_free(trace_run_info *r);

typedef struct trace_action {
    int64_t t_us;
    uint64_t seq;
    char origin[16];
    char *action_json;
} trace_action;

/* All actions ordered by seq; *out is malloc'd (NULL when count is 0). */
int trace_read_actions(const char *path, trace_action **out, int *count, char *err, size_t err_len);
void trace_actions_free(trace_action *a, int count);

/* A handle for the viewer: seek with keyframes, then step through events. */
typedef struct trace_reader trace_reader;

trace_reader *trace_reader_open(const char *path, char *err, size_t err_len);
void trace_reader_close(trace_reader *r);
const char *trace_reader_error(const trace_reader *r); /* after a -1 below */

/* Loads the newest keyframe with keyframe t_us <= t_us into *out (init'ed by the caller).
 * *keyframe_t_us gets its time and *events_applied (may be NULL) the number of event
 * rows it includes.  0, or -1 when there is none (t_us before the first keyframe). */
int trace_reader_keyframe_at(trace_reader *r, int64_t t_us, cluster_view *out,
                             int64_t *keyframe_t_us, int64_t *events_applied);

/* Calls fn for each event row with from_us <= t_us <= to_us, in engine order.  The
 * event's pointers (topic, isr, detail) are valid only during the call; batch is NULL
 * and batch_len is as written.  fn returns 0 to go on, nonzero to stop (which is
 * returned).  -1 on a read error. */
typedef int (*trace_event_fn)(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev);
int trace_reader_events_between(trace_reader *r, int64_t from_us, int64_t to_us, trace_event_fn fn,
                                void *ctx);

/* The cluster state at t_us: the keyframe at or before it plus every later event with
 * event time <= t_us.  This is what a seek does.  0 or -1. */
int trace_reader_view_at(trace_reader *r, int64_t t_us, cluster_view *out);

#endif
