/*
 * run_summary.c — finishing a run and reporting it (DESIGN.md §5), and the
 * actions a trainer or a replay injects between events.
 */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "sim_producer.h"
#include "sim_run_internal.h"
#include "trace.h"

/* ---- numbers the summary needs ----------------------------------------------------- */

typedef struct run_totals {
    int64_t produced, acked, failed;
} run_totals;

static run_totals totals(const sim_run *r) {
    run_totals t = {0};
    for (int32_t i = 0; i < r->s->producer_count; i++) {
        sim_producer_stats ps = sim_producer_get_stats(r->producers[i].impl);
        t.produced += ps.produced;
        t.acked += ps.acked;
        t.failed += ps.failed;
    }
    return t;
}

static double ratio(double a, double b) {
    return b > 0 ? a / b : 0;
}

/* ---- JSON ----------------------------------------------------------------------------- */

static cJSON *violation_json(const checker_violation *v) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t_s", (double)v->t_us / 1e6);
    cJSON_AddStringToObject(o, "invariant", v->invariant);
    if (v->topic[0])
        cJSON_AddStringToObject(o, "topic", v->topic);
    else
        cJSON_AddNullToObject(o, "topic");
    cJSON_AddNumberToObject(o, "partition", v->partition);
    cJSON_AddNumberToObject(o, "offset", (double)v->offset);
    if (v->allowed_by[0])
        cJSON_AddStringToObject(o, "allowed_by", v->allowed_by);
    else
        cJSON_AddNullToObject(o, "allowed_by");
    cJSON_AddStringToObject(o, "detail", v->detail);
    cJSON *faults = cJSON_AddArrayToObject(o, "faults");
    for (int32_t i = 0; i < v->fault_count; i++)
        cJSON_AddItemToArray(faults, cJSON_CreateString(v->faults[i]));
    return o;
}

static void add_producers(const sim_run *r, cJSON *root) {
    cJSON *producers = cJSON_AddObjectToObject(root, "producers");
    for (int32_t i = 0; i < r->s->producer_count; i++) {
        sim_producer_stats ps = sim_producer_get_stats(r->producers[i].impl);
        cJSON *o = cJSON_AddObjectToObject(producers, r->s->producers[i].name);
        cJSON_AddNumberToObject(o, "produced", (double)ps.produced);
        cJSON_AddNumberToObject(o, "acked", (double)ps.acked);
        cJSON_AddNumberToObject(o, "failed", (double)ps.failed);
        cJSON_AddNumberToObject(
            o, "duplicates", (double)checker_producer_duplicates(r->chk, r->producers[i].node->id));
        cJSON_AddBoolToObject(o, "idempotent", sim_producer_idempotent(r->producers[i].impl));
        cJSON_AddNumberToObject(o, "resets", (double)ps.resets);
    }
}

static void add_groups(const sim_run *r, cJSON *root) {
    cJSON *consumed = cJSON_AddObjectToObject(root, "consumed");
    for (int32_t g = 0; g < r->s->group_count; g++) {
        checker_group_stats gs = checker_group(r->chk, r->s->groups[g].name);
        cJSON *o = cJSON_AddObjectToObject(consumed, r->s->groups[g].name);
        cJSON_AddNumberToObject(o, "records", (double)gs.records);
        cJSON_AddNumberToObject(o, "unique", (double)gs.unique);
        cJSON_AddNumberToObject(o, "duplicates", (double)gs.duplicates);
        cJSON_AddNumberToObject(o, "lag", (double)gs.lag);
        cJSON_AddNumberToObject(o, "rebalances", (double)gs.rebalances);
        if (gs.recovery_ms >= 0)
            cJSON_AddNumberToObject(o, "recovery_ms", (double)gs.recovery_ms);
        else
            cJSON_AddNullToObject(o, "recovery_ms");
        checker_unread u = checker_group_unread(r->chk, r->s->groups[g].name);
        cJSON_AddNumberToObject(o, "missing", (double)u.missing);
        cJSON_AddNumberToObject(o, "expired", (double)u.expired);
    }
}

