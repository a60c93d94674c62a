/*
 * draw_cluster.c — brokers with their partition replicas, the links between brokers,
 * producers, consumer groups, and the messages in flight.
 */
#include "draw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define C(v) viz_rgba(v)

/* ---- replica tiles ---------------------------------------------------------------------- */

typedef struct tile_info {
    const cluster_view_topic *topic;
    const cluster_view_partition *part;
    int32_t node;
    int broker_up;
} tile_info;

static int64_t partition_max_offset(const cluster_view_partition *p) {
    int64_t m = p->high_watermark;
    for (int i = 0; i < p->replicas_count; i++)
        if (p->replicas[i].log_end_offset > m) m = p->replicas[i].log_end_offset;
    return m > 0 ? m : 1;
}

static void tile_bar(viz_painter *p, const viz_layout *l, viz_rect bar, const tile_info *t) {
    const cluster_view_partition *pt = t->part;
    int64_t leo = viz_replica_log_end(pt, t->node), max = partition_max_offset(pt);
    viz_fill(p, bar, C(0xe3e7eeff));
    if (leo < 0) {
        viz_text_draw(p->text, "no log reported", bar.x + 3 * l->u, bar.y - 2 * l->u,
                      l->font_small * 0.8f, 0, C(VIZ_RGB_MUTED), VIZ_LEFT);
        return;
    }
    float f = (float)((double)leo / (double)max);
    viz_fill(p, (viz_rect){bar.x, bar.y, bar.w * f, bar.h},
             C(t->broker_up ? 0x2c7be5ff : 0x9aa3b2ff));
    if (pt->leader == t->node) {
        float hx = bar.x + bar.w * (float)((double)pt->high_watermark / (double)max);
        viz_fill(p, (viz_rect){hx - 2 * l->u, bar.y - 3 * l->u, 4 * l->u, bar.h + 6 * l->u},
                 C(VIZ_RGB_UP));
    }
}

static void tile(viz_painter *p, const viz_layout *l, viz_rect r, const tile_info *t, int pidx) {
    int leader = t->part->leader == t->node;
    int in_isr = viz_partition_in_isr(t->part, t->node);
    SDL_Color fill = !t->broker_up ? C(0xe4e7ecff) : leader ? C(0xfff1d2ff) : C(0xffffffff);
    SDL_Color edge = leader ? C(VIZ_RGB_LEADER) : in_isr ? C(0x7cc79bff) : C(0xb8bfcaff);
    viz_fill(p, r, fill);
    viz_frame_rect(p, r, edge, leader ? 2.5f * l->u : 1.5f * l->u);
    char label[96], value[48];
    snprintf(label, sizeof label, "%s%s/%d", leader ? "\xe2\x98\x85 " : "", t->topic->name, pidx);
    SDL_Color tc = t->broker_up ? C(VIZ_RGB_TEXT) : C(VIZ_RGB_MUTED);
    float pad = 5 * l->u, fs = l->font_small;
    viz_text_draw(p->text, label, r.x + pad, r.y + 2 * l->u, fs, leader, tc, VIZ_LEFT);
    int64_t leo = viz_replica_log_end(t->part, t->node);
    if (leo >= 0)
        snprintf(value, sizeof value, "%" PRId64, leo);
    else
        snprintf(value, sizeof value, "%s", in_isr ? "in ISR" : "out of ISR");
    viz_text_draw(p->text, value, r.x + r.w - pad, r.y + 2 * l->u, fs * 0.92f, 0, C(VIZ_RGB_MUTED),
                  VIZ_RIGHT);
    float bar_h = 7 * l->u;
    viz_rect bar = {r.x + pad, r.y + r.h - bar_h - 6 * l->u, r.w - 2 * pad, bar_h};
    tile_bar(p, l, bar, t);
}

static int hosts(const cluster_view_partition *p, int32_t node) {
    int32_t set[CLUSTER_VIEW_REPLICAS_MAX];
    int n = viz_partition_replicas(p, set);
    for (int i = 0; i < n; i++)
        if (set[i] == node) return 1;
    return 0;
}

