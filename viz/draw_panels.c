/*
 * draw_panels.c — the dashboard strip, the event log with the colour legend, the
 * timeline with its fault markers, and the help overlay.
 */
#include "draw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define C(v) viz_rgba(v)

/* ---- dashboard ------------------------------------------------------------------------- */

static void card(viz_painter *p, const viz_layout *l, viz_rect r, const char *title,
                 const char *value, SDL_Color value_color, float value_px) {
    viz_fill(p, r, C(VIZ_RGB_PANEL));
    viz_frame_rect(p, r, C(0xd5dae2ff), 1.5f * l->u);
    viz_text_draw(p->text, title, r.x + 10 * l->u, r.y + 6 * l->u, l->font_small * 0.9f, 1,
                  C(VIZ_RGB_MUTED), VIZ_LEFT);
    viz_text_draw(p->text, value, r.x + 10 * l->u, r.y + r.h - value_px * 1.25f - 4 * l->u,
                  value_px, 1, value_color, VIZ_LEFT);
}

static void lag_text(const viz_scene *s, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (int g = 0; g < s->group_count && used + 32 < n; g++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s %" PRId64, g ? "   " : "",
                                 s->groups[g].name, s->groups[g].lag);
    if (!s->group_count) snprintf(buf, n, "no groups");
}

void viz_draw_dashboard(viz_painter *p, const viz_layout *l, const viz_scene *s) {
    viz_rect d = l->dash;
    float pad = 10 * l->u, x = d.x + pad, h = d.h - 2 * pad;
    float w_small = (d.w - 2 * pad) * 0.14f, w_lag = d.w - 2 * pad - 4 * (w_small + pad);
    char v[160];
    int n = s->in.view->brokers_count, up = s->brokers_online;
    snprintf(v, sizeof v, "%d / %d", up, n);
    card(p, l, (viz_rect){x, d.y + pad, w_small, h}, "BROKERS ONLINE", v,
         up < n ? C(VIZ_RGB_DOWN) : C(VIZ_RGB_UP), l->font_huge);
    x += w_small + pad;
    snprintf(v, sizeof v, "%.0f", s->in.records_in_per_s);
    card(p, l, (viz_rect){x, d.y + pad, w_small, h}, "RECORDS IN / s", v, C(VIZ_RGB_TEXT),
         l->font_huge);
    x += w_small + pad;
    snprintf(v, sizeof v, "%.0f", s->in.records_out_per_s);
    card(p, l, (viz_rect){x, d.y + pad, w_small, h}, "RECORDS OUT / s", v, C(VIZ_RGB_TEXT),
         l->font_huge);
    x += w_small + pad;
    snprintf(v, sizeof v, "%d", s->under_replicated);
    card(p, l, (viz_rect){x, d.y + pad, w_small, h}, "UNDER-REPLICATED", v,
         s->under_replicated ? C(VIZ_RGB_DOWN) : C(VIZ_RGB_UP), l->font_huge);
    x += w_small + pad;
    lag_text(s, v, sizeof v);
    card(p, l, (viz_rect){x, d.y + pad, w_lag, h}, "CONSUMER LAG (records behind)", v,
         C(VIZ_RGB_TEXT), l->font_big);
}

/* ---- event log and legend -------------------------------------------------------------------- */

static SDL_Color tone_color(enum viz_tone t) {
    switch (t) {
    case VIZ_TONE_GOOD:
        return C(0x1b8a46ff);
    case VIZ_TONE_BAD:
        return C(VIZ_RGB_DOWN);
    case VIZ_TONE_ACTION:
        return C(0xb86e00ff);
    default:
        return C(VIZ_RGB_TEXT);
    }
}

