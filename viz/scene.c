/*
 * scene.c — derives what the viewer draws from a cluster_view and recent activity.
 */
#include "scene.h"
#include "offsets_topic.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Kafka API keys by role (Apache Kafka's protocol JSON). */
enum { API_PRODUCE = 0, API_FETCH = 1 };

static int api_is_controller(int16_t k) {
    return (k >= 4 && k <= 7) || (k >= 52 && k <= 59) || k == 62 || k == 63 || k == 67;
}

static int api_is_group(int16_t k) {
    return (k >= 8 && k <= 16) || k == 42 || k == 47 || k == 68 || k == 69;
}

enum viz_traffic viz_traffic_of(int16_t api_key, int src_is_broker, int dst_is_broker) {
    if (api_key == API_PRODUCE) return VIZ_TRAFFIC_PRODUCE;
    if (api_key == API_FETCH)
        return src_is_broker && dst_is_broker ? VIZ_TRAFFIC_REPLICATION : VIZ_TRAFFIC_FETCH;
    if (api_is_controller(api_key)) return VIZ_TRAFFIC_CONTROLLER;
    if (api_is_group(api_key)) return VIZ_TRAFFIC_GROUP;
    return VIZ_TRAFFIC_METADATA;
}

const char *viz_traffic_name(enum viz_traffic t) {
    static const char *const names[VIZ_TRAFFIC_COUNT] = {"Produce",    "Fetch", "Replication",
                                                         "Controller", "Group", "Metadata"};
    return t < VIZ_TRAFFIC_COUNT ? names[t] : "?";
}

const viz_node *viz_scene_node(const viz_scene *s, int32_t id) {
    for (int i = 0; i < s->in.node_count; i++)
        if (s->in.nodes[i].id == id) return &s->in.nodes[i];
    return NULL;
}

const cluster_view_broker *viz_scene_broker(const viz_scene *s, int32_t id) {
    return cluster_view_broker_get(s->in.view, id);
}

/* ---- partitions ----------------------------------------------------------------------- */

static int add_unique(int32_t *set, int n, int32_t id) {
    if (id < 0 || n >= CLUSTER_VIEW_REPLICAS_MAX) return n;
    for (int i = 0; i < n; i++)
        if (set[i] == id) return n;
    set[n] = id;
    return n + 1;
}

int viz_partition_replicas(const cluster_view_partition *p, int32_t *out) {
    int n = 0;
    for (int i = 0; i < p->isr_count; i++) n = add_unique(out, n, p->isr[i]);
    n = add_unique(out, n, p->leader);
    for (int i = 0; i < p->replicas_count; i++) n = add_unique(out, n, p->replicas[i].node);
    for (int i = 1; i < n; i++) /* insertion sort: at most 16 */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int32_t x = out[j];
            out[j] = out[j - 1];
            out[j - 1] = x;
        }
    return n;
}

int64_t viz_replica_log_end(const cluster_view_partition *p, int32_t node) {
    for (int i = 0; i < p->replicas_count; i++)
        if (p->replicas[i].node == node) return p->replicas[i].log_end_offset;
    return -1;
}

int viz_partition_in_isr(const cluster_view_partition *p, int32_t node) {
    for (int i = 0; i < p->isr_count; i++)
        if (p->isr[i] == node) return 1;
    return 0;
}

int viz_scene_partition_under_replicated(const viz_scene *s, const cluster_view_topic *t,
                                         const cluster_view_partition *p) {
    int32_t rf = t->replication_factor > 0 ? t->replication_factor : s->in.replication_factor;
    int32_t replicas[CLUSTER_VIEW_REPLICAS_MAX];
    int n = viz_partition_replicas(p, replicas);
    if (rf < n) rf = n;
    return p->leader >= 0 && p->isr_count < rf;
}

int viz_topic_drawn(const cluster_view_topic *t) {
    return !offsets_topic_is_internal(t->name);
}

static void count_brokers(viz_scene *s) {
    const cluster_view *v = s->in.view;
    s->brokers_online = 0;
    for (int i = 0; i < v->brokers_count; i++) s->brokers_online += v->brokers[i].up != 0;
    s->under_replicated = 0;
    for (int t = 0; t < v->topics_count; t++)
        for (int p = 0; viz_topic_drawn(&v->topics[t]) && p < v->topics[t].partitions_count; p++)
            s->under_replicated +=
                viz_scene_partition_under_replicated(s, &v->topics[t], &v->topics[t].partitions[p]);
}

/* ---- clients ------------------------------------------------------------------------- */

static int group_index(viz_scene *s, const char *name) {
    for (int i = 0; i < s->group_count; i++)
        if (!strcmp(s->groups[i].name, name)) return i;
    if (s->group_count == CLUSTER_VIEW_GROUPS_MAX) return -1;
    viz_group *g = &s->groups[s->group_count];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->generation = -1;
    return s->group_count++;
}

static void add_producer(viz_scene *s, const viz_node *n) {
    if (s->producer_count == VIZ_NODES_MAX) return;
    viz_producer *p = &s->producers[s->producer_count++];
    const cluster_view_producer *vp = cluster_view_producer_get(s->in.view, n->id);
    *p = (viz_producer){.node = n->id, .name = n->name, .topic = n->topic};
    if (vp) p->acked = vp->records_acked, p->failed = vp->records_failed;
}

