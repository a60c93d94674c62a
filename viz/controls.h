/*
 * controls.h — keys and mouse: Space play/pause, left/right previous/next trace row,
 * +/- speed, Home/End, F full screen, H help, Q/Esc quit; the timeline is clicked and
 * dragged; in live mode a click on a broker crashes or restarts it and a click on a
 * link cuts or heals it.
 */
#ifndef STREAMLAB_VIZ_CONTROLS_H
#define STREAMLAB_VIZ_CONTROLS_H

#include <SDL.h>

#include "app.h"

void viz_controls_handle(viz_app *a, SDL_Window *window, const SDL_Event *e);

#endif
