#include "group_check.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One consumer's view of one partition. */
typedef struct reader {
    int32_t node, part;
    int owns;     /* between its ASSIGN and its REVOKE */
    int fresh;    /* assigned, nothing consumed yet: may start anywhere */
    int64_t last; /* last offset consumed */
} reader;

/* A member's report of its assignment in the current generation. */
typedef struct reporter {
    int32_t node;
    int32_t expected, seen;
} reporter;

struct group_check {
    char name[64];
    int32_t part_count;
    uint8_t *subscribed;
    /* the current generation */
    int32_t generation; /* -1 before any */
    int32_t members;    /* from OBSERVE_REBALANCE; 0 until it is seen */
    int judged;
    int32_t *owner; /* node per partition, 0 = none */
    reporter *reporters;
    int32_t reporter_count, reporter_cap;
    reader *readers;
    int32_t reader_count, reader_cap;
    int64_t *committed;
    int64_t crash_us; /* a crash waiting for the next stable generation, -1 */
    int64_t recovery_ms;
};

static void *grow(void *p, int32_t *cap, int32_t need, size_t size) {
    if (need <= *cap) return p;
    int32_t n = *cap ? *cap * 2 : 16;
    while (n < need) n *= 2;
    p = realloc(p, (size_t)n * size);
    if (!p) abort();
    *cap = n;
    return p;
}

group_check *group_check_create(const char *group, int32_t part_count, const uint8_t *subscribed) {
    assert(part_count >= 0);
    group_check *g = calloc(1, sizeof *g);
    if (!g) abort();
    snprintf(g->name, sizeof g->name, "%s", group);
    g->part_count = part_count;
    g->subscribed = calloc((size_t)part_count + 1, 1);
    g->owner = calloc((size_t)part_count + 1, sizeof *g->owner);
    g->committed = malloc(((size_t)part_count + 1) * sizeof *g->committed);
    if (!g->subscribed || !g->owner || !g->committed) abort();
    if (part_count) memcpy(g->subscribed, subscribed, (size_t)part_count);
    for (int32_t k = 0; k < part_count; k++) g->committed[k] = -1;
    g->generation = -1;
    g->crash_us = -1;
    g->recovery_ms = -1;
    return g;
}

void group_check_destroy(group_check *g) {
    if (!g) return;
    free(g->subscribed);
    free(g->owner);
    free(g->committed);
    free(g->reporters);
    free(g->readers);
    free(g);
}

