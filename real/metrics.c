/*
 * metrics.c — counting what the broker does and rendering it for Prometheus.
 */
#include "metrics.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_NAME_BYTES_MAX 256

typedef struct topic_counters {
    char topic[METRICS_NAME_BYTES_MAX];
    uint64_t messages_in, bytes_in, produce_requests;
} topic_counters;

/* The last ISR the controller reported for a partition (shrink/expand/unclean). */
typedef struct partition_seen {
    char topic[METRICS_NAME_BYTES_MAX];
    int32_t partition;
    int32_t isr[BROKER_NODES_MAX];
    int32_t isr_count;
} partition_seen;

#define ARRAY(type, name)                                                                          \
    struct {                                                                                       \
        type *items;                                                                               \
        size_t count, cap;                                                                         \
    } name

struct metrics {
    int32_t node_id;
    const broker *broker;
    const storage *fs;
    ARRAY(topic_counters, topics);
    ARRAY(partition_seen, partitions);
    uint64_t isr_shrinks, isr_expands, unclean_elections;
    uint64_t bytes_in[2], bytes_out[2]; /* [0] brokers dialled, [1] clients */
    uint64_t connections_opened[2], connections_closed[2];
};

/* Grows a struct-of-(items, count, cap) by one zeroed item and returns it. */
#define ARRAY_PUSH(arr)                                                                            \
    (((arr).count == (arr).cap                                                                     \
          ? ((arr).cap = (arr).cap ? (arr).cap * 2 : 16,                                           \
             (arr).items = xrealloc((arr).items, (arr).cap * sizeof *(arr).items))                 \
          : (void *)0),                                                                            \
     memset(&(arr).items[(arr).count], 0, sizeof *(arr).items), &(arr).items[(arr).count++])

static void *xrealloc(void *p, size_t bytes) {
    p = realloc(p, bytes);
    if (!p) abort();
    return p;
}

metrics *metrics_create(int32_t node_id) {
    metrics *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->node_id = node_id;
    return m;
}

void metrics_destroy(metrics *m) {
    if (!m) return;
    free(m->topics.items);
    free(m->partitions.items);
    free(m);
}

void metrics_set_broker(metrics *m, const broker *b, const storage *fs) {
    m->broker = b;
    m->fs = fs;
}

/* ---- counters ---------------------------------------------------------------------------- */

static topic_counters *topic_get(metrics *m, const char *topic) {
    for (size_t i = 0; i < m->topics.count; i++)
        if (strcmp(m->topics.items[i].topic, topic) == 0) return &m->topics.items[i];
    topic_counters *t = ARRAY_PUSH(m->topics);
    snprintf(t->topic, sizeof t->topic, "%s", topic);
    return t;
}

static partition_seen *partition_get(metrics *m, const char *topic, int32_t partition) {
    for (size_t i = 0; i < m->partitions.count; i++) {
        partition_seen *p = &m->partitions.items[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) return p;
    }
    partition_seen *p = ARRAY_PUSH(m->partitions);
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->partition = partition;
    return p;
}

