/*
 * scenario.c — loads a scenario file (DESIGN.md §4) into the fixed struct of
 * scenario.h.
 *
 * Three steps, each of which may stop with one line "FILE: FIELD: expected
 * WHAT (got WHAT)" in the caller's buffer:
 *   1. read the bytes (or take the caller's text) and parse them with cJSON;
 *   2. apply `--set KEY=VALUE` overrides to the JSON tree, so that an override
 *      is validated exactly like a value written in the file;
 *   3. walk the tree section by section, filling defaults and checking every
 *      value.  Cross references (a producer's topic, a fault's broker, a
 *      consumer number) are checked against what earlier sections produced,
 *      so sections load in dependency order: cluster, network, topics,
 *      producers, groups, faults, chaos.
 *
 * The known keys are one table per kind of object (*_keys below).  The same
 * tables reject unknown keys in files and resolve override paths, so the two
 * can never disagree about what the format knows.
 *
 * Times are seconds in JSON and integer µs (or ms) in the struct; a time is
 * converted once, by rounding x * 1e6 to the nearest integer, so 30.5 s is
 * exactly 30500000 µs and 0.1 s is exactly 100000 µs.
 */
#include "scenario.h"

#include <cjson/cJSON.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_BYTES 192
#define GOT_BYTES 60
#define WHAT_BYTES 256
#define KEY_LIST_BYTES_MAX 160 /* longer lists of known keys are not spelled out */
#define SOURCE_BYTES_MAX (16L << 20)
#define SECONDS_MAX 10000000.0          /* 115 days: keeps µs far from int64 overflow */
#define JSON_INT_MAX 9007199254740992LL /* 2^53: every integer a double holds */
#define REQUIRED INT64_MIN              /* as a default: the key must be present */
#define RATE_PER_S_MAX 10000000
#define VALUE_BYTES_MAX (1 << 20)

typedef struct load_ctx {
    scenario *s;
    const char *file;
    char *err;
    size_t err_len;
    /* While faults load: consumers each group has at that point. */
    int32_t group_consumers[SCENARIO_GROUPS_MAX];
} load_ctx;

typedef struct scenario_name {
    const char *name;
    int value;
} scenario_name;

/* ---- the format: known keys per object ------------------------------------ */

static const char *const root_keys[] = {
    "name",   "description", "seed",   "duration_s", "liveness_s", "cluster", "network",
    "topics", "producers",   "groups", "faults",     "chaos",      NULL};
static const char *const cluster_keys[] = {"brokers",
                                           "min_insync_replicas",
                                           "replica_lag_time_max_ms",
                                           "unclean_leader_election",
                                           "truncation",
                                           "flush_interval_ms",
                                           "offsets_topic_partitions",
                                           "retention_ms",
                                           "retention_bytes",
                                           "segment_bytes",
                                           "auto_create_topics",
                                           "default_partitions",
                                           "default_replication_factor",
                                           NULL};
static const char *const network_keys[] = {"latency_ms", "drop_rate", NULL};
static const char *const topic_keys[] = {"name", "partitions", "replication_factor", NULL};
static const char *const producer_keys[] = {
    "name",      "topic",       "rate_per_s",          "acks", "value_bytes", "keys", "idempotent",
    "linger_ms", "batch_bytes", "delivery_timeout_ms", NULL};
static const char *const group_keys[] = {"name",
                                         "topics",
                                         "consumers",
                                         "assignor",
                                         "session_timeout_ms",
                                         "heartbeat_interval_ms",
                                         "auto_commit_interval_ms",
                                         "auto_offset_reset",
                                         NULL};
static const char *const fault_keys[] = {"at_s",  "crash",          "restart",      "power_off",
                                         "split", "isolate",        "cut",          "slow",
                                         "heal",  "crash_consumer", "add_consumer", NULL};
static const char *const slow_keys[] = {"link", "latency_ms", NULL};
static const char *const chaos_keys[] = {
    "from_s", "until_s", "crash_every_s", "split_every_s", "down_s", "power_off_every_s", NULL};

/* Which keys hold objects (or arrays of objects), and what keys those know. */
typedef struct schema_edge {
    const char *const *parent;
    const char *key;
    const char *const *child;
    int is_array;
} schema_edge;

static const schema_edge schema_edges[] = {
    {root_keys, "cluster", cluster_keys, 0},    {root_keys, "network", network_keys, 0},
    {root_keys, "chaos", chaos_keys, 0},        {root_keys, "topics", topic_keys, 1},
    {root_keys, "producers", producer_keys, 1}, {root_keys, "groups", group_keys, 1},
    {root_keys, "faults", fault_keys, 1},       {fault_keys, "slow", slow_keys, 0},
};

static const scenario_name truncation_names[] = {
    {"leader-epoch", SCENARIO_TRUNCATION_LEADER_EPOCH},
    {"epoch-single", SCENARIO_TRUNCATION_EPOCH_SINGLE},
    {"high-watermark", SCENARIO_TRUNCATION_HIGH_WATERMARK},
    {NULL, 0}};
static const scenario_name assignor_names[] = {
    {"range", SCENARIO_ASSIGNOR_RANGE}, {"roundrobin", SCENARIO_ASSIGNOR_ROUNDROBIN}, {NULL, 0}};
static const scenario_name reset_names[] = {
    {"latest", SCENARIO_RESET_LATEST}, {"earliest", SCENARIO_RESET_EARLIEST}, {NULL, 0}};
static const scenario_name acks_names[] = {{"all", SCENARIO_ACKS_ALL},
                                           {"-1", SCENARIO_ACKS_ALL},
                                           {"0", SCENARIO_ACKS_NONE},
                                           {"1", SCENARIO_ACKS_LEADER},
                                           {NULL, 0}};

/* ---- errors ----------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int fail(load_ctx *c, const char *field,
                                                      const char *fmt, ...) {
    int n = snprintf(c->err, c->err_len, "%s: %s: ", c->file, field);
    if (n >= 0 && (size_t)n < c->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A short rendering of a JSON value for "(got ...)". */
static const char *describe(const cJSON *v, char *buf, size_t n) {
    if (v == NULL) return "missing";
    char *text = cJSON_PrintUnformatted(v);
    if (text == NULL) return "a value";
    if (strlen(text) < n)
        snprintf(buf, n, "%s", text);
    else
        snprintf(buf, n, "%.*s...", (int)(n - 4), text);
    free(text);
    return buf;
}

static int expect(load_ctx *c, const char *field, const char *what, const cJSON *got) {
    char buf[GOT_BYTES];
    return fail(c, field, "expected %s (got %s)", what, describe(got, buf, sizeof buf));
}

