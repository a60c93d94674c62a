/*
 * test_cluster.c — whole-cluster tests of the ISR, high-watermark and leader-epoch
 * logic: each test builds a small scenario (3 brokers, topic "t" with one partition,
 * RF 3), runs it in-process with sim_run while recording every observed event
 * through sim_run_watch, and asserts on the recorded events and the checker.
 *
 * Faults that must hit a particular follower (not the partition leader, not the
 * controller) are applied as live actions once the run shows who is who, so the
 * tests do not depend on where replica placement puts the leader.
 *
 * Every run also passes the common checks: no checker violation, high watermarks
 * only rise within one leader epoch, every acks=all acknowledgement lies below a
 * high watermark already reported, and every broker's log grows contiguously
 * (each APPEND starts at the previous end, or where a TRUNCATE left it).
 *
 * Scenario JSON is written with single quotes; run_start() turns them into double
 * quotes.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "observe.h"
#include "scenario.h"
#include "sim_run.h"

#define S_US 1000000LL
#define MS_US 1000LL
#define ERR_BYTES 512
#define LAG_US (5 * S_US) /* replica_lag_time_max_ms in every scenario below */
#define KAFKA_REQUEST_TIMED_OUT 7
#define KAFKA_NOT_ENOUGH_REPLICAS 19

/* 3 brokers, min ISR {min_isr}, lag 5 s, one small offsets partition. */
#define CLUSTER(min_isr)                                                                           \
    "'cluster': {'brokers': 3, 'min_insync_replicas': " #min_isr ", "                              \
    "'replica_lag_time_max_ms': 5000, 'offsets_topic_partitions': 1}, "
#define TOPIC_T "'topics': [{'name': 't', 'partitions': 1, 'replication_factor': 3}], "
#define PRODUCER_ALL "'producers': [{'name': 'p', 'topic': 't', 'rate_per_s': 20, 'acks': 'all'}]"

/* ---- recording ------------------------------------------------------------- */

typedef struct ev {
    int64_t t;
    enum observe_kind kind;
    int32_t node;
    char topic[SCENARIO_NAME_BYTES_MAX];
    int32_t partition, leader, leader_epoch;
    int64_t offset, offset_last;
    int32_t count;
    int16_t error, acks;
    int32_t isr[SCENARIO_BROKERS_MAX];
    int32_t isr_count;
} ev;

typedef struct run {
    scenario s;
    sim_run *r;
    ev *evs;
    size_t n, cap;
} run;

static void on_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *e) {
    run *x = ctx;
    (void)seq;
    if (e->kind == OBSERVE_METADATA_COMMIT) return; /* many, and not about partitions */
    if (e->topic && strncmp(e->topic, "__", 2) == 0) return;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 4096;
        x->evs = realloc(x->evs, x->cap * sizeof *x->evs);
        cr_assert_not_null(x->evs);
    }
    ev *r = &x->evs[x->n++];
    memset(r, 0, sizeof *r);
    r->t = t_us;
    r->kind = e->kind;
    r->node = e->node;
    if (e->topic) snprintf(r->topic, sizeof r->topic, "%s", e->topic);
    r->partition = e->partition;
    r->leader = e->leader;
    r->leader_epoch = e->leader_epoch;
    r->offset = e->offset;
    r->offset_last = e->offset_last;
    r->count = e->count;
    r->error = e->error;
    r->acks = e->acks;
    r->isr_count = e->isr_count < SCENARIO_BROKERS_MAX ? e->isr_count : SCENARIO_BROKERS_MAX;
    for (int32_t i = 0; i < r->isr_count; i++) r->isr[i] = e->isr[i];
}

/* Loads the scenario (single quotes for double quotes), creates the run and starts
 * recording; seed 0 = the scenario's seed. */
static run *run_start_seed(const char *json, uint64_t seed) {
    char err[ERR_BYTES];
    char *text = strdup(json);
    cr_assert_not_null(text);
    for (char *c = text; *c; c++)
        if (*c == '\'') *c = '"';
    run *x = calloc(1, sizeof *x);
    cr_assert_not_null(x);
    cr_assert_eq(scenario_load(&x->s, "test_cluster.json", text, NULL, 0, err, sizeof err), 0, "%s",
                 err);
    free(text);
    sim_run_options o = {.seed = seed ? seed : x->s.seed,
                         .end_us = x->s.duration_us,
                         .trace_path = NULL,
                         .overrides_json = "[]",
                         .until_us_override = -1};
    x->r = sim_run_create(&x->s, &o, err, sizeof err);
    cr_assert_not_null(x->r, "%s", err);
    sim_run_watch(x->r, on_event, NULL, x);
    return x;
}

static run *run_start(const char *json) {
    return run_start_seed(json, 0);
}

static void run_advance_s(run *x, double t_s) {
    sim_run_advance(x->r, (int64_t)(t_s * S_US));
}

