/*
 * test_chaos.c — the chaos planner: a seed fixes the plan and different seeds
 * change it; every plan, over many seeds and cluster sizes, is sorted, stays in
 * [from, until], restarts every crash and power-off, never takes down more than a
 * minority, splits into two non-empty sides that heal before the next split, and
 * ends healed with every broker up at until; power-offs only when configured;
 * faults have the loader's exact form; a short out gives -1.
 *
 * Scenario JSON is written with single quotes; load() turns them into double quotes.
 */
#include "chaos.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_BYTES 512
#define TEXT_BYTES 2048
#define PLAN_MAX 4096
#define SEEDS 200

/* 3 brokers, chaos from 10 s to 100 s, crashes and splits every 5-20 s, down 1-10 s. */
#define CHAOS_DEFAULT                                                                              \
    "'from_s': 10, 'until_s': 100, 'crash_every_s': [5, 20], 'split_every_s': [5, 20], "           \
    "'down_s': [1, 10]"

/* A scenario with `brokers` brokers and the chaos block {chaos}; calloc'd. */
static scenario *load(int brokers, const char *chaos) {
    char text[TEXT_BYTES], err[ERR_BYTES];
    int n = snprintf(text, sizeof text,
                     "{'name': 't', 'duration_s': 1000, 'cluster': {'brokers': %d}, "
                     "'topics': [], 'chaos': {%s}}",
                     brokers, chaos);
    cr_assert(n > 0 && n < TEXT_BYTES);
    for (char *c = text; *c; c++)
        if (*c == '\'') *c = '"';
    scenario *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    cr_assert_eq(scenario_load(s, "t.json", text, NULL, 0, err, sizeof err), 0, "%s", err);
    return s;
}

static void unload(scenario *s) {
    scenario_free(s);
    free(s);
}

/* The plan of s from seed into a malloc'd array of PLAN_MAX; *n its length. */
static scenario_fault *plan(const scenario *s, uint64_t seed, int *n) {
    scenario_fault *f = calloc(PLAN_MAX, sizeof *f);
    cr_assert_not_null(f);
    prng rng;
    prng_seed(&rng, seed);
    *n = chaos_plan(s, &rng, f, PLAN_MAX);
    cr_assert_geq(*n, 0, "seed %llu: plan did not fit", (unsigned long long)seed);
    return f;
}

/* Every field but at_us. */
static int same_fault(const scenario_fault *a, const scenario_fault *b) {
    return a->kind == b->kind && a->target.kind == b->target.kind &&
           a->target.broker == b->target.broker && strcmp(a->target.topic, b->target.topic) == 0 &&
           a->target.partition == b->target.partition &&
           memcmp(a->split_side, b->split_side, sizeof a->split_side) == 0 &&
           a->link[0] == b->link[0] && a->link[1] == b->link[1] && a->heal_all == b->heal_all &&
           a->slow_latency_ms_min == b->slow_latency_ms_min &&
           a->slow_latency_ms_max == b->slow_latency_ms_max && strcmp(a->group, b->group) == 0 &&
           a->consumer == b->consumer;
}

static int same_plan(const scenario_fault *a, int na, const scenario_fault *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (a[i].at_us != b[i].at_us || !same_fault(&a[i], &b[i])) return 0;
    return 1;
}

typedef struct plan_stats {
    int crashes, power_offs, splits, restarts, heals;
    int max_down; /* most brokers down at once */
} plan_stats;

