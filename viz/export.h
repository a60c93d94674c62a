/*
 * export.h — frames without a window: a PNG screenshot, an animation piped to
 * Debian's ffmpeg (GIF or MP4), and the render benchmark.  All draw with SDL's
 * software renderer into a surface, so no display is needed.
 */
#ifndef STREAMLAB_VIZ_EXPORT_H
#define STREAMLAB_VIZ_EXPORT_H

#include "app.h"

typedef struct viz_offscreen {
    SDL_Surface *surface;
    SDL_Renderer *renderer;
    viz_painter painter;
} viz_offscreen;

/* 0, or -1 with err. */
int viz_offscreen_open(viz_offscreen *o, int w, int h, char *err, size_t err_len);
void viz_offscreen_close(viz_offscreen *o);
/* Refreshes the app at a->t_us and draws it.  0 or -1 with a->err. */
int viz_offscreen_render(viz_offscreen *o, viz_app *a);

int viz_export_screenshot(viz_app *a, const char *path, int w, int h);
int viz_export_record(viz_app *a, const char *path, int w, int h, int64_t from_us, int64_t to_us,
                      int fps);
/* Prints frame render times (p50/p99) and the open+seek time of the trace. */
int viz_export_bench(viz_app *a, const char *trace_path, int w, int h, int frames);

#endif
