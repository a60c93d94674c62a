/* test_viz_scene.c — the viewer (viz/): the scene model on the lab trace (broker 2 down
 * at 45 s, up at 100 s), pixels of a headless frame, live clicks replayed to the same
 * digest, and clear errors for files that are not traces. */
#include <SDL.h>
#include <SDL_ttf.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "draw.h"
#include "export.h"
#include "scenario.h"
#include "sim_run.h"
#include "source_live.h"
#include "source_trace.h"
#include "trace.h"

#define S_US 1000000LL
#define LAB "scenarios/lab.json"

static void temp_path(char *buf, size_t n, const char *what) {
    snprintf(buf, n, "/tmp/streamlab_test_viz_%s_%d.db", what, (int)getpid());
}

/* Runs the lab in-process with a trace at `path`; returns its digest. */
static uint64_t run_lab(const char *path) {
    static scenario s; /* large; one per process */
    char err[512] = "";
    cr_assert_eq(scenario_load(&s, LAB, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
    sim_run_options o = {.seed = s.seed,
                         .end_us = s.duration_us,
                         .trace_path = path,
                         .overrides_json = "[]",
                         .until_us_override = -1};
    sim_run *r = sim_run_create(&s, &o, err, sizeof err);
    cr_assert(r, "%s", err);
    cr_assert_eq(sim_run_finish(r, 0, err, sizeof err), 0, "%s", err);
    uint64_t d = sim_run_digest(r);
    sim_run_destroy(r);
    scenario_free(&s);
    return d;
}

static const cluster_view_broker *broker_at(viz_trace_source *src, viz_scene *sc, int64_t t_us,
                                            int32_t id) {
    cr_assert_eq(viz_trace_seek(src, t_us, 600000), 0, "%s", viz_trace_error(src));
    viz_scene_build(sc, viz_trace_input(src));
    return viz_scene_broker(sc, id);
}

Test(viz_scene, lab_broker_2_down_at_45_up_at_100) {
    char path[128], err[512];
    temp_path(path, sizeof path, "lab");
    run_lab(path);
    viz_trace_source *src = viz_trace_open(path, err, sizeof err);
    cr_assert(src, "%s", err);
    static viz_scene sc;
    const cluster_view_broker *b = broker_at(src, &sc, 45 * S_US, 2);
    cr_assert(b && !b->up, "broker 2 should be down at 45 s");
    cr_expect_eq(sc.brokers_online, 2);
    /* not blank: clients, partitions, messages in flight, a log */
    cr_expect_eq(sc.producer_count, 3);
    cr_expect_eq(sc.group_count, 3);
    cr_expect_gt(sc.dot_count, 10);
    cr_expect_gt(sc.log_count, 0);
    b = broker_at(src, &sc, 100 * S_US, 2);
    cr_assert(b && b->up, "broker 2 should be up at 100 s");
    cr_expect_eq(sc.brokers_online, 3);
    /* stepping forward by rows and seeking back give the same state as a fresh seek */
    int64_t t = viz_trace_step_row(src, 100 * S_US, -1);
    cr_expect(t >= 90 * S_US && t < 100 * S_US, "previous row before 100 s: %lld", (long long)t);
    b = broker_at(src, &sc, 31 * S_US, 2);
    cr_expect(b && !b->up);
    viz_trace_close(src);
    if (!getenv("VIZ_TEST_KEEP")) unlink(path);
}

static uint32_t pixel(SDL_Surface *s, int x, int y) {
    uint32_t v = ((uint32_t *)s->pixels)[y * (s->pitch / 4) + x];
    uint8_t r, g, b;
    SDL_GetRGB(v, s->format, &r, &g, &b);
    return (uint32_t)r << 24 | (uint32_t)g << 16 | (uint32_t)b << 8 | 0xff;
}

Test(viz_scene, headless_frame_pixels) {
    char path[128];
    temp_path(path, sizeof path, "pixels");
    run_lab(path);
    cr_assert_eq(SDL_Init(0), 0);
    cr_assert_eq(TTF_Init(), 0);
    static viz_app a;
    memset(&a, 0, sizeof a);
    a.ui.speed = 1;
    a.trace = viz_trace_open(path, a.err, sizeof a.err);
    cr_assert(a.trace, "%s", a.err);
    static const int64_t when[2] = {45 * S_US, 100 * S_US};
    static const uint32_t want[2] = {VIZ_RGB_DOWN, VIZ_RGB_UP};
    for (int sz = 0; sz < 2; sz++) {
        viz_offscreen o;
        cr_assert_eq(viz_offscreen_open(&o, sz ? 1920 : 1280, sz ? 1080 : 720, a.err, sizeof a.err),
                     0, "%s", a.err);
        for (int i = 0; i < 2; i++) {
            viz_app_seek(&a, when[i]);
            cr_assert_eq(viz_offscreen_render(&o, &a), 0, "%s", a.err);
            int b = viz_layout_broker_index(&a.layout, 2);
            cr_assert_geq(b, 0);
            viz_rect r = a.layout.broker_badge[b];
            uint32_t got = pixel(o.surface, (int)(r.x + 3), (int)(r.y + r.h / 2));
            cr_expect_eq(got, want[i], "badge of broker 2 at %lld s: %08x, want %08x",
                         (long long)(when[i] / S_US), got, want[i]);
            int non_bg = 0; /* the frame is not blank */
            for (int y = 0; y < o.surface->h; y += 7)
                for (int x = 0; x < o.surface->w; x += 7)
                    non_bg += pixel(o.surface, x, y) != VIZ_RGB_BG;
            cr_expect_gt(non_bg, 2000);
        }
        viz_offscreen_close(&o);
    }
    viz_trace_close(a.trace);
    TTF_Quit();
    SDL_Quit();
    unlink(path);
}

/* Re-runs a trace's scenario with its live actions; returns the digest. */
static uint64_t replay(const char *path) {
    static scenario s;
    char err[512] = "";
    trace_run_info info;
    cr_assert_eq(trace_read_run(path, &info, err, sizeof err), 0, "%s", err);
    cr_assert_eq(scenario_load(&s, LAB, info.scenario_json, NULL, 0, err, sizeof err), 0, "%s",
                 err);
    trace_action *acts;
    int n;
    cr_assert_eq(trace_read_actions(path, &acts, &n, err, sizeof err), 0, "%s", err);
    sim_run_options o = {
        .seed = info.seed, .end_us = info.end_us, .overrides_json = "[]", .until_us_override = -1};
    sim_run *r = sim_run_create(&s, &o, err, sizeof err);
    cr_assert(r, "%s", err);
    int live = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(acts[i].origin, "live") != 0) continue;
        live++;
        cr_assert_eq(sim_run_replay_action(r, acts[i].t_us, acts[i].seq, acts[i].action_json, err,
                                           sizeof err),
                     0, "%s", err);
    }
    cr_expect_geq(live, 2);
    cr_assert_eq(sim_run_finish(r, 0, err, sizeof err), 0, "%s", err);
    uint64_t d = sim_run_digest(r);
    sim_run_destroy(r);
    trace_actions_free(acts, n);
    trace_run_info_free(&info);
    scenario_free(&s);
    return d;
}