static void tiles(viz_painter *p, const viz_layout *l, const viz_scene *s, int bi) {
    const cluster_view *v = s->in.view;
    const cluster_view_broker *b = &v->brokers[bi];
    for (int t = 0, row = 0; t < v->topics_count && row < l->tile_rows; t++) {
        if (!viz_topic_drawn(&v->topics[t])) continue;
        for (int k = 0; k < v->topics[t].partitions_count && k < l->tile_cols; k++) {
            const cluster_view_partition *pt = &v->topics[t].partitions[k];
            if (!hosts(pt, b->id)) continue;
            tile_info ti = {&v->topics[t], pt, b->id, b->up};
            tile(p, l, viz_layout_tile(l, bi, row, k), &ti, k);
        }
        row++;
    }
}

/* ---- brokers ------------------------------------------------------------------------------ */

static void badge(viz_painter *p, const viz_layout *l, viz_rect r, const char *text, SDL_Color c) {
    viz_fill(p, r, c);
    viz_text_draw(p->text, text, r.x + r.w / 2, r.y + (r.h - l->font * 1.2f) / 2, l->font, 1,
                  C(0xffffffff), VIZ_CENTER);
}

static void broker(viz_painter *p, const viz_layout *l, const viz_scene *s, int i,
                   const viz_ui *ui) {
    const cluster_view *v = s->in.view;
    const cluster_view_broker *b = &v->brokers[i];
    viz_rect r = l->broker[i];
    int hover = ui->live && ui->hover_broker == b->id;
    viz_fill(p, r, b->up ? C(VIZ_RGB_PANEL) : C(0xfbe4e4ff));
    viz_frame_rect(p, r,
                   hover   ? C(0x2c7be5ff)
                   : b->up ? C(0xc9cfd8ff)
                           : C(VIZ_RGB_DOWN),
                   (hover ? 3.0f : 2.0f) * l->u);
    badge(p, l, l->broker_badge[i], b->up ? "UP" : "DOWN", b->up ? C(VIZ_RGB_UP) : C(VIZ_RGB_DOWN));
    char name[48], since[64];
    snprintf(name, sizeof name, "broker %d", (int)b->id);
    float x = l->broker_badge[i].x + l->broker_badge[i].w + 10 * l->u;
    x += viz_text_draw(p->text, name, x, r.y + 7 * l->u, l->font_big, 1, C(VIZ_RGB_TEXT), VIZ_LEFT);
    if (v->controller == b->id) {
        viz_rect cr = {x + 10 * l->u, r.y + 9 * l->u, 118 * l->u, 22 * l->u};
        viz_fill(p, cr, C(VIZ_RGB_CONTROLLER));
        viz_text_draw(p->text, "CONTROLLER", cr.x + cr.w / 2, cr.y + 3 * l->u, l->font_small, 1,
                      C(0xffffffff), VIZ_CENTER);
    }
    since[0] = 0;
    if (hover)
        snprintf(since, sizeof since, "click to %s", b->up ? "crash" : "restart");
    else if (!b->up || b->since_us > 0)
        snprintf(since, sizeof since, "%s %.1f s", b->up ? "up since" : "down at",
                 (double)b->since_us / 1e6);
    viz_text_draw(p->text, since, r.x + r.w - 10 * l->u, r.y + 12 * l->u, l->font_small, 0,
                  C(VIZ_RGB_MUTED), VIZ_RIGHT);
    tiles(p, l, s, i);
}

static void links(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui) {
    for (int i = 0; i < l->link_count; i++) {
        const viz_link *k = &l->links[i];
        int cut = k->a <= VIZ_BROKERS_MAX && k->b <= VIZ_BROKERS_MAX && s->in.link_cut[k->a][k->b];
        SDL_Color c = cut                               ? C(VIZ_RGB_DOWN)
                      : ui->live && ui->hover_link == i ? C(0x2c7be5ff)
                                                        : C(0xb3bac6ff);
        for (int j = 0; j < 3; j++) viz_stroke(p, k->path[j], k->path[j + 1], c, 3 * l->u);
        if (cut) {
            viz_point m = {k->path[1].x, (k->path[1].y + k->path[2].y) / 2};
            viz_fill(p, (viz_rect){m.x - 15 * l->u, m.y - 11 * l->u, 30 * l->u, 22 * l->u},
                     C(VIZ_RGB_DOWN));
            viz_text_draw(p->text, "CUT", m.x, m.y - 8 * l->u, l->font_small * 0.85f, 1,
                          C(0xffffffff), VIZ_CENTER);
        }
    }
}

/* ---- clients -------------------------------------------------------------------------------- */

