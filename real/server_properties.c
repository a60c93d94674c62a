/*
 * server_properties.c — parsing server.properties onto a broker_config.
 *
 * One table lists every property the broker accepts: its Kafka name, where the
 * value goes and the range it must fall in.  Numbers, booleans and the few
 * structured values (listeners, voters) each have one parser; nothing is silently
 * ignored, so a typo in a key is an error rather than a default quietly in force.
 */
#include "server_properties.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVER_PROPERTIES_FILE_BYTES_MAX (1024 * 1024)
#define SERVER_LINE_BYTES_MAX 4096

enum prop_kind { PROP_I32, PROP_I64, PROP_BOOL, PROP_HOURS, PROP_MINUTES, PROP_CUSTOM };

typedef int prop_parse_fn(server_properties *p, const char *value, char *why, size_t why_len);

typedef struct prop_spec {
    const char *name;
    enum prop_kind kind;
    size_t offset; /* into server_properties, for the numeric kinds */
    int64_t min, max;
    prop_parse_fn *parse; /* PROP_CUSTOM */
} prop_spec;

static void err_set(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- value parsers ------------------------------------------------------------- */

static int parse_i64(const char *s, int64_t *out) {
    if (!*s) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* "host:port" with a port in 1..65535. */
static int parse_host_port(const char *s, char *host, size_t host_len, int32_t *port) {
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return -1;
    size_t n = (size_t)(colon - s);
    if (n >= host_len) return -1;
    int64_t v;
    if (parse_i64(colon + 1, &v) != 0 || v < 1 || v > 65535) return -1;
    memcpy(host, s, n);
    host[n] = 0;
    *port = (int32_t)v;
    return 0;
}

/* One listener "NAME://host:port"; only PLAINTEXT exists here. */
static int parse_listener(const char *value, char *host, size_t host_len, int32_t *port, char *why,
                          size_t why_len) {
    if (strchr(value, ',')) {
        err_set(why, why_len, "one listener expected (clients and brokers share it), got '%s'",
                value);
        return -1;
    }
    const char *sep = strstr(value, "://");
    if (!sep || (size_t)(sep - value) != 9 || strncmp(value, "PLAINTEXT", 9) != 0) {
        err_set(why, why_len, "expected PLAINTEXT://host:port, got '%s'", value);
        return -1;
    }
    if (parse_host_port(sep + 3, host, host_len, port) != 0) {
        err_set(why, why_len, "expected PLAINTEXT://host:port, got '%s'", value);
        return -1;
    }
    if (!*host) snprintf(host, host_len, "0.0.0.0"); /* PLAINTEXT://:9092: every interface */
    return 0;
}

static int parse_listeners(server_properties *p, const char *value, char *why, size_t why_len) {
    p->seen_listeners = 1;
    return parse_listener(value, p->listen_host, sizeof p->listen_host, &p->listen_port, why,
                          why_len);
}

static int parse_advertised(server_properties *p, const char *value, char *why, size_t why_len) {
    return parse_listener(value, p->advertised_host, sizeof p->advertised_host, &p->advertised_port,
                          why, why_len);
}

static int parse_log_dirs(server_properties *p, const char *value, char *why, size_t why_len) {
    if (!*value || strchr(value, ',')) {
        err_set(why, why_len, "one directory expected, got '%s'", value);
        return -1;
    }
    if (strlen(value) >= sizeof p->log_dir) {
        err_set(why, why_len, "path longer than %d bytes", SERVER_PATH_BYTES_MAX - 1);
        return -1;
    }
    snprintf(p->log_dir, sizeof p->log_dir, "%s", value);
    p->seen_log_dirs = 1;
    return 0;
}

/* "1@host:port,2@host:port,...": every broker of the cluster. */
static int parse_voters(server_properties *p, const char *value, char *why, size_t why_len) {
    broker_config *c = &p->broker;
    c->node_count = 0;
    const char *s = value;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        char item[256];
        if (n == 0 || n >= sizeof item) goto bad;
        memcpy(item, s, n);
        item[n] = 0;
        char *at = strchr(item, '@');
        if (!at) goto bad;
        *at = 0;
        int64_t id;
        if (parse_i64(item, &id) != 0 || id < 0 || id > INT32_MAX) goto bad;
        if (c->node_count == BROKER_NODES_MAX) {
            err_set(why, why_len, "at most %d voters", BROKER_NODES_MAX);
            return -1;
        }
        broker_node_address *a = &c->nodes[c->node_count];
        if (parse_host_port(at + 1, a->host, sizeof a->host, &a->port) != 0) goto bad;
        for (int32_t i = 0; i < c->node_count; i++)
            if (c->nodes[i].node_id == id) {
                err_set(why, why_len, "voter %" PRId64 " listed twice", id);
                return -1;
            }
        a->node_id = (int32_t)id;
        c->node_count++;
        s += n;
        if (*s == ',') s++;
        if (end && !*s) goto bad; /* trailing comma */
    }
    if (c->node_count == 0) goto bad;
    p->seen_voters = 1;
    return 0;
bad:
    err_set(why, why_len, "expected id@host:port[,id@host:port...], got '%s'", value);
    return -1;
}

static int parse_roles(server_properties *p, const char *value, char *why, size_t why_len) {
    (void)p;
    if (strcmp(value, "broker,controller") == 0 || strcmp(value, "controller,broker") == 0)
        return 0;
    err_set(why, why_len, "only combined mode 'broker,controller' exists here, got '%s'", value);
    return -1;
}

static int parse_plaintext_name(server_properties *p, const char *value, char *why,
                                size_t why_len) {
    (void)p;
    if (strcmp(value, "PLAINTEXT") == 0) return 0;
    err_set(why, why_len, "only the PLAINTEXT listener exists here, got '%s'", value);
    return -1;
}

static int parse_protocol_map(server_properties *p, const char *value, char *why, size_t why_len) {
    (void)p;
    if (strcmp(value, "PLAINTEXT:PLAINTEXT") == 0) return 0;
    err_set(why, why_len, "only PLAINTEXT:PLAINTEXT is supported, got '%s'", value);
    return -1;
}

static int parse_truncation(server_properties *p, const char *value, char *why, size_t why_len) {
    static const char *const names[] = {"leader-epoch", "epoch-single", "high-watermark"};
    for (int i = 0; i < 3; i++)
        if (strcmp(value, names[i]) == 0) {
            p->broker.truncation = (enum broker_truncation)i;
            return 0;
        }
    err_set(why, why_len, "expected leader-epoch, epoch-single or high-watermark, got '%s'", value);
    return -1;
}

/* ---- the table ------------------------------------------------------------------ */

#define B(field) offsetof(server_properties, broker.field)
#define S(field) offsetof(server_properties, field)
#define I32MAX INT32_MAX
#define I64MAX INT64_MAX

static const prop_spec PROPS[] = {
    {"node.id", PROP_I32, B(node_id), 0, I32MAX, NULL},
    {"listeners", PROP_CUSTOM, 0, 0, 0, parse_listeners},
    {"advertised.listeners", PROP_CUSTOM, 0, 0, 0, parse_advertised},
    {"log.dirs", PROP_CUSTOM, 0, 0, 0, parse_log_dirs},
    {"log.dir", PROP_CUSTOM, 0, 0, 0, parse_log_dirs},
    {"controller.quorum.voters", PROP_CUSTOM, 0, 0, 0, parse_voters},
    {"process.roles", PROP_CUSTOM, 0, 0, 0, parse_roles},
    {"controller.listener.names", PROP_CUSTOM, 0, 0, 0, parse_plaintext_name},
    {"inter.broker.listener.name", PROP_CUSTOM, 0, 0, 0, parse_plaintext_name},
    {"listener.security.protocol.map", PROP_CUSTOM, 0, 0, 0, parse_protocol_map},
    {"min.insync.replicas", PROP_I32, B(min_insync_replicas), 1, BROKER_NODES_MAX, NULL},
    {"num.partitions", PROP_I32, B(default_partitions), 1, 10000, NULL},
    {"default.replication.factor", PROP_I32, B(default_replication_factor), 1, BROKER_NODES_MAX,
     NULL},
    {"auto.create.topics.enable", PROP_BOOL, B(auto_create_topics), 0, 1, NULL},
    {"socket.request.max.bytes", PROP_I32, B(request_bytes_max), 1024, I32MAX, NULL},
    {"log.retention.ms", PROP_I64, B(retention_ms), -1, I64MAX, NULL},
    {"log.retention.minutes", PROP_MINUTES, B(retention_ms), -1, I64MAX / 60000, NULL},
    {"log.retention.hours", PROP_HOURS, B(retention_ms), -1, I64MAX / 3600000, NULL},
    {"log.retention.bytes", PROP_I64, B(retention_bytes), -1, I64MAX, NULL},
    {"log.segment.bytes", PROP_I64, B(segment_bytes), 1024, I32MAX, NULL},
    {"log.flush.interval.ms", PROP_I64, B(flush_interval_ms), 0, I64MAX / 1000, NULL},
    {"offsets.topic.num.partitions", PROP_I32, B(offsets_topic_partitions), 1, 1000, NULL},
    {"replica.lag.time.max.ms", PROP_I64, B(replica_lag_time_max_ms), 1, I64MAX / 1000, NULL},
    {"unclean.leader.election.enable", PROP_BOOL, B(unclean_leader_election), 0, 1, NULL},
    {"broker.heartbeat.interval.ms", PROP_I64, B(broker_heartbeat_interval_ms), 1, I32MAX, NULL},
    {"broker.session.timeout.ms", PROP_I64, B(broker_session_timeout_ms), 1, I32MAX, NULL},
    {"controller.quorum.election.timeout.ms", PROP_I64, B(controller_election_timeout_ms), 1,
     I32MAX, NULL},
    {"controller.quorum.fetch.timeout.ms", PROP_I64, B(controller_fetch_timeout_ms), 1, I32MAX,
     NULL},
    {"connections.max.idle.ms", PROP_I64, S(connections_max_idle_ms), 1, I64MAX / 1000, NULL},
    {"socket.send.buffer.max.bytes", PROP_I64, S(socket_send_buffer_bytes_max), 65536, I64MAX,
     NULL},
    {"metrics.port", PROP_I32, S(metrics_port), 0, 65535, NULL},
    {"streamlab.truncation", PROP_CUSTOM, 0, 0, 0, parse_truncation},
    {"streamlab.auto.create.wait.ms", PROP_I64, B(auto_create_wait_ms), 0, I32MAX, NULL},
};

void server_properties_init(server_properties *p) {
    memset(p, 0, sizeof *p);
    broker_config_defaults(&p->broker, -1, 1);
    p->broker.node_count = 0;
    p->broker.metadata_quorum = 1; /* combined mode: every broker is a voter */
    p->connections_max_idle_ms = 600000;
    p->socket_send_buffer_bytes_max = 64LL * 1024 * 1024;
}

static int set_number(server_properties *p, const prop_spec *s, const char *value, char *why,
                      size_t why_len) {
    int64_t v;
    if (s->kind == PROP_BOOL) {
        if (strcmp(value, "true") == 0)
            v = 1;
        else if (strcmp(value, "false") == 0)
            v = 0;
        else {
            err_set(why, why_len, "expected true or false, got '%s'", value);
            return -1;
        }
    } else if (parse_i64(value, &v) != 0 || v < s->min || v > s->max) {
        err_set(why, why_len, "expected an integer in [%" PRId64 ", %" PRId64 "], got '%s'", s->min,
                s->max, value);
        return -1;
    }
    char *field = (char *)p + s->offset;
    if (s->kind == PROP_HOURS) v = v < 0 ? -1 : v * 3600000;
    if (s->kind == PROP_MINUTES) v = v < 0 ? -1 : v * 60000;
    if (s->kind == PROP_I64 || s->kind == PROP_HOURS || s->kind == PROP_MINUTES)
        memcpy(field, &v, sizeof v);
    else {
        int32_t v32 = (int32_t)v;
        memcpy(field, &v32, sizeof v32);
    }
    return 0;
}

int server_properties_set(server_properties *p, const char *key, const char *value,
                          const char *where, char *err, size_t err_len) {
    char why[512];
    for (size_t i = 0; i < sizeof PROPS / sizeof PROPS[0]; i++) {
        const prop_spec *s = &PROPS[i];
        if (strcmp(s->name, key) != 0) continue;
        int rc = s->kind == PROP_CUSTOM ? s->parse(p, value, why, sizeof why)
                                        : set_number(p, s, value, why, sizeof why);
        if (rc != 0) {
            err_set(err, err_len, "%s: %s: %s", where, key, why);
            return -1;
        }
        if (strcmp(key, "node.id") == 0) p->seen_node_id = 1;
        return 0;
    }
    err_set(err, err_len, "%s: unknown property '%s'", where, key);
    return -1;
}

/* ---- the file ---------------------------------------------------------------------- */

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\f') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\f'))
        s[--n] = 0;
    return s;
}