static int contains(const int32_t *ids, int32_t count, int32_t id) {
    for (int32_t i = 0; i < count; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static void on_isr(metrics *m, const observe_event *ev) {
    partition_seen *p = partition_get(m, ev->topic, ev->partition);
    int known = p->isr_count > 0;
    if (known && ev->kind == OBSERVE_LEADER && ev->leader >= 0 &&
        !contains(p->isr, p->isr_count, ev->leader))
        m->unclean_elections++; /* a leader from outside the last ISR */
    if (known && ev->isr_count < p->isr_count) m->isr_shrinks++;
    if (known && ev->isr_count > p->isr_count) m->isr_expands++;
    int32_t n = ev->isr_count < BROKER_NODES_MAX ? ev->isr_count : BROKER_NODES_MAX;
    memcpy(p->isr, ev->isr, (size_t)n * sizeof *p->isr);
    p->isr_count = n;
}

static void on_append(metrics *m, const observe_event *ev) {
    if (!m->broker || ev->node != m->node_id) return;
    if (broker_partition_leader(m->broker, ev->topic, ev->partition) != m->node_id) return;
    topic_counters *t = topic_get(m, ev->topic);
    t->messages_in += (uint64_t)(ev->offset_last - ev->offset + 1);
    t->bytes_in += ev->batch_len;
    t->produce_requests++;
}

void metrics_observe(metrics *m, const observe_event *ev) {
    switch (ev->kind) {
    case OBSERVE_LEADER:
    case OBSERVE_ISR:
        if (ev->topic) on_isr(m, ev);
        break;
    case OBSERVE_APPEND:
        if (ev->topic) on_append(m, ev);
        break;
    default:
        break;
    }
}

void metrics_bytes_in(metrics *m, int client, size_t bytes) {
    m->bytes_in[client ? 1 : 0] += bytes;
}
void metrics_bytes_out(metrics *m, int client, size_t bytes) {
    m->bytes_out[client ? 1 : 0] += bytes;
}
void metrics_connection_opened(metrics *m, int client) {
    m->connections_opened[client ? 1 : 0]++;
}
void metrics_connection_closed(metrics *m, int client) {
    m->connections_closed[client ? 1 : 0]++;
}

/* ---- rendering ---------------------------------------------------------------------------- */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n;
        t->s = xrealloc(t->s, t->cap);
    }
}