static int find(group_finding *f, const char *invariant, int32_t part, int64_t offset,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int find(group_finding *f, const char *invariant, int32_t part, int64_t offset,
                const char *fmt, ...) {
    f->invariant = invariant;
    f->part = part;
    f->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
    return 1;
}

/* ---- generations -------------------------------------------------------------------- */

static void start_generation(group_check *g, int32_t generation) {
    g->generation = generation;
    g->members = 0;
    g->judged = 0;
    g->reporter_count = 0;
    memset(g->owner, 0, (size_t)g->part_count * sizeof *g->owner);
}

/* Complete: as many members as the coordinator counted have reported everything. */
static int judge_complete(group_check *g, group_finding *f) {
    if (g->judged || g->members <= 0) return 0;
    int32_t done = 0;
    for (int32_t i = 0; i < g->reporter_count; i++)
        done += g->reporters[i].seen == g->reporters[i].expected;
    if (done < g->members) return 0;
    g->judged = 1;
    for (int32_t k = 0; k < g->part_count; k++)
        if (g->subscribed[k] && g->owner[k] == 0)
            return find(f, "partition-ownership", k, -1,
                        "group %s: in stable generation %d (%d members, all assigned) this "
                        "partition has no owner",
                        g->name, (int)g->generation, (int)g->members);
    return 0;
}

int group_check_rebalance(group_check *g, int64_t t_us, int32_t generation, int32_t members,
                          group_finding *f) {
    if (generation != g->generation) start_generation(g, generation);
    g->members = members;
    if (g->crash_us >= 0) {
        g->recovery_ms = (t_us - g->crash_us) / 1000;
        g->crash_us = -1;
    }
    return judge_complete(g, f);
}

static reporter *reporter_of(group_check *g, int32_t node, int32_t count) {
    for (int32_t i = 0; i < g->reporter_count; i++)
        if (g->reporters[i].node == node) return &g->reporters[i];
    g->reporters =
        grow(g->reporters, &g->reporter_cap, g->reporter_count + 1, sizeof *g->reporters);
    reporter *r = &g->reporters[g->reporter_count++];
    *r = (reporter){node, count > 0 ? count : 0, 0};
    return r;
}

static reader *reader_of(group_check *g, int32_t node, int32_t part, int create) {
    for (int32_t i = 0; i < g->reader_count; i++)
        if (g->readers[i].node == node && g->readers[i].part == part) return &g->readers[i];
    if (!create) return NULL;
    g->readers = grow(g->readers, &g->reader_cap, g->reader_count + 1, sizeof *g->readers);
    reader *r = &g->readers[g->reader_count++];
    *r = (reader){.node = node, .part = part, .last = -1};
    return r;
}

int group_check_assign(group_check *g, int32_t node, int32_t generation, int32_t part,
                       int32_t count, group_finding *f) {
    if (generation < g->generation && g->members > 0) return 0; /* an older generation's */
    if (generation != g->generation) start_generation(g, generation);
    reporter *rep = reporter_of(g, node, count);
    if (part >= 0) {
        reader *r = reader_of(g, node, part, 1);
        r->owns = 1;
        r->fresh = 1;
    }
    if (part < 0 || part >= g->part_count) return judge_complete(g, f);
    rep->seen++;
    int32_t other = g->owner[part];
    g->owner[part] = node;
    if (other != 0 && other != node)
        return find(f, "partition-ownership", part, -1,
                    "group %s: consumers %d and %d both own this partition in generation %d",
                    g->name, (int)other, (int)node, (int)generation);
    return judge_complete(g, f);
}

void group_check_revoke(group_check *g, int32_t node) {
    for (int32_t i = 0; i < g->reader_count; i++)
        if (g->readers[i].node == node) g->readers[i].owns = 0;
}

void group_check_consumer_crash(group_check *g, int64_t t_us) {
    if (g->crash_us < 0) g->crash_us = t_us;
}

/* ---- consumption and commits ------------------------------------------------------------ */

int group_check_consume(group_check *g, int32_t node, int32_t part, int64_t offset,
                        int64_t offset_last, group_finding *f) {
    if (part < 0) return 0;
    reader *r = reader_of(g, node, part, 0);
    if (!r || !r->owns)
        return find(f, "partition-ownership", part, offset,
                    "group %s: consumer %d consumed offsets %lld..%lld of a partition it does "
                    "not own",
                    g->name, (int)node, (long long)offset, (long long)offset_last);
    int64_t last = r->last;
    int fresh = r->fresh;
    r->fresh = 0;
    r->last = offset_last;
    if (!fresh && offset != last + 1)
        return find(f, "consumer-order", part, offset,
                    "group %s: consumer %d read offset %lld after %lld", g->name, (int)node,
                    (long long)offset, (long long)last);
    if (fresh && offset < g->committed[part]) /* its start came from a stale or lost commit */
        return find(f, "committed-offset-regression", part, offset,
                    "group %s: consumer %d started at offset %lld, below the acknowledged "
                    "commit %lld",
                    g->name, (int)node, (long long)offset, (long long)g->committed[part]);
    return 0;
}

int group_check_commit(group_check *g, int32_t part, int64_t offset, group_finding *f) {
    if (part < 0 || offset < 0) return 0;
    int64_t before = g->committed[part];
    if (offset > before) g->committed[part] = offset;
    if (offset < before)
        return find(f, "committed-offset-regression", part, offset,
                    "group %s: committed offset went from %lld back to %lld", g->name,
                    (long long)before, (long long)offset);
    return 0;
}

int group_check_offset_load(group_check *g, int32_t part, int64_t offset, group_finding *f) {
    if (part < 0 || g->committed[part] < 0 || offset >= g->committed[part]) return 0;
    return find(f, "committed-offset-regression", part, offset,
                "group %s: the coordinator loaded committed offset %lld, below the "
                "acknowledged commit %lld (a lost commit)",
                g->name, (long long)offset, (long long)g->committed[part]);
}

int64_t group_check_committed(const group_check *g, int32_t part) {
    return part >= 0 && part < g->part_count ? g->committed[part] : -1;
}

int64_t group_check_recovery_ms(const group_check *g) {
    return g->recovery_ms;
}
