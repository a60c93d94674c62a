/*
 * text.c — cached text textures (see text.h).
 */
#include "text.h"

#include <SDL_ttf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT_DIR "/usr/share/fonts/truetype/dejavu/"
#define SIZES_MAX 48     /* distinct pixel sizes open at once */
#define CACHE_SLOTS 2048 /* open addressing; cleared when 3/4 full */
#define KEY_BYTES_MAX 120

typedef struct font_slot {
    int px, bold;
    TTF_Font *font;
} font_slot;

typedef struct text_slot {
    uint64_t hash;
    char key[KEY_BYTES_MAX];
    int px, bold;
    uint32_t rgba;
    SDL_Texture *tex;
    int w, h;
} text_slot;

struct viz_text {
    SDL_Renderer *r;
    font_slot fonts[SIZES_MAX];
    int font_count;
    text_slot *slots;
    int used;
};

viz_text *viz_text_create(SDL_Renderer *r, char *err, size_t err_len) {
    if (!TTF_WasInit() && TTF_Init() != 0) {
        snprintf(err, err_len, "SDL_ttf: %s", TTF_GetError());
        return NULL;
    }
    TTF_Font *probe = TTF_OpenFont(FONT_DIR "DejaVuSans.ttf", 12);
    if (!probe) {
        snprintf(err, err_len, "font " FONT_DIR "DejaVuSans.ttf: %s (install fonts-dejavu-core)",
                 TTF_GetError());
        return NULL;
    }
    TTF_CloseFont(probe);
    viz_text *t = calloc(1, sizeof *t);
    if (!t || !(t->slots = calloc(CACHE_SLOTS, sizeof *t->slots))) abort();
    t->r = r;
    return t;
}

static void cache_clear(viz_text *t) {
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (t->slots[i].tex) SDL_DestroyTexture(t->slots[i].tex);
    memset(t->slots, 0, CACHE_SLOTS * sizeof *t->slots);
    t->used = 0;
}

void viz_text_destroy(viz_text *t) {
    if (!t) return;
    cache_clear(t);
    for (int i = 0; i < t->font_count; i++) TTF_CloseFont(t->fonts[i].font);
    free(t->slots);
    free(t);
}

static TTF_Font *font_get(viz_text *t, int px, int bold) {
    for (int i = 0; i < t->font_count; i++)
        if (t->fonts[i].px == px && t->fonts[i].bold == bold) return t->fonts[i].font;
    if (t->font_count == SIZES_MAX) { /* window resized many times: start over */
        cache_clear(t);
        for (int i = 0; i < t->font_count; i++) TTF_CloseFont(t->fonts[i].font);
        t->font_count = 0;
    }
    TTF_Font *f =
        TTF_OpenFont(bold ? FONT_DIR "DejaVuSans-Bold.ttf" : FONT_DIR "DejaVuSans.ttf", px);
    if (!f) return NULL;
    t->fonts[t->font_count++] = (font_slot){px, bold, f};
    return f;
}

static uint64_t hash_of(const char *s, int px, int bold, uint32_t rgba) {
    uint64_t h =
        1469598103934665603ULL ^ (uint64_t)px ^ ((uint64_t)bold << 8) ^ ((uint64_t)rgba << 16);
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static text_slot *lookup(viz_text *t, const char *s, int px, int bold, SDL_Color c) {
    uint32_t rgba = (uint32_t)c.r << 24 | (uint32_t)c.g << 16 | (uint32_t)c.b << 8 | c.a;
    uint64_t h = hash_of(s, px, bold, rgba);
    for (int probe = 0; probe < CACHE_SLOTS; probe++) {
        text_slot *e = &t->slots[(h + (uint64_t)probe) % CACHE_SLOTS];
        if (!e->tex) {
            if (t->used >= CACHE_SLOTS * 3 / 4) {
                cache_clear(t);
                return lookup(t, s, px, bold, c);
            }
            TTF_Font *f = font_get(t, px, bold);
            SDL_Surface *surf = f ? TTF_RenderUTF8_Blended(f, s, c) : NULL;
            if (!surf) return NULL;
            e->tex = SDL_CreateTextureFromSurface(t->r, surf);
            e->w = surf->w;
            e->h = surf->h;
            SDL_FreeSurface(surf);
            if (!e->tex) return NULL;
            e->hash = h;
            snprintf(e->key, sizeof e->key, "%s", s);
            e->px = px, e->bold = bold, e->rgba = rgba;
            t->used++;
            return e;
        }
        if (e->hash == h && e->px == px && e->bold == bold && e->rgba == rgba &&
            !strncmp(e->key, s, KEY_BYTES_MAX - 1))
            return e;
    }
    return NULL;
}

float viz_text_draw(viz_text *t, const char *s, float x, float y, float px, int bold, SDL_Color c,
                    enum viz_align align) {
    if (!s || !*s) return 0;
    text_slot *e = lookup(t, s, (int)(px + 0.5f), bold, c);
    if (!e) return 0;
    float w = (float)e->w;
    float left = align == VIZ_LEFT ? x : align == VIZ_CENTER ? x - w / 2 : x - w;
    SDL_FRect dst = {left, y, w, (float)e->h};
    SDL_RenderCopyF(t->r, e->tex, NULL, &dst);
    return w;
}

float viz_text_width(viz_text *t, const char *s, float px, int bold) {
    if (!s || !*s) return 0;
    text_slot *e = lookup(t, s, (int)(px + 0.5f), bold, (SDL_Color){0, 0, 0, 255});
    return e ? (float)e->w : 0;
}