static int parse_line(server_properties *p, char *line, const char *where, char *err,
                      size_t err_len) {
    char *s = trim(line);
    if (!*s || *s == '#' || *s == '!') return 0;
    size_t n = strlen(s);
    if (s[n - 1] == '\\') {
        err_set(err, err_len, "%s: line continuations ('\\' at the end) are not supported", where);
        return -1;
    }
    char *sep = s + strcspn(s, "=:");
    if (!*sep) {
        err_set(err, err_len, "%s: expected key=value, got '%s'", where, s);
        return -1;
    }
    *sep = 0;
    char *key = trim(s), *value = trim(sep + 1);
    if (!*key) {
        err_set(err, err_len, "%s: empty key", where);
        return -1;
    }
    return server_properties_set(p, key, value, where, err, err_len);
}

int server_properties_parse(server_properties *p, const char *text, const char *file, char *err,
                            size_t err_len) {
    int line_no = 0;
    const char *s = text;
    while (*s) {
        line_no++;
        size_t n = strcspn(s, "\n");
        char line[SERVER_LINE_BYTES_MAX], where[SERVER_PATH_BYTES_MAX + 32];
        snprintf(where, sizeof where, "%s:%d", file, line_no);
        if (n >= sizeof line) {
            err_set(err, err_len, "%s: line longer than %d bytes", where,
                    SERVER_LINE_BYTES_MAX - 1);
            return -1;
        }
        memcpy(line, s, n);
        line[n] = 0;
        if (parse_line(p, line, where, err, err_len) != 0) return -1;
        s += n;
        if (*s == '\n') s++;
    }
    return 0;
}