/* prefix.key (or key at the top level) in buf of FIELD_BYTES, cut short if need be. */
static const char *field_of(char *buf, const char *prefix, const char *key) {
    size_t n = strlen(prefix), k = strlen(key);
    n = n < FIELD_BYTES / 2 ? n : FIELD_BYTES / 2;
    k = k < FIELD_BYTES / 2 - 2 ? k : FIELD_BYTES / 2 - 2;
    memcpy(buf, prefix, n);
    if (n > 0) buf[n++] = '.';
    memcpy(buf + n, key, k);
    buf[n + k] = '\0';
    return buf;
}

static const char *join_names(char *buf, size_t n, const char *const *keys, const char *quote) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; keys[i] != NULL && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s%s%s", i ? ", " : "", quote, keys[i], quote);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

/* ---- objects and arrays ------------------------------------------------------ */

static int key_known(const char *const *keys, const char *key) {
    for (int i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], key) == 0) return 1;
    return 0;
}

static int unknown_key(load_ctx *c, const char *field, const char *const *keys) {
    char list[WHAT_BYTES];
    join_names(list, sizeof list, keys, "");
    if (strlen(list) > KEY_LIST_BYTES_MAX)
        return fail(c, field, "expected a known key, see docs/scenario.md (got an unknown key)");
    return fail(c, field, "expected a known key: %s (got an unknown key)", list);
}

/* obj must be an object whose keys are all in keys, each once. */
static int check_object(load_ctx *c, const cJSON *obj, const char *field, const char *const *keys) {
    char f[FIELD_BYTES];
    if (!cJSON_IsObject(obj)) return expect(c, field[0] ? field : "(top level)", "an object", obj);
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        if (!key_known(keys, m->string)) return unknown_key(c, field_of(f, field, m->string), keys);
        if (cJSON_GetObjectItemCaseSensitive(obj, m->string) != m)
            return fail(c, field_of(f, field, m->string), "expected each key once (got it twice)");
    }
    return 0;
}

/* The array at root[key] (absent = empty unless required), at most max entries. */
static int get_array(load_ctx *c, const cJSON *obj, const char *key, int required, int max,
                     const cJSON **out) {
    char what[64];
    *out = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (*out == NULL && !required) return 0;
    if (!cJSON_IsArray(*out)) return expect(c, key, "an array", *out);
    int n = cJSON_GetArraySize(*out);
    snprintf(what, sizeof what, "at most %d entries", max);
    if (n > max) return fail(c, key, "expected %s (got %d)", what, n);
    return 0;
}

/* ---- scalar values ----------------------------------------------------------- */

static int expect_int(load_ctx *c, const char *field, int64_t lo, int64_t hi, const cJSON *v) {
    char what[80];
    if (hi >= JSON_INT_MAX)
        snprintf(what, sizeof what, "an integer >= %lld", (long long)lo);
    else
        snprintf(what, sizeof what, "an integer in %lld..%lld", (long long)lo, (long long)hi);
    return expect(c, field, what, v);
}

static int is_int_in(const cJSON *v, int64_t lo, int64_t hi) {
    assert(lo <= hi && hi <= JSON_INT_MAX && lo >= -JSON_INT_MAX);
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
    /* Range first: the cast below is defined only for values in range. */
    return cJSON_IsNumber(v) && d >= (double)lo && d <= (double)hi && d == (double)(int64_t)d;
}

static int int_value(load_ctx *c, const cJSON *v, const char *field, int64_t lo, int64_t hi,
                     int64_t *out) {
    if (!is_int_in(v, lo, hi)) return expect_int(c, field, lo, hi, v);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_i64(load_ctx *c, const cJSON *obj, const char *prefix, const char *key, int64_t lo,
                   int64_t hi, int64_t dflt, int64_t *out) {
    char f[FIELD_BYTES];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL && dflt != REQUIRED) {
        *out = dflt;
        return 0;
    }
    return int_value(c, v, field_of(f, prefix, key), lo, hi, out);
}

static int get_i32(load_ctx *c, const cJSON *obj, const char *prefix, const char *key, int32_t lo,
                   int32_t hi, int64_t dflt, int32_t *out) {
    int64_t v = 0;
    if (get_i64(c, obj, prefix, key, lo, hi, dflt, &v) != 0) return -1;
    assert(v >= INT32_MIN && v <= INT32_MAX);
    *out = (int32_t)v;
    return 0;
}

/* 1..cluster.brokers: no more replicas (or in-sync replicas) than brokers. */
static int get_replicas(load_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                        int32_t dflt, int32_t *out) {
    char f[FIELD_BYTES], what[80];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    int32_t brokers = c->s->cluster.brokers;
    assert(brokers >= 1 && dflt >= 1 && dflt <= brokers);
    snprintf(what, sizeof what, "an integer in 1..%d, at most cluster.brokers", (int)brokers);
    if (v != NULL && !is_int_in(v, 1, brokers)) return expect(c, field_of(f, prefix, key), what, v);
    *out = v != NULL ? (int32_t)v->valuedouble : dflt;
    return 0;
}

/* An integer >= lo, or null (stored as -1). */
static int get_nullable(load_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                        int64_t lo, int64_t dflt, int64_t *out) {
    char f[FIELD_BYTES], what[64];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = v == NULL ? dflt : -1;
    if (v == NULL || cJSON_IsNull(v)) return 0;
    snprintf(what, sizeof what, "null or an integer >= %lld", (long long)lo);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    if (!cJSON_IsNumber(v) || d < (double)lo || d > (double)JSON_INT_MAX || d != (double)(int64_t)d)
        return expect(c, field_of(f, prefix, key), what, v);
    *out = (int64_t)d;
    return 0;
}

/* Seconds (fractions allowed) to integer units: 1e6 for µs, 1e3 for ms. */
static int seconds_value(load_ctx *c, const cJSON *v, const char *field, double units,
                         int64_t *out) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0) || v->valuedouble > SECONDS_MAX)
        return expect(c, field, "a number of seconds in 0..10000000", v);
    *out = (int64_t)(v->valuedouble * units + 0.5);
    return 0;
}

static int get_us(load_ctx *c, const cJSON *obj, const char *prefix, const char *key, int64_t dflt,
                  int64_t *out) {
    char f[FIELD_BYTES];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL && dflt != REQUIRED) {
        *out = dflt;
        return 0;
    }
    return seconds_value(c, v, field_of(f, prefix, key), 1e6, out);
}

