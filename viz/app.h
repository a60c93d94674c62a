/*
 * app.h — the viewer's state: which source (a trace or a live run), the instant shown,
 * playback, and the scene and layout of the current frame.  main() owns the one
 * viz_app; everything else receives it.
 */
#ifndef STREAMLAB_VIZ_APP_H
#define STREAMLAB_VIZ_APP_H

#include <stdint.h>

#include "draw.h"
#include "layout.h"
#include "scene.h"
#include "source_live.h"
#include "source_trace.h"

#define VIZ_SPEED_MIN 0.1
#define VIZ_SPEED_MAX 1000.0

typedef struct viz_app {
    viz_trace_source *trace; /* exactly one of trace and live */
    viz_live *live;
    int64_t t_us;     /* the instant shown */
    double t_frac_us; /* sub-microsecond remainder while playing slowly */
    viz_ui ui;
    viz_scene scene;
    viz_layout layout;
    int dragging;
    int quit;
    char err[512];
} viz_app;

int64_t viz_app_end_us(const viz_app *a);
/* How long a message stays on screen at the current speed (virtual µs). */
int64_t viz_app_dot_window_us(const viz_app *a);
/* Loads the instant a->t_us from the source and builds scene and layout for w x h.
 * 0, or -1 with a->err. */
int viz_app_refresh(viz_app *a, int w, int h);
/* Moves time on by wall_s of playback (live: runs the simulation). */
void viz_app_tick(viz_app *a, double wall_s);
void viz_app_seek(viz_app *a, int64_t t_us);
void viz_app_speed_step(viz_app *a, int dir);

#endif
