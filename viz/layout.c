/*
 * layout.c — rects for every part of the screen (see layout.h).
 */
#include "layout.h"

#include <assert.h>
#include <string.h>

int viz_rect_contains(viz_rect r, float x, float y) {
    return x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
}

static viz_rect rect(float x, float y, float w, float h) {
    return (viz_rect){x, y, w, h};
}

static float minf(float a, float b) {
    return a < b ? a : b;
}

static void frame(viz_layout *l) {
    float u = l->u;
    l->font_small = 13.0f * u;
    l->font = 15.5f * u;
    l->font_big = 20.0f * u;
    l->font_huge = 30.0f * u;
    l->dash = rect(0, 0, (float)l->w, 80 * u);
    l->timeline = rect(0, (float)l->h - 78 * u, (float)l->w, 78 * u);
    float log_w = minf(320 * u, (float)l->w * 0.27f);
    float mid_y = l->dash.h, mid_h = l->timeline.y - mid_y;
    l->log = rect((float)l->w - log_w, mid_y, log_w, mid_h);
    l->main = rect(0, mid_y, (float)l->w - log_w, mid_h);
    l->play = rect(14 * u, l->timeline.y + 20 * u, 40 * u, 40 * u);
    float track_x = l->play.x + l->play.w + 250 * u;
    l->track = rect(track_x, l->timeline.y + 44 * u, (float)l->w - track_x - 30 * u, 12 * u);
}

static void brokers(viz_layout *l, const viz_scene *s, viz_rect col) {
    const cluster_view *v = s->in.view;
    l->broker_count = v->brokers_count < VIZ_BROKERS_MAX ? v->brokers_count : VIZ_BROKERS_MAX;
    float gap = 14 * l->u, n = (float)(l->broker_count ? l->broker_count : 1);
    float h = (col.h - gap * (n - 1)) / n;
    int max_parts = 1, rows = 0;
    for (int t = 0; t < v->topics_count; t++) {
        if (!viz_topic_drawn(&v->topics[t])) continue;
        rows++;
        if (v->topics[t].partitions_count > max_parts) max_parts = v->topics[t].partitions_count;
    }
    l->tile_rows = rows < VIZ_TILE_ROWS_MAX ? rows : VIZ_TILE_ROWS_MAX;
    l->tile_cols = max_parts < VIZ_TILE_COLS_MAX ? max_parts : VIZ_TILE_COLS_MAX;
    for (int i = 0; i < l->broker_count; i++) {
        viz_rect b = rect(col.x, col.y + (float)i * (h + gap), col.w, h);
        l->broker_ids[i] = v->brokers[i].id;
        l->broker[i] = b;
        l->broker_badge[i] = rect(b.x + 8 * l->u, b.y + 7 * l->u, 78 * l->u, 26 * l->u);
        l->tiles_area[i] = rect(b.x + 8 * l->u, b.y + 40 * l->u, b.w - 16 * l->u, b.h - 46 * l->u);
    }
}

static void links(viz_layout *l, float lane_x0, float lane_gap) {
    l->link_count = 0;
    for (int i = 0; i < l->broker_count; i++)
        for (int j = i + 1; j < l->broker_count; j++) {
            viz_link *k = &l->links[l->link_count++];
            viz_rect a = l->broker[i], b = l->broker[j];
            float x = lane_x0 + (float)(j - i - 1) * lane_gap;
            float ya = a.y + a.h * (0.62f + 0.1f * (float)(j - i - 1));
            float yb = b.y + b.h * (0.38f - 0.1f * (float)(j - i - 1));
            k->a = l->broker_ids[i];
            k->b = l->broker_ids[j];
            k->path[0] = (viz_point){a.x + a.w, ya};
            k->path[1] = (viz_point){x, ya};
            k->path[2] = (viz_point){x, yb};
            k->path[3] = (viz_point){b.x + b.w, yb};
            k->hit = rect(x - 10 * l->u, ya, 20 * l->u, yb - ya);
        }
}

static void producers(viz_layout *l, const viz_scene *s, viz_rect col) {
    l->producer_count = s->producer_count;
    float gap = 12 * l->u, n = (float)(s->producer_count ? s->producer_count : 1);
    float h = minf(96 * l->u, (col.h - gap * (n - 1)) / n);
    float y0 = col.y + (col.h - (h * n + gap * (n - 1))) / 2;
    for (int i = 0; i < s->producer_count; i++)
        l->producer[i] = rect(col.x, y0 + (float)i * (h + gap), col.w, h);
}

static void groups(viz_layout *l, const viz_scene *s, viz_rect col) {
    float head = 30 * l->u, row = 26 * l->u, gap = 12 * l->u;
    float need = (float)s->group_count * (head + gap) + (float)s->consumer_count * row;
    float k = need > col.h ? col.h / need : 1.0f;
    float y = col.y + (need * k < col.h ? (col.h - need * k) / 2 : 0);
    l->group_count = s->group_count;
    l->consumer_count = s->consumer_count;
    for (int g = 0; g < s->group_count; g++) {
        int members = 0;
        for (int c = 0; c < s->consumer_count; c++) {
            if (s->consumers[c].group != g) continue;
            l->consumer[c] = rect(col.x + 8 * l->u, y + (head + (float)members * row) * k,
                                  col.w - 16 * l->u, row * k);
            members++;
        }
        l->group[g] = rect(col.x, y, col.w, (head + (float)members * row + 6 * l->u) * k);
        y += l->group[g].h + gap * k;
    }
}