Test(viz_scene, live_actions_replay_to_the_same_digest) {
    static scenario s;
    char path[128], err[512] = "";
    temp_path(path, sizeof path, "live");
    cr_assert_eq(scenario_load(&s, LAB, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
    sim_run_options o = {.seed = s.seed,
                         .end_us = s.duration_us,
                         .trace_path = path,
                         .overrides_json = "[]",
                         .until_us_override = -1};
    sim_run *r = sim_run_create(&s, &o, err, sizeof err);
    cr_assert(r, "%s", err);
    sim_run_advance(r, 10 * S_US);
    cr_assert_eq(sim_run_live_action(r, "{\"crash\":2}", err, sizeof err), 0, "%s", err);
    sim_run_advance(r, 20 * S_US + 12345);
    cr_assert_eq(sim_run_live_action(r, "{\"restart\":2}", err, sizeof err), 0, "%s", err);
    cr_assert_eq(sim_run_finish(r, 0, err, sizeof err), 0, "%s", err);
    uint64_t recorded = sim_run_digest(r);
    sim_run_destroy(r);
    scenario_free(&s);
    cr_expect_eq(replay(path), recorded);
    unlink(path);
}

Test(viz_scene, live_clicks_through_the_viewer_replay) {
    char path[128], err[512] = "", what[256];
    temp_path(path, sizeof path, "clicks");
    viz_live_options o = {.scenario_path = LAB, .trace_path = path};
    viz_live *l = viz_live_open(&o, err, sizeof err);
    cr_assert(l, "%s", err);
    viz_live_advance(l, 5 * S_US + 777, 1e9);
    cr_assert_eq(viz_live_toggle_broker(l, 3, what, sizeof what), 0, "%s", what);
    viz_live_advance(l, 8 * S_US, 1e9);
    cr_assert_eq(viz_live_toggle_link(l, 1, 2, what, sizeof what), 0, "%s", what);
    static viz_scene sc;
    viz_scene_build(&sc, viz_live_input(l, 600000));
    cr_expect_eq(sc.brokers_online, 2);
    cr_expect(sc.in.link_cut[1][2]);
    viz_live_advance(l, 12 * S_US, 1e9);
    cr_assert_eq(viz_live_toggle_link(l, 1, 2, what, sizeof what), 0, "%s", what);
    cr_assert_eq(viz_live_toggle_broker(l, 3, what, sizeof what), 0, "%s", what);
    cr_assert_eq(viz_live_close(l, err, sizeof err), 0, "%s", err);
    trace_run_info info;
    cr_assert_eq(trace_read_run(path, &info, err, sizeof err), 0, "%s", err);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)replay(path));
    cr_expect_str_eq(hex, info.digest);
    trace_run_info_free(&info);
    unlink(path);
}

static void expect_refused(const char *path, const char *why) {
    char err[512] = "";
    viz_trace_source *s = viz_trace_open(path, err, sizeof err);
    cr_expect_null(s, "%s should be refused", path);
    viz_trace_close(s);
    cr_expect(strstr(err, path) && strstr(err, why), "error for %s: \"%s\" (want \"%s\")", path,
              err, why);
    cr_expect_null(strchr(err, '\n'));
}

Test(viz_scene, files_that_are_not_traces) {
    char path[128];
    temp_path(path, sizeof path, "bad");
    unlink(path);
    expect_refused(path, "no such file");
    FILE *f = fopen(path, "wb");
    fclose(f);
    expect_refused(path, "not a streamlab trace");
    f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    expect_refused(path, "not a SQLite database");
    unlink(path);
    trace_writer *w = trace_writer_open(path, (char[128]){0}, 128); /* tables, no run row */
    trace_writer_close(w, NULL, 0);
    expect_refused(path, "empty trace");
    unlink(path);
}
