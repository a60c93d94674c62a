/*
 * scenario_json.c — a loaded scenario written back as JSON, every default
 * filled in.  The trace records it beside the source text, and tests load it
 * again to prove that what was understood is what was written: emit, load,
 * emit gives the same text.
 *
 * Integer µs become seconds by one division; the loader multiplies by 1e6 and
 * rounds, so any µs count below 2^53 survives the round trip.
 */
#include "scenario.h"

#include <cjson/cJSON.h>

#include <assert.h>
#include <stdio.h>

static void add_seconds(cJSON *o, const char *key, int64_t us) {
    cJSON_AddNumberToObject(o, key, (double)us / 1e6);
}

static cJSON *pair(int64_t a, int64_t b) {
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)a));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)b));
    return arr;
}

/* null for -1 (never, unbounded), else the number. */
static void add_nullable(cJSON *o, const char *key, int64_t v) {
    if (v < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)v);
}

static cJSON *cluster_json(const scenario_cluster *k) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "brokers", k->brokers);
    cJSON_AddNumberToObject(o, "min_insync_replicas", k->min_insync_replicas);
    cJSON_AddNumberToObject(o, "replica_lag_time_max_ms", (double)k->replica_lag_time_max_ms);
    cJSON_AddBoolToObject(o, "unclean_leader_election", k->unclean_leader_election);
    cJSON_AddStringToObject(o, "truncation", scenario_truncation_name(k->truncation));
    add_nullable(o, "flush_interval_ms", k->flush_interval_ms);
    cJSON_AddNumberToObject(o, "offsets_topic_partitions", k->offsets_topic_partitions);
    add_nullable(o, "retention_ms", k->retention_ms);
    add_nullable(o, "retention_bytes", k->retention_bytes);
    cJSON_AddNumberToObject(o, "segment_bytes", (double)k->segment_bytes);
    cJSON_AddBoolToObject(o, "auto_create_topics", k->auto_create_topics);
    cJSON_AddNumberToObject(o, "default_partitions", k->default_partitions);
    cJSON_AddNumberToObject(o, "default_replication_factor", k->default_replication_factor);
    return o;
}

static cJSON *network_json(const scenario_network *n) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "latency_ms", pair(n->latency_ms_min, n->latency_ms_max));
    cJSON_AddNumberToObject(o, "drop_rate", (double)n->drop_rate_ppm / 1e6);
    return o;
}

static cJSON *topic_json(const scenario_topic *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddNumberToObject(o, "partitions", t->partitions);
    cJSON_AddNumberToObject(o, "replication_factor", t->replication_factor);
    return o;
}

static cJSON *producer_json(const scenario_producer *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "topic", p->topic);
    cJSON_AddNumberToObject(o, "rate_per_s", p->rate_per_s);
    if (p->acks == SCENARIO_ACKS_ALL)
        cJSON_AddStringToObject(o, "acks", "all");
    else
        cJSON_AddNumberToObject(o, "acks", p->acks);
    cJSON_AddNumberToObject(o, "value_bytes", p->value_bytes);
    cJSON_AddNumberToObject(o, "keys", p->keys);
    cJSON_AddBoolToObject(o, "idempotent", p->idempotent);
    cJSON_AddNumberToObject(o, "linger_ms", (double)p->linger_ms);
    cJSON_AddNumberToObject(o, "batch_bytes", p->batch_bytes);
    cJSON_AddNumberToObject(o, "delivery_timeout_ms", (double)p->delivery_timeout_ms);
    return o;
}

static cJSON *group_json(const scenario_group *g) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", g->name);
    cJSON *topics = cJSON_AddArrayToObject(o, "topics");
    for (int i = 0; i < g->topic_count; i++)
        cJSON_AddItemToArray(topics, cJSON_CreateString(g->topics[i]));
    cJSON_AddNumberToObject(o, "consumers", g->consumers);
    cJSON_AddStringToObject(o, "assignor", scenario_assignor_name(g->assignor));
    cJSON_AddNumberToObject(o, "session_timeout_ms", (double)g->session_timeout_ms);
    cJSON_AddNumberToObject(o, "heartbeat_interval_ms", (double)g->heartbeat_interval_ms);
    cJSON_AddNumberToObject(o, "auto_commit_interval_ms", (double)g->auto_commit_interval_ms);
    cJSON_AddStringToObject(o, "auto_offset_reset",
                            scenario_offset_reset_name(g->auto_offset_reset));
    return o;
}

static cJSON *target_json(const scenario_target *t) {
    char text[SCENARIO_NAME_BYTES_MAX + 24];
    switch (t->kind) {
    case SCENARIO_TARGET_BROKER:
        return cJSON_CreateNumber(t->broker);
    case SCENARIO_TARGET_CONTROLLER:
        return cJSON_CreateString("controller");
    case SCENARIO_TARGET_CRASHED:
        return cJSON_CreateString("crashed");
    case SCENARIO_TARGET_LEADER:
        snprintf(text, sizeof text, "leader:%s/%d", t->topic, (int)t->partition);
        return cJSON_CreateString(text);
    case SCENARIO_TARGET_COORDINATOR:
        snprintf(text, sizeof text, "coordinator:%s", t->group);
        return cJSON_CreateString(text);
    }
    assert(0 && "unknown target kind");
    return cJSON_CreateNull();
}

