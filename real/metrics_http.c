/*
 * metrics_http.c — GET /metrics over plain HTTP on the broker's libuv loop.
 */
#include "metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_REQUEST_BYTES_MAX 8192
#define HTTP_TIMEOUT_MS 5000

typedef struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    struct metrics_http *server;
    struct http_conn *next, *prev;
    char request[HTTP_REQUEST_BYTES_MAX];
    size_t request_len;
    char *response;
    int closing, handles_open;
} http_conn;

struct metrics_http {
    uv_tcp_t listener;
    metrics *metrics;
    http_conn *conns;
};

static void on_handle_closed(uv_handle_t *h) {
    http_conn *c = h->data;
    if (--c->handles_open > 0) return;
    free(c->response);
    free(c);
}

static void conn_close(http_conn *c) {
    if (c->closing) return;
    c->closing = 1;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->server->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_written(uv_write_t *req, int status) {
    (void)status;
    conn_close(req->data);
}

static void respond(http_conn *c, const char *status, const char *type, const char *body,
                    size_t body_len) {
    size_t cap = body_len + 256;
    c->response = malloc(cap);
    if (!c->response) abort();
    int n = snprintf(c->response, cap,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, body_len);
    memcpy(c->response + n, body, body_len);
    uv_buf_t buf = uv_buf_init(c->response, (unsigned)((size_t)n + body_len));
    c->write_req.data = c;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) conn_close(c);
}

static void handle_request(http_conn *c) {
    const char *line_end = strstr(c->request, "\r\n");
    size_t line_len = line_end ? (size_t)(line_end - c->request) : 0;
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)(line_len < 255 ? line_len : 255), c->request);
    if (strncmp(line, "GET ", 4) != 0) {
        const char *body = "method not allowed\n";
        respond(c, "405 Method Not Allowed", "text/plain", body, strlen(body));
        return;
    }
    const char *path = line + 4;
    size_t path_len = strcspn(path, " ?");
    if (path_len != 8 || strncmp(path, "/metrics", 8) != 0) {
        const char *body = "not found: try /metrics\n";
        respond(c, "404 Not Found", "text/plain", body, strlen(body));
        return;
    }
    size_t len;
    char *text = metrics_render(c->server->metrics, &len);
    respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    http_conn *c = h->data;
    size_t room = sizeof c->request - 1 - c->request_len;
    *buf = uv_buf_init(c->request + c->request_len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    http_conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->request_len += (size_t)n;
    c->request[c->request_len] = 0;
    if (strstr(c->request, "\r\n\r\n") || strstr(c->request, "\n\n"))
        handle_request(c);
    else if (c->request_len >= sizeof c->request - 1)
        conn_close(c); /* no end of headers in 8 KB: not a scrape */
}

static void on_timeout(uv_timer_t *t) {
    conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status) {
    metrics_http *h = server->data;
    if (status < 0) return;
    http_conn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->server = h;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->next = h->conns;
    if (h->conns) h->conns->prev = c;
    h->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, HTTP_TIMEOUT_MS, 0);
}

static void on_listener_closed(uv_handle_t *h) {
    free(h->data);
}

metrics_http *metrics_http_start(uv_loop_t *loop, metrics *m, const char *host, int port, char *err,
                                 size_t err_len) {
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
        snprintf(err, err_len, "metrics.port: '%s' is not an IP address to listen on", host);
        return NULL;
    }
    metrics_http *h = calloc(1, sizeof *h);
    if (!h) abort();
    h->metrics = m;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    int rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    if (rc != 0) {
        snprintf(err, err_len, "metrics.port: cannot listen on %s:%d: %s", host, port,
                 uv_strerror(rc));
        uv_close((uv_handle_t *)&h->listener, on_listener_closed);
        return NULL;
    }
    return h;
}

void metrics_http_close(metrics_http *h) {
    if (!h) return;
    while (h->conns) conn_close(h->conns);
    h->listener.data = h;
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