static int get_bool(load_ctx *c, const cJSON *obj, const char *prefix, const char *key, int dflt,
                    int *out) {
    char f[FIELD_BYTES];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = v == NULL ? dflt : cJSON_IsTrue(v);
    if (v != NULL && !cJSON_IsBool(v))
        return expect(c, field_of(f, prefix, key), "true or false", v);
    return 0;
}

static int name_value(load_ctx *c, const cJSON *v, const char *field, char *out) {
    char what[64];
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    snprintf(what, sizeof what, "a string of 1..%d bytes", SCENARIO_NAME_BYTES_MAX - 1);
    if (len == 0 || len >= SCENARIO_NAME_BYTES_MAX) return expect(c, field, what, v);
    memcpy(out, v->valuestring, len + 1);
    return 0;
}

static int get_name(load_ctx *c, const cJSON *obj, const char *prefix, const char *key, char *out) {
    char f[FIELD_BYTES];
    return name_value(c, cJSON_GetObjectItemCaseSensitive(obj, key), field_of(f, prefix, key), out);
}

static int name_lookup(const scenario_name *names, const char *name, int *out) {
    for (int i = 0; names[i].name != NULL; i++) {
        if (strcmp(names[i].name, name) != 0) continue;
        *out = names[i].value;
        return 0;
    }
    return -1;
}

static const char *name_of(const scenario_name *names, int value) {
    for (int i = 0; names[i].name != NULL; i++)
        if (names[i].value == value) return names[i].name;
    return "?";
}

static int get_enum(load_ctx *c, const cJSON *obj, const char *prefix, const char *key,
                    const scenario_name *names, int dflt, int *out) {
    char f[FIELD_BYTES], what[WHAT_BYTES], list[WHAT_BYTES];
    const char *spellings[8];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = dflt;
    if (v == NULL || (cJSON_IsString(v) && name_lookup(names, v->valuestring, out) == 0)) return 0;
    int n = 0;
    for (; names[n].name != NULL && n < 7; n++) spellings[n] = names[n].name;
    spellings[n] = NULL;
    snprintf(what, sizeof what, "one of %s", join_names(list, sizeof list, spellings, "\""));
    return expect(c, field_of(f, prefix, key), what, v);
}

/* acks: "all", -1, 0, 1, or those numbers as strings. */
static int get_acks(load_ctx *c, const cJSON *obj, const char *prefix, int16_t *out) {
    char f[FIELD_BYTES];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "acks");
    int acks = SCENARIO_ACKS_ALL;
    int ok =
        v == NULL || (cJSON_IsString(v) && name_lookup(acks_names, v->valuestring, &acks) == 0);
    if (!ok && is_int_in(v, -1, 1)) {
        acks = (int)v->valuedouble;
        ok = 1;
    }
    if (!ok) return expect(c, field_of(f, prefix, "acks"), "\"all\", -1, 0 or 1", v);
    *out = (int16_t)acks;
    return 0;
}

/* [min, max]: integers (units 1) or seconds scaled to units; lo <= min <= max. */
static int range_value(load_ctx *c, const cJSON *v, const char *field, double units, int64_t lo,
                       int64_t out[2]) {
    char what[WHAT_BYTES];
    if (units == 1.0)
        snprintf(what, sizeof what, "[min, max] integers, %lld <= min <= max", (long long)lo);
    else
        snprintf(what, sizeof what, "[min, max] seconds, 0 %s min <= max", lo > 0 ? "<" : "<=");
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) return expect(c, field, what, v);
    for (int i = 0; i < 2; i++) {
        const cJSON *x = cJSON_GetArrayItem(v, i);
        double d = cJSON_IsNumber(x) ? x->valuedouble * units : -1.0;
        if (!(d >= 0.0) || d > SECONDS_MAX * 1e3) return expect(c, field, what, v);
        if (units == 1.0 && d != (double)(int64_t)d) return expect(c, field, what, v);
        out[i] = (int64_t)(d + 0.5);
    }
    if (out[0] < lo || out[0] > out[1]) return expect(c, field, what, v);
    return 0;
}

/* ---- reading and parsing ----------------------------------------------------- */

static int read_file(load_ctx *c, FILE *f) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL && !ferror(f) && !feof(f) && len < (size_t)SOURCE_BYTES_MAX) {
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) free(buf);
            buf = bigger, cap *= 2;
            if (buf == NULL) break;
        }
        len += fread(buf + len, 1, cap - 1 - len, f);
    }
    int failed = buf == NULL || ferror(f) || len >= (size_t)SOURCE_BYTES_MAX;
    int error = errno;
    if (failed) free(buf);
    if (buf == NULL) return fail(c, "file", "expected a readable file (got out of memory)");
    if (failed && len >= (size_t)SOURCE_BYTES_MAX)
        return fail(c, "file", "expected at most %ld bytes (got more)", SOURCE_BYTES_MAX);
    if (failed) return fail(c, "file", "expected a readable file (got %s)", strerror(error));
    buf[len] = '\0';
    c->s->source_json = buf;
    return 0;
}

static int read_source(load_ctx *c, const char *path, const char *json_text) {
    if (json_text != NULL) {
        c->s->source_json = strdup(json_text);
        if (c->s->source_json == NULL) return fail(c, "file", "expected memory (got none)");
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) return fail(c, "file", "expected a readable file (got %s)", strerror(errno));
    int rc = read_file(c, f);
    fclose(f);
    return rc;
}

static int parse_source(load_ctx *c, cJSON **root) {
    const char *text = c->s->source_json, *end = NULL;
    char field[64], near[24];
    *root = cJSON_ParseWithOpts(text, &end, 1);
    if (*root != NULL) return 0;
    if (end == NULL || end < text) end = text;
    /* cJSON stops just after a stray ',' or ':' it could not use: point at it. */
    if (end > text && (end[-1] == ',' || end[-1] == ':') &&
        (*end == '\0' || strchr(" \t\r\n", *end)))
        end--;
    int line = 1, column = 1;
    for (const char *p = text; p < end && *p != '\0'; p++) {
        column = *p == '\n' ? 1 : column + 1;
        line += *p == '\n';
    }
    snprintf(field, sizeof field, "line %d, column %d", line, column);
    size_t n = strcspn(end, "\r\n");
    snprintf(near, sizeof near, "%.*s", (int)(n < 16 ? n : 16), end);
    if (*end == '\0') return fail(c, field, "expected valid JSON (got the end of the text)");
    return fail(c, field, "expected valid JSON (got a syntax error at \"%s\")", near);
}

/* ---- --set overrides ----------------------------------------------------------- */

