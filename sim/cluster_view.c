/*
 * cluster_view.c — folding observe events into the cluster state, and its JSON.
 *
 * Lookups are linear scans over small bounded arrays (at most 64 entries); the
 * topic scan remembers the last hit, since consecutive events mostly name the
 * same topic.  Brokers and producers are kept sorted by id so that the JSON of
 * two equal views is byte-identical regardless of the order things appeared.
 */
#include "cluster_view.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

void cluster_view_init(cluster_view *v) {
    assert(v != NULL);
    memset(v, 0, sizeof *v);
    v->controller = -1;
    v->controller_epoch = -1;
}

void cluster_view_deinit(cluster_view *v) {
    assert(v != NULL);
    for (int32_t i = 0; i < v->topics_count; i++) free(v->topics[i].partitions);
    for (int32_t i = 0; i < v->groups_count; i++) free(v->groups[i].committed);
    cluster_view_init(v);
}

/* ---- lookups that create ------------------------------------------------------ */

static int name_fits(const char *name) {
    return strlen(name) < CLUSTER_VIEW_NAME_BYTES_MAX;
}

static cluster_view_broker *broker_find(cluster_view *v, int32_t id, int create) {
    int32_t i = 0;
    while (i < v->brokers_count && v->brokers[i].id < id) i++;
    if (i < v->brokers_count && v->brokers[i].id == id) return &v->brokers[i];
    if (!create) return NULL;
    if (v->brokers_count == CLUSTER_VIEW_BROKERS_MAX) {
        v->overflow++;
        return NULL;
    }
    memmove(&v->brokers[i + 1], &v->brokers[i],
            (size_t)(v->brokers_count - i) * sizeof v->brokers[0]);
    v->brokers_count++;
    memset(&v->brokers[i], 0, sizeof v->brokers[i]);
    v->brokers[i].id = id;
    return &v->brokers[i];
}

static cluster_view_producer *producer_find(cluster_view *v, int32_t node) {
    int32_t i = 0;
    while (i < v->producers_count && v->producers[i].node < node) i++;
    if (i < v->producers_count && v->producers[i].node == node) return &v->producers[i];
    if (v->producers_count == CLUSTER_VIEW_PRODUCERS_MAX) {
        v->overflow++;
        return NULL;
    }
    memmove(&v->producers[i + 1], &v->producers[i],
            (size_t)(v->producers_count - i) * sizeof v->producers[0]);
    v->producers_count++;
    memset(&v->producers[i], 0, sizeof v->producers[i]);
    v->producers[i].node = node;
    return &v->producers[i];
}

static void partition_reset(cluster_view_partition *p) {
    memset(p, 0, sizeof *p);
    p->leader = -1;
    p->leader_epoch = -1;
}

static int32_t topic_index(const cluster_view *v, const char *name) {
    for (int32_t i = v->topics_count - 1; i >= 0; i--) {
        if (strcmp(v->topics[i].name, name) == 0) return i;
    }
    return -1;
}

static cluster_view_topic *topic_create(cluster_view *v, const char *name) {
    if (!name_fits(name) || v->topics_count == CLUSTER_VIEW_TOPICS_MAX) {
        v->overflow++;
        return NULL;
    }
    cluster_view_partition *parts = malloc(CLUSTER_VIEW_PARTITIONS_MAX * sizeof *parts);
    if (parts == NULL) {
        v->overflow++;
        return NULL;
    }
    for (int32_t p = 0; p < CLUSTER_VIEW_PARTITIONS_MAX; p++) partition_reset(&parts[p]);
    cluster_view_topic *t = &v->topics[v->topics_count++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, strlen(name) + 1);
    t->partitions = parts;
    return t;
}

static cluster_view_topic *topic_find(cluster_view *v, const char *name) {
    int32_t i = topic_index(v, name);
    return i >= 0 ? &v->topics[i] : topic_create(v, name);
}

/* The partition an event names, creating its topic if needed; NULL if out of bounds. */
static cluster_view_partition *partition_find(cluster_view *v, const observe_event *ev) {
    if (ev->topic == NULL || ev->partition < 0) {
        v->invalid++;
        return NULL;
    }
    if (ev->partition >= CLUSTER_VIEW_PARTITIONS_MAX) {
        v->overflow++;
        return NULL;
    }
    cluster_view_topic *t = topic_find(v, ev->topic);
    if (t == NULL) return NULL;
    if (ev->partition >= t->partitions_count) t->partitions_count = ev->partition + 1;
    return &t->partitions[ev->partition];
}