/* Replays a split or heal-all: one split at a time, two non-empty sides. */
static void replay_network(const scenario *s, const scenario_fault *f, int *split_open,
                           plan_stats *st) {
    if (f->kind == SCENARIO_FAULT_HEAL) {
        cr_assert(f->heal_all && f->target.kind == 0, "heal is heal: true");
        *split_open = 0;
        st->heals++;
        return;
    }
    cr_assert(!*split_open, "split at %lld while the last one is not healed", (long long)f->at_us);
    int side_size[3] = {0, 0, 0};
    for (int b = 1; b <= s->cluster.brokers; b++) {
        cr_assert(f->split_side[b] == 1 || f->split_side[b] == 2, "broker %d on no side", b);
        side_size[f->split_side[b]]++;
    }
    for (int b = s->cluster.brokers + 1; b <= SCENARIO_BROKERS_MAX; b++)
        cr_assert_eq(f->split_side[b], 0);
    cr_assert(side_size[1] > 0 && side_size[2] > 0, "a side of the split is empty");
    *split_open = 1;
    st->splits++;
}

/* Replays a crash, power-off or restart of one broker. */
static void replay_broker(const scenario *s, const scenario_fault *f, int *down, int *n_down,
                          plan_stats *st) {
    int b = f->target.broker;
    cr_assert_eq(f->target.kind, SCENARIO_TARGET_BROKER);
    cr_assert(b >= 1 && b <= s->cluster.brokers, "broker %d", b);
    if (f->kind == SCENARIO_FAULT_RESTART) {
        cr_assert(down[b], "restart of broker %d, which is up", b);
        down[b] = 0;
        (*n_down)--;
        st->restarts++;
        return;
    }
    cr_assert(!down[b], "broker %d taken down twice", b);
    down[b] = 1;
    (*n_down)++;
    if (f->kind == SCENARIO_FAULT_CRASH)
        st->crashes++;
    else
        st->power_offs++;
    if (*n_down > st->max_down) st->max_down = *n_down;
    cr_assert_leq(*n_down, (s->cluster.brokers - 1) / 2, "more than a minority down");
}

/* Checks every rule of chaos.h on the plan and counts what it holds. */
static plan_stats check_plan(const scenario *s, const scenario_fault *f, int n) {
    plan_stats st = {0};
    int down[SCENARIO_BROKERS_MAX + 1] = {0}, n_down = 0, split_open = 0;
    const scenario_chaos *ch = &s->chaos;
    cr_assert_geq(n, 1, "a plan ends with at least the heal-all");
    for (int i = 0; i < n; i++) {
        cr_assert(f[i].at_us >= ch->from_us && f[i].at_us <= ch->until_us, "fault %d at %lld", i,
                  (long long)f[i].at_us);
        if (i > 0) cr_assert_geq(f[i].at_us, f[i - 1].at_us, "fault %d out of order", i);
        if (f[i].at_us == ch->until_us)
            cr_assert(f[i].kind == SCENARIO_FAULT_HEAL || f[i].kind == SCENARIO_FAULT_RESTART,
                      "only heals and restarts at until");
        if (f[i].kind == SCENARIO_FAULT_SPLIT || f[i].kind == SCENARIO_FAULT_HEAL)
            replay_network(s, &f[i], &split_open, &st);
        else if (f[i].kind == SCENARIO_FAULT_CRASH || f[i].kind == SCENARIO_FAULT_POWER_OFF ||
                 f[i].kind == SCENARIO_FAULT_RESTART)
            replay_broker(s, &f[i], down, &n_down, &st);
        else
            cr_assert_fail("unexpected fault kind %d", (int)f[i].kind);
    }
    cr_assert_eq(n_down, 0, "brokers still down after the plan");
    cr_assert(!split_open, "split never healed");
    return st;
}

/* The plan of s for every seed in 1..SEEDS, checked; totals returned. */
static plan_stats check_seeds(const scenario *s) {
    plan_stats total = {0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        int n;
        scenario_fault *f = plan(s, seed, &n);
        plan_stats st = check_plan(s, f, n);
        total.crashes += st.crashes, total.power_offs += st.power_offs;
        total.splits += st.splits, total.restarts += st.restarts, total.heals += st.heals;
        if (st.max_down > total.max_down) total.max_down = st.max_down;
        free(f);
    }
    return total;
}