static void producer(viz_painter *p, const viz_layout *l, const viz_producer *pr, viz_rect r) {
    viz_fill(p, r, C(VIZ_RGB_PANEL));
    viz_fill(p, (viz_rect){r.x, r.y, 6 * l->u, r.h}, viz_traffic_color(VIZ_TRAFFIC_PRODUCE));
    viz_frame_rect(p, r, C(0xd5dae2ff), 1.5f * l->u);
    char line[96];
    float x = r.x + 14 * l->u, y = r.y + 6 * l->u, fh = l->font * 1.25f;
    viz_text_draw(p->text, pr->name, x, y, l->font, 1, C(VIZ_RGB_TEXT), VIZ_LEFT);
    snprintf(line, sizeof line, "\xe2\x86\x92 %s", pr->topic && pr->topic[0] ? pr->topic : "?");
    if (r.h > 2.6f * fh)
        viz_text_draw(p->text, line, x, y + fh, l->font_small, 0, C(VIZ_RGB_MUTED), VIZ_LEFT);
    snprintf(line, sizeof line, "acked %" PRId64, pr->acked);
    viz_text_draw(p->text, line, x, y + (r.h > 2.6f * fh ? 2 : 1) * fh, l->font_small, 0,
                  C(VIZ_RGB_TEXT), VIZ_LEFT);
    if (pr->failed) {
        snprintf(line, sizeof line, "failed %" PRId64, pr->failed);
        viz_text_draw(p->text, line, r.x + r.w - 6 * l->u, y, l->font_small, 1, C(VIZ_RGB_DOWN),
                      VIZ_RIGHT);
    }
}

static void consumer_row(viz_painter *p, const viz_layout *l, const viz_scene *s, int i) {
    const viz_consumer *c = &s->consumers[i];
    viz_rect r = l->consumer[i];
    const char *slash = strrchr(c->name, '/');
    char name[80], parts[160] = "", lag[48];
    snprintf(name, sizeof name, "#%s", slash ? slash + 1 : c->name);
    size_t n = 0;
    for (int k = 0; k < c->part_count && n + 40 < sizeof parts; k++) {
        int same = k && c->parts[k].topic == c->parts[k - 1].topic;
        if (same)
            n += (size_t)snprintf(parts + n, sizeof parts - n, ",%d", c->parts[k].partition);
        else
            n +=
                (size_t)snprintf(parts + n, sizeof parts - n, "%s%s/%d", k ? "  " : "",
                                 s->in.view->topics[c->parts[k].topic].name, c->parts[k].partition);
    }
    if (!c->part_count) snprintf(parts, sizeof parts, "idle");
    snprintf(lag, sizeof lag, "lag %" PRId64, c->lag);
    float fy = r.y + (r.h - l->font_small * 1.2f) / 2;
    viz_disc(p, (viz_point){r.x + 5 * l->u, r.y + r.h / 2}, 4 * l->u,
             viz_traffic_color(VIZ_TRAFFIC_FETCH));
    viz_text_draw(p->text, name, r.x + 14 * l->u, fy, l->font_small, 1, C(VIZ_RGB_TEXT), VIZ_LEFT);
    viz_text_draw(p->text, parts, r.x + 46 * l->u, fy, l->font_small, 0, C(VIZ_RGB_TEXT), VIZ_LEFT);
    viz_text_draw(p->text, lag, r.x + r.w, fy, l->font_small, c->lag > 100,
                  c->lag > 100 ? C(VIZ_RGB_DOWN) : C(VIZ_RGB_MUTED), VIZ_RIGHT);
}

