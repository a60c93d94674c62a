/*
 * metrics_http.h — a tiny HTTP/1.0 responder for GET /metrics on the broker's loop.
 *
 * It reads one request (at most a few KB; a request still incomplete after that
 * or after a few seconds is dropped), answers GET /metrics with metrics_render's
 * text and anything else with 404 or 405, then closes the connection.  That is all
 * Prometheus and curl need; it is not a general web server.
 */
#ifndef STREAMLAB_METRICS_HTTP_H
#define STREAMLAB_METRICS_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "metrics.h"

typedef struct metrics_http metrics_http;

metrics_http *metrics_http_start(uv_loop_t *loop, metrics *m, const char *host, int port, char *err,
                                 size_t err_len);
/* Closes the listener and every open request; the loop must run to finish. */
void metrics_http_close(metrics_http *h);

#endif