static void add_consumer(viz_scene *s, const viz_node *n) {
    int g = group_index(s, n->group[0] ? n->group : n->name);
    if (g < 0 || s->consumer_count == VIZ_NODES_MAX) return;
    viz_consumer *c = &s->consumers[s->consumer_count++];
    memset(c, 0, sizeof *c);
    c->node = n->id;
    c->name = n->name;
    c->group = g;
}

static viz_consumer *consumer_of(viz_scene *s, int32_t node) {
    for (int i = 0; i < s->consumer_count; i++)
        if (s->consumers[i].node == node) return &s->consumers[i];
    return NULL;
}

/* A consumer owns the partitions it read within the last few seconds. */
#define VIZ_ASSIGNMENT_FRESH_US 5000000

static void apply_position(viz_scene *s, const viz_position *pos) {
    viz_consumer *c = consumer_of(s, pos->node);
    const cluster_view *v = s->in.view;
    if (!c || pos->t_us < s->in.t_us - VIZ_ASSIGNMENT_FRESH_US) return;
    int topic = -1;
    for (int t = 0; t < v->topics_count && topic < 0; t++)
        if (!strcmp(v->topics[t].name, pos->topic)) topic = t;
    if (topic < 0 || pos->partition < 0 || pos->partition >= v->topics[topic].partitions_count)
        return;
    const cluster_view_partition *p = &v->topics[topic].partitions[pos->partition];
    int64_t lag = p->high_watermark - pos->next_offset;
    c->lag += lag > 0 ? lag : 0;
    s->groups[c->group].lag += lag > 0 ? lag : 0;
    for (int i = 0; i < c->part_count; i++)
        if (c->parts[i].topic == topic && c->parts[i].partition == pos->partition) return;
    if (c->part_count < VIZ_CONSUMER_PARTS_MAX)
        c->parts[c->part_count++] = (viz_part_ref){(int16_t)topic, (int16_t)pos->partition};
}

static void build_clients(viz_scene *s) {
    s->producer_count = s->consumer_count = s->group_count = 0;
    for (int i = 0; i < s->in.node_count; i++) {
        if (s->in.nodes[i].kind == VIZ_NODE_PRODUCER) add_producer(s, &s->in.nodes[i]);
        if (s->in.nodes[i].kind == VIZ_NODE_CONSUMER) add_consumer(s, &s->in.nodes[i]);
    }
    const cluster_view *v = s->in.view;
    for (int i = 0; i < v->groups_count; i++) {
        int g = group_index(s, v->groups[i].name);
        if (g < 0) continue;
        s->groups[g].generation = v->groups[i].generation;
        s->groups[g].members = v->groups[i].members;
        s->groups[g].records_consumed = v->groups[i].records_consumed;
    }
    for (int i = 0; i < s->in.position_count; i++) apply_position(s, &s->in.positions[i]);
}

/* ---- dots ---------------------------------------------------------------------------- */

static int is_broker(const viz_scene *s, int32_t id) {
    return cluster_view_broker_get(s->in.view, id) != NULL;
}

static void add_dot(viz_scene *s, const viz_msg *m) {
    int64_t window = s->in.dot_window_us > 0 ? s->in.dot_window_us : 1;
    int64_t age = s->in.t_us - m->send_us;
    int64_t flight = m->lost ? window : m->deliver_us - m->send_us;
    int64_t life = flight > window ? flight : window;
    if (age < 0 || age >= (m->lost ? 2 * window : life) || s->dot_count == VIZ_DOTS_MAX) return;
    viz_dot *d = &s->dots[s->dot_count++];
    d->src = m->src;
    d->dst = m->dst;
    d->lost = m->lost;
    d->traffic = (uint8_t)viz_traffic_of(m->api_key, is_broker(s, m->src), is_broker(s, m->dst));
    d->progress = m->lost && age * 2 > life ? 0.5f : (float)age / (float)life;
    d->alpha = m->lost ? 1.0f - (float)age / (float)(2 * window) : 1.0f;
    s->traffic_count[d->traffic]++;
    s->lost_count += m->lost;
}

static void build_dots(viz_scene *s) {
    s->dot_count = s->lost_count = 0;
    memset(s->traffic_count, 0, sizeof s->traffic_count);
    /* Keep at most VIZ_DOTS_MAX: take every k-th message, but every lost one. */
    int stride = s->in.msg_count / (VIZ_DOTS_MAX - 100) + 1;
    for (int i = 0; i < s->in.msg_count; i++)
        if (s->in.msgs[i].lost || i % stride == 0) add_dot(s, &s->in.msgs[i]);
}

static void build_log(viz_scene *s) {
    s->log_count = 0;
    for (int i = s->in.line_count - 1; i >= 0 && s->log_count < VIZ_LOG_LINES_MAX; i--)
        if (s->in.lines[i].t_us <= s->in.t_us) s->log[s->log_count++] = &s->in.lines[i];
}

void viz_scene_build(viz_scene *s, const viz_input *in) {
    assert(in->view);
    assert(in->node_count >= 0 && in->msg_count >= 0);
    s->in = *in;
    count_brokers(s);
    build_clients(s);
    build_dots(s);
    build_log(s);
}