static void run_live(run *x, const char *fmt, ...) {
    char action[128], err[ERR_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(action, sizeof action, fmt, ap);
    va_end(ap);
    cr_assert_eq(sim_run_live_action(x->r, action, err, sizeof err), 0, "%s", err);
}

static void run_end(run *x) {
    char err[ERR_BYTES];
    cr_assert_eq(sim_run_finish(x->r, 0, err, sizeof err), 0, "%s", err);
}

static void run_free(run *x) {
    sim_run_destroy(x->r);
    scenario_free(&x->s);
    free(x->evs);
    free(x);
}

/* ---- queries --------------------------------------------------------------- */

static int on_part(const ev *e, const char *topic) {
    return strcmp(e->topic, topic) == 0 && e->partition == 0;
}

static int is_meta(const ev *e, const char *topic) {
    return (e->kind == OBSERVE_LEADER || e->kind == OBSERVE_ISR) && on_part(e, topic);
}

static int isr_has(const ev *e, int32_t node) {
    for (int32_t i = 0; i < e->isr_count; i++)
        if (e->isr[i] == node) return 1;
    return 0;
}

/* The last LEADER/ISR event of topic/0 at or before t_us (NULL before any). */
static const ev *meta_at(const run *x, const char *topic, int64_t t_us) {
    const ev *last = NULL;
    for (size_t i = 0; i < x->n && x->evs[i].t <= t_us; i++)
        if (is_meta(&x->evs[i], topic)) last = &x->evs[i];
    return last;
}

/* The first LEADER/ISR event of topic/0 after t_us that is a LEADER event
 * (want_leader) or, else, has isr_count members; NULL when none. */
static const ev *meta_after(const run *x, const char *topic, int64_t t_us, int want_leader,
                            int32_t isr_count) {
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->t <= t_us || !is_meta(e, topic)) continue;
        if (want_leader ? e->kind == OBSERVE_LEADER : e->isr_count == isr_count) return e;
    }
    return NULL;
}

/* The active controller (last CONTROLLER event) at or before t_us. */
static const ev *controller_at(const run *x, int64_t t_us) {
    const ev *last = NULL;
    for (size_t i = 0; i < x->n && x->evs[i].t <= t_us; i++)
        if (x->evs[i].kind == OBSERVE_CONTROLLER) last = &x->evs[i];
    return last;
}

/* A follower of t/0 at t_us that is not the controller (when there is one). */
static int32_t pick_follower(const run *x, int64_t t_us) {
    const ev *m = meta_at(x, "t", t_us);
    const ev *c = controller_at(x, t_us);
    cr_assert_not_null(m, "t/0 has no leader at %.3f s", (double)t_us / S_US);
    cr_assert_eq(m->isr_count, 3);
    int32_t any = -1;
    for (int32_t i = 0; i < m->isr_count; i++) {
        int32_t b = m->isr[i];
        if (b == m->leader) continue;
        if (!c || b != c->node) return b;
        any = b;
    }
    return any;
}

/* Takes follower f away from leader at the current time: cuts their link — unless the
 * leader is also the controller, where a cut would cut f off from the controller too
 * and start a controller election (a different test); then f crashes.  Returns 1
 * for a cut, 0 for a crash. */
static int take_follower_away(run *x, int32_t leader, int32_t f) {
    const ev *c = controller_at(x, sim_run_now_us(x->r));
    if (c && c->node == leader) {
        run_live(x, "{\"crash\":%d}", f);
        return 0;
    }
    run_live(x, "{\"cut\":[%d,%d]}", leader, f);
    return 1;
}

static void bring_follower_back(run *x, int32_t leader, int32_t f, int cut) {
    if (cut)
        run_live(x, "{\"heal\":[%d,%d]}", leader, f);
    else
        run_live(x, "{\"restart\":%d}", f);
}

/* The end offset of topic/0's log on node after every event up to t_us. */
static int64_t log_end_at(const run *x, const char *topic, int32_t node, int64_t t_us) {
    int64_t end = 0;
    for (size_t i = 0; i < x->n && x->evs[i].t <= t_us; i++) {
        const ev *e = &x->evs[i];
        if (e->node != node || !on_part(e, topic)) continue;
        if (e->kind == OBSERVE_APPEND) end = e->offset_last + 1;
        if (e->kind == OBSERVE_TRUNCATE) end = e->offset;
    }
    return end;
}

/* The highest high watermark node reported for topic/0 (-1 when none). */
static int64_t max_hw_of(const run *x, const char *topic, int32_t node, int64_t until_us) {
    int64_t hw = -1;
    for (size_t i = 0; i < x->n && x->evs[i].t <= until_us; i++) {
        const ev *e = &x->evs[i];
        if (e->kind == OBSERVE_HIGH_WATERMARK && e->node == node && on_part(e, topic) &&
            e->offset > hw)
            hw = e->offset;
    }
    return hw;
}

/* Records acknowledged (PRODUCE_ACK count) of topic within (from, to]. */
static int64_t acked_between(const run *x, const char *topic, int64_t from, int64_t to) {
    int64_t n = 0;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind == OBSERVE_PRODUCE_ACK && on_part(e, topic) && e->t > from && e->t <= to)
            n += e->count;
    }
    return n;
}

