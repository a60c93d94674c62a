/*
 * app.c — time, playback speed and the per-frame refresh of scene and layout.
 */
#include "app.h"

#include <stdio.h>

#define S_US 1000000LL
#define DOT_WALL_S 0.6          /* a message stays on screen at least this long */
#define DOT_WINDOW_MIN_US 30000 /* ... but shorter at 0.1x than real latency spreads */
#define DOT_WINDOW_MAX_US (2 * S_US)
#define LIVE_BUDGET_S 0.012 /* wall time the simulation may take per frame */

static const double speeds[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
#define SPEED_COUNT ((int)(sizeof speeds / sizeof speeds[0]))

int64_t viz_app_end_us(const viz_app *a) {
    return a->live ? viz_live_end_us(a->live) : viz_trace_end_us(a->trace);
}

int64_t viz_app_dot_window_us(const viz_app *a) {
    double w = DOT_WALL_S * a->ui.speed * 1e6;
    if (w < DOT_WINDOW_MIN_US) w = DOT_WINDOW_MIN_US;
    if (w > DOT_WINDOW_MAX_US) w = DOT_WINDOW_MAX_US;
    return (int64_t)w;
}

int viz_app_refresh(viz_app *a, int w, int h) {
    const viz_input *in;
    if (a->live) {
        a->t_us = viz_live_now_us(a->live);
        in = viz_live_input(a->live, viz_app_dot_window_us(a));
    } else {
        if (viz_trace_seek(a->trace, a->t_us, viz_app_dot_window_us(a)) != 0) {
            snprintf(a->err, sizeof a->err, "%s", viz_trace_error(a->trace));
            return -1;
        }
        in = viz_trace_input(a->trace);
        a->t_us = in->t_us;
    }
    viz_scene_build(&a->scene, in);
    viz_layout_compute(&a->layout, w, h, &a->scene);
    return 0;
}

void viz_app_seek(viz_app *a, int64_t t_us) {
    if (a->live) return; /* a live run only moves forward */
    int64_t end = viz_app_end_us(a);
    a->t_us = t_us < 0 ? 0 : t_us > end ? end : t_us;
    a->t_frac_us = 0;
}

void viz_app_tick(viz_app *a, double wall_s) {
    if (!a->ui.playing) return;
    double step = wall_s * a->ui.speed * 1e6 + a->t_frac_us;
    int64_t whole = (int64_t)step;
    a->t_frac_us = step - (double)whole;
    if (a->live) {
        viz_live_advance(a->live, viz_live_now_us(a->live) + whole, LIVE_BUDGET_S);
        a->t_us = viz_live_now_us(a->live);
    } else {
        viz_app_seek(a, a->t_us + whole);
        a->t_frac_us = step - (double)whole;
    }
    if (a->t_us >= viz_app_end_us(a)) a->ui.playing = 0;
}

void viz_app_speed_step(viz_app *a, int dir) {
    int i = 0;
    while (i + 1 < SPEED_COUNT && speeds[i] < a->ui.speed - 1e-9) i++;
    i += dir;
    i = i < 0 ? 0 : i >= SPEED_COUNT ? SPEED_COUNT - 1 : i;
    a->ui.speed = speeds[i];
}
