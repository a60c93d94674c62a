/*
 * export.c — screenshot, recording and benchmark (see export.h).
 */
#include "export.h"

#include <SDL_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int viz_offscreen_open(viz_offscreen *o, int w, int h, char *err, size_t err_len) {
    memset(o, 0, sizeof *o);
    o->surface = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    o->renderer = o->surface ? SDL_CreateSoftwareRenderer(o->surface) : NULL;
    if (!o->renderer) {
        snprintf(err, err_len, "SDL software renderer %dx%d: %s", w, h, SDL_GetError());
        viz_offscreen_close(o);
        return -1;
    }
    if (viz_painter_init(&o->painter, o->renderer, err, err_len) != 0) {
        SDL_DestroyRenderer(o->renderer);
        o->renderer = NULL;
        viz_offscreen_close(o);
        return -1;
    }
    return 0;
}

void viz_offscreen_close(viz_offscreen *o) {
    if (o->renderer) {
        viz_painter_deinit(&o->painter);
        SDL_DestroyRenderer(o->renderer);
    }
    if (o->surface) SDL_FreeSurface(o->surface);
    memset(o, 0, sizeof *o);
}

int viz_offscreen_render(viz_offscreen *o, viz_app *a) {
    if (viz_app_refresh(a, o->surface->w, o->surface->h) != 0) return -1;
    viz_draw_frame(&o->painter, &a->layout, &a->scene, &a->ui);
    SDL_RenderFlush(o->renderer);
    return 0;
}

int viz_export_screenshot(viz_app *a, const char *path, int w, int h) {
    viz_offscreen o;
    if (viz_offscreen_open(&o, w, h, a->err, sizeof a->err) != 0) return -1;
    int rc = viz_offscreen_render(&o, a);
    if (rc == 0 && IMG_SavePNG(o.surface, path) != 0) {
        snprintf(a->err, sizeof a->err, "%s: %s", path, IMG_GetError());
        rc = -1;
    }
    viz_offscreen_close(&o);
    return rc;
}

/* ffmpeg reads raw BGRA frames on stdin; a GIF gets its own palette. */
static FILE *ffmpeg_open(const char *path, int w, int h, int fps, char *err, size_t err_len) {
    const char *ext = strrchr(path, '.');
    int gif = ext && !strcmp(ext, ".gif");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -loglevel error -y -f rawvideo -pixel_format bgra -video_size %dx%d "
             "-framerate %d -i - %s '%s'",
             w, h, fps,
             gif ? "-vf 'split[a][b];[a]palettegen=max_colors=128[p];[b][p]paletteuse=dither=none'"
                 : "-c:v libx264 -pix_fmt yuv420p -preset veryfast",
             path);
    FILE *f = popen(cmd, "w");
    if (!f) snprintf(err, err_len, "cannot run ffmpeg (install the Debian package ffmpeg)");
    return f;
}

int viz_export_record(viz_app *a, const char *path, int w, int h, int64_t from_us, int64_t to_us,
                      int fps) {
    if (strchr(path, '\'')) {
        snprintf(a->err, sizeof a->err, "%s: quotes are not allowed in the output path", path);
        return -1;
    }
    viz_offscreen o;
    if (viz_offscreen_open(&o, w, h, a->err, sizeof a->err) != 0) return -1;
    FILE *f = ffmpeg_open(path, w, h, fps, a->err, sizeof a->err);
    int rc = f ? 0 : -1;
    a->ui.playing = 1;
    double step_us = a->ui.speed * 1e6 / fps;
    for (double t = (double)from_us; rc == 0 && t <= (double)to_us; t += step_us) {
        viz_app_seek(a, (int64_t)t);
        rc = viz_offscreen_render(&o, a);
        if (rc == 0 &&
            fwrite(o.surface->pixels, (size_t)o.surface->pitch, (size_t)h, f) != (size_t)h) {
            snprintf(a->err, sizeof a->err, "%s: ffmpeg stopped reading", path);
            rc = -1;
        }
    }
    if (f && pclose(f) != 0 && rc == 0) {
        snprintf(a->err, sizeof a->err, "%s: ffmpeg failed", path);
        rc = -1;
    }
    viz_offscreen_close(&o);
    return rc;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int viz_export_bench(viz_app *a, const char *trace_path, int w, int h, int frames) {
    viz_offscreen o;
    if (viz_offscreen_open(&o, w, h, a->err, sizeof a->err) != 0) return -1;
    double *ms = malloc((size_t)frames * sizeof *ms);
    if (!ms) abort();
    a->ui.playing = 1;
    int rc = 0;
    for (int i = 0; i < frames && rc == 0; i++) { /* playback at 1x, 60 frames per second */
        double t0 = wall_now_s();
        viz_app_tick(a, 1.0 / 60);
        rc = viz_offscreen_render(&o, a);
        ms[i] = (wall_now_s() - t0) * 1e3;
    }
    viz_offscreen_close(&o);
    if (rc == 0) {
        qsort(ms, (size_t)frames, sizeof *ms, cmp_double);
        printf(
            "frame %dx%d software renderer, %d frames at 1x from %.1f s: p50 %.2f ms, p99 %.2f ms, "
            "max %.2f ms\n",
            w, h, frames, (double)a->t_us / 1e6 - frames / 60.0, ms[frames / 2],
            ms[(int)(frames * 0.99)], ms[frames - 1]);
    }
    free(ms);
    if (rc != 0 || !trace_path) return rc;
    double t0 = wall_now_s();
    viz_trace_source *s = viz_trace_open(trace_path, a->err, sizeof a->err);
    if (!s) return -1;
    rc = viz_trace_seek(s, viz_trace_end_us(s) / 2, 600000);
    printf("open %s and seek to the middle (%.1f s): %.3f s\n", trace_path,
           (double)viz_trace_end_us(s) / 2e6, wall_now_s() - t0);
    viz_trace_close(s);
    return rc;
}