char *sim_run_summary_json(const sim_run *r, double wall_s) {
    double virtual_s = (double)r->w.now_us / 1e6;
    run_totals t = totals(r);
    char hex[17];
    digest_hex(r->w.digest, hex);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "scenario", r->s->name);
    cJSON_AddNumberToObject(root, "seed", (double)r->opt.seed);
    cJSON_AddNumberToObject(root, "virtual_s", virtual_s);
    cJSON_AddNumberToObject(root, "wall_s", wall_s);
    cJSON_AddNumberToObject(root, "events", (double)r->w.stats.events);
    cJSON_AddNumberToObject(root, "events_per_s",
                            (double)(int64_t)ratio((double)r->w.stats.events, wall_s));
    cJSON_AddNumberToObject(root, "messages", (double)r->w.stats.messages);
    cJSON_AddNumberToObject(root, "records", (double)t.produced);
    cJSON_AddNumberToObject(root, "speedup", (double)(int64_t)ratio(virtual_s, wall_s));
    cJSON_AddStringToObject(root, "digest", hex);
    cJSON_AddNumberToObject(root, "produced", (double)t.produced);
    cJSON_AddNumberToObject(root, "acked", (double)t.acked);
    cJSON_AddNumberToObject(root, "failed", (double)t.failed);
    add_producers(r, root);
    add_groups(r, root);
    cJSON *online = cJSON_AddArrayToObject(root, "brokers_online");
    for (int32_t i = 0; i < r->online_count; i++) {
        cJSON *pt = cJSON_CreateArray();
        cJSON_AddItemToArray(pt, cJSON_CreateNumber((double)r->online[i].t_us / 1e6));
        cJSON_AddItemToArray(pt, cJSON_CreateNumber(r->online[i].count));
        cJSON_AddItemToArray(online, pt);
    }
    cJSON *violations = cJSON_AddArrayToObject(root, "violations");
    for (int32_t i = 0; i < checker_violation_count(r->chk); i++)
        cJSON_AddItemToArray(violations, violation_json(checker_violation_get(r->chk, i)));
    cJSON *ns = cJSON_AddArrayToObject(root, "not_simulated");
    for (int32_t i = 0; i < r->s->not_simulated_count; i++)
        cJSON_AddItemToArray(ns, cJSON_CreateString(r->s->not_simulated[i]));
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* ---- text --------------------------------------------------------------------------------- */

typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