static float legend(viz_painter *p, const viz_layout *l, viz_rect r) {
    float row = l->font_small * 1.45f, y = r.y + r.h - 4 * row - 12 * l->u;
    viz_text_draw(p->text, "MESSAGES IN FLIGHT", r.x + 12 * l->u, y - row, l->font_small * 0.9f, 1,
                  C(VIZ_RGB_MUTED), VIZ_LEFT);
    for (int t = 0; t < VIZ_TRAFFIC_COUNT; t++) {
        float x = r.x + 12 * l->u + (float)(t % 2) * r.w / 2, yy = y + (float)(t / 2) * row;
        viz_disc(p, (viz_point){x + 6 * l->u, yy + row / 2 - 1 * l->u}, 6 * l->u,
                 viz_traffic_color(t));
        viz_text_draw(p->text, viz_traffic_name(t), x + 18 * l->u, yy, l->font_small, 0,
                      C(VIZ_RGB_TEXT), VIZ_LEFT);
    }
    float yy = y + 3 * row, x = r.x + 12 * l->u, k = 5 * l->u;
    viz_point c = {x + 6 * l->u, yy + row / 2 - 1 * l->u};
    viz_stroke(p, (viz_point){c.x - k, c.y - k}, (viz_point){c.x + k, c.y + k}, C(VIZ_RGB_DOWN),
               3 * l->u);
    viz_stroke(p, (viz_point){c.x - k, c.y + k}, (viz_point){c.x + k, c.y - k}, C(VIZ_RGB_DOWN),
               3 * l->u);
    viz_text_draw(p->text, "lost (connection broke)", x + 18 * l->u, yy, l->font_small, 0,
                  C(VIZ_RGB_TEXT), VIZ_LEFT);
    return y - row - 8 * l->u;
}

void viz_draw_log(viz_painter *p, const viz_layout *l, const viz_scene *s) {
    viz_rect r = {l->log.x, l->log.y + 14 * l->u, l->log.w - 14 * l->u, l->log.h - 28 * l->u};
    viz_fill(p, r, C(VIZ_RGB_PANEL));
    viz_frame_rect(p, r, C(0xd5dae2ff), 1.5f * l->u);
    viz_text_draw(p->text, "WHAT HAPPENED", r.x + 12 * l->u, r.y + 8 * l->u, l->font_small * 0.9f,
                  1, C(VIZ_RGB_MUTED), VIZ_LEFT);
    float bottom = legend(p, l, r), row = l->font_small * 1.35f;
    float y = r.y + 30 * l->u;
    char when[32];
    for (int i = 0; i < s->log_count && y + 2 * row < bottom; i++) {
        const viz_line *ln = s->log[i];
        snprintf(when, sizeof when, "%.1f s", (double)ln->t_us / 1e6);
        viz_text_draw(p->text, when, r.x + 12 * l->u, y, l->font_small * 0.85f, 0, C(VIZ_RGB_MUTED),
                      VIZ_LEFT);
        viz_text_draw(p->text, ln->text, r.x + 12 * l->u, y + row * 0.85f, l->font_small,
                      ln->tone != VIZ_TONE_INFO, tone_color(ln->tone), VIZ_LEFT);
        y += row * 2.1f;
    }
}

/* ---- timeline ------------------------------------------------------------------------------- */

static void play_icon(viz_painter *p, const viz_layout *l, int playing) {
    viz_rect b = l->play;
    viz_fill(p, b, C(0x2c7be5ff));
    SDL_Color w = C(0xffffffff);
    float u = l->u;
    if (playing) {
        viz_fill(p, (viz_rect){b.x + 12 * u, b.y + 10 * u, 6 * u, 20 * u}, w);
        viz_fill(p, (viz_rect){b.x + 22 * u, b.y + 10 * u, 6 * u, 20 * u}, w);
        return;
    }
    SDL_Vertex v[3] = {{{b.x + 13 * u, b.y + 9 * u}, w, {0, 0}},
                       {{b.x + 13 * u, b.y + 31 * u}, w, {0, 0}},
                       {{b.x + 31 * u, b.y + 20 * u}, w, {0, 0}}};
    SDL_RenderGeometry(p->r, NULL, v, 3, NULL, 0);
}

static void markers(viz_painter *p, const viz_layout *l, const viz_scene *s) {
    float last_label_end = -1e9f;
    for (int i = 0; i < s->in.mark_count; i++) {
        const viz_mark *m = &s->in.marks[i];
        float x = viz_layout_time_x(l, m->t_us, s->in.end_us), y = l->track.y;
        SDL_Color c = m->tone == VIZ_TONE_GOOD ? C(VIZ_RGB_UP) : C(VIZ_RGB_DOWN);
        SDL_Vertex v[3] = {{{x - 7 * l->u, y - 14 * l->u}, c, {0, 0}},
                           {{x + 7 * l->u, y - 14 * l->u}, c, {0, 0}},
                           {{x, y - 2 * l->u}, c, {0, 0}}};
        SDL_RenderGeometry(p->r, NULL, v, 3, NULL, 0);
        if (x - 6 * l->u > last_label_end)
            last_label_end = x +
                             viz_text_draw(p->text, m->label, x + 9 * l->u, y - 34 * l->u,
                                           l->font_small, 1, c, VIZ_LEFT) +
                             9 * l->u;
    }
}

