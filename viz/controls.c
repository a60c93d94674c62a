/*
 * controls.c — input handling (see controls.h).
 */
#include "controls.h"

#include <stdio.h>

static void step_row(viz_app *a, int dir) {
    if (a->live) return;
    a->ui.playing = 0;
    viz_app_seek(a, viz_trace_step_row(a->trace, a->t_us, dir));
}

static void toggle_fullscreen(SDL_Window *w) {
    if (!w) return;
    int full = SDL_GetWindowFlags(w) & SDL_WINDOW_FULLSCREEN_DESKTOP;
    SDL_SetWindowFullscreen(w, full ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP);
}

static void on_key(viz_app *a, SDL_Window *w, SDL_Keycode k) {
    switch (k) {
    case SDLK_SPACE:
        if (!a->ui.playing && !a->live && a->t_us >= viz_app_end_us(a)) viz_app_seek(a, 0);
        a->ui.playing = !a->ui.playing;
        break;
    case SDLK_LEFT:
    case SDLK_RIGHT:
        step_row(a, k == SDLK_RIGHT ? 1 : -1);
        break;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS:
        viz_app_speed_step(a, 1);
        break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        viz_app_speed_step(a, -1);
        break;
    case SDLK_HOME:
        viz_app_seek(a, 0);
        break;
    case SDLK_END:
        viz_app_seek(a, viz_app_end_us(a));
        break;
    case SDLK_f:
        toggle_fullscreen(w);
        break;
    case SDLK_h:
        a->ui.help = !a->ui.help;
        break;
    case SDLK_ESCAPE:
        if (a->ui.help)
            a->ui.help = 0;
        else
            a->quit = 1;
        break;
    case SDLK_q:
        a->quit = 1;
        break;
    default:
        break;
    }
}

static void live_click(viz_app *a, float x, float y) {
    const viz_layout *l = &a->layout;
    int link = viz_layout_link_at(l, x, y);
    int32_t broker = viz_layout_broker_at(l, x, y);
    if (link >= 0)
        viz_live_toggle_link(a->live, l->links[link].a, l->links[link].b, a->ui.status,
                             sizeof a->ui.status);
    else if (broker >= 0)
        viz_live_toggle_broker(a->live, broker, a->ui.status, sizeof a->ui.status);
}

static void on_click(viz_app *a, float x, float y) {
    const viz_layout *l = &a->layout;
    if (a->ui.help) {
        a->ui.help = 0;
        return;
    }
    if (viz_rect_contains(l->play, x, y)) {
        a->ui.playing = !a->ui.playing;
        return;
    }
    if (!a->live && viz_layout_on_track(l, x, y)) {
        a->dragging = 1;
        viz_app_seek(a, viz_layout_x_time(l, x, viz_app_end_us(a)));
        return;
    }
    if (a->live) live_click(a, x, y);
}

static void on_motion(viz_app *a, float x, float y) {
    if (a->dragging) viz_app_seek(a, viz_layout_x_time(&a->layout, x, viz_app_end_us(a)));
    a->ui.hover_link = viz_layout_link_at(&a->layout, x, y);
    a->ui.hover_broker = a->ui.hover_link >= 0 ? -1 : viz_layout_broker_at(&a->layout, x, y);
}

/* Mouse coordinates are in window points; the layout is in renderer pixels. */
static void to_pixels(SDL_Window *w, int x, int y, float *px, float *py) {
    int ww = 1, wh = 1, pw = 1, ph = 1;
    if (w) {
        SDL_GetWindowSize(w, &ww, &wh);
        SDL_GetRendererOutputSize(SDL_GetRenderer(w), &pw, &ph);
    }
    *px = (float)x * (float)pw / (float)(ww ? ww : 1);
    *py = (float)y * (float)ph / (float)(wh ? wh : 1);
}

void viz_controls_handle(viz_app *a, SDL_Window *w, const SDL_Event *e) {
    float x, y;
    switch (e->type) {
    case SDL_QUIT:
        a->quit = 1;
        break;
    case SDL_KEYDOWN:
        on_key(a, w, e->key.keysym.sym);
        break;
    case SDL_MOUSEBUTTONDOWN:
        to_pixels(w, e->button.x, e->button.y, &x, &y);
        if (e->button.button == SDL_BUTTON_LEFT) on_click(a, x, y);
        break;
    case SDL_MOUSEBUTTONUP:
        a->dragging = 0;
        break;
    case SDL_MOUSEMOTION:
        to_pixels(w, e->motion.x, e->motion.y, &x, &y);
        on_motion(a, x, y);
        break;
    default:
        break;
    }
}