static const char *const *schema_child(const char *const *keys, const char *key, int *is_array) {
    for (size_t i = 0; i < sizeof schema_edges / sizeof schema_edges[0]; i++) {
        if (schema_edges[i].parent != keys || strcmp(schema_edges[i].key, key) != 0) continue;
        *is_array = schema_edges[i].is_array;
        return schema_edges[i].child;
    }
    *is_array = 0;
    return NULL;
}

/* The element of arr at index seg (all digits) or whose "name" is seg. */
static cJSON *array_element(cJSON *arr, const char *seg) {
    if (seg[0] != '\0' && strspn(seg, "0123456789") == strlen(seg))
        return strlen(seg) < 9 ? cJSON_GetArrayItem(arr, atoi(seg)) : NULL;
    cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (cJSON_IsString(name) && strcmp(name->valuestring, seg) == 0) return e;
    }
    return NULL;
}

static int set_member(load_ctx *c, cJSON *obj, const char *key, const char *value,
                      const char *field) {
    cJSON *v = cJSON_ParseWithOpts(value, NULL, 1);
    if (v == NULL) v = cJSON_CreateString(value);
    if (v == NULL) return fail(c, field, "expected memory (got none)");
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(v);
        return expect(c, field, "a path through objects", obj);
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
    return 0;
}

/* One step down from obj through its member seg, creating a missing object. */
static cJSON *descend(cJSON *obj, const char *seg, int is_array) {
    cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, seg);
    if (!cJSON_IsObject(obj) || is_array) return child;
    if (child == NULL) return cJSON_AddObjectToObject(obj, seg);
    if (cJSON_IsNull(child)) {
        cJSON_ReplaceItemInObjectCaseSensitive(obj, seg, cJSON_CreateObject());
        return cJSON_GetObjectItemCaseSensitive(obj, seg);
    }
    return child;
}

static int apply_override(load_ctx *c, cJSON *root, const scenario_override *o) {
    char path[FIELD_BYTES], field[FIELD_BYTES + 8], *save = NULL;
    assert(o->key != NULL && o->value != NULL);
    snprintf(field, sizeof field, "--set %s", o->key);
    if (strlen(o->key) >= sizeof path) return fail(c, field, "expected a shorter key (got longer)");
    snprintf(path, sizeof path, "%s", o->key);
    cJSON *node = root;
    const char *const *keys = root_keys;
    int in_array = 0;
    for (char *seg = strtok_r(path, ".", &save); seg != NULL;) {
        char *next = strtok_r(NULL, ".", &save);
        if (in_array) {
            node = array_element(node, seg);
            in_array = 0;
            if (node == NULL)
                return fail(c, field, "expected an element index or name (got \"%s\")", seg);
            if (next == NULL) return fail(c, field, "expected a key after \"%s\" (got none)", seg);
        } else if (keys == NULL) {
            return fail(c, field, "expected nothing after a value (got \"%s\")", seg);
        } else if (!key_known(keys, seg)) {
            char list[WHAT_BYTES];
            return fail(c, field, "expected a known key: %s (got \"%s\")",
                        join_names(list, sizeof list, keys, ""), seg);
        } else if (next == NULL) {
            return set_member(c, node, seg, o->value, field);
        } else {
            const char *const *child_keys = schema_child(keys, seg, &in_array);
            node = child_keys != NULL ? descend(node, seg, in_array) : NULL;
            if (child_keys != NULL && node == NULL)
                return fail(c, field, "expected an existing \"%s\" (got none)", seg);
            keys = child_keys;
        }
        seg = next;
    }
    return fail(c, field, "expected a key (got none)");
}

int scenario_override_parse(char *arg, scenario_override *o) {
    assert(arg != NULL && o != NULL);
    char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) return -1;
    *eq = '\0';
    o->key = arg;
    o->value = eq + 1;
    return 0;
}

/* ---- sections ------------------------------------------------------------------- */

/* root[key] checked against keys; *out is NULL when absent (then every default). */
static int section(load_ctx *c, const cJSON *root, const char *key, const char *const *keys,
                   const cJSON **out) {
    *out = cJSON_GetObjectItemCaseSensitive(root, key);
    if (*out == NULL) return 0;
    return check_object(c, *out, key, keys);
}

static int load_cluster(load_ctx *c, const cJSON *root) {
    scenario_cluster *k = &c->s->cluster;
    const cJSON *o;
    int truncation = 0;
    if (section(c, root, "cluster", cluster_keys, &o) != 0 ||
        get_i32(c, o, "cluster", "brokers", 1, SCENARIO_BROKERS_MAX, 3, &k->brokers) != 0)
        return -1;
    int32_t rf_dflt = k->brokers < 3 ? k->brokers : 3;
    const char *p = "cluster";
    if (get_replicas(c, o, p, "min_insync_replicas", 1, &k->min_insync_replicas) ||
        get_i64(c, o, p, "replica_lag_time_max_ms", 1, JSON_INT_MAX, 30000,
                &k->replica_lag_time_max_ms) ||
        get_bool(c, o, p, "unclean_leader_election", 0, &k->unclean_leader_election) ||
        get_enum(c, o, p, "truncation", truncation_names, 0, &truncation) ||
        get_nullable(c, o, p, "flush_interval_ms", 0, -1, &k->flush_interval_ms) ||
        get_i32(c, o, p, "offsets_topic_partitions", 1, SCENARIO_PARTITIONS_MAX, 50,
                &k->offsets_topic_partitions) ||
        get_nullable(c, o, p, "retention_ms", 1, 604800000, &k->retention_ms) ||
        get_nullable(c, o, p, "retention_bytes", 1, -1, &k->retention_bytes) ||
        get_i64(c, o, p, "segment_bytes", 1024, INT32_MAX, 1LL << 30, &k->segment_bytes) ||
        get_bool(c, o, p, "auto_create_topics", 1, &k->auto_create_topics) ||
        get_i32(c, o, p, "default_partitions", 1, SCENARIO_PARTITIONS_MAX, 3,
                &k->default_partitions) ||
        get_replicas(c, o, p, "default_replication_factor", rf_dflt,
                     &k->default_replication_factor))
        return -1;
    k->truncation = (enum scenario_truncation)truncation;
    return 0;
}

static int load_network(load_ctx *c, const cJSON *root) {
    scenario_network *n = &c->s->network;
    const cJSON *o, *v;
    int64_t latency[2] = {1, 5};
    if (section(c, root, "network", network_keys, &o) != 0) return -1;
    v = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
    if (v != NULL && range_value(c, v, "network.latency_ms", 1.0, 0, latency) != 0) return -1;
    n->latency_ms_min = latency[0];
    n->latency_ms_max = latency[1];
    v = cJSON_GetObjectItemCaseSensitive(o, "drop_rate");
    if (v != NULL && (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 1.0)))
        return expect(c, "network.drop_rate", "a number in 0..1", v);
    n->drop_rate_ppm = v == NULL ? 0 : (uint32_t)(v->valuedouble * 1e6 + 0.5);
    return 0;
}