static cluster_view_replica *replica_find(cluster_view *v, cluster_view_partition *p,
                                          int32_t node) {
    for (int32_t i = 0; i < p->replicas_count; i++) {
        if (p->replicas[i].node == node) return &p->replicas[i];
    }
    if (p->replicas_count == CLUSTER_VIEW_REPLICAS_MAX) {
        v->overflow++;
        return NULL;
    }
    cluster_view_replica *r = &p->replicas[p->replicas_count++];
    memset(r, 0, sizeof *r);
    r->node = node;
    return r;
}

static cluster_view_group *group_find(cluster_view *v, const char *name) {
    if (name == NULL) {
        v->invalid++;
        return NULL;
    }
    for (int32_t i = 0; i < v->groups_count; i++) {
        if (strcmp(v->groups[i].name, name) == 0) return &v->groups[i];
    }
    cluster_view_offset *committed =
        v->groups_count < CLUSTER_VIEW_GROUPS_MAX && name_fits(name)
            ? malloc(CLUSTER_VIEW_GROUP_OFFSETS_MAX * sizeof *committed)
            : NULL;
    if (committed == NULL) {
        v->overflow++;
        return NULL;
    }
    cluster_view_group *g = &v->groups[v->groups_count++];
    memset(g, 0, sizeof *g);
    memcpy(g->name, name, strlen(name) + 1);
    g->generation = -1;
    g->committed = committed;
    return g;
}

int cluster_view_add_broker(cluster_view *v, int32_t id) {
    assert(v != NULL);
    cluster_view_broker *b = broker_find(v, id, 1);
    return b != NULL ? 0 : -1;
}

/* ---- applying events ------------------------------------------------------------ */

static void apply_broker(cluster_view *v, int64_t t_us, const observe_event *ev) {
    cluster_view_broker *b = broker_find(v, ev->node, 1);
    if (b == NULL) return;
    b->up = ev->kind == OBSERVE_BROKER_START;
    b->since_us = t_us;
    memset(b->down_reason, 0, sizeof b->down_reason);
    if (b->up) return;
    v->totals.broker_stops++;
    const char *reason = ev->detail != NULL ? ev->detail : "";
    size_t len = strlen(reason);
    if (len >= sizeof b->down_reason) len = sizeof b->down_reason - 1;
    memcpy(b->down_reason, reason, len);
}

static void apply_replica(cluster_view *v, const observe_event *ev) {
    cluster_view_partition *p = partition_find(v, ev);
    if (p == NULL) return;
    cluster_view_replica *r = replica_find(v, p, ev->node);
    if (r == NULL) return;
    if (ev->kind == OBSERVE_APPEND) {
        r->log_end_offset = ev->offset_last + 1;
        v->totals.batches_appended++;
    } else if (ev->kind == OBSERVE_TRUNCATE) {
        r->log_end_offset = ev->offset;
        v->totals.truncations++;
    } else {
        r->log_start_offset = ev->offset;
    }
}

static void apply_leadership(cluster_view *v, const observe_event *ev) {
    cluster_view_partition *p = partition_find(v, ev);
    if (p == NULL) return;
    p->leader = ev->leader;
    p->leader_epoch = ev->leader_epoch;
    int32_t n = ev->isr != NULL && ev->isr_count > 0 ? ev->isr_count : 0;
    if (n > CLUSTER_VIEW_REPLICAS_MAX) {
        v->overflow++;
        n = CLUSTER_VIEW_REPLICAS_MAX;
    }
    for (int32_t i = 0; i < n; i++) p->isr[i] = ev->isr[i];
    p->isr_count = n;
    if (ev->kind == OBSERVE_LEADER) v->totals.leader_changes++;
}

static void apply_topic_create(cluster_view *v, const observe_event *ev) {
    if (ev->topic == NULL || ev->partition < 0) {
        v->invalid++;
        return;
    }
    cluster_view_topic *t = topic_find(v, ev->topic);
    if (t == NULL) return;
    int32_t count = ev->partition;
    if (count > CLUSTER_VIEW_PARTITIONS_MAX) {
        v->overflow++;
        count = CLUSTER_VIEW_PARTITIONS_MAX;
    }
    if (count > t->partitions_count) t->partitions_count = count;
    t->replication_factor = (int32_t)ev->offset;
}