static size_t count_kind(const run *x, enum observe_kind kind, const char *topic) {
    size_t n = 0;
    for (size_t i = 0; i < x->n; i++)
        n += x->evs[i].kind == kind && (!topic || on_part(&x->evs[i], topic));
    return n;
}

/* ---- the common checks ----------------------------------------------------- */

static void assert_no_violations(const run *x) {
    const checker *c = sim_run_checker(x->r);
    for (int32_t i = 0; i < checker_violation_count(c); i++) {
        const checker_violation *v = checker_violation_get(c, i);
        cr_log_error("violation at %.6f s: %s %s/%d offset %lld: %s", (double)v->t_us / S_US,
                     v->invariant, v->topic, (int)v->partition, (long long)v->offset, v->detail);
    }
    cr_assert_eq(checker_violations_total(c), 0, "%lld checker violations",
                 (long long)checker_violations_total(c));
}

/* High watermarks only rise within one leader epoch, and come from one leader. */
static void assert_hw_monotonic(const run *x, const char *topic) {
    int32_t epoch = -1, node = -1;
    int64_t hw = -1;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind != OBSERVE_HIGH_WATERMARK || !on_part(e, topic)) continue;
        if (e->leader_epoch != epoch) {
            cr_assert_gt(e->leader_epoch, epoch, "%.6f s: high watermark from an older epoch %d",
                         (double)e->t / S_US, e->leader_epoch);
            epoch = e->leader_epoch;
            node = e->node;
            hw = e->offset;
            continue;
        }
        cr_assert_eq(e->node, node, "%.6f s: two brokers report high watermarks in epoch %d",
                     (double)e->t / S_US, epoch);
        cr_assert_gt(e->offset, hw, "%.6f s: high watermark %lld after %lld in epoch %d",
                     (double)e->t / S_US, (long long)e->offset, (long long)hw, epoch);
        hw = e->offset;
    }
}

/* Every acks=all acknowledgement lies below a high watermark already reported. */
static void assert_acks_below_hw(const run *x, const char *topic) {
    int64_t hw = -1;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (!on_part(e, topic)) continue;
        if (e->kind == OBSERVE_HIGH_WATERMARK && e->offset > hw) hw = e->offset;
        if (e->kind != OBSERVE_PRODUCE_ACK || e->acks != -1) continue;
        cr_assert_geq(e->offset, 0);
        cr_assert_eq(e->offset_last, e->offset + e->count - 1);
        cr_assert_lt(e->offset_last, hw,
                     "%.6f s: acks=all ack of offsets %lld..%lld, high watermark only %lld",
                     (double)e->t / S_US, (long long)e->offset, (long long)e->offset_last,
                     (long long)hw);
    }
}

/* Each broker's log of topic/0 grows contiguously: an APPEND starts at the end the
 * previous APPEND or TRUNCATE left, and a TRUNCATE cuts from that end. */
static void assert_logs_contiguous(const run *x, const char *topic) {
    for (int32_t b = 1; b <= x->s.cluster.brokers; b++) {
        int64_t end = 0;
        for (size_t i = 0; i < x->n; i++) {
            const ev *e = &x->evs[i];
            if (e->node != b || !on_part(e, topic)) continue;
            if (e->kind == OBSERVE_APPEND) {
                cr_assert_eq(e->offset, end,
                             "%.6f s: broker %d appends at %lld, its log ends at %lld",
                             (double)e->t / S_US, b, (long long)e->offset, (long long)end);
                end = e->offset_last + 1;
            } else if (e->kind == OBSERVE_TRUNCATE) {
                cr_assert_eq(e->offset_last, end, "%.6f s: broker %d truncates from %lld, not %lld",
                             (double)e->t / S_US, b, (long long)e->offset_last, (long long)end);
                cr_assert_lt(e->offset, end);
                end = e->offset;
            }
        }
    }
}

static void assert_common(const run *x, const char *topic) {
    assert_no_violations(x);
    assert_hw_monotonic(x, topic);
    assert_acks_below_hw(x, topic);
    assert_logs_contiguous(x, topic);
}

/* ---- 1. steady state ------------------------------------------------------- */

