/*
 * test_idempotence.c — idempotent producers end to end in the simulator: under load,
 * connections break (drop_rate) and partition leaders crash, so producers retry
 * batches whose first attempt was appended.  Without idempotence some records land
 * twice (counted per producer, not a violation); with it, the leaders — old and new —
 * answer those retries with the original offsets: no duplicate, no violation, and
 * every record still acknowledged.  A short delivery timeout makes batches expire,
 * leaving sequence gaps the producer must resolve by bumping its epoch (KIP-360)
 * without wedging or duplicating.  The museum's scenarios/idempotence.json and a
 * chaos seed that once duplicated (a later batch overtook a lost first one) run too.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "scenario.h"
#include "sim_run.h"

#define ERR_BYTES 512

/* Leader crashes under load with broken connections; {idempotent}, {delivery_ms}. */
#define SCENARIO_FMT                                                                               \
    "{'name': 'idem', 'seed': %d, 'duration_s': 40, 'liveness_s': 10, "                            \
    "'cluster': {'brokers': 3, 'min_insync_replicas': 2, 'offsets_topic_partitions': 1}, "         \
    "'network': {'latency_ms': [1, 5], 'drop_rate': 0.02}, "                                       \
    "'topics': [{'name': 'orders', 'partitions': 3, 'replication_factor': 3}], "                   \
    "'producers': [{'name': 'shop', 'topic': 'orders', 'rate_per_s': 400, 'keys': 50, "            \
    "'idempotent': %s, 'delivery_timeout_ms': %d}], "                                              \
    "'faults': [{'at_s': 8, 'crash': 'leader:orders/0'}, {'at_s': 14, 'restart': 'crashed'}, "     \
    "{'at_s': 18, 'crash': 'leader:orders/1'}, {'at_s': 24, 'restart': 'crashed'}]}"

typedef struct outcome {
    int64_t produced, acked, failed, duplicates, resets;
    int64_t violations;
    char first[300];
} outcome;

static int64_t json_int(const char *json, const char *key) {
    const char *at = strstr(json, key);
    cr_assert_not_null(at, "%s in %s", key, json);
    return strtoll(at + strlen(key), NULL, 10);
}

/* Runs the loaded scenario to its end and frees it. */
static outcome run_loaded(scenario *s) {
    char err[ERR_BYTES];
    sim_run_options o = {
        .seed = s->seed, .end_us = s->duration_us, .overrides_json = "[]", .until_us_override = -1};
    sim_run *r = sim_run_create(s, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(sim_run_finish(r, 1.0, err, sizeof err), 0, "%s", err);
    char *json = sim_run_summary_json(r, 1.0);
    cr_assert_not_null(json);
    outcome out = {.produced = json_int(json, "\"produced\":"),
                   .acked = json_int(json, "\"acked\":"),
                   .failed = json_int(json, "\"failed\":"),
                   .duplicates = json_int(json, "\"duplicates\":"),
                   .resets = json_int(json, "\"resets\":")};
    const checker *c = sim_run_checker(r);
    out.violations = checker_violations_total(c);
    if (checker_violation_count(c))
        snprintf(out.first, sizeof out.first, "%s: %s", checker_violation_get(c, 0)->invariant,
                 checker_violation_get(c, 0)->detail);
    free(json);
    sim_run_destroy(r);
    scenario_free(s);
    return out;
}

static outcome run(int seed, int idempotent, int delivery_ms) {
    char text[2048], err[ERR_BYTES];
    snprintf(text, sizeof text, SCENARIO_FMT, seed, idempotent ? "true" : "false", delivery_ms);
    for (char *c = text; *c; c++)
        if (*c == '\'') *c = '"';
    scenario s;
    cr_assert_eq(scenario_load(&s, "idem.json", text, NULL, 0, err, sizeof err), 0, "%s", err);
    return run_loaded(&s);
}

/* scenarios/NAME.json with --set overrides. */
static outcome run_file(const char *path, const scenario_override *sets, int set_count) {
    char err[ERR_BYTES];
    scenario s;
    cr_assert_eq(scenario_load(&s, path, NULL, sets, set_count, err, sizeof err), 0, "%s", err);
    return run_loaded(&s);
}

Test(idempotence, retries_across_leader_changes_duplicate_without_it, .timeout = 120) {
    outcome o = run(1, 0, 120000);
    cr_assert_gt(o.duplicates, 0, "the faults must make retries land twice");
    cr_assert_eq(o.violations, 0, "duplicates of a plain producer are counted, not violations: %s",
                 o.first);
    cr_assert_eq(o.failed, 0);
}

Test(idempotence, retries_across_leader_changes_append_once_with_it, .timeout = 120) {
    for (int seed = 1; seed <= 3; seed++) {
        outcome o = run(seed, 1, 120000);
        cr_assert_eq(o.duplicates, 0, "seed %d", seed);
        cr_assert_eq(o.violations, 0, "seed %d: %s", seed, o.first);
        cr_assert_eq(o.failed, 0, "seed %d", seed);
        cr_assert_gt(o.acked, o.produced * 99 / 100, "seed %d: %lld of %lld acked", seed,
                     (long long)o.acked, (long long)o.produced);
    }
}

Test(idempotence, expired_batches_leave_gaps_resolved_by_an_epoch_bump, .timeout = 120) {
    outcome o = run(1, 1, 1500);
    cr_assert_gt(o.failed, 0, "batches expired while the leader was down");
    cr_assert_gt(o.resets, 0, "the producer bumped its epoch over the gap");
    cr_assert_eq(o.duplicates, 0);
    cr_assert_eq(o.violations, 0, "%s", o.first);
    cr_assert_gt(o.acked, o.produced / 2, "and kept producing: %lld of %lld acked",
                 (long long)o.acked, (long long)o.produced);
}

Test(idempotence, the_museum_scenario_both_ways, .timeout = 120) {
    scenario_override plain = {"producers.shop.idempotent", "false"};
    scenario_override idem = {"producers.shop.idempotent", "true"};
    outcome o = run_file("scenarios/idempotence.json", &plain, 1);
    cr_assert_gt(o.duplicates, 0);
    cr_assert_eq(o.violations, 0, "%s", o.first);
    o = run_file("scenarios/idempotence.json", &idem, 1);
    cr_assert_eq(o.duplicates, 0);
    cr_assert_eq(o.violations, 0, "%s", o.first);
}

/* Chaos seed 92 with drops and short delivery timeouts: at start-up the first batch
 * of clicks/1 (sequence 0) lost its connection while the next two (71, 74) reached a
 * leader with no state for the producer, which took them; their answers were lost
 * too.  The retried first batch was refused (OUT_OF_ORDER_SEQUENCE) and the producer
 * bumped its epoch at once, renumbering the other two, which were then appended
 * again.  It must first settle them under their old stamp. */
Test(idempotence, a_later_batch_that_overtook_a_lost_first_one_is_settled_first, .timeout = 120) {
    scenario_override sets[] = {{"seed", "92"},
                                {"network.drop_rate", "0.02"},
                                {"producers.shop.delivery_timeout_ms", "3000"},
                                {"producers.tracker.delivery_timeout_ms", "3000"}};
    outcome o = run_file("scenarios/chaos.json", sets, 4);
    cr_assert_eq(o.duplicates, 0);
    cr_assert_eq(o.violations, 0, "%s", o.first);
}