static void apply_produce(cluster_view *v, const observe_event *ev) {
    cluster_view_producer *pr = producer_find(v, ev->node);
    if (ev->kind == OBSERVE_PRODUCE_ACK) {
        v->totals.records_acked += ev->count;
        if (pr != NULL) pr->records_acked += ev->count;
    } else {
        v->totals.records_failed += ev->count;
        if (pr != NULL) pr->records_failed += ev->count;
    }
}

static void apply_commit(cluster_view *v, const observe_event *ev) {
    cluster_view_group *g = group_find(v, ev->detail);
    if (g == NULL) return;
    if (ev->topic == NULL || ev->partition < 0) {
        v->invalid++;
        return;
    }
    v->totals.commits++;
    int32_t topic = topic_index(v, ev->topic);
    if (topic < 0 && topic_create(v, ev->topic) != NULL) topic = v->topics_count - 1;
    if (topic < 0) return;
    for (int32_t i = 0; i < g->committed_count; i++) {
        cluster_view_offset *o = &g->committed[i];
        if (o->topic == topic && o->partition == ev->partition) {
            o->offset = ev->offset;
            return;
        }
    }
    if (g->committed_count == CLUSTER_VIEW_GROUP_OFFSETS_MAX) {
        v->overflow++;
        return;
    }
    g->committed[g->committed_count++] =
        (cluster_view_offset){.topic = topic, .partition = ev->partition, .offset = ev->offset};
}

static void apply_group(cluster_view *v, const observe_event *ev) {
    cluster_view_group *g = group_find(v, ev->detail);
    if (g == NULL) return;
    if (ev->kind == OBSERVE_REBALANCE) {
        g->generation = ev->leader_epoch;
        v->totals.rebalances++;
        return;
    }
    int64_t records = ev->offset_last - ev->offset + 1;
    if (records < 0) records = 0;
    g->records_consumed += records;
    v->totals.records_consumed += records;
}

void cluster_view_apply(cluster_view *v, int64_t t_us, const observe_event *ev) {
    assert(v != NULL && ev != NULL);
    v->t_us = t_us;
    v->totals.events++;
    switch (ev->kind) {
    case OBSERVE_BROKER_START:
    case OBSERVE_BROKER_STOP:
        apply_broker(v, t_us, ev);
        break;
    case OBSERVE_APPEND:
    case OBSERVE_TRUNCATE:
    case OBSERVE_LOG_START:
        apply_replica(v, ev);
        break;
    case OBSERVE_HIGH_WATERMARK: {
        cluster_view_partition *p = partition_find(v, ev);
        if (p != NULL) p->high_watermark = ev->offset;
        break;
    }
    case OBSERVE_LEADER:
    case OBSERVE_ISR:
        apply_leadership(v, ev);
        break;
    case OBSERVE_CONTROLLER:
        v->controller = ev->node;
        v->controller_epoch = ev->leader_epoch;
        break;
    case OBSERVE_TOPIC_CREATE:
        apply_topic_create(v, ev);
        break;
    case OBSERVE_PRODUCE_ACK:
    case OBSERVE_PRODUCE_FAIL:
        apply_produce(v, ev);
        break;
    case OBSERVE_COMMIT:
        apply_commit(v, ev);
        break;
    case OBSERVE_CONSUME:
    case OBSERVE_REBALANCE:
        apply_group(v, ev);
        break;
    case OBSERVE_METADATA_COMMIT: /* the quorum's bookkeeping: nothing to draw */
    case OBSERVE_OFFSET_LOAD:     /* a new coordinator read what was committed: unchanged */
    case OBSERVE_ASSIGN:          /* partition ownership: not drawn yet */
    case OBSERVE_REVOKE:
        break;
    default:
        v->invalid++;
        break;
    }
}

/* ---- lookups -------------------------------------------------------------------- */

const cluster_view_broker *cluster_view_broker_get(const cluster_view *v, int32_t id) {
    for (int32_t i = 0; i < v->brokers_count; i++) {
        if (v->brokers[i].id == id) return &v->brokers[i];
    }
    return NULL;
}

const cluster_view_topic *cluster_view_topic_get(const cluster_view *v, const char *name) {
    int32_t i = topic_index(v, name);
    return i >= 0 ? &v->topics[i] : NULL;
}

const cluster_view_partition *cluster_view_partition_get(const cluster_view *v, const char *topic,
                                                         int32_t partition) {
    const cluster_view_topic *t = cluster_view_topic_get(v, topic);
    if (t == NULL || partition < 0 || partition >= t->partitions_count) return NULL;
    return &t->partitions[partition];
}