Test(cluster, steady_state_full_isr_rising_hw) {
    run *x = run_start("{'name': 'steady', 'seed': 1, 'duration_s': 15, " CLUSTER(2)
                           TOPIC_T PRODUCER_ALL "}");
    run_end(x);
    assert_common(x, "t");
    const ev *m = meta_at(x, "t", 15 * S_US);
    cr_assert_not_null(m, "no leader for t/0");
    cr_assert_eq(m->isr_count, 3, "ISR of t/0 at the end has %d members", m->isr_count);
    for (int32_t b = 1; b <= 3; b++) cr_assert(isr_has(m, b), "broker %d not in the ISR", b);
    cr_assert(isr_has(m, m->leader));
    cr_assert_eq(count_kind(x, OBSERVE_ISR, "t"), 0, "the ISR changed without a fault");
    cr_assert_eq(count_kind(x, OBSERVE_LEADER, "t"), 1, "the leader changed without a fault");
    cr_assert_eq(count_kind(x, OBSERVE_TRUNCATE, "t"), 0);
    cr_assert_eq(count_kind(x, OBSERVE_PRODUCE_FAIL, "t"), 0);
    /* the last high watermark is above every acknowledged offset, and close behind
     * the log end: 20 records/s, acknowledged within a few ms */
    int64_t hw = max_hw_of(x, "t", m->leader, 15 * S_US);
    int64_t acked = 0, top = -1;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind != OBSERVE_PRODUCE_ACK || !on_part(e, "t")) continue;
        cr_assert_lt(e->offset_last, hw);
        acked += e->count;
        if (e->offset_last > top) top = e->offset_last;
    }
    cr_assert_geq(acked, 180, "only %lld records acknowledged", (long long)acked);
    cr_assert_geq(top + 1, hw - 2, "acks stop at %lld, high watermark %lld", (long long)top,
                  (long long)hw);
    cr_assert_leq(log_end_at(x, "t", m->leader, 15 * S_US) - hw, 2);
    run_free(x);
}

/* ---- 2. ISR shrink --------------------------------------------------------- */

Test(cluster, isr_shrinks_after_lag_time_and_acks_continue) {
    run *x = run_start("{'name': 'shrink', 'seed': 1, 'duration_s': 25, " CLUSTER(2)
                           TOPIC_T PRODUCER_ALL "}");
    const int64_t cut = 10 * S_US;
    run_advance_s(x, 10);
    const ev *before = meta_at(x, "t", cut);
    int32_t leader = before->leader, epoch = before->leader_epoch, f = pick_follower(x, cut);
    take_follower_away(x, leader, f);
    run_end(x);
    assert_common(x, "t");

    const ev *shrink = meta_after(x, "t", 0, 0, 2);
    cr_assert_not_null(shrink, "no ISR shrink after cutting %d-%d", leader, f);
    cr_assert_eq(shrink->kind, OBSERVE_ISR);
    cr_assert(!isr_has(shrink, f) && isr_has(shrink, leader));
    cr_assert_eq(shrink->leader, leader);
    cr_assert_eq(shrink->leader_epoch, epoch, "an ISR change is not a new leader epoch");
    /* Kafka's rule: out once not caught up for replica_lag_time_max_ms.  The follower
     * was last caught up at most one fetch (500 ms max wait) before the cut. */
    cr_assert_geq(shrink->t, cut + LAG_US - 600 * MS_US, "shrink at %.6f s",
                  (double)shrink->t / S_US);
    cr_assert_leq(shrink->t, cut + LAG_US + 2 * S_US, "shrink at %.6f s", (double)shrink->t / S_US);
    cr_assert_eq(meta_after(x, "t", shrink->t, 0, 3), NULL, "the cut follower came back");
    cr_assert_eq(log_end_at(x, "t", f, 25 * S_US), log_end_at(x, "t", f, cut),
                 "the cut follower kept appending");

    /* min ISR 2 with 2 left: produces appended after the shrink are acknowledged */
    int64_t end_at_shrink = log_end_at(x, "t", leader, shrink->t);
    int64_t hw = max_hw_of(x, "t", leader, 25 * S_US);
    cr_assert_gt(hw, end_at_shrink + 150, "high watermark %lld, log end at the shrink %lld",
                 (long long)hw, (long long)end_at_shrink);
    cr_assert_geq(acked_between(x, "t", shrink->t, 25 * S_US), 150);
    cr_assert_eq(count_kind(x, OBSERVE_PRODUCE_FAIL, "t"), 0);
    run_free(x);
}

/* ---- 3. ISR expand --------------------------------------------------------- */

