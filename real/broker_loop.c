/*
 * broker_loop.c — the libuv driver of one broker.
 *
 * Connection life cycle.  A conn is created on accept (the core hears
 * broker_on_accept) or when the core dials a peer (env->connect: the core hears
 * broker_on_connected or broker_on_closed later).  It ends in one of two ways:
 * the core closes it (env->close: the core hears nothing more, as in the
 * simulator), or the socket ends or the loop gives up on it (idle, a client that
 * reads nothing, a write error), and then the core hears broker_on_closed.  The
 * core may call env->close or env->send from inside any broker_on_* call, so the
 * loop never re-enters the core from an env callback: a connection the loop must
 * drop while the core is running is marked `doomed` and dropped in the prepare
 * phase of the next loop iteration, which is also where the broker's timer is
 * re-armed from broker_next_deadline_us.  Memory of a conn is freed only in its
 * uv_close callback, so a conn pointer stays valid through any callback.
 */
#define _GNU_SOURCE
#include "broker_loop.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uv.h>

#include "broker.h"
#include "metrics.h"
#include "metrics_http.h"
#include "posix_storage.h"
#include "real_log.h"

#define LOOP_READ_BUFFER_BYTES (256 * 1024)
#define LOOP_IDLE_SWEEP_MS 1000

enum conn_state { CONN_CONNECTING = 1, CONN_OPEN, CONN_CLOSING };

typedef struct loop_conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    struct broker_loop *loop;
    conn_id id;
    int32_t peer_node; /* the broker dialled, or -1 for an accepted connection */
    enum conn_state state;
    int doomed; /* drop at the next prepare, telling the core */
    const char *doom_reason;
    int64_t last_active_us;
    uint64_t bytes_in;
    char addr[128];
} loop_conn;

typedef struct broker_loop {
    const server_properties *props;
    uv_loop_t uv;
    uv_tcp_t listener;
    uv_timer_t timer, sweeper;
    uv_prepare_t prepare;
    uv_signal_t sigterm, sigint;
    broker *broker;
    broker_env env;
    posix_storage *storage;
    metrics *metrics;
    metrics_http *http;
    loop_conn **conns;
    size_t conn_count, conn_cap;
    conn_id next_id;
    int64_t timer_at_us;
    uint8_t read_buffer[LOOP_READ_BUFFER_BYTES];
    int stopping;
} broker_loop;

typedef struct loop_write {
    uv_write_t req;
    loop_conn *conn;
    uv_buf_t buf;
    uint8_t bytes[];
} loop_write;

/* ---- env: time and randomness ----------------------------------------------------------- */

static int64_t clock_us(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t env_now_us(void *ctx) {
    (void)ctx;
    return clock_us(CLOCK_MONOTONIC);
}

static int64_t env_epoch_ms(void *ctx) {
    (void)ctx;
    return clock_us(CLOCK_REALTIME) / 1000;
}

static uint64_t env_random_u64(void *ctx) {
    (void)ctx;
    uint64_t v;
    while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) assert(errno == EINTR);
    return v;
}

/* ---- the connection table ------------------------------------------------------------------ */

static loop_conn *conn_find(broker_loop *l, conn_id id) {
    for (size_t i = 0; i < l->conn_count; i++)
        if (l->conns[i]->id == id) return l->conns[i];
    return NULL;
}

static loop_conn *conn_new(broker_loop *l, int32_t peer_node) {
    loop_conn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->loop = l;
    c->id = ++l->next_id;
    assert(c->id != 0);
    c->peer_node = peer_node;
    c->last_active_us = env_now_us(NULL);
    metrics_connection_opened(l->metrics, peer_node < 0);
    uv_tcp_init(&l->uv, &c->tcp);
    c->tcp.data = c;
    if (l->conn_count == l->conn_cap) {
        l->conn_cap = l->conn_cap ? l->conn_cap * 2 : 64;
        l->conns = realloc(l->conns, l->conn_cap * sizeof *l->conns);
        if (!l->conns) abort();
    }
    l->conns[l->conn_count++] = c;
    return c;
}

static void conn_unlink(broker_loop *l, loop_conn *c) {
    for (size_t i = 0; i < l->conn_count; i++)
        if (l->conns[i] == c) {
            l->conns[i] = l->conns[--l->conn_count];
            return;
        }
}

