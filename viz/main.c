/*
 * main.c — `streamlab-viz`: the classroom viewer.  Parses the command line, opens a
 * trace or starts a live run, then shows it in a window, or writes a screenshot,
 * a recording or benchmark figures without one.
 */
#include <SDL.h>
#include <SDL_image.h>
#include <SDL_ttf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "controls.h"
#include "export.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_BAD_INPUT 2

static const char usage[] =
    "usage: streamlab-viz TRACE.db [--at SECONDS] [--speed X]\n"
    "       streamlab-viz --live SCENARIO.json [--seed N] [--trace OUT.db]\n"
    "\n"
    "  --screenshot OUT.png   render one frame at --at (no display needed)\n"
    "  --size WxH             frame size for --screenshot/--record/--bench (1280x720)\n"
    "  --record OUT.gif|.mp4  export an animation through ffmpeg\n"
    "  --from S --to S        recorded stretch (default: the whole run)\n"
    "  --fps N                frames per second of the recording (default 20)\n"
    "  --speed X              playback speed, 0.1 to 1000 (default 1)\n"
    "  --bench                frame render times and open+seek time (--frames N)\n"
    "  --print-layout         print where the brokers' UP/DOWN badges are drawn\n"
    "\n"
    "keys: Space play/pause, left/right previous/next row, +/- speed, Home/End,\n"
    "      F full screen, H help, Q quit; click or drag the timeline.\n"
    "live: click a broker to crash/restart it, a link to cut/heal it.\n"
    "exit status: 0 ok, 1 failure, 2 bad input\n";

typedef struct viz_args {
    const char *path; /* trace, or scenario with --live */
    int live;
    viz_live_options live_opt;
    double at_s, from_s, to_s, speed;
    const char *screenshot, *record;
    int w, h, fps, bench, frames, print_layout;
} viz_args;

static int bad(const char *what, const char *arg) {
    fprintf(stderr, "streamlab-viz: %s%s\n%s", what, arg ? arg : "", usage);
    return EXIT_BAD_INPUT;
}

static int number(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, int *w, int *h) {
    if (!s || sscanf(s, "%dx%d", w, h) != 2 || *w < 320 || *h < 200 || *w > 7680 || *h > 4320)
        return -1;
    return 0;
}

static int parse_value(viz_args *a, const char *opt, const char *val) {
    double v;
    if (!val) return bad("missing value for ", opt);
    if (!strcmp(opt, "--at") || !strcmp(opt, "--from") || !strcmp(opt, "--to")) {
        if (number(val, 0, 1e9, &v)) return bad("expected seconds >= 0, got ", val);
        *(!strcmp(opt, "--at") ? &a->at_s : !strcmp(opt, "--from") ? &a->from_s : &a->to_s) = v;
    } else if (!strcmp(opt, "--speed")) {
        if (number(val, VIZ_SPEED_MIN, VIZ_SPEED_MAX, &a->speed))
            return bad("--speed: 0.1..1000, got ", val);
    } else if (!strcmp(opt, "--fps") || !strcmp(opt, "--frames")) {
        if (number(val, 1, 100000, &v)) return bad("expected a positive count, got ", val);
        *(!strcmp(opt, "--fps") ? &a->fps : &a->frames) = (int)v;
    } else if (!strcmp(opt, "--seed")) {
        if (number(val, 0, 1.8e19, &v))
            return bad("--seed: expected a non-negative integer, got ", val);
        a->live_opt.seed = strtoull(val, NULL, 10);
        a->live_opt.seed_set = 1;
    } else if (!strcmp(opt, "--size")) {
        if (parse_size(val, &a->w, &a->h)) return bad("--size: expected WxH, got ", val);
    } else if (!strcmp(opt, "--screenshot"))
        a->screenshot = val;
    else if (!strcmp(opt, "--record"))
        a->record = val;
    else if (!strcmp(opt, "--trace"))
        a->live_opt.trace_path = val;
    else
        return bad("unknown option ", opt);
    return EXIT_OK;
}

static int parse_args(viz_args *a, int argc, char **argv) {
    *a = (viz_args){.speed = 1, .w = 1280, .h = 720, .fps = 20, .frames = 600, .to_s = -1};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(usage, stdout);
            exit(EXIT_OK);
        }
        if (!strcmp(o, "--live"))
            a->live = 1;
        else if (!strcmp(o, "--bench"))
            a->bench = 1;
        else if (!strcmp(o, "--print-layout"))
            a->print_layout = 1;
        else if (o[0] == '-' && o[1]) {
            int rc = parse_value(a, o, i + 1 < argc ? argv[i + 1] : NULL);
            if (rc) return rc;
            i++;
        } else if (a->path)
            return bad("unexpected argument ", o);
        else
            a->path = o;
    }
    if (!a->path) return bad(a->live ? "missing SCENARIO.json" : "missing TRACE.db", NULL);
    a->live_opt.scenario_path = a->path;
    return EXIT_OK;
}

/* ---- the window ----------------------------------------------------------------------------- */