const cluster_view_group *cluster_view_group_get(const cluster_view *v, const char *name) {
    for (int32_t i = 0; i < v->groups_count; i++) {
        if (strcmp(v->groups[i].name, name) == 0) return &v->groups[i];
    }
    return NULL;
}

const cluster_view_producer *cluster_view_producer_get(const cluster_view *v, int32_t node) {
    for (int32_t i = 0; i < v->producers_count; i++) {
        if (v->producers[i].node == node) return &v->producers[i];
    }
    return NULL;
}

/* ---- JSON out -------------------------------------------------------------------- *
 * Numbers go through cJSON doubles: exact for integers below 2^53, which covers
 * microseconds for 285 years and any offset a simulation reaches.
 */

static void add_int(cJSON *o, const char *key, int64_t value) {
    cJSON_AddItemToObject(o, key, cJSON_CreateNumber((double)value));
}

static cJSON *int_array(const int32_t *values, int32_t count) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < count; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(values[i]));
    return a;
}

static cJSON *brokers_to_json(const cluster_view *v) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < v->brokers_count; i++) {
        const cluster_view_broker *b = &v->brokers[i];
        cJSON *o = cJSON_CreateObject();
        add_int(o, "id", b->id);
        cJSON_AddItemToObject(o, "up", cJSON_CreateBool(b->up));
        add_int(o, "since_us", b->since_us);
        cJSON_AddItemToObject(o, "down_reason", cJSON_CreateString(b->down_reason));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *partition_to_json(const cluster_view_partition *p) {
    cJSON *o = cJSON_CreateObject();
    add_int(o, "leader", p->leader);
    add_int(o, "leader_epoch", p->leader_epoch);
    cJSON_AddItemToObject(o, "isr", int_array(p->isr, p->isr_count));
    add_int(o, "high_watermark", p->high_watermark);
    cJSON *replicas = cJSON_CreateArray();
    for (int32_t i = 0; i < p->replicas_count; i++) {
        cJSON *r = cJSON_CreateObject();
        add_int(r, "node", p->replicas[i].node);
        add_int(r, "log_end_offset", p->replicas[i].log_end_offset);
        add_int(r, "log_start_offset", p->replicas[i].log_start_offset);
        cJSON_AddItemToArray(replicas, r);
    }
    cJSON_AddItemToObject(o, "replicas", replicas);
    return o;
}

static cJSON *topics_to_json(const cluster_view *v) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < v->topics_count; i++) {
        const cluster_view_topic *t = &v->topics[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", cJSON_CreateString(t->name));
        add_int(o, "replication_factor", t->replication_factor);
        cJSON *parts = cJSON_CreateArray();
        for (int32_t p = 0; p < t->partitions_count; p++) {
            cJSON_AddItemToArray(parts, partition_to_json(&t->partitions[p]));
        }
        cJSON_AddItemToObject(o, "partitions", parts);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *producers_to_json(const cluster_view *v) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < v->producers_count; i++) {
        cJSON *o = cJSON_CreateObject();
        add_int(o, "node", v->producers[i].node);
        add_int(o, "records_acked", v->producers[i].records_acked);
        add_int(o, "records_failed", v->producers[i].records_failed);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *groups_to_json(const cluster_view *v) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < v->groups_count; i++) {
        const cluster_view_group *g = &v->groups[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "name", cJSON_CreateString(g->name));
        add_int(o, "generation", g->generation);
        add_int(o, "records_consumed", g->records_consumed);
        cJSON *committed = cJSON_CreateArray();
        for (int32_t c = 0; c < g->committed_count; c++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToObject(e, "topic",
                                  cJSON_CreateString(v->topics[g->committed[c].topic].name));
            add_int(e, "partition", g->committed[c].partition);
            add_int(e, "offset", g->committed[c].offset);
            cJSON_AddItemToArray(committed, e);
        }
        cJSON_AddItemToObject(o, "committed", committed);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *totals_to_json(const cluster_view_totals *t) {
    cJSON *o = cJSON_CreateObject();
    add_int(o, "events", t->events);
    add_int(o, "batches_appended", t->batches_appended);
    add_int(o, "truncations", t->truncations);
    add_int(o, "leader_changes", t->leader_changes);
    add_int(o, "broker_stops", t->broker_stops);
    add_int(o, "records_acked", t->records_acked);
    add_int(o, "records_failed", t->records_failed);
    add_int(o, "records_consumed", t->records_consumed);
    add_int(o, "commits", t->commits);
    add_int(o, "rebalances", t->rebalances);
    return o;
}

char *cluster_view_to_json(const cluster_view *v) {
    assert(v != NULL);
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) return NULL;
    add_int(root, "t_us", v->t_us);
    cJSON_AddItemToObject(root, "brokers", brokers_to_json(v));
    cJSON *controller = cJSON_CreateObject();
    add_int(controller, "node", v->controller);
    add_int(controller, "epoch", v->controller_epoch);
    cJSON_AddItemToObject(root, "controller", controller);
    cJSON_AddItemToObject(root, "topics", topics_to_json(v));
    cJSON_AddItemToObject(root, "producers", producers_to_json(v));
    cJSON_AddItemToObject(root, "groups", groups_to_json(v));
    cJSON_AddItemToObject(root, "totals", totals_to_json(&v->totals));
    add_int(root, "overflow", v->overflow);
    add_int(root, "invalid", v->invalid);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* ---- JSON in ---------------------------------------------------------------------- *
 * Every reader below returns -1 on a missing or mistyped field, so a corrupt
 * keyframe is reported rather than half-loaded.
 */

static int get_int(const cJSON *o, const char *key, int64_t *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(item)) return -1;
    *out = (int64_t)item->valuedouble;
    return 0;
}

static int get_i32(const cJSON *o, const char *key, int32_t *out) {
    int64_t value = 0;
    if (get_int(o, key, &value) != 0 || value < INT32_MIN || value > INT32_MAX) return -1;
    *out = (int32_t)value;
    return 0;
}

static const char *get_name(const cJSON *o, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(item) || !name_fits(item->valuestring)) return NULL;
    return item->valuestring;
}

