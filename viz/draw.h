/*
 * draw.h — paints a scene with an SDL renderer: the cluster (draw_cluster.c) and the
 * panels around it (draw_panels.c).  Colours are chosen for a projector: a light
 * background, saturated status colours, dark text.
 */
#ifndef STREAMLAB_VIZ_DRAW_H
#define STREAMLAB_VIZ_DRAW_H

#include <SDL.h>

#include "layout.h"
#include "scene.h"
#include "text.h"

/* What the controls add to the picture. */
typedef struct viz_ui {
    int playing;
    double speed;
    int help;
    int live;
    int32_t hover_broker; /* -1 = none */
    int hover_link;       /* -1 = none */
    const char *title;    /* scenario name */
    char status[160];     /* a one-line notice, e.g. the last live action */
} viz_ui;

#define VIZ_DISC_CACHE_MAX 32

typedef struct viz_painter {
    SDL_Renderer *r;
    viz_text *text;
    SDL_Texture *disc; /* a white disc, tinted for dots */
    /* Discs drawn at their final size and colour: a software blit without scaling
     * or tinting is several times cheaper, and a frame draws hundreds of dots. */
    struct {
        uint32_t rgba;
        int px;
        SDL_Texture *tex;
    } sized[VIZ_DISC_CACHE_MAX];
    int sized_count;
} viz_painter;

/* The palette (RGBA).  Tests read pixels against these. */
#define VIZ_RGB_BG 0xf2f4f8ff
#define VIZ_RGB_PANEL 0xffffffff
#define VIZ_RGB_TEXT 0x1d2430ff
#define VIZ_RGB_MUTED 0x6b7585ff
#define VIZ_RGB_UP 0x23a455ff
#define VIZ_RGB_DOWN 0xd93636ff
#define VIZ_RGB_LEADER 0xf0a81cff
#define VIZ_RGB_CONTROLLER 0x7b4fd6ff

int viz_painter_init(viz_painter *p, SDL_Renderer *r, char *err, size_t err_len);
void viz_painter_deinit(viz_painter *p);

/* One whole frame (does not present). */
void viz_draw_frame(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui);

/* Parts, for the two files. */
void viz_draw_cluster(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui);
void viz_draw_dashboard(viz_painter *p, const viz_layout *l, const viz_scene *s);
void viz_draw_log(viz_painter *p, const viz_layout *l, const viz_scene *s);
void viz_draw_timeline(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui);
void viz_draw_help(viz_painter *p, const viz_layout *l, const viz_ui *ui);

/* Shared primitives (draw_shapes.c). */
SDL_Color viz_rgba(uint32_t rgba);
SDL_Color viz_traffic_color(enum viz_traffic t);
void viz_fill(viz_painter *p, viz_rect r, SDL_Color c);
void viz_frame_rect(viz_painter *p, viz_rect r, SDL_Color c, float width);
void viz_stroke(viz_painter *p, viz_point a, viz_point b, SDL_Color c, float width);
void viz_disc(viz_painter *p, viz_point at, float radius, SDL_Color c);

#endif