static int window_loop(viz_app *a) {
    SDL_Window *w = SDL_CreateWindow("streamlab", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                                     1280, 720, SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    SDL_Renderer *r = w ? SDL_CreateRenderer(w, -1, SDL_RENDERER_PRESENTVSYNC) : NULL;
    viz_painter p;
    if (!r || viz_painter_init(&p, r, a->err, sizeof a->err) != 0) {
        if (!r) snprintf(a->err, sizeof a->err, "SDL: %s", SDL_GetError());
        if (w) SDL_DestroyWindow(w);
        return -1;
    }
    uint64_t last = SDL_GetPerformanceCounter();
    int rc = 0;
    while (!a->quit && rc == 0) {
        SDL_Event e;
        while (SDL_PollEvent(&e)) viz_controls_handle(a, w, &e);
        uint64_t now = SDL_GetPerformanceCounter();
        viz_app_tick(a, (double)(now - last) / (double)SDL_GetPerformanceFrequency());
        last = now;
        int pw, ph;
        SDL_GetRendererOutputSize(r, &pw, &ph);
        rc = viz_app_refresh(a, pw, ph);
        viz_draw_frame(&p, &a->layout, &a->scene, &a->ui);
        SDL_RenderPresent(r);
    }
    viz_painter_deinit(&p);
    SDL_DestroyRenderer(r);
    SDL_DestroyWindow(w);
    return rc;
}

static int have_display(void) {
    const char *drv = getenv("SDL_VIDEODRIVER");
    if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy"))) return 0;
    if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) return 0;
    return SDL_InitSubSystem(SDL_INIT_VIDEO) == 0;
}

/* No display: the README's first command still leaves something to look at. */
static int fallback_screenshot(viz_app *a, const viz_args *args) {
    char out[1024];
    const char *dot = strrchr(args->path, '.');
    int stem = dot ? (int)(dot - args->path) : (int)strlen(args->path);
    snprintf(out, sizeof out, "%.*s.png", stem, args->path);
    if (args->live) snprintf(out, sizeof out, "streamlab-viz-live.png");
    int rc = viz_export_screenshot(a, out, args->w, args->h);
    if (rc == 0)
        printf("streamlab-viz: no display; wrote the frame at %.1f s to %s\n",
               (double)a->t_us / 1e6, out);
    return rc;
}

/* ---- modes ------------------------------------------------------------------------------------
 */

static void print_layout(viz_app *a) {
    for (int i = 0; i < a->layout.broker_count; i++) {
        viz_rect b = a->layout.broker_badge[i];
        printf("broker %d badge %d %d\n", (int)a->layout.broker_ids[i],
               (int)(b.x + 6 * a->layout.u), (int)(b.y + b.h / 2));
    }
}

static int run_mode(viz_app *a, const viz_args *args) {
    int64_t end = viz_app_end_us(a);
    int64_t at = (int64_t)(args->at_s * 1e6);
    if (a->live)
        viz_live_advance(a->live, at, 1e9);
    else
        viz_app_seek(a, at);
    if (args->print_layout) {
        int rc = viz_app_refresh(a, args->w, args->h);
        if (rc == 0) print_layout(a);
        return rc;
    }
    if (args->screenshot) return viz_export_screenshot(a, args->screenshot, args->w, args->h);
    if (args->record) {
        int64_t to = args->to_s >= 0 ? (int64_t)(args->to_s * 1e6) : end;
        return viz_export_record(a, args->record, args->w, args->h, (int64_t)(args->from_s * 1e6),
                                 to > end ? end : to, args->fps);
    }
    if (args->bench)
        return viz_export_bench(a, a->live ? NULL : args->path, args->w, args->h, args->frames);
    if (!have_display()) return fallback_screenshot(a, args);
    a->ui.playing = 1;
    return window_loop(a);
}

static int open_source(viz_app *a, const viz_args *args) {
    if (args->live) {
        a->live = viz_live_open(&args->live_opt, a->err, sizeof a->err);
        if (a->live) a->ui.title = viz_live_scenario_name(a->live);
        return a->live ? 0 : -1;
    }
    a->trace = viz_trace_open(args->path, a->err, sizeof a->err);
    if (a->trace) a->ui.title = viz_trace_scenario_name(a->trace);
    return a->trace ? 0 : -1;
}

int main(int argc, char **argv) {
    viz_args args;
    int rc = parse_args(&args, argc, argv);
    if (rc) return rc;
    viz_app *a = calloc(1, sizeof *a);
    if (!a) return EXIT_FAIL;
    a->ui = (viz_ui){.speed = args.speed, .live = args.live, .hover_broker = -1, .hover_link = -1};
    if (SDL_Init(0) != 0 || TTF_Init() != 0) {
        fprintf(stderr, "streamlab-viz: SDL: %s\n", SDL_GetError());
        free(a);
        return EXIT_FAIL;
    }
    rc = EXIT_OK;
    if (open_source(a, &args) != 0) {
        fprintf(stderr, "streamlab-viz: %s\n", a->err);
        rc = EXIT_BAD_INPUT;
    } else if (run_mode(a, &args) != 0) {
        fprintf(stderr, "streamlab-viz: %s\n", a->err);
        rc = EXIT_FAIL;
    }
    if (a->live && viz_live_close(a->live, a->err, sizeof a->err) != 0) {
        fprintf(stderr, "streamlab-viz: %s\n", a->err);
        rc = EXIT_FAIL;
    }
    viz_trace_close(a->trace);
    TTF_Quit();
    SDL_Quit();
    free(a);
    return rc;
}