Test(cluster, restarted_follower_catches_up_and_rejoins_isr) {
    run *x = run_start("{'name': 'expand', 'seed': 1, 'duration_s': 40, 'liveness_s': 10, " CLUSTER(
        2) TOPIC_T PRODUCER_ALL "}");
    const int64_t crash = 10 * S_US, restart = 25 * S_US;
    run_advance_s(x, 10);
    int32_t f = pick_follower(x, crash);
    run_live(x, "{\"crash\":%d}", f);
    int64_t end_at_crash = log_end_at(x, "t", f, crash);
    run_advance_s(x, 25);
    run_live(x, "{\"restart\":%d}", f);
    run_end(x); /* liveness is checked at 40 s: ISR full again, the producer not stuck */
    assert_common(x, "t");

    const ev *shrink = meta_after(x, "t", crash, 0, 2);
    cr_assert_not_null(shrink);
    cr_assert(!isr_has(shrink, f));
    cr_assert_geq(shrink->t, crash + LAG_US - 600 * MS_US);
    cr_assert_leq(shrink->t, crash + LAG_US + 2 * S_US);

    /* the follower's log continues where it left off, or after a TRUNCATE */
    const ev *first = NULL, *trunc = NULL;
    for (size_t i = 0; i < x->n && !first; i++) {
        const ev *e = &x->evs[i];
        if (e->t < restart || e->node != f || !on_part(e, "t")) continue;
        if (e->kind == OBSERVE_TRUNCATE) trunc = e;
        if (e->kind == OBSERVE_APPEND) first = e;
    }
    cr_assert_not_null(first, "broker %d fetched nothing after its restart", f);
    cr_assert_eq(first->offset, trunc ? trunc->offset : end_at_crash,
                 "first append after restart at %lld, log ended at %lld", (long long)first->offset,
                 (long long)end_at_crash);
    cr_assert_leq(first->t, restart + 2 * S_US);

    const ev *expand = meta_after(x, "t", restart, 0, 3);
    cr_assert_not_null(expand, "broker %d never re-entered the ISR", f);
    cr_assert(isr_has(expand, f));
    cr_assert_eq(expand->leader, shrink->leader);
    cr_assert_eq(expand->leader_epoch, shrink->leader_epoch);
    cr_assert_leq(expand->t, first->t + 5 * S_US, "caught up at %.3f s, in the ISR at %.3f s",
                  (double)first->t / S_US, (double)expand->t / S_US);
    /* it rejoins only once it has the high watermark of the time */
    cr_assert_geq(log_end_at(x, "t", f, expand->t), max_hw_of(x, "t", expand->leader, first->t));
    const ev *last = meta_at(x, "t", 40 * S_US);
    cr_assert_eq(last->isr_count, 3);
    run_free(x);
}

/* ---- 4. min ISR ------------------------------------------------------------ */

/* min.insync.replicas 3: once the ISR is down to 2, an acks=all produce is refused
 * before it is appended (NOT_ENOUGH_REPLICAS).  The Java client retries that error
 * until delivery.timeout.ms (lowered to 8 s), so what the application sees is the
 * timeout; acknowledgements resume only when the ISR is full again. */
Test(cluster, min_isr_three_refuses_acks_all_until_isr_is_full) {
    run *x = run_start(
        "{'name': 'min-isr', 'seed': 1, 'duration_s': 45, 'liveness_s': 10, " CLUSTER(3) TOPIC_T
        "'producers': [{'name': 'p', 'topic': 't', 'rate_per_s': 20, 'acks': 'all', "
        "'delivery_timeout_ms': 8000}]}");
    const int64_t cut = 10 * S_US, heal = 30 * S_US;
    run_advance_s(x, 10);
    const ev *before = meta_at(x, "t", cut);
    int32_t leader = before->leader, f = pick_follower(x, cut);
    int cut_link = take_follower_away(x, leader, f);
    run_advance_s(x, 30);
    bring_follower_back(x, leader, f, cut_link);
    run_end(x);
    assert_common(x, "t");

    const ev *shrink = meta_after(x, "t", cut, 0, 2);
    cr_assert_not_null(shrink);
    cr_assert(!isr_has(shrink, f));
    cr_assert_leq(shrink->t, cut + LAG_US + 2 * S_US);
    const ev *full = meta_after(x, "t", shrink->t, 0, 3);
    cr_assert_not_null(full, "the ISR never became full again");
    cr_assert_gt(full->t, heal);
    cr_assert_leq(full->t, heal + 5 * S_US);

    /* nothing is appended by the leader while the ISR is below min ISR */
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind == OBSERVE_APPEND && e->node == leader && on_part(e, "t"))
            cr_assert(e->t <= shrink->t || e->t >= full->t,
                      "%.6f s: leader appended %lld..%lld with an ISR of 2 < min ISR 3",
                      (double)e->t / S_US, (long long)e->offset, (long long)e->offset_last);
    }
    /* no acknowledgement from shortly after the cut until the ISR is full */
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind == OBSERVE_PRODUCE_ACK && on_part(e, "t"))
            cr_assert(e->t < cut + 500 * MS_US || e->t > full->t,
                      "%.6f s: ack of %lld..%lld while the ISR was short", (double)e->t / S_US,
                      (long long)e->offset, (long long)e->offset_last);
    }
    /* records waiting longer than the delivery timeout fail; never before the cut */
    int64_t failed = 0;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind != OBSERVE_PRODUCE_FAIL || !on_part(e, "t")) continue;
        cr_assert(e->error == KAFKA_REQUEST_TIMED_OUT || e->error == KAFKA_NOT_ENOUGH_REPLICAS,
                  "%.6f s: produce failed with error %d", (double)e->t / S_US, e->error);
        cr_assert_geq(e->t, cut + 8 * S_US - 100 * MS_US, "failed before the delivery timeout");
        cr_assert_lt(e->t, full->t + 100 * MS_US);
        cr_assert_eq(e->offset, -1);
        failed += e->count;
    }
    cr_assert_geq(failed, 200, "only %lld records failed", (long long)failed);
    /* and acks resume once the ISR is full */
    cr_assert_geq(acked_between(x, "t", full->t, full->t + 2 * S_US), 20);
    cr_assert_geq(acked_between(x, "t", full->t, 45 * S_US), 250);
    run_free(x);
}