static int duplicate(load_ctx *c, const char *prefix, const char *what, const char *name,
                     int earlier) {
    char f[FIELD_BYTES];
    return fail(c, field_of(f, prefix, "name"), "expected a unique name (got \"%s\", as %s[%d])",
                name, what, earlier);
}

static int load_topic(load_ctx *c, const cJSON *t, int i) {
    scenario *s = c->s;
    scenario_topic *tp = &s->topics[i];
    char p[FIELD_BYTES];
    snprintf(p, sizeof p, "topics[%d]", i);
    if (check_object(c, t, p, topic_keys) || get_name(c, t, p, "name", tp->name) ||
        get_i32(c, t, p, "partitions", 1, SCENARIO_PARTITIONS_MAX, s->cluster.default_partitions,
                &tp->partitions) ||
        get_replicas(c, t, p, "replication_factor", s->cluster.default_replication_factor,
                     &tp->replication_factor))
        return -1;
    int earlier = scenario_topic_index(s, tp->name);
    if (earlier >= 0) return duplicate(c, p, "topics", tp->name, earlier);
    s->topic_count = i + 1;
    return 0;
}

static int load_topics(load_ctx *c, const cJSON *root) {
    const cJSON *arr, *t;
    int i = 0;
    if (get_array(c, root, "topics", 1, SCENARIO_TOPICS_MAX, &arr) != 0) return -1;
    cJSON_ArrayForEach(t, arr) {
        if (load_topic(c, t, i++) != 0) return -1;
    }
    return 0;
}

static int topic_ref(load_ctx *c, const cJSON *v, const char *field, char *out) {
    if (name_value(c, v, field, out) != 0) return -1;
    if (scenario_topic_index(c->s, out) < 0) return expect(c, field, "an existing topic", v);
    return 0;
}

static int producer_flags(load_ctx *c, const cJSON *pr, const char *p, scenario_producer *d) {
    char f[FIELD_BYTES];
    const cJSON *idem = cJSON_GetObjectItemCaseSensitive(pr, "idempotent");
    /* As the Java client: idempotence defaults on only where acks allow it, and
     * asking for it explicitly with acks other than all is an error. */
    if (get_acks(c, pr, p, &d->acks) ||
        get_bool(c, pr, p, "idempotent", d->acks == SCENARIO_ACKS_ALL, &d->idempotent))
        return -1;
    if (idem != NULL && d->idempotent && d->acks != SCENARIO_ACKS_ALL)
        return expect(c, field_of(f, p, "idempotent"), "false when acks is not \"all\"", idem);
    return 0;
}

static int load_producer(load_ctx *c, const cJSON *pr, int i) {
    scenario *s = c->s;
    scenario_producer *d = &s->producers[i];
    char p[FIELD_BYTES], f[FIELD_BYTES];
    snprintf(p, sizeof p, "producers[%d]", i);
    if (check_object(c, pr, p, producer_keys) || get_name(c, pr, p, "name", d->name) ||
        topic_ref(c, cJSON_GetObjectItemCaseSensitive(pr, "topic"), field_of(f, p, "topic"),
                  d->topic) ||
        get_i32(c, pr, p, "rate_per_s", 0, RATE_PER_S_MAX, 100, &d->rate_per_s) ||
        producer_flags(c, pr, p, d) ||
        get_i32(c, pr, p, "value_bytes", 0, VALUE_BYTES_MAX, 100, &d->value_bytes) ||
        get_i32(c, pr, p, "keys", 0, INT32_MAX, 0, &d->keys) ||
        get_i64(c, pr, p, "linger_ms", 0, JSON_INT_MAX, 5, &d->linger_ms) ||
        get_i32(c, pr, p, "batch_bytes", 1, INT32_MAX, 16384, &d->batch_bytes) ||
        get_i64(c, pr, p, "delivery_timeout_ms", 1, JSON_INT_MAX, 120000, &d->delivery_timeout_ms))
        return -1;
    for (int j = 0; j < i; j++)
        if (strcmp(s->producers[j].name, d->name) == 0)
            return duplicate(c, p, "producers", d->name, j);
    s->producer_count = i + 1;
    return 0;
}

static int load_producers(load_ctx *c, const cJSON *root) {
    const cJSON *arr, *pr;
    int i = 0;
    if (get_array(c, root, "producers", 0, SCENARIO_PRODUCERS_MAX, &arr) != 0) return -1;
    cJSON_ArrayForEach(pr, arr) {
        if (load_producer(c, pr, i++) != 0) return -1;
    }
    return 0;
}

static int load_group_topics(load_ctx *c, const cJSON *g, const char *p, scenario_group *d) {
    char f[FIELD_BYTES], what[64];
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(g, "topics"), *t;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    snprintf(what, sizeof what, "an array of 1..%d topic names", SCENARIO_GROUP_TOPICS_MAX);
    if (n < 1 || n > SCENARIO_GROUP_TOPICS_MAX)
        return expect(c, field_of(f, p, "topics"), what, arr);
    cJSON_ArrayForEach(t, arr) {
        char index[24];
        snprintf(index, sizeof index, "topics[%d]", d->topic_count);
        field_of(f, p, index);
        if (topic_ref(c, t, f, d->topics[d->topic_count]) != 0) return -1;
        d->topic_count++;
    }
    return 0;
}

static int group_timeouts(load_ctx *c, const cJSON *g, const char *p, scenario_group *d) {
    char f[FIELD_BYTES];
    if (get_i64(c, g, p, "session_timeout_ms", 1, JSON_INT_MAX, 45000, &d->session_timeout_ms) ||
        get_i64(c, g, p, "heartbeat_interval_ms", 1, JSON_INT_MAX, 3000,
                &d->heartbeat_interval_ms) ||
        get_i64(c, g, p, "auto_commit_interval_ms", 0, JSON_INT_MAX, 5000,
                &d->auto_commit_interval_ms))
        return -1;
    /* The Java consumer refuses a heartbeat interval not below the session timeout. */
    if (d->heartbeat_interval_ms >= d->session_timeout_ms)
        return fail(c, field_of(f, p, "heartbeat_interval_ms"),
                    "expected less than session_timeout_ms %lld (got %lld)",
                    (long long)d->session_timeout_ms, (long long)d->heartbeat_interval_ms);
    return 0;
}