/* split_side back to [[ids of side 1], [ids of side 2], ...]. */
static cJSON *split_json(const scenario_fault *f) {
    cJSON *sides = cJSON_CreateArray();
    for (int side = 1; side <= SCENARIO_BROKERS_MAX; side++) {
        cJSON *ids = cJSON_CreateArray();
        for (int b = 1; b <= SCENARIO_BROKERS_MAX; b++)
            if (f->split_side[b] == side) cJSON_AddItemToArray(ids, cJSON_CreateNumber(b));
        if (cJSON_GetArraySize(ids) == 0) {
            cJSON_Delete(ids);
            break;
        }
        cJSON_AddItemToArray(sides, ids);
    }
    return sides;
}

static cJSON *consumer_json(const scenario_fault *f) {
    char text[SCENARIO_NAME_BYTES_MAX + 16];
    snprintf(text, sizeof text, "%s/%d", f->group, (int)f->consumer);
    return cJSON_CreateString(text);
}

static cJSON *fault_value_json(const scenario_fault *f) {
    cJSON *slow;
    switch (f->kind) {
    case SCENARIO_FAULT_CRASH:
    case SCENARIO_FAULT_RESTART:
    case SCENARIO_FAULT_POWER_OFF:
    case SCENARIO_FAULT_ISOLATE:
        return target_json(&f->target);
    case SCENARIO_FAULT_SPLIT:
        return split_json(f);
    case SCENARIO_FAULT_CUT:
        return pair(f->link[0], f->link[1]);
    case SCENARIO_FAULT_HEAL:
        return f->heal_all ? cJSON_CreateTrue() : pair(f->link[0], f->link[1]);
    case SCENARIO_FAULT_SLOW:
        slow = cJSON_CreateObject();
        cJSON_AddItemToObject(slow, "link", pair(f->link[0], f->link[1]));
        cJSON_AddItemToObject(slow, "latency_ms",
                              pair(f->slow_latency_ms_min, f->slow_latency_ms_max));
        return slow;
    case SCENARIO_FAULT_CRASH_CONSUMER:
        return consumer_json(f);
    case SCENARIO_FAULT_ADD_CONSUMER:
        return cJSON_CreateString(f->group);
    }
    assert(0 && "unknown fault kind");
    return cJSON_CreateNull();
}

static cJSON *fault_json(const scenario_fault *f) {
    cJSON *o = cJSON_CreateObject();
    add_seconds(o, "at_s", f->at_us);
    cJSON_AddItemToObject(o, scenario_fault_kind_name(f->kind), fault_value_json(f));
    return o;
}

/* [min, max] ms as seconds; null when that kind of chaos is off (0, 0). */
static void add_chaos_range(cJSON *o, const char *key, int64_t min_ms, int64_t max_ms) {
    if (min_ms == 0 && max_ms == 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)min_ms / 1e3));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)max_ms / 1e3));
}

static cJSON *chaos_json(const scenario_chaos *ch) {
    cJSON *o = cJSON_CreateObject();
    add_seconds(o, "from_s", ch->from_us);
    add_seconds(o, "until_s", ch->until_us);
    add_chaos_range(o, "crash_every_s", ch->crash_every_ms_min, ch->crash_every_ms_max);
    add_chaos_range(o, "split_every_s", ch->split_every_ms_min, ch->split_every_ms_max);
    cJSON *down = cJSON_AddArrayToObject(o, "down_s");
    cJSON_AddItemToArray(down, cJSON_CreateNumber((double)ch->down_ms_min / 1e3));
    cJSON_AddItemToArray(down, cJSON_CreateNumber((double)ch->down_ms_max / 1e3));
    add_chaos_range(o, "power_off_every_s", ch->power_off_every_ms_min, ch->power_off_every_ms_max);
    return o;
}

static void add_lists(cJSON *root, const scenario *s) {
    cJSON *topics = cJSON_AddArrayToObject(root, "topics");
    cJSON *producers = cJSON_AddArrayToObject(root, "producers");
    cJSON *groups = cJSON_AddArrayToObject(root, "groups");
    cJSON *faults = cJSON_AddArrayToObject(root, "faults");
    for (int i = 0; i < s->topic_count; i++)
        cJSON_AddItemToArray(topics, topic_json(&s->topics[i]));
    for (int i = 0; i < s->producer_count; i++)
        cJSON_AddItemToArray(producers, producer_json(&s->producers[i]));
    for (int i = 0; i < s->group_count; i++)
        cJSON_AddItemToArray(groups, group_json(&s->groups[i]));
    for (int i = 0; i < s->fault_count; i++)
        cJSON_AddItemToArray(faults, fault_json(&s->faults[i]));
}

char *scenario_effective_json(const scenario *s) {
    assert(s != NULL);
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) return NULL;
    cJSON_AddStringToObject(root, "name", s->name);
    cJSON_AddStringToObject(root, "description", s->description ? s->description : "");
    cJSON_AddNumberToObject(root, "seed", (double)s->seed);
    add_seconds(root, "duration_s", s->duration_us);
    add_seconds(root, "liveness_s", s->liveness_us);
    cJSON_AddItemToObject(root, "cluster", cluster_json(&s->cluster));
    cJSON_AddItemToObject(root, "network", network_json(&s->network));
    add_lists(root, s);
    if (s->chaos.enabled)
        cJSON_AddItemToObject(root, "chaos", chaos_json(&s->chaos));
    else
        cJSON_AddNullToObject(root, "chaos");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}