static void on_conn_closed(uv_handle_t *h) {
    free(h->data);
}

/* Closes the socket; the conn leaves the table at once and its memory goes in
 * the close callback. */
static void conn_close_socket(loop_conn *c) {
    if (c->state == CONN_CLOSING) return;
    c->state = CONN_CLOSING;
    conn_unlink(c->loop, c);
    metrics_connection_closed(c->loop->metrics, c->peer_node < 0);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* The loop ends a connection the core still holds: the core hears on_closed. */
static void conn_drop(loop_conn *c, const char *reason) {
    if (c->state == CONN_CLOSING) return;
    if (reason)
        real_log(c->loop->props->broker.node_id, "connection %s closed: %s", c->addr, reason);
    conn_close_socket(c);
    broker_on_closed(c->loop->broker, c->id);
}

static void conn_doom(loop_conn *c, const char *reason) {
    c->doomed = 1;
    c->doom_reason = reason;
}

/* ---- env: connections ------------------------------------------------------------------------ */

static void on_write_done(uv_write_t *req, int status) {
    loop_write *w = (loop_write *)req;
    if (status < 0 && w->conn->state == CONN_OPEN) conn_doom(w->conn, uv_strerror(status));
    free(w);
}

static void env_send(void *ctx, conn_id id, const uint8_t *bytes, size_t len) {
    broker_loop *l = ctx;
    loop_conn *c = conn_find(l, id);
    if (!c || c->state != CONN_OPEN || c->doomed || len == 0) return;
    metrics_bytes_out(l->metrics, c->peer_node < 0, len);
    uv_stream_t *s = (uv_stream_t *)&c->tcp;
    size_t queued = uv_stream_get_write_queue_size(s);
    if (queued == 0) { /* the common case: the socket takes it all now, no copy */
        uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)len);
        int n = uv_try_write(s, &b, 1);
        if (n == (int)len) return;
        if (n > 0) {
            bytes += n;
            len -= (size_t)n;
        } else if (n != UV_EAGAIN) {
            conn_doom(c, uv_strerror(n));
            return;
        }
    } else if (queued + len > (size_t)l->props->socket_send_buffer_bytes_max) {
        conn_doom(c, "peer reads nothing (send queue over socket.send.buffer.max.bytes)");
        return;
    }
    loop_write *w = malloc(sizeof *w + len);
    if (!w) abort();
    memcpy(w->bytes, bytes, len);
    w->conn = c;
    w->buf = uv_buf_init((char *)w->bytes, (unsigned)len);
    int rc = uv_write(&w->req, s, &w->buf, 1, on_write_done);
    if (rc < 0) {
        free(w);
        conn_doom(c, uv_strerror(rc));
    }
}

static void env_close(void *ctx, conn_id id) {
    broker_loop *l = ctx;
    loop_conn *c = conn_find(l, id);
    if (!c) return;
    if (c->peer_node < 0)
        real_log(l->props->broker.node_id, "connection %s closed by the broker after %llu bytes",
                 c->addr, (unsigned long long)c->bytes_in);
    conn_close_socket(c); /* the closer hears no on_closed */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    broker_loop *l = ((loop_conn *)h->data)->loop;
    *buf = uv_buf_init((char *)l->read_buffer, sizeof l->read_buffer);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    loop_conn *c = s->data;
    if (c->state != CONN_OPEN) return;
    if (n < 0) {
        conn_drop(c, n == UV_EOF || c->peer_node >= 0 ? NULL : uv_strerror((int)n));
        return;
    }
    if (n == 0) return;
    c->last_active_us = env_now_us(NULL);
    c->bytes_in += (uint64_t)n;
    metrics_bytes_in(c->loop->metrics, c->peer_node < 0, (size_t)n);
    broker_on_bytes(c->loop->broker, c->id, (const uint8_t *)buf->base, (size_t)n);
}