/* ---- 5. leader failover ---------------------------------------------------- */

Test(cluster, leader_crash_elects_isr_member_with_next_epoch) {
    run *x = run_start("{'name': 'failover', 'seed': 1, 'duration_s': 45, " CLUSTER(2)
                           TOPIC_T PRODUCER_ALL ", 'faults': [{'at_s': 10, 'crash': 'leader:t/0'}, "
                                                "{'at_s': 30, 'restart': 'crashed'}]}");
    const int64_t crash = 10 * S_US, restart = 30 * S_US;
    run_advance_s(x, 9.99);
    const ev *before = meta_at(x, "t", crash);
    cr_assert_not_null(before);
    int32_t old = before->leader, epoch = before->leader_epoch;
    int32_t old_isr[SCENARIO_BROKERS_MAX], old_isr_count = before->isr_count;
    memcpy(old_isr, before->isr, sizeof old_isr);
    run_end(x);
    assert_common(x, "t");
    cr_assert_eq(sim_run_broker_up(x->r, old), 1);

    const ev *stop = NULL;
    for (size_t i = 0; i < x->n && !stop; i++)
        if (x->evs[i].kind == OBSERVE_BROKER_STOP) stop = &x->evs[i];
    cr_assert_not_null(stop);
    cr_assert_eq(stop->node, old, "crashed %d, the leader was %d", stop->node, old);
    cr_assert_eq(stop->t, crash);

    const ev *elected = meta_after(x, "t", crash, 1, 0);
    cr_assert_not_null(elected, "no new leader after the leader crashed");
    cr_assert_neq(elected->leader, old);
    cr_assert_eq(elected->leader_epoch, epoch + 1);
    int from_isr = 0;
    for (int32_t i = 0; i < old_isr_count; i++) from_isr |= old_isr[i] == elected->leader;
    cr_assert(from_isr, "new leader %d was not in the ISR", elected->leader);
    cr_assert(!isr_has(elected, old));
    /* fenced 9 s after its last heartbeat (every 2 s), then elected; when the old
     * leader was also the controller, the new controller first gives every broker a
     * fresh session, so the 9 s count from its election */
    const ev *ctl = controller_at(x, elected->t);
    int64_t session_from = ctl->t > crash ? ctl->t : crash;
    cr_assert_leq(ctl->t, crash + 5 * S_US);
    cr_assert_geq(elected->t, crash + 9 * S_US - 2 * S_US - 100 * MS_US);
    cr_assert_leq(elected->t, session_from + 9 * S_US + 2 * S_US,
                  "elected at %.3f s, controller since %.3f s", (double)elected->t / S_US,
                  (double)ctl->t / S_US);
    cr_assert_geq(acked_between(x, "t", elected->t, elected->t + 3 * S_US), 20,
                  "acks did not resume under the new leader");

    /* the old leader comes back as a follower of the new epoch */
    int64_t old_hw = max_hw_of(x, "t", old, crash);
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->t <= crash) continue;
        if (is_meta(e, "t"))
            cr_assert_neq(e->leader, old, "%.3f s: %d leads again", (double)e->t / S_US, old);
        if (e->node != old || !on_part(e, "t")) continue;
        if (e->kind == OBSERVE_TRUNCATE)
            cr_assert_geq(e->offset, old_hw, "old leader truncated to %lld below its hw %lld",
                          (long long)e->offset, (long long)old_hw);
        if (e->kind == OBSERVE_APPEND) cr_assert_geq(e->leader_epoch, epoch + 1);
    }
    cr_assert_gt(log_end_at(x, "t", old, 45 * S_US), log_end_at(x, "t", old, restart));
    const ev *rejoin = meta_after(x, "t", restart, 0, 3);
    cr_assert_not_null(rejoin, "the old leader never rejoined the ISR");
    cr_assert(isr_has(rejoin, old));
    cr_assert_eq(rejoin->leader, elected->leader);
    run_free(x);
}

/* The leader crashes right after appending a record no follower has fetched: the
 * new leader does not have it, so the old leader truncates it when it returns —
 * to the new leader's epoch start, never below the high watermark it reported. */