static void head(text *t, const char *name, const char *type, const char *help) {
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped, as the exposition format wants. */
static const char *esc(const char *s, char *buf, size_t len) {
    size_t n = 0;
    for (; *s && n + 3 < len; s++) {
        if (*s == '\\' || *s == '"') buf[n++] = '\\';
        if (*s == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
            continue;
        }
        buf[n++] = *s;
    }
    buf[n] = 0;
    return buf;
}

typedef struct gauges {
    int32_t node_id, min_isr;
    int64_t leaders, partitions, under_replicated, under_min_isr, offline;
} gauges;

static void count_partition(void *arg, const broker_partition_info *p) {
    gauges *g = arg;
    if (p->leader < 0) g->offline++;
    if (p->hosted) g->partitions++;
    if (p->leader != g->node_id) return;
    g->leaders++;
    if (p->isr_count < p->replica_count) g->under_replicated++;
    if (p->isr_count < g->min_isr) g->under_min_isr++;
}

static void render_replica_manager(metrics *m, text *t) {
    gauges g = {.node_id = m->node_id, .min_isr = broker_min_insync_replicas(m->broker)};
    broker_partition_infos(m->broker, count_partition, &g);
    static const char *const names[][2] = {
        {"leadercount", "Partitions this broker leads"},
        {"partitioncount", "Partitions this broker holds a replica of"},
        {"underreplicatedpartitions", "Led partitions whose ISR is smaller than the replicas"},
        {"underminisrpartitioncount", "Led partitions whose ISR is below min.insync.replicas"}};
    const int64_t values[] = {g.leaders, g.partitions, g.under_replicated, g.under_min_isr};
    for (int i = 0; i < 4; i++) {
        char name[96];
        snprintf(name, sizeof name, "kafka_server_replicamanager_%s", names[i][0]);
        head(t, name, "gauge", names[i][1]);
        put(t, "%s %lld\n", name, (long long)values[i]);
    }
    head(t, "streamlab_brokers_alive", "gauge",
         "Brokers registered and unfenced in this broker's committed metadata");
    put(t, "streamlab_brokers_alive %d\n", (int)broker_alive_count(m->broker));
    int active = broker_active_controller(m->broker) == m->node_id;
    head(t, "kafka_controller_kafkacontroller_activecontrollercount", "gauge",
         "1 when this broker is the active controller");
    put(t, "kafka_controller_kafkacontroller_activecontrollercount %d\n", active);
    head(t, "kafka_controller_kafkacontroller_offlinepartitionscount", "gauge",
         "Partitions without a leader (reported by the active controller)");
    put(t, "kafka_controller_kafkacontroller_offlinepartitionscount %lld\n",
        active ? (long long)g.offline : 0LL);
}

static void render_counters(metrics *m, text *t) {
    head(t, "kafka_server_replicamanager_isrshrinks_total", "counter",
         "ISR shrinks this broker reported as active controller");
    put(t, "kafka_server_replicamanager_isrshrinks_total %llu\n",
        (unsigned long long)m->isr_shrinks);
    head(t, "kafka_server_replicamanager_isrexpands_total", "counter",
         "ISR expansions this broker reported as active controller");
    put(t, "kafka_server_replicamanager_isrexpands_total %llu\n",
        (unsigned long long)m->isr_expands);
    head(t, "kafka_controller_controllerstats_uncleanleaderelections_total", "counter",
         "Leaders elected from outside the ISR");
    put(t, "kafka_controller_controllerstats_uncleanleaderelections_total %llu\n",
        (unsigned long long)m->unclean_elections);
}

/* bytesout{topic} from the core's per-partition counters; the core lists a
 * topic's partitions one after another. */
typedef struct bytes_out_render {
    text *t;
    const char *topic;
    uint64_t bytes;
} bytes_out_render;

static void put_bytes_out(bytes_out_render *r) {
    char buf[METRICS_NAME_BYTES_MAX * 2];
    if (r->topic)
        put(r->t, "kafka_server_brokertopicmetrics_bytesout_total{topic=\"%s\"} %llu\n",
            esc(r->topic, buf, sizeof buf), (unsigned long long)r->bytes);
}

static void sum_bytes_out(void *arg, const broker_partition_info *p) {
    bytes_out_render *r = arg;
    if (r->topic && strcmp(r->topic, p->topic) == 0) {
        r->bytes += p->bytes_out;
        return;
    }
    put_bytes_out(r);
    r->topic = p->topic;
    r->bytes = p->bytes_out;
}

static void render_topics(metrics *m, text *t) {
    static const char *const names[][2] = {
        {"messagesin", "Records appended as leader"},
        {"bytesin", "Record-batch bytes appended as leader"},
        {"totalproducerequests", "Produce requests (one per topic-partition) appended as leader"}};
    char buf[METRICS_NAME_BYTES_MAX * 2];
    for (int k = 0; k < 3; k++) {
        char name[96];
        snprintf(name, sizeof name, "kafka_server_brokertopicmetrics_%s_total", names[k][0]);
        head(t, name, "counter", names[k][1]);
        for (size_t i = 0; i < m->topics.count; i++) {
            const topic_counters *c = &m->topics.items[i];
            uint64_t v = k == 0 ? c->messages_in : k == 1 ? c->bytes_in : c->produce_requests;
            put(t, "%s{topic=\"%s\"} %llu\n", name, esc(c->topic, buf, sizeof buf),
                (unsigned long long)v);
        }
    }
    head(t, "kafka_server_brokertopicmetrics_bytesout_total", "counter",
         "Record bytes answered to consumer fetches (follower fetches excluded)");
    bytes_out_render r = {.t = t};
    if (m->broker) broker_partition_infos(m->broker, sum_bytes_out, &r);
    put_bytes_out(&r);
    head(t, "kafka_server_brokertopicmetrics_failedfetchrequests_total", "counter",
         "Fetch partitions answered with an error (all topics)");
    put(t, "kafka_server_brokertopicmetrics_failedfetchrequests_total %llu\n",
        (unsigned long long)(m->broker ? broker_failed_fetches(m->broker) : 0));
}

typedef struct size_sum {
    const storage *fs;
    int64_t bytes;
} size_sum;

static void add_size(void *arg, const char *name) {
    size_sum *s = arg;
    size_t n = strlen(name);
    if (n < 4 || strcmp(name + n - 4, ".log") != 0) return;
    int64_t size = s->fs->size(s->fs->ctx, name);
    if (size > 0) s->bytes += size;
}

typedef struct log_render {
    const metrics *m;
    text *t;
} log_render;

static void render_log_size(void *arg, const broker_partition_info *p) {
    const metrics *m = ((log_render *)arg)->m;
    text *t = ((log_render *)arg)->t;
    char buf[METRICS_NAME_BYTES_MAX * 2], prefix[METRICS_NAME_BYTES_MAX + 16];
    if (!p->hosted) return;
    snprintf(prefix, sizeof prefix, "%s-%d/", p->topic, (int)p->partition);
    size_sum s = {.fs = m->fs};
    if (s.fs) s.fs->list(s.fs->ctx, prefix, add_size, &s);
    put(t, "kafka_log_log_size{topic=\"%s\",partition=\"%d\"} %lld\n",
        esc(p->topic, buf, sizeof buf), (int)p->partition, (long long)s.bytes);
}

/* Group lag needs the local high watermark of each committed partition. */
typedef struct group_render {
    text *t;
    broker_partition_info *parts;
    size_t count, cap;
} group_render;

static void keep_partition(void *arg, const broker_partition_info *p) {
    group_render *r = arg;
    if (!p->hosted) return;
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->parts = xrealloc(r->parts, r->cap * sizeof *r->parts);
    }
    r->parts[r->count++] = *p;
}