static const cJSON *get_array(const cJSON *o, const char *key, int max) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > max) return NULL;
    return a;
}

static int brokers_from_json(cluster_view *v, const cJSON *a) {
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, a) {
        int32_t id = 0;
        if (get_i32(o, "id", &id) != 0) return -1;
        cluster_view_broker *b = broker_find(v, id, 1);
        const cJSON *up = cJSON_GetObjectItemCaseSensitive(o, "up");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(o, "down_reason");
        if (b == NULL || !cJSON_IsBool(up) || !cJSON_IsString(reason)) return -1;
        if (strlen(reason->valuestring) >= sizeof b->down_reason) return -1;
        b->up = cJSON_IsTrue(up);
        strcpy(b->down_reason, reason->valuestring);
        if (get_int(o, "since_us", &b->since_us) != 0) return -1;
    }
    return 0;
}

static int isr_from_json(cluster_view_partition *p, const cJSON *o) {
    const cJSON *isr = get_array(o, "isr", CLUSTER_VIEW_REPLICAS_MAX);
    if (isr == NULL) return -1;
    const cJSON *id = NULL;
    cJSON_ArrayForEach(id, isr) {
        if (!cJSON_IsNumber(id)) return -1;
        p->isr[p->isr_count++] = (int32_t)id->valuedouble;
    }
    return 0;
}

static int partition_from_json(cluster_view_partition *p, const cJSON *o) {
    if (get_i32(o, "leader", &p->leader) != 0 || get_i32(o, "leader_epoch", &p->leader_epoch) ||
        get_int(o, "high_watermark", &p->high_watermark) != 0 || isr_from_json(p, o) != 0) {
        return -1;
    }
    const cJSON *replicas = get_array(o, "replicas", CLUSTER_VIEW_REPLICAS_MAX);
    if (replicas == NULL) return -1;
    const cJSON *r = NULL;
    cJSON_ArrayForEach(r, replicas) {
        cluster_view_replica *rep = &p->replicas[p->replicas_count++];
        if (get_i32(r, "node", &rep->node) != 0 ||
            get_int(r, "log_end_offset", &rep->log_end_offset) != 0 ||
            get_int(r, "log_start_offset", &rep->log_start_offset) != 0) {
            return -1;
        }
    }
    return 0;
}

static int topics_from_json(cluster_view *v, const cJSON *a) {
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, a) {
        const char *name = get_name(o, "name");
        if (name == NULL || topic_index(v, name) >= 0) return -1;
        cluster_view_topic *t = topic_create(v, name);
        const cJSON *parts = get_array(o, "partitions", CLUSTER_VIEW_PARTITIONS_MAX);
        if (t == NULL || parts == NULL) return -1;
        if (get_i32(o, "replication_factor", &t->replication_factor) != 0) return -1;
        const cJSON *p = NULL;
        cJSON_ArrayForEach(p, parts) {
            if (partition_from_json(&t->partitions[t->partitions_count++], p) != 0) return -1;
        }
    }
    return 0;
}

