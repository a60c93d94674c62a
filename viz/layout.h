/*
 * layout.h — where everything goes, from the window size and the scene's counts.
 *
 * One unit `u` is a pixel at 1280x720 and grows with the window (1.5 at 1920x1080),
 * so text and shapes scale together.  The screen, top to bottom: the dashboard strip;
 * the main area (producers | brokers with their partitions, the broker-to-broker
 * links | consumer groups) beside the event log; the timeline.  Tests use the rects
 * to look at pixels (e.g. a broker's UP/DOWN badge).
 */
#ifndef STREAMLAB_VIZ_LAYOUT_H
#define STREAMLAB_VIZ_LAYOUT_H

#include "scene.h"

#define VIZ_LINKS_MAX (VIZ_BROKERS_MAX * (VIZ_BROKERS_MAX - 1) / 2)
#define VIZ_TILE_ROWS_MAX 8
#define VIZ_TILE_COLS_MAX 8

typedef struct viz_rect {
    float x, y, w, h;
} viz_rect;

typedef struct viz_point {
    float x, y;
} viz_point;

typedef struct viz_link {
    int32_t a, b;      /* broker ids, a < b */
    viz_point path[4]; /* out of a, along the lane, into b */
    viz_rect hit;      /* click here to cut or heal */
} viz_link;

typedef struct viz_layout {
    int w, h;
    float u;
    float font_small, font, font_big, font_huge; /* pixel sizes */
    viz_rect dash, main, log, timeline, track, play;
    int broker_count;
    int32_t broker_ids[VIZ_BROKERS_MAX];
    viz_rect broker[VIZ_BROKERS_MAX], broker_badge[VIZ_BROKERS_MAX];
    viz_rect tiles_area[VIZ_BROKERS_MAX];
    int tile_rows, tile_cols;
    int producer_count;
    viz_rect producer[VIZ_NODES_MAX];
    int group_count;
    viz_rect group[CLUSTER_VIEW_GROUPS_MAX];
    int consumer_count;
    viz_rect consumer[VIZ_NODES_MAX]; /* rows inside their group box */
    int link_count;
    viz_link links[VIZ_LINKS_MAX];
} viz_layout;

void viz_layout_compute(viz_layout *l, int w, int h, const viz_scene *s);

/* The tile of replica (topic row, partition column) in broker box i. */
viz_rect viz_layout_tile(const viz_layout *l, int broker_index, int row, int col);
int viz_layout_broker_index(const viz_layout *l, int32_t id); /* -1 when absent */

/* Hit tests: a broker id / link index under (x, y), or -1. */
int32_t viz_layout_broker_at(const viz_layout *l, float x, float y);
int viz_layout_link_at(const viz_layout *l, float x, float y);
int viz_layout_on_track(const viz_layout *l, float x, float y);

/* Timeline: the x of a time and the time of an x (clamped to [0, end_us]). */
float viz_layout_time_x(const viz_layout *l, int64_t t_us, int64_t end_us);
int64_t viz_layout_x_time(const viz_layout *l, float x, int64_t end_us);

/* Where a message between two nodes travels: a polyline of 2..4 points.  0 when
 * either end is not on screen. */
int viz_layout_route(const viz_layout *l, const viz_scene *s, int32_t src, int32_t dst,
                     viz_point *path);

int viz_rect_contains(viz_rect r, float x, float y);

#endif