static void render_members(void *arg, const char *group, const char *state, int32_t members) {
    group_render *r = arg;
    char buf[METRICS_NAME_BYTES_MAX * 2];
    (void)state;
    put(r->t, "kafka_consumergroup_members{consumergroup=\"%s\"} %d\n", esc(group, buf, sizeof buf),
        (int)members);
}

static void render_lag(void *arg, const char *group, const char *topic, int32_t partition,
                       int64_t offset) {
    group_render *r = arg;
    char gbuf[METRICS_NAME_BYTES_MAX * 2], tbuf[METRICS_NAME_BYTES_MAX * 2];
    for (size_t i = 0; i < r->count; i++) {
        const broker_partition_info *p = &r->parts[i];
        if (p->partition != partition || strcmp(p->topic, topic) != 0) continue;
        int64_t lag = p->high_watermark - offset;
        put(r->t,
            "kafka_consumergroup_lag{consumergroup=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n",
            esc(group, gbuf, sizeof gbuf), esc(topic, tbuf, sizeof tbuf), (int)partition,
            (long long)(lag > 0 ? lag : 0));
        return;
    }
}

static void render_logs_and_groups(metrics *m, text *t) {
    log_render lr = {m, t};
    head(t, "kafka_log_log_size", "gauge", "Bytes in the partition's segment files here");
    broker_partition_infos(m->broker, render_log_size, &lr);
    group_render r = {.t = t};
    broker_partition_infos(m->broker, keep_partition, &r);
    head(t, "kafka_consumergroup_members", "gauge",
         "Members of the groups this broker coordinates");
    broker_each_group(m->broker, render_members, NULL, &r);
    head(t, "kafka_consumergroup_lag", "gauge",
         "High watermark of the local replica minus the group's committed offset");
    broker_each_group(m->broker, NULL, render_lag, &r);
    free(r.parts);
}

static void render_network(metrics *m, text *t) {
    static const char *const kind[2] = {"broker", "client"};
    head(t, "streamlab_network_received_bytes_total", "counter", "Bytes read from sockets");
    for (int k = 0; k < 2; k++)
        put(t, "streamlab_network_received_bytes_total{connection=\"%s\"} %llu\n", kind[k],
            (unsigned long long)m->bytes_in[k]);
    head(t, "streamlab_network_sent_bytes_total", "counter", "Bytes written to sockets");
    for (int k = 0; k < 2; k++)
        put(t, "streamlab_network_sent_bytes_total{connection=\"%s\"} %llu\n", kind[k],
            (unsigned long long)m->bytes_out[k]);
    head(t, "streamlab_connections", "gauge", "Open connections");
    for (int k = 0; k < 2; k++)
        put(t, "streamlab_connections{connection=\"%s\"} %llu\n", kind[k],
            (unsigned long long)(m->connections_opened[k] - m->connections_closed[k]));
}

char *metrics_render(metrics *m, size_t *len) {
    text t = {.s = xrealloc(NULL, 4096), .cap = 4096};
    t.s[0] = 0;
    if (m->broker) {
        render_replica_manager(m, &t);
        render_logs_and_groups(m, &t);
    }
    render_counters(m, &t);
    render_topics(m, &t);
    render_network(m, &t);
    *len = t.len;
    return t.s;
}