static void put(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void put(text_buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
}

static void text_online(const sim_run *r, text_buf *b) {
    put(b, "brokers online: ");
    for (int32_t i = 0; i < r->online_count; i++)
        put(b, "%s%d/%d at %.1fs", i ? ", " : "", (int)r->online[i].count,
            (int)r->s->cluster.brokers, (double)r->online[i].t_us / 1e6);
    put(b, "\n");
}

char *sim_run_summary_text(const sim_run *r, double wall_s) {
    text_buf b = {0};
    double virtual_s = (double)r->w.now_us / 1e6;
    run_totals t = totals(r);
    char hex[17];
    digest_hex(r->w.digest, hex);
    put(&b, "scenario %s, seed %llu: %.1f virtual s in %.2f wall s (%.0fx)\n", r->s->name,
        (unsigned long long)r->opt.seed, virtual_s, wall_s, ratio(virtual_s, wall_s));
    put(&b, "events %llu (%.0f/s), messages %llu, digest %s\n",
        (unsigned long long)r->w.stats.events, ratio((double)r->w.stats.events, wall_s),
        (unsigned long long)r->w.stats.messages, hex);
    put(&b, "produced %lld, acked %lld, failed %lld\n", (long long)t.produced, (long long)t.acked,
        (long long)t.failed);
    for (int32_t i = 0; i < r->s->producer_count; i++) {
        sim_producer_stats ps = sim_producer_get_stats(r->producers[i].impl);
        put(&b, "  %-12s -> %-12s produced %lld, acked %lld, failed %lld, duplicates %lld%s\n",
            r->s->producers[i].name, r->s->producers[i].topic, (long long)ps.produced,
            (long long)ps.acked, (long long)ps.failed,
            (long long)checker_producer_duplicates(r->chk, r->producers[i].node->id),
            sim_producer_idempotent(r->producers[i].impl) ? " (idempotent)" : "");
    }
    for (int32_t g = 0; g < r->s->group_count; g++) {
        checker_group_stats gs = checker_group(r->chk, r->s->groups[g].name);
        checker_unread u = checker_group_unread(r->chk, r->s->groups[g].name);
        char expired[48] = ""; /* shown only when retention deleted unread records */
        if (u.expired > 0)
            snprintf(expired, sizeof expired, ", expired %lld", (long long)u.expired);
        put(&b,
            "  %-12s %d consumer(s): records %lld, unique %lld, duplicates %lld, lag %lld, missing "
            "%lld%s, rebalances %lld\n",
            r->s->groups[g].name, (int)r->s->groups[g].consumers, (long long)gs.records,
            (long long)gs.unique, (long long)gs.duplicates, (long long)gs.lag, (long long)u.missing,
            expired, (long long)gs.rebalances);
        if (gs.recovery_ms >= 0)
            put(&b, "  %-12s recovered from a consumer crash in %.1f s (next stable generation)\n",
                "", (double)gs.recovery_ms / 1e3);
    }
    text_online(r, &b);
    int64_t total = checker_violations_total(r->chk);
    put(&b, "violations: %lld\n", (long long)total);
    for (int32_t i = 0; i < checker_violation_count(r->chk); i++) {
        const checker_violation *v = checker_violation_get(r->chk, i);
        put(&b, "  %.3fs %s %s/%d offset %lld (allowed by %s): %s\n", (double)v->t_us / 1e6,
            v->invariant, v->topic, (int)v->partition, (long long)v->offset,
            v->allowed_by[0] ? v->allowed_by : "nothing: a bug", v->detail);
    }
    if (r->s->not_simulated_count) {
        put(&b, "not simulated yet:");
        for (int32_t i = 0; i < r->s->not_simulated_count; i++)
            put(&b, " %s", r->s->not_simulated[i]);
        put(&b, "\n");
    }
    return b.p;
}

/* ---- finishing --------------------------------------------------------------------------------
 */

/* The last scripted or chaos fault, or 0. */
static int64_t last_fault_us(const sim_run *r) {
    int64_t last = 0;
    for (int32_t i = 0; i < r->s->fault_count; i++)
        if (r->s->faults[i].at_us > last) last = r->s->faults[i].at_us;
    for (int32_t i = 0; i < r->chaos_count; i++)
        if (r->chaos[i].at_us > last) last = r->chaos[i].at_us;
    return last;
}

/* Invariant 7: liveness_s after the last fault, the cluster must have recovered. */
static void check_liveness(sim_run *r) {
    int64_t end = r->w.now_us;
    if (end - last_fault_us(r) < r->s->liveness_us) return; /* no quiet window to judge */
    checker_check_liveness(r->chk, end);
    for (int32_t i = 0; i < r->s->producer_count; i++) {
        int64_t oldest = sim_producer_oldest_pending_us(r->producers[i].impl);
        if (oldest == INT64_MAX || end - oldest < r->s->liveness_us) continue;
        char detail[200];
        snprintf(detail, sizeof detail,
                 "producer %s still waits for records produced at %.1f s, %.1f s before the end",
                 r->s->producers[i].name, (double)oldest / 1e6, (double)(end - oldest) / 1e6);
        checker_report(r->chk, end, "liveness", detail);
    }
}

int sim_run_finish(sim_run *r, double wall_s, char *err, size_t err_len) {
    assert(!r->finished);
    sim_run_advance(r, r->opt.end_us);
    r->finished = 1;
    checker_finish(r->chk, r->w.now_us);
    check_liveness(r);
    if (!r->trace) return 0;
    world_report_in_flight(&r->w);
    char hex[17];
    digest_hex(r->w.digest, hex);
    char *summary = sim_run_summary_json(r, wall_s);
    trace_write_finish(r->trace, r->w.now_us, hex, summary);
    free(summary);
    int rc = trace_writer_close(r->trace, err, err_len);
    r->trace = NULL;
    return rc;
}