static int producers_from_json(cluster_view *v, const cJSON *a) {
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, a) {
        int32_t node = 0;
        if (get_i32(o, "node", &node) != 0) return -1;
        cluster_view_producer *p = producer_find(v, node);
        if (p == NULL || get_int(o, "records_acked", &p->records_acked) != 0 ||
            get_int(o, "records_failed", &p->records_failed) != 0) {
            return -1;
        }
    }
    return 0;
}

static int committed_from_json(cluster_view *v, cluster_view_group *g, const cJSON *a) {
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, a) {
        cluster_view_offset *c = &g->committed[g->committed_count++];
        const char *topic = get_name(o, "topic");
        c->topic = topic != NULL ? topic_index(v, topic) : -1;
        if (c->topic < 0 || get_i32(o, "partition", &c->partition) != 0 ||
            get_int(o, "offset", &c->offset) != 0) {
            return -1;
        }
    }
    return 0;
}

static int groups_from_json(cluster_view *v, const cJSON *a) {
    const cJSON *o = NULL;
    cJSON_ArrayForEach(o, a) {
        const char *name = get_name(o, "name");
        if (name == NULL || cluster_view_group_get(v, name) != NULL) return -1;
        cluster_view_group *g = group_find(v, name);
        const cJSON *committed = get_array(o, "committed", CLUSTER_VIEW_GROUP_OFFSETS_MAX);
        if (g == NULL || committed == NULL || get_i32(o, "generation", &g->generation) != 0 ||
            get_int(o, "records_consumed", &g->records_consumed) != 0) {
            return -1;
        }
        if (committed_from_json(v, g, committed) != 0) return -1;
    }
    return 0;
}

static int totals_from_json(cluster_view_totals *t, const cJSON *o) {
    if (!cJSON_IsObject(o)) return -1;
    int bad = get_int(o, "events", &t->events) |
              get_int(o, "batches_appended", &t->batches_appended) |
              get_int(o, "truncations", &t->truncations) |
              get_int(o, "leader_changes", &t->leader_changes) |
              get_int(o, "broker_stops", &t->broker_stops) |
              get_int(o, "records_acked", &t->records_acked) |
              get_int(o, "records_failed", &t->records_failed) |
              get_int(o, "records_consumed", &t->records_consumed) |
              get_int(o, "commits", &t->commits) | get_int(o, "rebalances", &t->rebalances);
    return bad ? -1 : 0;
}

static int view_from_json(cluster_view *v, const cJSON *root) {
    const cJSON *controller = cJSON_GetObjectItemCaseSensitive(root, "controller");
    const cJSON *brokers = get_array(root, "brokers", CLUSTER_VIEW_BROKERS_MAX);
    const cJSON *topics = get_array(root, "topics", CLUSTER_VIEW_TOPICS_MAX);
    const cJSON *producers = get_array(root, "producers", CLUSTER_VIEW_PRODUCERS_MAX);
    const cJSON *groups = get_array(root, "groups", CLUSTER_VIEW_GROUPS_MAX);
    if (!cJSON_IsObject(controller) || brokers == NULL || topics == NULL || producers == NULL ||
        groups == NULL) {
        return -1;
    }
    if (get_int(root, "t_us", &v->t_us) != 0 || get_i32(controller, "node", &v->controller) ||
        get_i32(controller, "epoch", &v->controller_epoch) != 0 ||
        get_int(root, "overflow", &v->overflow) != 0 || get_int(root, "invalid", &v->invalid)) {
        return -1;
    }
    if (brokers_from_json(v, brokers) != 0 || topics_from_json(v, topics) != 0 ||
        producers_from_json(v, producers) != 0 || groups_from_json(v, groups) != 0) {
        return -1;
    }
    return totals_from_json(&v->totals, cJSON_GetObjectItemCaseSensitive(root, "totals"));
}

int cluster_view_from_json(cluster_view *v, const char *json) {
    assert(v != NULL);
    cluster_view_deinit(v);
    cJSON *root = json != NULL ? cJSON_Parse(json) : NULL;
    int rc = cJSON_IsObject(root) ? view_from_json(v, root) : -1;
    cJSON_Delete(root);
    if (rc != 0) cluster_view_deinit(v);
    return rc;
}
