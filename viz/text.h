/*
 * text.h — text on an SDL renderer with SDL_ttf, cached: each (string, size, weight,
 * colour) is rendered to a texture once and reused while it stays in the cache, so a
 * frame costs a few hundred texture copies, not a few hundred rasterisations.
 */
#ifndef STREAMLAB_VIZ_TEXT_H
#define STREAMLAB_VIZ_TEXT_H

#include <SDL.h>

typedef struct viz_text viz_text;

enum viz_align { VIZ_LEFT, VIZ_CENTER, VIZ_RIGHT };

/* Opens DejaVu Sans (regular and bold) for renderer `r`.  NULL with err on failure. */
viz_text *viz_text_create(SDL_Renderer *r, char *err, size_t err_len);
void viz_text_destroy(viz_text *t);

/* Draws `s` with its left/centre/right at x and its top at y; returns its width. */
float viz_text_draw(viz_text *t, const char *s, float x, float y, float px, int bold, SDL_Color c,
                    enum viz_align align);
/* The width of `s` at that size. */
float viz_text_width(viz_text *t, const char *s, float px, int bold);

#endif