Test(cluster, old_leader_truncates_unreplicated_tail_not_below_hw) {
    run *x = run_start("{'name': 'tail', 'seed': 3, 'duration_s': 45, " CLUSTER(2)
                           TOPIC_T PRODUCER_ALL "}");
    run_advance_s(x, 10);
    const ev *before = meta_at(x, "t", 10 * S_US);
    int32_t old = before->leader, epoch = before->leader_epoch;
    int64_t t = 10 * S_US, crash = -1;
    for (; t < 12 * S_US && crash < 0; t += 250) {
        sim_run_advance(x->r, t);
        int64_t leo = log_end_at(x, "t", old, t), followers = 0;
        for (int32_t b = 1; b <= 3; b++)
            if (b != old && log_end_at(x, "t", b, t) > followers)
                followers = log_end_at(x, "t", b, t);
        if (leo > followers) crash = t;
    }
    cr_assert_geq(crash, 0, "never caught the leader ahead of both followers");
    int64_t tail_end = log_end_at(x, "t", old, crash);
    int64_t old_hw = max_hw_of(x, "t", old, crash);
    run_live(x, "{\"crash\":%d}", old);
    run_advance_s(x, 30);
    run_live(x, "{\"restart\":%d}", old);
    run_end(x);
    assert_common(x, "t");

    const ev *elected = meta_after(x, "t", crash, 1, 0);
    cr_assert_not_null(elected);
    cr_assert_neq(elected->leader, old);
    cr_assert_eq(elected->leader_epoch, epoch + 1);
    const ev *trunc = NULL;
    for (size_t i = 0; i < x->n && !trunc; i++) {
        const ev *e = &x->evs[i];
        if (e->t >= 30 * S_US && e->node == old && e->kind == OBSERVE_TRUNCATE && on_part(e, "t"))
            trunc = e;
    }
    cr_assert_not_null(trunc, "the old leader kept its unreplicated tail (log end %lld)",
                       (long long)tail_end);
    cr_assert_eq(trunc->offset_last, tail_end);
    cr_assert_geq(trunc->offset, old_hw, "truncated to %lld, below the hw %lld it reported",
                  (long long)trunc->offset, (long long)old_hw);
    cr_assert_lt(trunc->offset, tail_end);
    /* nothing in the cut tail had been acknowledged by the old leader */
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind == OBSERVE_PRODUCE_ACK && on_part(e, "t") && e->t <= elected->t)
            cr_assert_lt(e->offset_last, trunc->offset);
    }
    const ev *rejoin = meta_after(x, "t", 30 * S_US, 0, 3);
    cr_assert_not_null(rejoin);
    cr_assert(isr_has(rejoin, old));
    run_free(x);
}

/* ---- 6. controller failover ------------------------------------------------ */

Test(cluster, controller_crash_elects_new_controller_metadata_keeps_working) {
    run *x = run_start("{'name': 'controller', 'seed': 1, 'duration_s': 30, " CLUSTER(
        2) TOPIC_T PRODUCER_ALL ", 'faults': [{'at_s': 10, 'crash': 'controller'}]}");
    const int64_t crash = 10 * S_US;
    run_advance_s(x, 9.99);
    const ev *c0 = controller_at(x, crash);
    cr_assert_not_null(c0, "no controller before the crash");
    int32_t old = c0->node, quorum_epoch = c0->leader_epoch;
    run_end(x);
    assert_common(x, "t");
    cr_assert_eq(sim_run_broker_up(x->r, old), 0);

    const ev *c1 = NULL;
    for (size_t i = 0; i < x->n && !c1; i++)
        if (x->evs[i].kind == OBSERVE_CONTROLLER && x->evs[i].t > crash) c1 = &x->evs[i];
    cr_assert_not_null(c1, "no controller after the crash");
    cr_assert_neq(c1->node, old);
    cr_assert_eq(c1->leader, c1->node);
    cr_assert_gt(c1->leader_epoch, quorum_epoch);
    cr_assert_leq(c1->t, crash + 5 * S_US, "new controller at %.3f s", (double)c1->t / S_US);
    cr_assert_eq(controller_at(x, 30 * S_US), c1, "the controller changed again");

    /* the new controller commits partition changes: the dead broker leaves the ISR
     * (or leadership) of t/0, and acks continue */
    const ev *after = NULL;
    for (size_t i = 0; i < x->n && !after; i++)
        if (x->evs[i].t > crash && is_meta(&x->evs[i], "t")) after = &x->evs[i];
    cr_assert_not_null(after, "no metadata change for t/0 after the controller died");
    cr_assert_eq(after->node, c1->node, "reported by %d, not the new controller", after->node);
    cr_assert(!isr_has(after, old) && after->leader != old);
    /* the new controller gives every broker a fresh 9 s session when it takes over */
    cr_assert_geq(after->t, c1->t);
    cr_assert_leq(after->t, c1->t + 9 * S_US + 2 * S_US);
    cr_assert_geq(acked_between(x, "t", after->t, after->t + 2 * S_US), 20);
    cr_assert_geq(acked_between(x, "t", 28 * S_US, 30 * S_US), 20);
    run_free(x);
}

/* ---- 7. acks=0 and acks=1 -------------------------------------------------- */

/* min ISR 3 on purpose: it applies to acks=all only, so neither producer cares that
 * a follower of "one" crashes at 8 s and leaves the ISR. */