Test(chaos, same_seed_same_plan) {
    scenario *s = load(5, CHAOS_DEFAULT ", 'power_off_every_s': [10, 30]");
    int na, nb;
    scenario_fault *a = plan(s, 42, &na), *b = plan(s, 42, &nb);
    cr_expect(na > 10, "a 90 s window every 5-20 s holds more than %d faults", na);
    cr_expect(same_plan(a, na, b, nb));
    free(a), free(b);
    unload(s);
}

Test(chaos, same_state_leaves_the_same_rng) {
    scenario *s = load(3, CHAOS_DEFAULT);
    scenario_fault f[PLAN_MAX];
    prng a, b;
    prng_seed(&a, 9);
    prng_seed(&b, 9);
    cr_assert_geq(chaos_plan(s, &a, f, PLAN_MAX), 0);
    cr_assert_geq(chaos_plan(s, &b, f, PLAN_MAX), 0);
    cr_expect(memcmp(&a, &b, sizeof a) == 0);
    unload(s);
}

Test(chaos, different_seeds_differ) {
    scenario *s = load(3, CHAOS_DEFAULT);
    int n1, n2, n3;
    scenario_fault *a = plan(s, 1, &n1), *b = plan(s, 2, &n2), *c = plan(s, 3, &n3);
    cr_expect(!same_plan(a, n1, b, n2));
    cr_expect(!same_plan(a, n1, c, n3));
    cr_expect(!same_plan(b, n2, c, n3));
    free(a), free(b), free(c);
    unload(s);
}

Test(chaos, rules_hold_for_every_size_and_seed) {
    for (int brokers = 1; brokers <= SCENARIO_BROKERS_MAX; brokers++) {
        scenario *s = load(brokers, CHAOS_DEFAULT);
        plan_stats t = check_seeds(s); /* replay asserts at most a minority down */
        cr_expect_eq(t.power_offs, 0, "power-offs without power_off_every_s");
        cr_expect_eq(t.crashes > 0, brokers >= 3, "%d brokers: %d crashes", brokers, t.crashes);
        cr_expect_eq(t.crashes, t.restarts, "%d brokers: every crash restarted", brokers);
        cr_expect_eq(t.splits > 0, brokers >= 2, "%d brokers: %d splits", brokers, t.splits);
        unload(s);
    }
}

Test(chaos, the_minority_limit_is_reached_never_passed) {
    /* Crashes far more often than restarts: the plan runs into the limit. */
    for (int brokers = 1; brokers <= SCENARIO_BROKERS_MAX; brokers++) {
        scenario *s = load(brokers, "'from_s': 0, 'until_s': 100, 'crash_every_s': [1, 2], "
                                    "'power_off_every_s': [1, 2], 'down_s': [10, 20]");
        plan_stats t = check_seeds(s);
        cr_expect_eq(t.max_down, (brokers - 1) / 2, "%d brokers: at most %d down, reached %d",
                     brokers, (brokers - 1) / 2, t.max_down);
        unload(s);
    }
}

Test(chaos, power_offs_only_when_configured) {
    scenario *off = load(5, CHAOS_DEFAULT ", 'power_off_every_s': null");
    scenario *on = load(5, CHAOS_DEFAULT ", 'power_off_every_s': [3, 8]");
    cr_expect_eq(check_seeds(off).power_offs, 0);
    plan_stats t = check_seeds(on);
    cr_expect_gt(t.power_offs, 0);
    cr_expect_gt(t.crashes, 0);
    cr_expect_eq(t.max_down, 2);
    unload(off), unload(on);
}