void viz_draw_timeline(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui) {
    viz_rect t = l->timeline;
    viz_fill(p, t, C(VIZ_RGB_PANEL));
    viz_fill(p, (viz_rect){t.x, t.y, t.w, 1.5f * l->u}, C(0xd5dae2ff));
    play_icon(p, l, ui->playing);
    char line[128];
    snprintf(line, sizeof line, "%.1f s / %.0f s", (double)s->in.t_us / 1e6,
             (double)s->in.end_us / 1e6);
    float x = l->play.x + l->play.w + 12 * l->u;
    viz_text_draw(p->text, line, x, t.y + 14 * l->u, l->font_big, 1, C(VIZ_RGB_TEXT), VIZ_LEFT);
    snprintf(line, sizeof line, "%s%g\xc3\x97  \xc2\xb7  H: help", ui->live ? "LIVE  " : "speed ",
             ui->speed);
    viz_text_draw(p->text, line, x, t.y + 44 * l->u, l->font_small, 0, C(VIZ_RGB_MUTED), VIZ_LEFT);
    viz_rect k = l->track;
    viz_fill(p, k, C(0xe3e7eeff));
    float now = viz_layout_time_x(l, s->in.t_us, s->in.end_us);
    viz_fill(p, (viz_rect){k.x, k.y, now - k.x, k.h}, C(0x2c7be5ff));
    markers(p, l, s);
    viz_disc(p, (viz_point){now, k.y + k.h / 2}, 11 * l->u, C(0x1d4f99ff));
    if (ui->title)
        viz_text_draw(p->text, ui->title, k.x + k.w, t.y + 8 * l->u, l->font_small, 1,
                      C(VIZ_RGB_MUTED), VIZ_RIGHT);
    if (ui->status[0])
        viz_text_draw(p->text, ui->status, k.x + k.w / 2, k.y + k.h + 4 * l->u, l->font_small, 1,
                      C(0xb86e00ff), VIZ_CENTER);
}

/* ---- help -------------------------------------------------------------------------------------
 */

void viz_draw_help(viz_painter *p, const viz_layout *l, const viz_ui *ui) {
    static const char *const keys[][2] = {
        {"Space", "play / pause"},
        {"\xe2\x86\x90  \xe2\x86\x92", "previous / next trace row (pauses)"},
        {"+  \xe2\x88\x92", "faster / slower (0.1\xc3\x97 to 1000\xc3\x97)"},
        {"Home  End", "start / end of the run"},
        {"timeline", "click or drag to jump in time"},
        {"F", "full screen"},
        {"H", "this help"},
        {"Q  Esc", "quit"},
        {"live: click a broker", "crash it / restart it"},
        {"live: click a link", "cut it / heal it"},
    };
    int n = (int)(sizeof keys / sizeof keys[0]);
    float row = l->font * 1.7f, w = 620 * l->u, h = row * (float)n + 80 * l->u;
    viz_rect r = {((float)l->w - w) / 2, ((float)l->h - h) / 2, w, h};
    viz_fill(p, (viz_rect){0, 0, (float)l->w, (float)l->h}, C(0x0000007a));
    viz_fill(p, r, C(VIZ_RGB_PANEL));
    viz_text_draw(p->text, ui->live ? "Keys (live mode)" : "Keys", r.x + 24 * l->u, r.y + 18 * l->u,
                  l->font_big, 1, C(VIZ_RGB_TEXT), VIZ_LEFT);
    for (int i = 0; i < n; i++) {
        float y = r.y + 60 * l->u + (float)i * row;
        viz_text_draw(p->text, keys[i][0], r.x + 24 * l->u, y, l->font, 1, C(0x2c7be5ff), VIZ_LEFT);
        viz_text_draw(p->text, keys[i][1], r.x + 250 * l->u, y, l->font, 0, C(VIZ_RGB_TEXT),
                      VIZ_LEFT);
    }
}