void viz_layout_compute(viz_layout *l, int w, int h, const viz_scene *s) {
    assert(w > 0 && h > 0);
    memset(l, 0, sizeof *l);
    l->w = w;
    l->h = h;
    l->u = minf((float)w / 1280.0f, (float)h / 720.0f);
    frame(l);
    float pad = 14 * l->u, mw = l->main.w - 2 * pad;
    viz_rect in = rect(l->main.x + pad, l->main.y + pad, mw, l->main.h - 2 * pad);
    float pw = mw * 0.15f, bw = mw * 0.42f, lane = mw * 0.07f, gap = mw * 0.07f;
    producers(l, s, rect(in.x, in.y, pw, in.h));
    brokers(l, s, rect(in.x + pw + gap, in.y, bw, in.h));
    links(l, in.x + pw + gap + bw + lane * 0.35f, lane * 0.4f);
    float gx = in.x + pw + bw + lane + 2 * gap - mw * 0.02f;
    groups(l, s, rect(gx, in.y, in.x + mw - gx, in.h));
}

viz_rect viz_layout_tile(const viz_layout *l, int i, int row, int col) {
    viz_rect a = l->tiles_area[i];
    float gap = 5 * l->u;
    int rows = l->tile_rows ? l->tile_rows : 1, cols = l->tile_cols ? l->tile_cols : 1;
    float w = (a.w - gap * (float)(cols - 1)) / (float)cols;
    float h = (a.h - gap * (float)(rows - 1)) / (float)rows;
    return rect(a.x + (float)col * (w + gap), a.y + (float)row * (h + gap), w, h);
}

int viz_layout_broker_index(const viz_layout *l, int32_t id) {
    for (int i = 0; i < l->broker_count; i++)
        if (l->broker_ids[i] == id) return i;
    return -1;
}

int32_t viz_layout_broker_at(const viz_layout *l, float x, float y) {
    for (int i = 0; i < l->broker_count; i++)
        if (viz_rect_contains(l->broker[i], x, y)) return l->broker_ids[i];
    return -1;
}

int viz_layout_link_at(const viz_layout *l, float x, float y) {
    for (int i = 0; i < l->link_count; i++)
        if (viz_rect_contains(l->links[i].hit, x, y)) return i;
    return -1;
}

int viz_layout_on_track(const viz_layout *l, float x, float y) {
    viz_rect r = l->track;
    return viz_rect_contains(rect(r.x - 10 * l->u, r.y - 26 * l->u, r.w + 20 * l->u, 46 * l->u), x,
                             y);
}

float viz_layout_time_x(const viz_layout *l, int64_t t_us, int64_t end_us) {
    double f = end_us > 0 ? (double)t_us / (double)end_us : 0;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return l->track.x + (float)f * l->track.w;
}

int64_t viz_layout_x_time(const viz_layout *l, float x, int64_t end_us) {
    double f = l->track.w > 0 ? (double)(x - l->track.x) / (double)l->track.w : 0;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return (int64_t)(f * (double)end_us);
}

/* ---- routes -------------------------------------------------------------------------- */

static int index_of_producer(const viz_scene *s, int32_t id) {
    for (int i = 0; i < s->producer_count; i++)
        if (s->producers[i].node == id) return i;
    return -1;
}

static int index_of_consumer(const viz_scene *s, int32_t id) {
    for (int i = 0; i < s->consumer_count; i++)
        if (s->consumers[i].node == id) return i;
    return -1;
}

/* The end of a client's line: the producer box's right edge or the consumer row's left. */
static int client_point(const viz_layout *l, const viz_scene *s, int32_t id, viz_point *p) {
    int i = index_of_producer(s, id);
    if (i >= 0) {
        *p = (viz_point){l->producer[i].x + l->producer[i].w,
                         l->producer[i].y + l->producer[i].h / 2};
        return 1;
    }
    i = index_of_consumer(s, id);
    if (i < 0) return 0;
    *p = (viz_point){l->consumer[i].x - 8 * l->u, l->consumer[i].y + l->consumer[i].h / 2};
    return 2;
}

static int broker_route(const viz_layout *l, int32_t a, int32_t b, viz_point *path) {
    for (int i = 0; i < l->link_count; i++) {
        const viz_link *k = &l->links[i];
        if ((k->a == a && k->b == b) || (k->a == b && k->b == a)) {
            for (int j = 0; j < 4; j++) path[j] = k->path[k->a == a ? j : 3 - j];
            return 4;
        }
    }
    return 0;
}

int viz_layout_route(const viz_layout *l, const viz_scene *s, int32_t src, int32_t dst,
                     viz_point *path) {
    int bs = viz_layout_broker_index(l, src), bd = viz_layout_broker_index(l, dst);
    if (bs >= 0 && bd >= 0) return broker_route(l, src, dst, path);
    int b = bs >= 0 ? bs : bd;
    viz_point c;
    int side = client_point(l, s, bs >= 0 ? dst : src, &c);
    if (b < 0 || !side) return 0;
    viz_rect r = l->broker[b];
    int slot = (int)((uint32_t)(bs >= 0 ? dst : src) % 5);
    float y = r.y + r.h * (0.3f + 0.1f * (float)slot);
    viz_point e = {side == 1 ? r.x : r.x + r.w, y};
    path[0] = bs >= 0 ? e : c;
    path[1] = bs >= 0 ? c : e;
    return 2;
}