static int load_group(load_ctx *c, const cJSON *g, int i) {
    scenario *s = c->s;
    scenario_group *d = &s->groups[i];
    char p[FIELD_BYTES];
    int assignor = 0, reset = 0;
    snprintf(p, sizeof p, "groups[%d]", i);
    if (check_object(c, g, p, group_keys) || get_name(c, g, p, "name", d->name) ||
        load_group_topics(c, g, p, d) ||
        get_i32(c, g, p, "consumers", 0, SCENARIO_CONSUMERS_MAX, 1, &d->consumers) ||
        get_enum(c, g, p, "assignor", assignor_names, SCENARIO_ASSIGNOR_RANGE, &assignor) ||
        group_timeouts(c, g, p, d) ||
        get_enum(c, g, p, "auto_offset_reset", reset_names, SCENARIO_RESET_LATEST, &reset))
        return -1;
    d->assignor = (enum scenario_assignor)assignor;
    d->auto_offset_reset = (enum scenario_offset_reset)reset;
    int earlier = scenario_group_index(s, d->name);
    if (earlier >= 0) return duplicate(c, p, "groups", d->name, earlier);
    s->group_count = i + 1;
    return 0;
}

static int load_groups(load_ctx *c, const cJSON *root) {
    const cJSON *arr, *g;
    int i = 0;
    if (get_array(c, root, "groups", 0, SCENARIO_GROUPS_MAX, &arr) != 0) return -1;
    cJSON_ArrayForEach(g, arr) {
        if (load_group(c, g, i++) != 0) return -1;
    }
    return 0;
}

/* ---- faults ------------------------------------------------------------------- */

static int broker_id(load_ctx *c, const cJSON *v, int32_t *out) {
    double d = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
    if (!(d >= 1.0 && d <= (double)c->s->cluster.brokers) || d != (double)(int32_t)d) return -1;
    *out = (int32_t)d;
    return 0;
}

static int expect_broker(load_ctx *c, const char *field, const char *extra, const cJSON *v) {
    char what[WHAT_BYTES];
    snprintf(what, sizeof what, "a broker id in 1..%d%s", c->s->cluster.brokers, extra);
    return expect(c, field, what, v);
}

/* "leader:TOPIC/P" with TOPIC existing and P one of its partitions. */
static int leader_target(load_ctx *c, const char *text, scenario_target *t) {
    const char *slash = strrchr(text, '/');
    if (strncmp(text, "leader:", 7) != 0 || slash == NULL) return -1;
    size_t len = (size_t)(slash - (text + 7));
    if (len == 0 || len >= SCENARIO_NAME_BYTES_MAX) return -1;
    memcpy(t->topic, text + 7, len);
    t->topic[len] = '\0';
    int topic = scenario_topic_index(c->s, t->topic);
    const char *digits = slash + 1;
    if (topic < 0 || digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits) ||
        strlen(digits) > 6)
        return -1;
    t->partition = atoi(digits);
    t->kind = SCENARIO_TARGET_LEADER;
    return t->partition < c->s->topics[topic].partitions ? 0 : -1;
}

/* "coordinator:GROUP": the leader of the __consumer_offsets partition that holds
 * GROUP's offsets, kafka_abs(java_string_hash(GROUP)) % offsets_topic_partitions
 * (DESIGN.md §2; the hash runs over the name's bytes, as Java's over ASCII). */
static int coordinator_target(load_ctx *c, const char *text, scenario_target *t) {
    if (strncmp(text, "coordinator:", 12) != 0 || scenario_group_index(c->s, text + 12) < 0)
        return -1;
    uint32_t h = 0;
    for (const char *p = text + 12; *p; p++) h = 31 * h + (uint8_t)*p;
    int32_t hash = (int32_t)h;
    int32_t abs = hash == INT32_MIN ? 0 : hash < 0 ? -hash : hash; /* Kafka's Utils.abs */
    snprintf(t->topic, sizeof t->topic, "__consumer_offsets");
    t->partition = abs % (int32_t)c->s->cluster.offsets_topic_partitions;
    snprintf(t->group, sizeof t->group, "%s", text + 12);
    t->kind = SCENARIO_TARGET_COORDINATOR;
    return 0;
}

static int target_value(load_ctx *c, const cJSON *v, const char *field, int allow_crashed,
                        scenario_target *t) {
    const char *extra =
        allow_crashed ? ", \"controller\", \"crashed\", \"leader:TOPIC/P\" or "
                        "\"coordinator:GROUP\" (existing)"
                      : ", \"controller\", \"leader:TOPIC/P\" or \"coordinator:GROUP\" (existing)";
    const char *text = cJSON_IsString(v) ? v->valuestring : "";
    if (broker_id(c, v, &t->broker) == 0)
        t->kind = SCENARIO_TARGET_BROKER;
    else if (strcmp(text, "controller") == 0)
        t->kind = SCENARIO_TARGET_CONTROLLER;
    else if (allow_crashed && strcmp(text, "crashed") == 0)
        t->kind = SCENARIO_TARGET_CRASHED;
    else if (leader_target(c, text, t) != 0 && coordinator_target(c, text, t) != 0)
        return expect_broker(c, field, extra, v);
    return 0;
}

static int parse_crash(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    return target_value(c, v, field, 0, &f->target);
}

static int parse_restart(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    return target_value(c, v, field, 1, &f->target);
}

/* [a, b]: two distinct broker ids. */
static int link_value(load_ctx *c, const cJSON *v, const char *field, int32_t link[2]) {
    int ok = cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 &&
             broker_id(c, cJSON_GetArrayItem(v, 0), &link[0]) == 0 &&
             broker_id(c, cJSON_GetArrayItem(v, 1), &link[1]) == 0 && link[0] != link[1];
    return ok ? 0 : expect_broker(c, field, " pair [a, b], a != b", v);
}

static int parse_cut(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    return link_value(c, v, field, f->link);
}

static int parse_heal(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    if (cJSON_IsTrue(v)) {
        f->heal_all = 1;
        return 0;
    }
    if (cJSON_IsArray(v)) return link_value(c, v, field, f->link);
    return expect(c, field, "true or a link [a, b]", v);
}

static int parse_slow(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    char f2[FIELD_BYTES];
    int64_t latency[2];
    if (check_object(c, v, field, slow_keys) ||
        link_value(c, cJSON_GetObjectItemCaseSensitive(v, "link"), field_of(f2, field, "link"),
                   f->link) ||
        range_value(c, cJSON_GetObjectItemCaseSensitive(v, "latency_ms"),
                    field_of(f2, field, "latency_ms"), 1.0, 0, latency))
        return -1;
    f->slow_latency_ms_min = latency[0];
    f->slow_latency_ms_max = latency[1];
    return 0;
}

