/*
 * source_trace.h — a recorded run as the viewer's source: seek to any instant and
 * get the viz_input for it (cluster state, messages in flight, consumer positions,
 * rates, event log, fault markers).
 *
 * The cluster state comes from the trace reader (keyframe + events, docs/trace.md);
 * moving forward by up to a second applies just the new events.  Messages, the log
 * and step-by-row use a second read-only connection with the trace's indexes.
 */
#ifndef STREAMLAB_VIZ_SOURCE_TRACE_H
#define STREAMLAB_VIZ_SOURCE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "scene.h"

typedef struct viz_trace_source viz_trace_source;

/* NULL with one line "PATH: what is wrong" in err for anything that is not a trace. */
viz_trace_source *viz_trace_open(const char *path, char *err, size_t err_len);
void viz_trace_close(viz_trace_source *s);

/* Loads the instant t_us (clamped to the run); dots stay dot_window_us on screen.
 * 0, or -1 with viz_trace_error(). */
int viz_trace_seek(viz_trace_source *s, int64_t t_us, int64_t dot_window_us);
const viz_input *viz_trace_input(const viz_trace_source *s); /* valid until the next seek */
const char *viz_trace_error(const viz_trace_source *s);

int64_t viz_trace_end_us(const viz_trace_source *s);
/* The time of the next (dir > 0) or previous (dir < 0) event row from t_us; t_us when none. */
int64_t viz_trace_step_row(viz_trace_source *s, int64_t t_us, int dir);
const char *viz_trace_scenario_name(const viz_trace_source *s);

#endif
