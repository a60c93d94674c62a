/*
 * draw_shapes.c — the painter and its primitives: rects, thick lines, discs.
 */
#include "draw.h"

#include <math.h>
#include <stdio.h>

#define DISC_PX 64

SDL_Color viz_rgba(uint32_t v) {
    return (SDL_Color){(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
}

SDL_Color viz_traffic_color(enum viz_traffic t) {
    static const uint32_t colors[VIZ_TRAFFIC_COUNT] = {
        0xf07f13ff, /* Produce: orange */
        0x2c7be5ff, /* Fetch: blue */
        0x9b46c9ff, /* Replication: purple */
        0xe0307aff, /* Controller: magenta */
        0x10a596ff, /* Group: teal */
        0x8a94a6ff, /* Metadata: grey */
    };
    return viz_rgba(t < VIZ_TRAFFIC_COUNT ? colors[t] : 0x000000ff);
}

static SDL_Texture *make_disc_sized(SDL_Renderer *r, int size, SDL_Color col) {
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, size, size, 32, SDL_PIXELFORMAT_RGBA32);
    if (!s) return NULL;
    uint32_t *px = s->pixels;
    float c = (size - 1) / 2.0f;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float d = sqrtf((x - c) * (x - c) + (y - c) * (y - c));
            float a = d < c - 1 ? 1.0f : d > c ? 0.0f : c - d;
            px[y * (s->pitch / 4) + x] =
                SDL_MapRGBA(s->format, col.r, col.g, col.b, (uint8_t)(a * col.a));
        }
    SDL_Texture *t = SDL_CreateTextureFromSurface(r, s);
    SDL_FreeSurface(s);
    if (t) SDL_SetTextureBlendMode(t, SDL_BLENDMODE_BLEND);
    return t;
}

int viz_painter_init(viz_painter *p, SDL_Renderer *r, char *err, size_t err_len) {
    p->r = r;
    p->text = viz_text_create(r, err, err_len);
    if (!p->text) return -1;
    p->disc = make_disc_sized(r, DISC_PX, (SDL_Color){255, 255, 255, 255});
    p->sized_count = 0;
    if (!p->disc) {
        snprintf(err, err_len, "SDL: %s", SDL_GetError());
        viz_text_destroy(p->text);
        return -1;
    }
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
    return 0;
}

void viz_painter_deinit(viz_painter *p) {
    viz_text_destroy(p->text);
    if (p->disc) SDL_DestroyTexture(p->disc);
    for (int i = 0; i < p->sized_count; i++) SDL_DestroyTexture(p->sized[i].tex);
    p->sized_count = 0;
}

void viz_fill(viz_painter *p, viz_rect r, SDL_Color c) {
    /* Opaque fills skip blending: the software renderer then writes pixels instead
     * of reading, mixing and writing them, which is most of a frame's cost. */
    if (c.a == 255) SDL_SetRenderDrawBlendMode(p->r, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(p->r, c.r, c.g, c.b, c.a);
    SDL_RenderFillRectF(p->r, &(SDL_FRect){r.x, r.y, r.w, r.h});
    if (c.a == 255) SDL_SetRenderDrawBlendMode(p->r, SDL_BLENDMODE_BLEND);
}

void viz_frame_rect(viz_painter *p, viz_rect r, SDL_Color c, float w) {
    viz_fill(p, (viz_rect){r.x, r.y, r.w, w}, c);
    viz_fill(p, (viz_rect){r.x, r.y + r.h - w, r.w, w}, c);
    viz_fill(p, (viz_rect){r.x, r.y, w, r.h}, c);
    viz_fill(p, (viz_rect){r.x + r.w - w, r.y, w, r.h}, c);
}

void viz_stroke(viz_painter *p, viz_point a, viz_point b, SDL_Color c, float width) {
    float dx = b.x - a.x, dy = b.y - a.y, len = sqrtf(dx * dx + dy * dy);
    if (len < 0.01f) return;
    float nx = -dy / len * width / 2, ny = dx / len * width / 2;
    SDL_Vertex v[4] = {
        {{a.x + nx, a.y + ny}, c, {0, 0}},
        {{a.x - nx, a.y - ny}, c, {0, 0}},
        {{b.x - nx, b.y - ny}, c, {0, 0}},
        {{b.x + nx, b.y + ny}, c, {0, 0}},
    };
    static const int idx[6] = {0, 1, 2, 0, 2, 3};
    SDL_RenderGeometry(p->r, NULL, v, 4, idx, 6);
}

void viz_disc(viz_painter *p, viz_point at, float radius, SDL_Color c) {
    int size = (int)(2 * radius + 0.5f);
    uint32_t rgba = (uint32_t)c.r << 24 | (uint32_t)c.g << 16 | (uint32_t)c.b << 8 | c.a;
    for (int i = 0; i < p->sized_count; i++)
        if (p->sized[i].rgba == rgba && p->sized[i].px == size) {
            SDL_Rect at_px = {(int)(at.x - size / 2.0f + 0.5f), (int)(at.y - size / 2.0f + 0.5f),
                              size, size};
            SDL_RenderCopy(p->r, p->sized[i].tex, NULL, &at_px);
            return;
        }
    if (p->sized_count < VIZ_DISC_CACHE_MAX && size > 0 && size <= DISC_PX) {
        SDL_Texture *t = make_disc_sized(p->r, size, c);
        if (t) {
            p->sized[p->sized_count].rgba = rgba;
            p->sized[p->sized_count].px = size;
            p->sized[p->sized_count].tex = t;
            p->sized_count++;
            viz_disc(p, at, radius, c);
            return;
        }
    }
    SDL_SetTextureColorMod(p->disc, c.r, c.g, c.b);
    SDL_SetTextureAlphaMod(p->disc, c.a);
    SDL_FRect dst = {at.x - radius, at.y - radius, 2 * radius, 2 * radius};
    SDL_RenderCopyF(p->r, p->disc, NULL, &dst);
}

void viz_draw_frame(viz_painter *p, const viz_layout *l, const viz_scene *s, const viz_ui *ui) {
    SDL_Color bg = viz_rgba(VIZ_RGB_BG);
    SDL_SetRenderDrawColor(p->r, bg.r, bg.g, bg.b, 255);
    SDL_RenderClear(p->r);
    viz_draw_cluster(p, l, s, ui);
    viz_draw_dashboard(p, l, s);
    viz_draw_log(p, l, s);
    viz_draw_timeline(p, l, s, ui);
    if (ui->help) viz_draw_help(p, l, ui);
}