static int parse_split(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    char what[WHAT_BYTES];
    const cJSON *side, *id;
    int n = 0;
    snprintf(what, sizeof what, "sides [[id, ...], ...] of broker ids in 1..%d, each id once",
             c->s->cluster.brokers);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) return expect(c, field, what, v);
    cJSON_ArrayForEach(side, v) {
        n++;
        if (!cJSON_IsArray(side) || cJSON_GetArraySize(side) == 0) return expect(c, field, what, v);
        cJSON_ArrayForEach(id, side) {
            int32_t b = 0;
            if (broker_id(c, id, &b) != 0 || f->split_side[b] != 0)
                return expect(c, field, what, v);
            f->split_side[b] = n;
        }
    }
    return 0;
}

/* "GROUP/N" (with_number) or "GROUP": the group index, or -1 after an error. */
static int group_ref(load_ctx *c, const cJSON *v, const char *field, int with_number,
                     scenario_fault *f) {
    const char *text = cJSON_IsString(v) ? v->valuestring : "";
    const char *slash = with_number ? strrchr(text, '/') : text + strlen(text);
    size_t len = slash != NULL ? (size_t)(slash - text) : 0;
    int g = -1;
    if (len > 0 && len < SCENARIO_NAME_BYTES_MAX) {
        memcpy(f->group, text, len);
        f->group[len] = '\0';
        g = scenario_group_index(c->s, f->group);
    }
    if (g < 0)
        expect(c, field, with_number ? "\"GROUP/N\" of an existing group" : "an existing group", v);
    return g;
}

static int parse_crash_consumer(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    char what[WHAT_BYTES];
    int g = group_ref(c, v, field, 1, f);
    if (g < 0) return -1;
    const char *digits = strrchr(v->valuestring, '/') + 1;
    int32_t max = c->group_consumers[g];
    snprintf(what, sizeof what, "a consumer number in 1..%d for group \"%s\" then", max, f->group);
    if (digits[0] == '\0' || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 6)
        return expect(c, field, what, v);
    f->consumer = atoi(digits);
    if (f->consumer < 1 || f->consumer > max) return expect(c, field, what, v);
    return 0;
}

static int parse_add_consumer(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f) {
    int g = group_ref(c, v, field, 0, f);
    if (g < 0) return -1;
    c->group_consumers[g]++;
    return 0;
}

typedef int (*fault_parse_fn)(load_ctx *c, const cJSON *v, const char *field, scenario_fault *f);

static const struct fault_spec {
    const char *key;
    enum scenario_fault_kind kind;
    fault_parse_fn parse;
} fault_specs[] = {
    {"crash", SCENARIO_FAULT_CRASH, parse_crash},
    {"restart", SCENARIO_FAULT_RESTART, parse_restart},
    {"power_off", SCENARIO_FAULT_POWER_OFF, parse_crash},
    {"split", SCENARIO_FAULT_SPLIT, parse_split},
    {"isolate", SCENARIO_FAULT_ISOLATE, parse_crash},
    {"cut", SCENARIO_FAULT_CUT, parse_cut},
    {"slow", SCENARIO_FAULT_SLOW, parse_slow},
    {"heal", SCENARIO_FAULT_HEAL, parse_heal},
    {"crash_consumer", SCENARIO_FAULT_CRASH_CONSUMER, parse_crash_consumer},
    {"add_consumer", SCENARIO_FAULT_ADD_CONSUMER, parse_add_consumer},
};
#define FAULT_SPEC_COUNT (sizeof fault_specs / sizeof fault_specs[0])

/* The one fault key of f besides at_s, or NULL after an error. */
static const struct fault_spec *fault_kind(load_ctx *c, const cJSON *f, const char *p,
                                           const cJSON **value) {
    const struct fault_spec *found = NULL;
    int n = 0;
    for (size_t k = 0; k < FAULT_SPEC_COUNT; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, fault_specs[k].key);
        if (v == NULL) continue;
        n++;
        found = &fault_specs[k];
        *value = v;
    }
    if (n == 1) return found;
    fail(c, p,
         "expected exactly one of crash, restart, power_off, split, isolate, cut, slow, "
         "heal, crash_consumer, add_consumer (got %d)",
         n);
    return NULL;
}

static int fault_time(load_ctx *c, const cJSON *f, const char *p, int i, scenario_fault *d) {
    char field[FIELD_BYTES], what[96];
    const scenario *s = c->s;
    if (get_us(c, f, p, "at_s", REQUIRED, &d->at_us) != 0) return -1;
    field_of(field, p, "at_s");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "at_s");
    if (d->at_us > s->duration_us) {
        snprintf(what, sizeof what, "a time in 0..duration_s (%g)", (double)s->duration_us / 1e6);
        return expect(c, field, what, v);
    }
    if (i > 0 && d->at_us < s->faults[i - 1].at_us) {
        snprintf(what, sizeof what, "faults in time order, at or after faults[%d].at_s = %g", i - 1,
                 (double)s->faults[i - 1].at_us / 1e6);
        return expect(c, field, what, v);
    }
    return 0;
}

static int load_fault(load_ctx *c, const cJSON *f, int i) {
    scenario_fault *d = &c->s->faults[i];
    const cJSON *v = NULL;
    char p[FIELD_BYTES], field[FIELD_BYTES];
    snprintf(p, sizeof p, "faults[%d]", i);
    if (check_object(c, f, p, fault_keys) || fault_time(c, f, p, i, d)) return -1;
    const struct fault_spec *spec = fault_kind(c, f, p, &v);
    if (spec == NULL) return -1;
    d->kind = spec->kind;
    if (spec->parse(c, v, field_of(field, p, spec->key), d) != 0) return -1;
    c->s->fault_count = i + 1;
    return 0;
}

static int load_faults(load_ctx *c, const cJSON *root) {
    const cJSON *arr, *f;
    int i = 0;
    for (int g = 0; g < c->s->group_count; g++) c->group_consumers[g] = c->s->groups[g].consumers;
    if (get_array(c, root, "faults", 0, SCENARIO_FAULTS_MAX, &arr) != 0) return -1;
    cJSON_ArrayForEach(f, arr) {
        if (load_fault(c, f, i++) != 0) return -1;
    }
    return 0;
}

/* ---- chaos -------------------------------------------------------------------- */