int server_properties_load(server_properties *p, const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(SERVER_PROPERTIES_FILE_BYTES_MAX + 1);
    if (!text) abort();
    size_t n = fread(text, 1, SERVER_PROPERTIES_FILE_BYTES_MAX + 1, f);
    int read_error = ferror(f);
    fclose(f);
    int rc = -1;
    if (read_error)
        err_set(err, err_len, "%s: read error", path);
    else if (n > SERVER_PROPERTIES_FILE_BYTES_MAX)
        err_set(err, err_len, "%s: larger than %d bytes", path, SERVER_PROPERTIES_FILE_BYTES_MAX);
    else if (memchr(text, 0, n))
        err_set(err, err_len, "%s: contains a NUL byte (not a text file)", path);
    else {
        text[n] = 0;
        rc = server_properties_parse(p, text, path, err, err_len);
    }
    free(text);
    return rc;
}

static int voter_index(const broker_config *c, int32_t node_id) {
    for (int32_t i = 0; i < c->node_count; i++)
        if (c->nodes[i].node_id == node_id) return i;
    return -1;
}

int server_properties_finish(server_properties *p, char *err, size_t err_len) {
    broker_config *c = &p->broker;
    const char *missing = !p->seen_node_id     ? "node.id"
                          : !p->seen_listeners ? "listeners"
                          : !p->seen_log_dirs  ? "log.dirs"
                          : !p->seen_voters    ? "controller.quorum.voters"
                                               : NULL;
    if (missing) {
        err_set(err, err_len, "required property '%s' is missing", missing);
        return -1;
    }
    int self = voter_index(c, c->node_id);
    if (self < 0) {
        err_set(err, err_len, "node.id %d is not among controller.quorum.voters", (int)c->node_id);
        return -1;
    }
    if (c->default_replication_factor > c->node_count) {
        err_set(err, err_len, "default.replication.factor %d exceeds the %d brokers",
                (int)c->default_replication_factor, (int)c->node_count);
        return -1;
    }
    if (c->min_insync_replicas > c->node_count) {
        err_set(err, err_len, "min.insync.replicas %d exceeds the %d brokers",
                (int)c->min_insync_replicas, (int)c->node_count);
        return -1;
    }
    /* Metadata tells clients every broker's voter address, whichever broker
     * answers, so an advertised address elsewhere would be told by this broker
     * only: refuse it rather than hand clients two addresses for one broker. */
    const broker_node_address *a = &c->nodes[self];
    if (p->advertised_host[0] &&
        (strcmp(p->advertised_host, a->host) != 0 || p->advertised_port != a->port)) {
        err_set(err, err_len,
                "advertised.listeners %s:%d differs from this node's controller.quorum.voters "
                "entry %s:%d (one address per broker: clients and brokers use the voter address)",
                p->advertised_host, (int)p->advertised_port, a->host, (int)a->port);
        return -1;
    }
    return 0;
}