static int conn_start_reading(loop_conn *c) {
    c->state = CONN_OPEN;
    uv_tcp_nodelay(&c->tcp, 1);
    return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connected(uv_connect_t *req, int status) {
    loop_conn *c = req->data;
    if (c->state != CONN_CONNECTING) return; /* the core closed it meanwhile */
    if (status < 0 || conn_start_reading(c) != 0) {
        conn_drop(c, NULL); /* the core retries on its own schedule */
        return;
    }
    broker_on_connected(c->loop->broker, c->id);
}

static int resolve(const broker_node_address *a, struct sockaddr_storage *out) {
    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    if (uv_ip4_addr(a->host, a->port, in4) == 0) return 0;
    if (uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)out) == 0) return 0;
    /* A name (docker's broker-2): resolved when dialled, as the peer may appear late. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(a->host, NULL, &hints, &res) != 0 || !res) return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (out->ss_family == AF_INET) in4->sin_port = htons((uint16_t)a->port);
    if (out->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)a->port);
    return 0;
}

static conn_id env_connect(void *ctx, int32_t node_id) {
    broker_loop *l = ctx;
    const broker_config *cfg = &l->props->broker;
    const broker_node_address *a = NULL;
    for (int32_t i = 0; i < cfg->node_count; i++)
        if (cfg->nodes[i].node_id == node_id) a = &cfg->nodes[i];
    if (!a) return 0;
    loop_conn *c = conn_new(l, node_id);
    snprintf(c->addr, sizeof c->addr, "broker %d (%s:%d)", (int)node_id, a->host, (int)a->port);
    c->state = CONN_CONNECTING;
    c->connect_req.data = c;
    /* A failure is reported as a closed connection, so the core backs off before
     * dialling again (returning 0 would have it retry at once). */
    struct sockaddr_storage addr;
    if (resolve(a, &addr) != 0)
        conn_doom(c, "cannot resolve the voter address");
    else if (uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&addr, on_connected) != 0)
        conn_doom(c, "cannot connect");
    return c->id;
}

/* ---- env: observe -------------------------------------------------------------------------------
 */

static void env_observe(void *ctx, const observe_event *ev) {
    broker_loop *l = ctx;
    metrics_observe(l->metrics, ev);
    real_log_event(l->props->broker.node_id, ev);
}

/* ---- accepting ----------------------------------------------------------------------------------
 */

static void describe_peer(uv_tcp_t *tcp, char *out, size_t len) {
    struct sockaddr_storage ss;
    int n = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n) == 0) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(out, len, "%s:%d", ip, port);
}

static void on_accept(uv_stream_t *server, int status) {
    broker_loop *l = server->data;
    if (status < 0) {
        real_log(l->props->broker.node_id, "accept failed: %s", uv_strerror(status));
        return;
    }
    loop_conn *c = conn_new(l, -1);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || conn_start_reading(c) != 0) {
        conn_close_socket(c);
        return;
    }
    describe_peer(&c->tcp, c->addr, sizeof c->addr);
    broker_on_accept(l->broker, c->id);
}

/* ---- timers, prepare, signals -----------------------------------------------------------------
 */

static void on_broker_timer(uv_timer_t *t) {
    broker_loop *l = t->data;
    l->timer_at_us = INT64_MAX;
    broker_on_timer(l->broker);
}

/* Before the loop blocks: drop doomed connections, then arm the broker's timer. */
static void on_prepare(uv_prepare_t *p) {
    broker_loop *l = p->data;
    for (size_t i = 0; i < l->conn_count;) {
        loop_conn *c = l->conns[i];
        if (c->doomed) /* conn_drop unlinks it: the same index holds the next one */
            conn_drop(c, c->doom_reason);
        else
            i++;
    }
    if (l->stopping) return;
    int64_t at = broker_next_deadline_us(l->broker);
    if (at == l->timer_at_us) return;
    l->timer_at_us = at;
    if (at == INT64_MAX) {
        uv_timer_stop(&l->timer);
        return;
    }
    int64_t wait_us = at - env_now_us(NULL);
    uint64_t wait_ms = wait_us <= 0 ? 0 : (uint64_t)((wait_us + 999) / 1000);
    uv_timer_start(&l->timer, on_broker_timer, wait_ms, 0);
}

/* connections.max.idle.ms for clients (also ends those stalled half-way through a
 * frame); brokers keep their connections, as the core times out its own requests. */
static void on_sweep(uv_timer_t *t) {
    broker_loop *l = t->data;
    int64_t now = env_now_us(NULL), idle_us = l->props->connections_max_idle_ms * 1000;
    for (size_t i = 0; i < l->conn_count; i++) {
        loop_conn *c = l->conns[i];
        if (c->peer_node < 0 && c->state == CONN_OPEN && now - c->last_active_us > idle_us)
            conn_doom(c, "idle longer than connections.max.idle.ms");
    }
}