/* *_every_s: [min, max] seconds > 0 as ms; null or absent = off (0, 0). */
static int chaos_range(load_ctx *c, const cJSON *o, const char *key, int64_t lo_ms,
                       int64_t dflt_min, int64_t dflt_max, int64_t *min, int64_t *max) {
    char f[FIELD_BYTES];
    int64_t r[2] = {dflt_min, dflt_max};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v != NULL && !cJSON_IsNull(v) &&
        range_value(c, v, field_of(f, "chaos", key), 1e3, lo_ms, r))
        return -1;
    if (cJSON_IsNull(v)) r[0] = r[1] = 0;
    *min = r[0];
    *max = r[1];
    return 0;
}

static int chaos_window(load_ctx *c, const cJSON *o, scenario_chaos *ch) {
    const scenario *s = c->s;
    if (get_us(c, o, "chaos", "from_s", 0, &ch->from_us) ||
        get_us(c, o, "chaos", "until_s", REQUIRED, &ch->until_us))
        return -1;
    const cJSON *until = cJSON_GetObjectItemCaseSensitive(o, "until_s");
    if (ch->until_us < ch->from_us)
        return expect(c, "chaos.until_s", "a time at or after chaos.from_s", until);
    /* Everything heals at until_s; the liveness phase must fit before the end. */
    if (s->duration_us < ch->until_us + s->liveness_us)
        return fail(c, "duration_s",
                    "expected at least chaos.until_s + liveness_s = %g for the liveness phase "
                    "(got %g)",
                    (double)(ch->until_us + s->liveness_us) / 1e6, (double)s->duration_us / 1e6);
    return 0;
}

static int load_chaos(load_ctx *c, const cJSON *root) {
    scenario_chaos *ch = &c->s->chaos;
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "chaos");
    if (o == NULL || cJSON_IsNull(o)) return 0;
    if (check_object(c, o, "chaos", chaos_keys) || chaos_window(c, o, ch) ||
        chaos_range(c, o, "crash_every_s", 1, 0, 0, &ch->crash_every_ms_min,
                    &ch->crash_every_ms_max) ||
        chaos_range(c, o, "split_every_s", 1, 0, 0, &ch->split_every_ms_min,
                    &ch->split_every_ms_max) ||
        chaos_range(c, o, "down_s", 0, 1000, 10000, &ch->down_ms_min, &ch->down_ms_max) ||
        chaos_range(c, o, "power_off_every_s", 1, 0, 0, &ch->power_off_every_ms_min,
                    &ch->power_off_every_ms_max))
        return -1;
    ch->enabled = 1;
    return 0;
}

/* ---- the whole file ----------------------------------------------------------- */

static int load_head(load_ctx *c, const cJSON *root) {
    scenario *s = c->s;
    int64_t seed = 1;
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (check_object(c, root, "", root_keys) || get_name(c, root, "", "name", s->name) ||
        get_i64(c, root, "", "seed", 0, JSON_INT_MAX, 1, &seed) ||
        get_us(c, root, "", "duration_s", REQUIRED, &s->duration_us) ||
        get_us(c, root, "", "liveness_s", 30000000, &s->liveness_us))
        return -1;
    if (s->duration_us <= 0)
        return expect(c, "duration_s", "a number of seconds > 0",
                      cJSON_GetObjectItemCaseSensitive(root, "duration_s"));
    if (desc != NULL && !cJSON_IsString(desc)) return expect(c, "description", "a string", desc);
    s->seed = (uint64_t)seed;
    s->description = strdup(desc != NULL ? desc->valuestring : "");
    if (s->description == NULL) return fail(c, "description", "expected memory (got none)");
    return 0;
}

typedef int (*section_loader)(load_ctx *c, const cJSON *root);

static int load_root(load_ctx *c, const cJSON *root) {
    static const section_loader loaders[] = {load_head,   load_cluster,   load_network,
                                             load_topics, load_producers, load_groups,
                                             load_faults, load_chaos};
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++)
        if (loaders[i](c, root) != 0) return -1;
    return 0;
}

int scenario_load(scenario *s, const char *path, const char *json_text,
                  const scenario_override *overrides, int override_count, char *err,
                  size_t err_len) {
    assert(s != NULL && err != NULL && err_len > 0);
    assert(path != NULL || json_text != NULL);
    assert(override_count == 0 || overrides != NULL);
    memset(s, 0, sizeof *s);
    err[0] = '\0';
    load_ctx c = {.s = s, .file = path != NULL ? path : "<text>", .err = err, .err_len = err_len};
    snprintf(s->path, sizeof s->path, "%s", c.file);
    cJSON *root = NULL;
    int rc = read_source(&c, path, json_text);
    if (rc == 0) rc = parse_source(&c, &root);
    for (int i = 0; rc == 0 && i < override_count; i++)
        rc = apply_override(&c, root, &overrides[i]);
    if (rc == 0) rc = load_root(&c, root);
    cJSON_Delete(root);
    if (rc != 0) scenario_free(s);
    assert(rc == 0 || err[0] != '\0');
    return rc;
}

void scenario_free(scenario *s) {
    if (s == NULL) return;
    free(s->description);
    free(s->source_json);
    s->description = NULL;
    s->source_json = NULL;
}

int scenario_topic_index(const scenario *s, const char *name) {
    for (int i = 0; i < s->topic_count; i++)
        if (strcmp(s->topics[i].name, name) == 0) return i;
    return -1;
}

int scenario_group_index(const scenario *s, const char *name) {
    for (int i = 0; i < s->group_count; i++)
        if (strcmp(s->groups[i].name, name) == 0) return i;
    return -1;
}

void scenario_mark_not_simulated(scenario *s, const char *key) {
    assert(s != NULL && key != NULL);
    for (int i = 0; i < s->not_simulated_count; i++)
        if (strcmp(s->not_simulated[i], key) == 0) return;
    if (s->not_simulated_count < SCENARIO_NOT_SIMULATED_MAX)
        s->not_simulated[s->not_simulated_count++] = key;
}

const char *scenario_truncation_name(enum scenario_truncation t) {
    return name_of(truncation_names, (int)t);
}

const char *scenario_assignor_name(enum scenario_assignor a) {
    return name_of(assignor_names, (int)a);
}

const char *scenario_offset_reset_name(enum scenario_offset_reset r) {
    return name_of(reset_names, (int)r);
}

const char *scenario_fault_kind_name(enum scenario_fault_kind k) {
    for (size_t i = 0; i < FAULT_SPEC_COUNT; i++)
        if (fault_specs[i].kind == k) return fault_specs[i].key;
    return "?";
}