Test(chaos, only_the_configured_kinds) {
    scenario *crash = load(3, "'from_s': 0, 'until_s': 60, 'crash_every_s': [1, 5]");
    scenario *split = load(3, "'from_s': 0, 'until_s': 60, 'split_every_s': [1, 5]");
    scenario *none = load(3, "'from_s': 0, 'until_s': 60");
    plan_stats c = check_seeds(crash), p = check_seeds(split), z = check_seeds(none);
    cr_expect(c.crashes > 0 && c.splits == 0);
    cr_expect(p.splits > 0 && p.crashes == 0);
    cr_expect(z.crashes == 0 && z.splits == 0 && z.power_offs == 0);
    unload(crash), unload(split), unload(none);
}

Test(chaos, ends_with_heal_all_then_restarts_at_until) {
    /* Long down times: whatever is down at until comes back there. */
    scenario *s = load(5, "'from_s': 0, 'until_s': 30, 'crash_every_s': [1, 2], 'split_every_s': "
                          "[1, 2], 'down_s': [100, 200]");
    int n;
    scenario_fault *f = plan(s, 5, &n);
    check_plan(s, f, n);
    int i = 0;
    while (i < n && f[i].at_us < s->chaos.until_us) i++;
    cr_assert_lt(i, n);
    cr_expect(f[i].kind == SCENARIO_FAULT_HEAL && f[i].heal_all, "heal-all first at until");
    cr_expect_eq(n - i - 1, 2, "two brokers down at until, got %d restarts", n - i - 1);
    for (int j = i + 2; j < n; j++) cr_expect_lt(f[j - 1].target.broker, f[j].target.broker);
    free(f);
    unload(s);
}

Test(chaos, empty_window_is_just_the_heal) {
    scenario *s = load(3, "'from_s': 50, 'until_s': 50, 'crash_every_s': [1, 2]");
    int n;
    scenario_fault *f = plan(s, 1, &n);
    cr_assert_eq(n, 1);
    cr_expect(f[0].kind == SCENARIO_FAULT_HEAL && f[0].heal_all && f[0].at_us == 50000000);
    free(f);
    unload(s);
}

Test(chaos, zero_down_time_restarts_after_the_crash) {
    scenario *s = load(3, "'from_s': 0, 'until_s': 20, 'crash_every_s': [1, 1], 'split_every_s': "
                          "[1, 1], 'down_s': [0, 0]");
    int n;
    scenario_fault *f = plan(s, 3, &n);
    plan_stats st = check_plan(s, f, n); /* replay fails if a restart came before its crash */
    cr_expect_eq(st.crashes, 19, "one a second in (0, 20 s)");
    cr_expect_eq(st.splits, 19, "split and heal at once, the next 1 s later");
    for (int i = 0; i + 1 < n; i++)
        if (f[i].kind == SCENARIO_FAULT_CRASH) {
            cr_expect_eq(f[i + 1].kind, SCENARIO_FAULT_RESTART);
            cr_expect_eq(f[i + 1].at_us, f[i].at_us);
            cr_expect_eq(f[i + 1].target.broker, f[i].target.broker);
        }
    free(f);
    unload(s);
}

Test(chaos, times_are_whole_ms_in_range) {
    /* Down at most 4 s, next crash at least 5 s later: no crash is ever skipped. */
    scenario *s = load(9, "'from_s': 10, 'until_s': 100, 'crash_every_s': [5, 20], 'down_s': "
                          "[1, 4]");
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        int n;
        scenario_fault *f = plan(s, seed, &n);
        int64_t last_crash = s->chaos.from_us;
        for (int i = 0; i < n; i++) {
            cr_assert_eq(f[i].at_us % 1000, 0);
            if (f[i].kind != SCENARIO_FAULT_CRASH) continue;
            int64_t gap = f[i].at_us - last_crash;
            cr_assert(gap >= 5000000 && gap <= 20000000, "gap %lld", (long long)gap);
            last_crash = f[i].at_us;
            int j = i + 1;
            while (j < n && f[j].kind != SCENARIO_FAULT_RESTART) j++;
            cr_assert(j < n && f[j].target.broker == f[i].target.broker);
            int64_t down = f[j].at_us - f[i].at_us;
            cr_assert(f[j].at_us == s->chaos.until_us || (down >= 1000000 && down <= 4000000),
                      "down %lld", (long long)down);
        }
        cr_assert_gt(s->chaos.until_us - last_crash, 0);
        cr_assert_leq(s->chaos.until_us - last_crash, 20000000, "a crash skipped at the end");
        free(f);
    }
    unload(s);
}