static void group(viz_painter *p, const viz_layout *l, const viz_scene *s, int g) {
    viz_rect r = l->group[g];
    const viz_group *gr = &s->groups[g];
    viz_fill(p, r, C(VIZ_RGB_PANEL));
    viz_fill(p, (viz_rect){r.x, r.y, 6 * l->u, r.h}, viz_traffic_color(VIZ_TRAFFIC_FETCH));
    viz_frame_rect(p, r, C(0xd5dae2ff), 1.5f * l->u);
    char gen[48], lag[48];
    viz_text_draw(p->text, gr->name, r.x + 14 * l->u, r.y + 5 * l->u, l->font, 1, C(VIZ_RGB_TEXT),
                  VIZ_LEFT);
    snprintf(lag, sizeof lag, "lag %" PRId64, gr->lag);
    viz_text_draw(p->text, lag, r.x + r.w - 8 * l->u, r.y + 5 * l->u, l->font, 1,
                  gr->lag > 100 ? C(VIZ_RGB_DOWN) : C(VIZ_RGB_TEXT), VIZ_RIGHT);
    float lw = viz_text_width(p->text, lag, l->font, 1);
    float room = r.w - 34 * l->u - lw - viz_text_width(p->text, gr->name, l->font, 1);
    if (gr->generation < 0)
        snprintf(gen, sizeof gen, "gen \xe2\x80\x93");
    else
        snprintf(gen, sizeof gen, "gen %d \xc2\xb7 %d member%s", (int)gr->generation,
                 (int)gr->members, gr->members == 1 ? "" : "s");
    if (gr->generation >= 0 && viz_text_width(p->text, gen, l->font_small * 0.85f, 0) > room)
        snprintf(gen, sizeof gen, "gen %d", (int)gr->generation); /* a narrow panel */
    viz_text_draw(p->text, gen, r.x + r.w - 20 * l->u - lw, r.y + 8 * l->u, l->font_small * 0.85f,
                  0, C(VIZ_RGB_MUTED), VIZ_RIGHT);
    for (int c = 0; c < s->consumer_count; c++)
        if (s->consumers[c].group == g) consumer_row(p, l, s, c);
}

static void client_lines(viz_painter *p, const viz_layout *l, const viz_scene *s) {
    SDL_Color c = C(0xd3d8e0ff);
    viz_point path[4];
    for (int i = 0; i < s->producer_count; i++)
        for (int b = 0; b < l->broker_count; b++)
            if (viz_layout_route(l, s, s->producers[i].node, l->broker_ids[b], path) == 2)
                viz_stroke(p, path[0], path[1], c, 1.5f * l->u);
    for (int i = 0; i < s->consumer_count; i++)
        for (int k = 0; k < s->consumers[i].part_count; k++) {
            viz_part_ref pr = s->consumers[i].parts[k];
            int32_t leader = s->in.view->topics[pr.topic].partitions[pr.partition].leader;
            if (viz_layout_route(l, s, s->consumers[i].node, leader, path) == 2)
                viz_stroke(p, path[0], path[1], c, 1.5f * l->u);
        }
}

/* ---- messages in flight ---------------------------------------------------------------------- */

static viz_point along(const viz_point *path, int n, float f) {
    float len[3], total = 0;
    for (int i = 0; i + 1 < n; i++) {
        float dx = path[i + 1].x - path[i].x, dy = path[i + 1].y - path[i].y;
        len[i] = dx < 0 ? -dx : dx;
        len[i] += dy < 0 ? -dy : dy;
        total += len[i];
    }
    float d = f * total;
    for (int i = 0; i + 1 < n; i++) {
        if (d <= len[i] || i + 2 == n) {
            float g = len[i] > 0 ? d / len[i] : 0;
            return (viz_point){path[i].x + (path[i + 1].x - path[i].x) * g,
                               path[i].y + (path[i + 1].y - path[i].y) * g};
        }
        d -= len[i];
    }
    return path[0];
}

static void dots(viz_painter *p, const viz_layout *l, const viz_scene *s) {
    viz_point path[4];
    for (int i = 0; i < s->dot_count; i++) {
        const viz_dot *d = &s->dots[i];
        int n = viz_layout_route(l, s, d->src, d->dst, path);
        if (!n) continue;
        viz_point at = along(path, n, d->progress);
        if (!d->lost) {
            viz_disc(p, at, 4.5f * l->u, viz_traffic_color(d->traffic));
            continue;
        }
        SDL_Color red = C(VIZ_RGB_DOWN);
        red.a = (uint8_t)(255 * (d->alpha > 0.2f ? d->alpha : 0.2f));
        float k = 8 * l->u;
        viz_stroke(p, (viz_point){at.x - k, at.y - k}, (viz_point){at.x + k, at.y + k}, red,
                   3.5f * l->u);
        viz_stroke(p, (viz_point){at.x - k, at.y + k}, (viz_point){at.x + k, at.y - k}, red,
                   3.5f * l->u);
    }
}

void viz_draw_cluster(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui) {
    client_lines(p, l, s);
    links(p, l, s, ui);
    for (int i = 0; i < l->broker_count; i++) broker(p, l, s, i, ui);
    for (int i = 0; i < l->producer_count; i++) producer(p, l, &s->producers[i], l->producer[i]);
    for (int g = 0; g < l->group_count; g++) group(p, l, s, g);
    dots(p, l, s);
}