Test(cluster, acks_one_after_leader_append_acks_zero_without_response) {
    run *x = run_start("{'name': 'acks', 'seed': 1, 'duration_s': 20, " CLUSTER(
        3) "'topics': [{'name': 'one', 'partitions': 1, 'replication_factor': 3}, "
           "{'name': 'zero', 'partitions': 1, 'replication_factor': 3}], "
           "'producers': [{'name': 'p1', 'topic': 'one', 'rate_per_s': 20, 'acks': 1}, "
           "{'name': 'p0', 'topic': 'zero', 'rate_per_s': 20, 'acks': 0}]}");
    run_advance_s(x, 8);
    const ev *m = meta_at(x, "one", 8 * S_US);
    cr_assert_not_null(m);
    int32_t leader = m->leader, f = -1;
    const ev *c = controller_at(x, 8 * S_US);
    for (int32_t b = 1; b <= 3 && f < 0; b++)
        if (b != leader && (!c || b != c->node)) f = b;
    run_live(x, "{\"crash\":%d}", f);
    run_end(x);
    assert_no_violations(x);
    assert_hw_monotonic(x, "one");
    assert_logs_contiguous(x, "one");
    const ev *shrink = meta_after(x, "one", 8 * S_US, 0, 2);
    cr_assert_not_null(shrink, "the ISR of one/0 did not shrink");
    cr_assert_eq(shrink->leader, leader);

    /* acks=1: acknowledged once the leader appended, often before the high watermark
     * covers the records, and never paused by the short ISR */
    int64_t acked = 0, before_hw = 0, acks = 0;
    int64_t last_ack = 0, max_gap = 0;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (e->kind == OBSERVE_PRODUCE_FAIL)
            cr_assert(0, "%.3f s: produce failed", (double)e->t / S_US);
        if (e->kind != OBSERVE_PRODUCE_ACK || !on_part(e, "one")) continue;
        cr_assert_eq(e->acks, 1);
        cr_assert_geq(e->offset, 0);
        cr_assert_geq(log_end_at(x, "one", leader, e->t), e->offset_last + 1,
                      "%.6f s: ack of %lld..%lld before the leader appended it",
                      (double)e->t / S_US, (long long)e->offset, (long long)e->offset_last);
        before_hw += max_hw_of(x, "one", leader, e->t) <= e->offset_last;
        acks++;
        acked += e->count;
        if (last_ack && e->t - last_ack > max_gap) max_gap = e->t - last_ack;
        last_ack = e->t;
    }
    cr_assert_geq(acked, 300, "acks=1: %lld records acknowledged", (long long)acked);
    cr_assert_geq(before_hw * 2, acks, "acks=1: only %lld of %lld acks came before the hw",
                  (long long)before_hw, (long long)acks);
    cr_assert_leq(max_gap, 500 * MS_US, "acks=1 paused for %.3f s", (double)max_gap / S_US);

    /* acks=0: offset -1, reported when sent, before any broker appended the records */
    int64_t sent = 0;
    size_t appends = 0;
    for (size_t i = 0; i < x->n; i++) {
        const ev *e = &x->evs[i];
        if (!on_part(e, "zero")) continue;
        if (e->kind == OBSERVE_PRODUCE_ACK) {
            cr_assert_eq(e->acks, 0);
            cr_assert_eq(e->offset, -1);
            cr_assert_eq(e->offset_last, -1);
            cr_assert_eq(e->error, 0);
            sent += e->count;
        }
        if (e->kind == OBSERVE_APPEND) {
            appends++;
            cr_assert_geq(sent, e->offset_last + 1,
                          "%.6f s: broker %d appended %lld..%lld, only %lld reported sent",
                          (double)e->t / S_US, e->node, (long long)e->offset,
                          (long long)e->offset_last, (long long)sent);
        }
    }
    cr_assert_geq(sent, 300, "acks=0: %lld records reported", (long long)sent);
    cr_assert_gt(appends, 0);
    run_free(x);
}

/* ---- 8. determinism -------------------------------------------------------- */

#define FAILOVER_JSON                                                                              \
    "{'name': 'determinism', 'seed': 7, 'duration_s': 30, " CLUSTER(2) TOPIC_T PRODUCER_ALL        \
        ", 'faults': [{'at_s': 8, 'crash': 'leader:t/0'}, {'at_s': 20, 'restart': 'crashed'}]}"

static int same_events(const run *a, const run *b) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(&a->evs[i], &b->evs[i], sizeof a->evs[i]) != 0) return 0;
    return 1;
}

Test(cluster, same_scenario_and_seed_same_digest) {
    run *a = run_start(FAILOVER_JSON), *b = run_start(FAILOVER_JSON);
    run_end(a);
    run_end(b);
    cr_assert_eq(sim_run_digest(a->r), sim_run_digest(b->r));
    cr_assert_eq(sim_run_events(a->r), sim_run_events(b->r));
    cr_assert_eq(sim_run_messages(a->r), sim_run_messages(b->r));
    cr_assert_eq(a->n, b->n);
    cr_assert(same_events(a, b), "the recorded events differ");
    cr_assert_gt(count_kind(a, OBSERVE_LEADER, "t"), 1, "the fault did not move the leader");

    /* the seed matters: another one gives another run */
    run *c = run_start_seed(FAILOVER_JSON, 8);
    run_end(c);
    cr_assert_neq(sim_run_digest(c->r), sim_run_digest(a->r));
    run_free(a);
    run_free(b);
    run_free(c);
}