static void close_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
    broker_loop *l = s->data;
    real_log(l->props->broker.node_id, "%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    l->stopping = 1;
    uv_stop(&l->uv);
}

/* ---- set up and run
 * ------------------------------------------------------------------------------ */

static int start_listener(broker_loop *l, char *err, size_t err_len) {
    const server_properties *p = l->props;
    struct sockaddr_storage addr;
    broker_node_address a = {.port = p->listen_port};
    snprintf(a.host, sizeof a.host, "%s", p->listen_host);
    if (resolve(&a, &addr) != 0) {
        snprintf(err, err_len, "listeners: cannot resolve '%s'", p->listen_host);
        return -1;
    }
    uv_tcp_init(&l->uv, &l->listener);
    l->listener.data = l;
    int rc = uv_tcp_bind(&l->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&l->listener, 511, on_accept);
    if (rc != 0) {
        snprintf(err, err_len, "listeners: cannot listen on %s:%d: %s", p->listen_host,
                 (int)p->listen_port, uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void start_timers(broker_loop *l) {
    uv_timer_init(&l->uv, &l->timer);
    l->timer.data = l;
    uv_timer_init(&l->uv, &l->sweeper);
    l->sweeper.data = l;
    uv_timer_start(&l->sweeper, on_sweep, LOOP_IDLE_SWEEP_MS, LOOP_IDLE_SWEEP_MS);
    uv_prepare_init(&l->uv, &l->prepare);
    l->prepare.data = l;
    uv_prepare_start(&l->prepare, on_prepare);
    uv_signal_init(&l->uv, &l->sigterm);
    l->sigterm.data = l;
    uv_signal_start(&l->sigterm, on_signal, SIGTERM);
    uv_signal_init(&l->uv, &l->sigint);
    l->sigint.data = l;
    uv_signal_start(&l->sigint, on_signal, SIGINT);
    l->timer_at_us = -1;
}

static void loop_teardown(broker_loop *l) {
    if (l->broker) broker_destroy(l->broker);
    l->broker = NULL;
    metrics_http_close(l->http);
    while (l->conn_count) conn_close_socket(l->conns[0]); /* the core is gone: no on_closed */
    uv_walk(&l->uv, close_handle, NULL);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    uv_loop_close(&l->uv);
    free(l->conns);
    posix_storage_close(l->storage);
    metrics_destroy(l->metrics);
}

int broker_loop_run(const server_properties *props, char *err, size_t err_len) {
    broker_loop *l = calloc(1, sizeof *l);
    if (!l) abort();
    l->props = props;
    uv_loop_init(&l->uv);
    l->uv.data = l;
    signal(SIGPIPE, SIG_IGN);
    l->metrics = metrics_create(props->broker.node_id);
    l->storage = posix_storage_open(props->log_dir, err, err_len);
    int rc = l->storage ? start_listener(l, err, err_len) : -1;
    if (rc == 0 && props->metrics_port > 0) {
        l->http = metrics_http_start(&l->uv, l->metrics, props->listen_host, props->metrics_port,
                                     err, err_len);
        if (!l->http) rc = -1;
    }
    if (rc == 0) {
        l->env = (broker_env){.ctx = l,
                              .now_us = env_now_us,
                              .epoch_ms = env_epoch_ms,
                              .random_u64 = env_random_u64,
                              .connect = env_connect,
                              .send = env_send,
                              .close = env_close,
                              .observe = env_observe,
                              .fs = posix_storage_api(l->storage)};
        l->broker = broker_open(&l->env, &props->broker);
        if (!l->broker) {
            snprintf(err, err_len, "%s: the broker could not open its storage", props->log_dir);
            rc = -1;
        }
    }
    if (rc == 0) {
        metrics_set_broker(l->metrics, l->broker, posix_storage_api(l->storage));
        start_timers(l);
        real_log(props->broker.node_id, "listening on %s:%d (metrics on %d), data in %s",
                 props->listen_host, (int)props->listen_port, (int)props->metrics_port,
                 props->log_dir);
        uv_run(&l->uv, UV_RUN_DEFAULT);
        metrics_set_broker(l->metrics, NULL, NULL);
    }
    loop_teardown(l);
    free(l);
    return rc;
}