Test(chaos, faults_have_the_loaders_form) {
    char err[ERR_BYTES];
    const char *text = "{\"name\": \"t\", \"duration_s\": 100, \"topics\": [], \"faults\": ["
                       "{\"at_s\": 1, \"crash\": 2}, {\"at_s\": 2, \"restart\": 2}, "
                       "{\"at_s\": 3, \"power_off\": 3}, {\"at_s\": 4, \"split\": [[1], [2, 3]]}, "
                       "{\"at_s\": 5, \"heal\": true}]}";
    scenario *scripted = calloc(1, sizeof *scripted);
    cr_assert_eq(scenario_load(scripted, "t.json", text, NULL, 0, err, sizeof err), 0, "%s", err);
    scenario *s = load(3, CHAOS_DEFAULT ", 'power_off_every_s': [5, 20]");
    int found[5] = {0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        int n;
        scenario_fault *f = plan(s, seed, &n);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 5; k++) found[k] |= same_fault(&f[i], &scripted->faults[k]);
        free(f);
    }
    for (int k = 0; k < 5; k++) cr_expect(found[k], "no planned fault like scripted fault %d", k);
    unload(scripted), unload(s);
}

Test(chaos, splits_reach_every_bipartition) {
    /* 4 brokers: 7 ways to split into two non-empty sides, broker 1 on side 1. */
    scenario *s = load(4, "'from_s': 0, 'until_s': 600, 'split_every_s': [1, 2]");
    int seen[16] = {0};
    int n;
    scenario_fault *f = plan(s, 11, &n);
    check_plan(s, f, n);
    for (int i = 0; i < n; i++) {
        if (f[i].kind != SCENARIO_FAULT_SPLIT) continue;
        cr_assert_eq(f[i].split_side[1], 1);
        int mask = 0;
        for (int b = 1; b <= 4; b++) mask |= (f[i].split_side[b] == 1) << (b - 1);
        seen[mask] = 1;
    }
    int kinds = 0;
    for (int m = 0; m < 16; m++) kinds += seen[m];
    cr_expect_eq(kinds, 7);
    free(f);
    unload(s);
}

Test(chaos, short_out_is_an_error) {
    scenario *s = load(3, CHAOS_DEFAULT);
    int n;
    scenario_fault *full = plan(s, 7, &n);
    scenario_fault *f = calloc((size_t)n, sizeof *f);
    cr_assert_not_null(f);
    for (int max = 0; max < n; max++) {
        prng rng;
        prng_seed(&rng, 7);
        cr_expect_eq(chaos_plan(s, &rng, max ? f : NULL, max), -1, "out_max %d of %d", max, n);
    }
    prng rng;
    prng_seed(&rng, 7);
    cr_expect_eq(chaos_plan(s, &rng, f, n), n, "exactly enough room");
    cr_expect(same_plan(f, n, full, n));
    free(f), free(full);
    unload(s);
}

Test(chaos, no_chaos_block_no_faults) {
    char err[ERR_BYTES];
    scenario *s = calloc(1, sizeof *s);
    cr_assert_eq(scenario_load(s, "t.json", "{\"name\": \"t\", \"duration_s\": 10, \"topics\": []}",
                               NULL, 0, err, sizeof err),
                 0, "%s", err);
    prng rng;
    prng_seed(&rng, 1);
    prng before = rng;
    cr_expect_eq(chaos_plan(s, &rng, NULL, 0), 0);
    cr_expect(memcmp(&before, &rng, sizeof rng) == 0, "no draws without chaos");
    unload(s);
}
