/* test_checker.c — the invariant checker fed hand-made observe events: it flags
 * an acknowledged record lost from a leader's log (truncated, replaced, or a new
 * leader without it) and names the setting that allowed it, a consumer skipping
 * offsets, a high watermark going back within one epoch; it stays silent on a
 * clean run, a clean failover and follower truncation; it counts each group's
 * records, distinct records and duplicates. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "observe.h"
#include "record_batch.h"
#include "record_value.h"
#include "scenario.h"

#define TOPIC "orders"
#define GROUP "billing"
#define PRODUCER 100
#define CONSUMER_A 200
#define CONSUMER_B 201
#define VALUE_BYTES 40

/* ---- fixtures ----------------------------------------------------------------------- */

static scenario *load(const char *cluster_json) {
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\": \"t\", \"duration_s\": 120, \"cluster\": {%s},"
             " \"topics\": [{\"name\": \"" TOPIC "\", \"partitions\": 2}],"
             " \"producers\": [{\"name\": \"shop\", \"topic\": \"" TOPIC "\"}],"
             " \"groups\": [{\"name\": \"" GROUP "\", \"topics\": [\"" TOPIC "\"],"
             " \"consumers\": 2}]}",
             cluster_json);
    scenario *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    char err[256] = "";
    cr_assert_eq(scenario_load(s, "t.json", text, NULL, 0, err, sizeof err), 0, "%s", err);
    return s;
}

/* The safe settings: any loss is a bug, allowed by nothing. */
static scenario *load_safe(void) {
    return load("\"min_insync_replicas\": 2");
}

typedef struct fixture {
    scenario *s;
    checker *c;
} fixture;

static fixture open_with(scenario *s) {
    fixture f = {s, checker_create(s)};
    cr_assert_not_null(f.c);
    return f;
}

static void close_fixture(fixture *f) {
    checker_destroy(f->c);
    scenario_free(f->s);
    free(f->s);
}

/* A batch at log offsets [base, base+n) holding producer's records seq0.. of partition. */
static size_t make_batch(uint8_t *buf, size_t cap, int64_t base, int32_t partition, int64_t seq0,
                         int n) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    cfg.base_offset = base;
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &cfg);
    for (int i = 0; i < n; i++) {
        uint8_t value[VALUE_BYTES];
        record_value_id id = {PRODUCER, partition, seq0 + i};
        record_value_format(value, sizeof value, &id);
        record_batch_record_in r = {
            .timestamp_ms = 1000 + i, .key_len = -1, .value = value, .value_len = VALUE_BYTES};
        cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    }
    return record_batch_builder_finish(&b);
}

static void leader(fixture *f, int64_t t, int32_t partition, int32_t node, int32_t epoch) {
    int32_t isr[] = {1, 2, 3};
    observe_event ev = {.kind = OBSERVE_LEADER,
                        .node = node,
                        .topic = TOPIC,
                        .partition = partition,
                        .leader = node,
                        .leader_epoch = epoch,
                        .isr = isr,
                        .isr_count = 3};
    checker_observe(f->c, t, &ev);
}

/* node appends producer records seq0.. at offsets [base, base+n). */
static void append(fixture *f, int64_t t, int32_t node, int32_t partition, int64_t base,
                   int64_t seq0, int n, int32_t epoch) {
    uint8_t buf[4096];
    size_t len = make_batch(buf, sizeof buf, base, partition, seq0, n);
    observe_event ev = {.kind = OBSERVE_APPEND,
                        .node = node,
                        .topic = TOPIC,
                        .partition = partition,
                        .leader_epoch = epoch,
                        .offset = base,
                        .offset_last = base + n - 1,
                        .batch = buf,
                        .batch_len = len};
    checker_observe(f->c, t, &ev);
}

static void truncate_to(fixture *f, int64_t t, int32_t node, int32_t partition, int64_t end) {
    observe_event ev = {.kind = OBSERVE_TRUNCATE,
                        .node = node,
                        .topic = TOPIC,
                        .partition = partition,
                        .offset = end};
    checker_observe(f->c, t, &ev);
}

static void high_watermark(fixture *f, int64_t t, int32_t node, int32_t partition, int64_t hw,
                           int32_t epoch) {
    observe_event ev = {.kind = OBSERVE_HIGH_WATERMARK,
                        .node = node,
                        .topic = TOPIC,
                        .partition = partition,
                        .leader = node,
                        .leader_epoch = epoch,
                        .offset = hw};
    checker_observe(f->c, t, &ev);
}

static void ack(fixture *f, int64_t t, int32_t partition, int64_t offset, int32_t seq, int count,
                int16_t acks) {
    observe_event ev = {.kind = OBSERVE_PRODUCE_ACK,
                        .node = PRODUCER,
                        .topic = TOPIC,
                        .partition = partition,
                        .offset = offset,
                        .offset_last = offset + count - 1,
                        .sequence = seq,
                        .count = count,
                        .acks = acks,
                        .detail = "shop"};
    checker_observe(f->c, t, &ev);
}

/* consumer reads offsets [base, base+n) holding records seq0.. */
static void consume(fixture *f, int64_t t, int32_t consumer, int32_t partition, int64_t base,
                    int64_t seq0, int n) {
    uint8_t buf[4096];
    size_t len = make_batch(buf, sizeof buf, base, partition, seq0, n);
    observe_event ev = {.kind = OBSERVE_CONSUME,
                        .node = consumer,
                        .topic = TOPIC,
                        .partition = partition,
                        .offset = base,
                        .offset_last = base + n - 1,
                        .batch = buf,
                        .batch_len = len,
                        .count = n,
                        .detail = GROUP};
    checker_observe(f->c, t, &ev);
}

/* A group event: ASSIGN (partition -1: owns nothing), REVOKE, REBALANCE, COMMIT or
 * OFFSET_LOAD. */
static void group_event(fixture *f, int64_t t, enum observe_kind kind, int32_t node,
                        int32_t generation, int32_t partition, int32_t count, int64_t offset) {
    observe_event ev = {.kind = kind,
                        .node = node,
                        .topic = partition >= 0 ? TOPIC : NULL,
                        .partition = partition,
                        .leader_epoch = generation,
                        .count = count,
                        .offset = offset,
                        .detail = GROUP};
    checker_observe(f->c, t, &ev);
}

static void assign(fixture *f, int64_t t, int32_t consumer, int32_t generation, int32_t partition,
                   int32_t count) {
    group_event(f, t, OBSERVE_ASSIGN, consumer, generation, partition, count, 0);
}

/* Generation 1: A owns both partitions, B none. */
static void generation_1(fixture *f) {
    group_event(f, 5500, OBSERVE_REBALANCE, 1, 1, -1, 2, 0);
    assign(f, 5600, CONSUMER_A, 1, 0, 2);
    assign(f, 5600, CONSUMER_A, 1, 1, 2);
    assign(f, 5600, CONSUMER_B, 1, -1, 0);
}

/* Leader 1 (epoch 1) and followers 2, 3 hold records 0..9 of partition 0 at
 * offsets 0..9; the high watermark is 10 and all ten are acknowledged with acks=all. */
static void replicated_and_acked(fixture *f) {
    leader(f, 1000, 0, 1, 1);
    append(f, 2000, 1, 0, 0, 0, 5, 1);
    append(f, 2100, 1, 0, 5, 5, 5, 1);
    for (int32_t node = 2; node <= 3; node++) append(f, 3000, node, 0, 0, 0, 10, 1);
    high_watermark(f, 4000, 1, 0, 10, 1);
    ack(f, 5000, 0, 0, 0, 5, -1);
    ack(f, 5000, 0, 5, 5, 5, -1);
}

static const checker_violation *only_violation(fixture *f, const char *invariant) {
    cr_assert_eq(checker_violation_count(f->c), 1, "expected exactly one violation, got %d",
                 checker_violation_count(f->c));
    const checker_violation *v = checker_violation_get(f->c, 0);
    cr_assert_str_eq(v->invariant, invariant, "detail: %s", v->detail);
    return v;
}

/* ---- silence on clean runs ------------------------------------------------------------ */

Test(checker, clean_sequence_is_silent) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 0, 0, 4);
    consume(&f, 6100, CONSUMER_A, 0, 4, 4, 6);
    high_watermark(&f, 7000, 1, 0, 10, 1); /* repeated, not lower */
    leader(&f, 8000, 1, 2, 1);             /* other partition: nothing there */
    checker_finish(f.c, 9000);
    cr_assert_eq(checker_violation_count(f.c), 0, "%s",
                 checker_violation_count(f.c) ? checker_violation_get(f.c, 0)->detail : "");
    cr_assert_eq(checker_violations_total(f.c), 0);
    cr_assert_eq(checker_high_watermark(f.c, TOPIC, 0), 10);
    cr_assert_eq(checker_high_watermark(f.c, TOPIC, 1), 0);
    close_fixture(&f);
}

Test(checker, clean_failover_is_silent) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    leader(&f, 10000, 0, 2, 2); /* follower 2 holds every acknowledged record */
    append(&f, 11000, 2, 0, 10, 10, 3, 2);
    high_watermark(&f, 12000, 2, 0, 13, 2);
    checker_finish(f.c, 13000);
    cr_assert_eq(checker_violation_count(f.c), 0);
    close_fixture(&f);
}

Test(checker, follower_truncation_is_silent) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    truncate_to(&f, 6000, 3, 0, 2); /* a follower may cut anything; it refetches */
    checker_finish(f.c, 7000);
    cr_assert_eq(checker_violation_count(f.c), 0);
    close_fixture(&f);
}

static void log_start(fixture *f, int64_t t, int32_t node, int32_t partition, int64_t start) {
    observe_event ev = {.kind = OBSERVE_LOG_START,
                        .node = node,
                        .topic = TOPIC,
                        .partition = partition,
                        .offset = start};
    checker_observe(f->c, t, &ev);
}

/* Retention on every replica moves the log start to 5; follower 3 was away, held only
 * offsets 0..1, and starts its log again at the leader's log start, then copies the
 * rest.  Nothing acknowledged is lost and the replicas agree on what they hold. */
Test(checker, retention_and_a_follower_restarting_at_the_log_start_are_silent) {
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    for (int32_t node = 1; node <= 2; node++) append(&f, 2000, node, 0, 0, 0, 10, 1);
    append(&f, 2000, 3, 0, 0, 0, 2, 1);
    high_watermark(&f, 4000, 1, 0, 10, 1);
    ack(&f, 5000, 0, 0, 0, 10, -1);
    for (int32_t node = 1; node <= 2; node++) log_start(&f, 7000, node, 0, 5);
    append(&f, 7100, 1, 0, 10, 10, 10, 1);
    ack(&f, 7200, 0, 10, 10, 10, -1);
    log_start(&f, 8000, 3, 0, 5); /* restarted at 5: its offsets 2..4 were never there */
    append(&f, 8100, 3, 0, 5, 5, 5, 1);
    append(&f, 8200, 3, 0, 10, 10, 10, 1);
    append(&f, 8300, 2, 0, 10, 10, 10, 1);
    leader(&f, 9000, 0, 1, 1); /* ISR of three: compared afresh */
    high_watermark(&f, 9100, 1, 0, 20, 1);
    leader(&f, 10000, 0, 3, 2); /* the restarted follower leads: nothing acked is lost */
    high_watermark(&f, 10100, 3, 0, 20, 2);
    checker_finish(f.c, 11000);
    cr_assert_eq(checker_violation_count(f.c), 0, "%s",
                 checker_violation_count(f.c) ? checker_violation_get(f.c, 0)->detail : "");
    close_fixture(&f);
}

Test(checker, unacknowledged_loss_is_silent) {
    /* Records acknowledged with acks=1 (or not at all) may be lost by design. */
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    append(&f, 2000, 1, 0, 0, 0, 5, 1);
    ack(&f, 3000, 0, 0, 0, 5, 1);
    truncate_to(&f, 4000, 1, 0, 0);
    leader(&f, 5000, 0, 2, 2);
    checker_finish(f.c, 6000);
    cr_assert_eq(checker_violation_count(f.c), 0);
    close_fixture(&f);
}

Test(checker, unknown_topics_are_ignored) {
    fixture f = open_with(load_safe());
    observe_event ev = {.kind = OBSERVE_HIGH_WATERMARK,
                        .node = 1,
                        .topic = "__consumer_offsets",
                        .partition = 7,
                        .leader_epoch = 1,
                        .offset = 5};
    checker_observe(f.c, 1000, &ev);
    ev.offset = 1; /* would be a regression if it were tracked */
    checker_observe(f.c, 2000, &ev);
    ev.topic = TOPIC;
    ev.partition = 2; /* beyond the topic's partitions */
    checker_observe(f.c, 3000, &ev);
    ev.offset = 0;
    checker_observe(f.c, 4000, &ev);
    checker_finish(f.c, 5000);
    cr_assert_eq(checker_violation_count(f.c), 0);
    close_fixture(&f);
}

/* ---- acked-write-lost -------------------------------------------------------------------- */

Test(checker, leader_truncating_acked_records_is_a_loss) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    truncate_to(&f, 6000, 1, 0, 7);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_str_eq(v->topic, TOPIC);
    cr_assert_eq(v->partition, 0);
    cr_assert_eq(v->offset, 7);
    cr_assert_eq(v->t_us, 6000);
    cr_assert_str_eq(v->allowed_by, "", "safe settings allow nothing: this is a bug");
    close_fixture(&f);
}

Test(checker, new_leader_without_acked_records_is_a_loss) {
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    append(&f, 2000, 1, 0, 0, 0, 5, 1);
    ack(&f, 3000, 0, 0, 0, 5, -1);
    /* Broker 3 never fetched: electing it loses all five. */
    leader(&f, 4000, 0, 3, 2);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_eq(v->offset, 0);
    cr_assert_eq(v->t_us, 4000);
    close_fixture(&f);
}

Test(checker, leader_overwriting_an_acked_offset_is_a_loss) {
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    append(&f, 2000, 1, 0, 0, 0, 5, 1);
    ack(&f, 3000, 0, 0, 0, 5, -1);
    /* Offsets 3..4 now hold other records (sequences 50..51) on the same leader. */
    truncate_to(&f, 4000, 1, 0, 5); /* no-op cut at the end: still fine */
    cr_assert_eq(checker_violation_count(f.c), 0);
    append(&f, 5000, 1, 0, 3, 50, 2, 1);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_eq(v->offset, 3);
    close_fixture(&f);
}

Test(checker, loss_found_at_finish) {
    /* The leader changes before the ack arrives; the loss shows only at the end. */
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    append(&f, 2000, 1, 0, 0, 0, 5, 1);
    leader(&f, 3000, 0, 3, 2); /* nothing acknowledged yet: no loss */
    cr_assert_eq(checker_violation_count(f.c), 0);
    ack(&f, 4000, 0, 0, 0, 5, -1);
    checker_finish(f.c, 5000);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_eq(v->t_us, 5000);
    close_fixture(&f);
}

static void expect_allowed_by(scenario *s, const char *fault, const char *want) {
    fixture f = open_with(s);
    if (fault) checker_note_fault(f.c, 2500000, fault);
    replicated_and_acked(&f);
    truncate_to(&f, 6000, 1, 0, 0);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_str_eq(v->allowed_by, want);
    close_fixture(&f);
}

Test(checker, loss_names_the_setting_that_allowed_it) {
    expect_allowed_by(load(""), NULL, "min-isr-1"); /* Kafka's default min.insync.replicas */
    expect_allowed_by(load("\"min_insync_replicas\": 2, \"unclean_leader_election\": true"), NULL,
                      "unclean-election");
    expect_allowed_by(load("\"min_insync_replicas\": 2, \"truncation\": \"high-watermark\""), NULL,
                      "high-watermark-truncation");
    expect_allowed_by(load("\"min_insync_replicas\": 2, \"truncation\": \"epoch-single\""), NULL,
                      "epoch-single-truncation");
    expect_allowed_by(load("\"min_insync_replicas\": 2"), "power_off 1", "power-off");
    expect_allowed_by(load("\"min_insync_replicas\": 2, \"flush_interval_ms\": 0"), "power_off 1",
                      "");
    expect_allowed_by(load("\"min_insync_replicas\": 2"), "crash 1", "");
}

Test(checker, loss_reports_the_faults_before_it) {
    fixture f = open_with(load_safe());
    checker_note_fault(f.c, 1000000, "crash 2");
    checker_note_fault(f.c, 2500000, "restart 2");
    replicated_and_acked(&f);
    truncate_to(&f, 6000, 1, 0, 3);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_eq(v->fault_count, 2);
    cr_assert_str_eq(v->faults[0], "1.0 crash 2");
    cr_assert_str_eq(v->faults[1], "2.5 restart 2");
    close_fixture(&f);
}

Test(checker, only_the_latest_faults_are_kept) {
    fixture f = open_with(load_safe());
    char what[32];
    for (int i = 0; i < CHECKER_FAULTS_KEPT + 3; i++) {
        snprintf(what, sizeof what, "crash %d", i);
        checker_note_fault(f.c, (int64_t)i * 1000000, what);
    }
    replicated_and_acked(&f);
    truncate_to(&f, 60000000, 1, 0, 3);
    const checker_violation *v = only_violation(&f, "acked-write-lost");
    cr_assert_eq(v->fault_count, CHECKER_FAULTS_KEPT);
    cr_assert_str_eq(v->faults[0], "3.0 crash 3", "oldest kept: %s", v->faults[0]);
    snprintf(what, sizeof what, "%d.0 crash %d", CHECKER_FAULTS_KEPT + 2, CHECKER_FAULTS_KEPT + 2);
    cr_assert_str_eq(v->faults[CHECKER_FAULTS_KEPT - 1], what);
    close_fixture(&f);
}

/* ---- high watermark ---------------------------------------------------------------------- */

Test(checker, high_watermark_regression_within_an_epoch) {
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    high_watermark(&f, 2000, 1, 0, 5, 1);
    high_watermark(&f, 3000, 1, 0, 8, 1);
    high_watermark(&f, 4000, 1, 0, 6, 1);
    const checker_violation *v = only_violation(&f, "high-watermark-regression");
    cr_assert_eq(v->offset, 6);
    cr_assert_eq(v->t_us, 4000);
    cr_assert_eq(v->partition, 0);
    close_fixture(&f);
}

Test(checker, high_watermark_may_restart_in_a_new_epoch) {
    /* A new leader may start from a lower high watermark than the old one knew. */
    fixture f = open_with(load_safe());
    high_watermark(&f, 2000, 1, 0, 8, 1);
    high_watermark(&f, 3000, 2, 0, 6, 2);
    high_watermark(&f, 4000, 2, 0, 9, 2);
    cr_assert_eq(checker_violation_count(f.c), 0);
    cr_assert_eq(checker_high_watermark(f.c, TOPIC, 0), 9);
    /* Partitions are tracked apart. */
    high_watermark(&f, 5000, 1, 1, 3, 1);
    cr_assert_eq(checker_violation_count(f.c), 0);
    close_fixture(&f);
}

Test(checker, leader_epoch_going_back_is_flagged) {
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 0); /* Kafka's first epoch is 0 */
    leader(&f, 2000, 0, 2, 3);
    cr_assert_eq(checker_violation_count(f.c), 0);
    leader(&f, 3000, 0, 1, 2);
    only_violation(&f, "leader-epoch");
    close_fixture(&f);
}

Test(checker, leader_removing_a_consumed_record_is_flagged) {
    fixture f = open_with(load_safe());
    leader(&f, 1000, 0, 1, 1);
    append(&f, 2000, 1, 0, 0, 0, 10, 1);
    ack(&f, 3000, 0, 0, 0, 10, 1); /* acks=1: losing them is allowed, being seen is not */
    generation_1(&f);
    consume(&f, 4000, CONSUMER_A, 0, 0, 0, 10);
    truncate_to(&f, 5000, 1, 0, 10); /* at the end: removes nothing */
    cr_assert_eq(checker_violation_count(f.c), 0);
    truncate_to(&f, 6000, 1, 0, 9);
    const checker_violation *v = only_violation(&f, "seen-record-removed");
    cr_assert_eq(v->offset, 9);
    close_fixture(&f);
}

/* ---- consumer order ------------------------------------------------------------------------ */

Test(checker, consumer_gap_is_flagged) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 0, 0, 3);
    consume(&f, 6100, CONSUMER_A, 0, 3, 3, 2); /* 3..4: in order */
    consume(&f, 6200, CONSUMER_A, 0, 6, 6, 4); /* skips 5 */
    const checker_violation *v = only_violation(&f, "consumer-order");
    cr_assert_eq(v->offset, 6);
    cr_assert_eq(v->partition, 0);
    cr_assert_eq(v->t_us, 6200);
    close_fixture(&f);
}

Test(checker, consumers_are_ordered_apart) {
    /* Each consumer starts where its assignment starts it; partitions are separate. */
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    group_event(&f, 5500, OBSERVE_REBALANCE, 1, 1, -1, 2, 0);
    assign(&f, 5600, CONSUMER_A, 1, 1, 1);
    assign(&f, 5600, CONSUMER_B, 1, 0, 1);
    consume(&f, 6000, CONSUMER_B, 0, 5, 5, 5);
    consume(&f, 6100, CONSUMER_A, 1, 0, 0, 2);
    consume(&f, 6200, CONSUMER_A, 1, 2, 2, 2);
    cr_assert_eq(checker_violation_count(f.c), 0, "%s",
                 checker_violation_count(f.c) ? checker_violation_get(f.c, 0)->detail : "");
    close_fixture(&f);
}

/* ---- ownership (invariant 5) ---------------------------------------------------------------- */

Test(checker, two_owners_in_one_generation_are_flagged) {
    fixture f = open_with(load_safe());
    group_event(&f, 1000, OBSERVE_REBALANCE, 1, 3, -1, 2, 0);
    assign(&f, 1100, CONSUMER_A, 3, 0, 1);
    assign(&f, 1200, CONSUMER_B, 3, 0, 1);
    const checker_violation *v = only_violation(&f, "partition-ownership");
    cr_assert_eq(v->partition, 0);
    cr_assert(strstr(v->detail, "generation 3"), "%s", v->detail);
    close_fixture(&f);
}

Test(checker, a_partition_nobody_owns_in_a_complete_generation_is_flagged) {
    fixture f = open_with(load_safe());
    group_event(&f, 1000, OBSERVE_REBALANCE, 1, 2, -1, 2, 0);
    assign(&f, 1100, CONSUMER_A, 2, 0, 1);
    cr_assert_eq(checker_violation_count(f.c), 0); /* B has not reported yet */
    assign(&f, 1200, CONSUMER_B, 2, -1, 0);        /* B owns nothing: partition 1 is orphaned */
    const checker_violation *v = only_violation(&f, "partition-ownership");
    cr_assert_eq(v->partition, 1);
    close_fixture(&f);
}

Test(checker, the_same_partition_in_successive_generations_is_fine) {
    fixture f = open_with(load_safe());
    generation_1(&f);
    group_event(&f, 7000, OBSERVE_REVOKE, CONSUMER_A, 1, -1, 2, 0);
    group_event(&f, 7100, OBSERVE_REBALANCE, 1, 2, -1, 2, 0);
    assign(&f, 7200, CONSUMER_B, 2, 0, 1);
    assign(&f, 7200, CONSUMER_A, 2, 1, 1);
    cr_assert_eq(checker_violation_count(f.c), 0, "%s",
                 checker_violation_count(f.c) ? checker_violation_get(f.c, 0)->detail : "");
    close_fixture(&f);
}

Test(checker, consuming_a_partition_not_owned_is_flagged) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 0, 0, 3);
    group_event(&f, 6100, OBSERVE_REVOKE, CONSUMER_A, 1, -1, 2, 0);
    consume(&f, 6200, CONSUMER_A, 0, 3, 3, 2);
    const checker_violation *v = only_violation(&f, "partition-ownership");
    cr_assert_eq(v->offset, 3);
    close_fixture(&f);
}

/* ---- duplicates and commits (invariant 4) ------------------------------------------------- */

Test(checker, rereading_the_uncommitted_tail_after_a_rebalance_is_allowed_but_not_without) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 0, 0, 6);
    group_event(&f, 6100, OBSERVE_COMMIT, 1, 1, 0, 0, 4);
    group_event(&f, 6200, OBSERVE_REVOKE, CONSUMER_A, 1, -1, 2, 0);
    group_event(&f, 6300, OBSERVE_REBALANCE, 1, 2, -1, 2, 0);
    assign(&f, 6400, CONSUMER_B, 2, 0, 1);
    assign(&f, 6400, CONSUMER_A, 2, 1, 1);
    consume(&f, 7000, CONSUMER_B, 0, 4, 4, 6); /* from the commit at 4: 4, 5 twice */
    cr_assert_eq(checker_violation_count(f.c), 0, "%s",
                 checker_violation_count(f.c) ? checker_violation_get(f.c, 0)->detail : "");
    cr_assert_eq(checker_group(f.c, GROUP).duplicates, 2);
    consume(&f, 7100, CONSUMER_B, 0, 8, 8, 2); /* the same consumer going back: a bug */
    const checker_violation *v = only_violation(&f, "consumer-order");
    cr_assert_eq(v->offset, 8);
    close_fixture(&f);
}

Test(checker, a_commit_moving_backwards_is_flagged) {
    fixture f = open_with(load_safe());
    group_event(&f, 1000, OBSERVE_COMMIT, 1, 1, 0, 0, 40);
    group_event(&f, 2000, OBSERVE_COMMIT, 1, 1, 0, 0, 40); /* the same again is fine */
    group_event(&f, 3000, OBSERVE_COMMIT, 1, 1, 0, 0, 55);
    cr_assert_eq(checker_violation_count(f.c), 0);
    group_event(&f, 4000, OBSERVE_COMMIT, 1, 1, 0, 0, 50);
    const checker_violation *v = only_violation(&f, "committed-offset-regression");
    cr_assert_eq(v->offset, 50);
    close_fixture(&f);
}

Test(checker, a_new_coordinator_loading_less_than_acknowledged_is_a_lost_commit) {
    fixture f = open_with(load_safe());
    group_event(&f, 1000, OBSERVE_COMMIT, 1, 1, 1, 0, 70);
    group_event(&f, 2000, OBSERVE_OFFSET_LOAD, 2, 1, 0, 0, 0); /* nothing committed there */
    group_event(&f, 2000, OBSERVE_OFFSET_LOAD, 2, 1, 1, 0, 70);
    cr_assert_eq(checker_violation_count(f.c), 0);
    group_event(&f, 3000, OBSERVE_OFFSET_LOAD, 3, 1, 1, 0, 60);
    const checker_violation *v = only_violation(&f, "committed-offset-regression");
    cr_assert_eq(v->partition, 1);
    cr_assert(strstr(v->detail, "lost commit"), "%s", v->detail);
    close_fixture(&f);
}

Test(checker, starting_below_the_acknowledged_commit_is_flagged) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    group_event(&f, 5000, OBSERVE_COMMIT, 1, 1, 0, 0, 6);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 4, 4, 6); /* OffsetFetch must have said 6 */
    const checker_violation *v = only_violation(&f, "committed-offset-regression");
    cr_assert_eq(v->offset, 4);
    close_fixture(&f);
}

Test(checker, lag_and_recovery_time) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f); /* partition 0 high watermark 10 */
    group_event(&f, 6000, OBSERVE_COMMIT, 1, 1, 0, 0, 7);
    cr_assert_eq(checker_group(f.c, GROUP).lag, 3);
    cr_assert_eq(checker_group(f.c, GROUP).recovery_ms, -1);
    checker_note_consumer_crash(f.c, 10000000, GROUP);
    group_event(&f, 55500000, OBSERVE_REBALANCE, 1, 2, -1, 1, 0);
    cr_assert_eq(checker_group(f.c, GROUP).recovery_ms, 45500);
    close_fixture(&f);
}

/* ---- group statistics -------------------------------------------------------------------- */

Test(checker, group_counts_records_unique_and_duplicates) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 0, 0, 6);
    /* After a rebalance consumer B re-reads from the last commit at 4. */
    group_event(&f, 6500, OBSERVE_REBALANCE, 1, 2, -1, 1, 0);
    assign(&f, 6600, CONSUMER_B, 2, 0, 2);
    assign(&f, 6600, CONSUMER_B, 2, 1, 2);
    consume(&f, 7000, CONSUMER_B, 0, 4, 4, 6);
    checker_group_stats g = checker_group(f.c, GROUP);
    cr_assert_eq(g.records, 12);
    cr_assert_eq(g.unique, 10);
    cr_assert_eq(g.duplicates, 2);
    cr_assert_eq(g.rebalances, 2);
    cr_assert_eq(checker_group_unread(f.c, GROUP).missing, 0);
    checker_group_stats none = checker_group(f.c, "no-such-group");
    cr_assert_eq(none.records + none.unique + none.duplicates + none.rebalances, 0);
    cr_assert_eq(checker_violation_count(f.c), 0);
    close_fixture(&f);
}

Test(checker, group_missing_counts_acked_records_never_consumed) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    /* Not read yet is lag, not missing: only holes below the group's position count. */
    cr_assert_eq(checker_group_unread(f.c, GROUP).missing, 0);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 0, 0, 5);
    cr_assert_eq(checker_group_unread(f.c, GROUP).missing, 0);
    assign(&f, 6050, CONSUMER_B, 2, 0, 1);
    consume(&f, 6100, CONSUMER_B, 0, 8, 8, 2); /* another member skips offsets 5..7 */
    cr_assert_eq(checker_group_unread(f.c, GROUP).missing, 3);
    cr_assert_eq(checker_group_unread(f.c, GROUP).expired, 0);
    cr_assert_eq(checker_group(f.c, GROUP).unique, 7);
    close_fixture(&f);
}

/* Retention deleted offsets 0..5 before the group read them; it reset to the log
 * start: expired, not missing.  A hole above the log start stays missing. */
Test(checker, records_retention_deleted_before_the_group_read_them_are_expired) {
    fixture f = open_with(load_safe());
    replicated_and_acked(&f);
    for (int32_t node = 1; node <= 3; node++) log_start(&f, 5500, node, 0, 6);
    generation_1(&f);
    consume(&f, 6000, CONSUMER_A, 0, 6, 6, 2);
    consume(&f, 6100, CONSUMER_A, 0, 9, 9, 1); /* offset 8 skipped */
    checker_unread u = checker_group_unread(f.c, GROUP);
    cr_assert_eq(u.expired, 6);
    cr_assert_eq(u.missing, 1);
    close_fixture(&f);
}

Test(checker, same_sequence_in_other_partition_is_another_record) {
    fixture f = open_with(load_safe());
    generation_1(&f);
    consume(&f, 1000, CONSUMER_A, 0, 0, 0, 3);
    consume(&f, 1000, CONSUMER_A, 1, 0, 0, 3);
    checker_group_stats g = checker_group(f.c, GROUP);
    cr_assert_eq(g.unique, 6);
    cr_assert_eq(g.duplicates, 0);
    close_fixture(&f);
}

/* ---- limits --------------------------------------------------------------------------------- */

Test(checker, violations_beyond_the_cap_are_counted) {
    fixture f = open_with(load_safe());
    int n = CHECKER_VIOLATIONS_MAX + 6;
    high_watermark(&f, 0, 1, 0, 1000000, 1);
    for (int i = 0; i < n; i++) high_watermark(&f, 1000 + i, 1, 0, 1000000 - 1 - i, 1);
    cr_assert_eq(checker_violation_count(f.c), CHECKER_VIOLATIONS_MAX);
    cr_assert_eq(checker_violations_total(f.c), n);
    cr_assert_eq(checker_violation_get(f.c, 0)->offset, 1000000 - 1);
    close_fixture(&f);
}

/* ---- duplicate-append ----------------------------------------------------------------- */

/* Leader 1 appends records 0..3, then a retry of records 2..3 at offsets 4..5. */
static void append_with_retry(fixture *f) {
    leader(f, 0, 0, 1, 0);
    append(f, 1, 1, 0, 0, 0, 4, 0);
    append(f, 2, 1, 0, 4, 2, 2, 0);
}

Test(checker, duplicate_append_of_an_idempotent_producer_is_a_bug) {
    fixture f = open_with(load_safe());
    checker_add_producer(f.c, PRODUCER, 1);
    append_with_retry(&f);
    cr_assert_eq(checker_producer_duplicates(f.c, PRODUCER), 2);
    cr_assert_eq(checker_violations_total(f.c), 2);
    const checker_violation *v = checker_violation_get(f.c, 0);
    cr_assert_str_eq(v->invariant, "duplicate-append");
    cr_assert_eq(v->offset, 4);
    cr_assert_str_eq(v->allowed_by, "", "allowed by nothing");
    close_fixture(&f);
}

Test(checker, duplicate_append_without_idempotence_is_counted_not_a_violation) {
    fixture f = open_with(load_safe());
    checker_add_producer(f.c, PRODUCER, 0);
    append_with_retry(&f);
    append(&f, 3, 2, 0, 0, 0, 4, 0); /* a follower copying them counts nothing more */
    append(&f, 3, 2, 0, 4, 2, 2, 0);
    cr_assert_eq(checker_producer_duplicates(f.c, PRODUCER), 2);
    cr_assert_eq(checker_violations_total(f.c), 0);
    close_fixture(&f);
}

Test(checker, records_truncated_and_written_again_are_not_duplicates) {
    fixture f = open_with(load_safe());
    checker_add_producer(f.c, PRODUCER, 1);
    leader(&f, 0, 0, 1, 0);
    append(&f, 1, 1, 0, 0, 0, 4, 0);
    append(&f, 1, 2, 0, 0, 0, 2, 0); /* follower 2 has only records 0..1 */
    leader(&f, 2, 0, 2, 1);          /* 2 leads; the retry of 2..3 lands at 2..3 again */
    append(&f, 3, 2, 0, 2, 2, 2, 1);
    leader(&f, 4, 0, 3, 2); /* 3 never had 2..3 at 2..3: it appends them at 2..3 too */
    append(&f, 5, 3, 0, 0, 0, 2, 0);
    append(&f, 6, 3, 0, 2, 2, 2, 2);
    truncate_to(&f, 7, 1, 0, 2); /* 1 cuts its old tail and copies the new one */
    append(&f, 8, 1, 0, 2, 2, 2, 2);
    leader(&f, 9, 0, 1, 3);
    append(&f, 10, 1, 0, 4, 4, 1, 3);
    cr_assert_eq(checker_producer_duplicates(f.c, PRODUCER), 0);
    cr_assert_eq(checker_violations_total(f.c), 0);
    close_fixture(&f);
}

Test(checker, a_retry_on_a_new_leader_that_already_has_the_record_is_a_duplicate) {
    fixture f = open_with(load_safe());
    checker_add_producer(f.c, PRODUCER, 0);
    leader(&f, 0, 0, 1, 0);
    append(&f, 1, 1, 0, 0, 0, 3, 0);
    append(&f, 1, 2, 0, 0, 0, 3, 0); /* replicated, but the ack was lost */
    leader(&f, 2, 0, 2, 1);
    append(&f, 3, 2, 0, 3, 0, 3, 1); /* the producer retries on the new leader */
    cr_assert_eq(checker_producer_duplicates(f.c, PRODUCER), 3);
    close_fixture(&f);
}

Test(checker, records_lost_to_a_power_off_and_written_again_are_not_duplicates) {
    fixture f = open_with(load_safe());
    checker_add_producer(f.c, PRODUCER, 1);
    leader(&f, 0, 0, 1, 0);
    append(&f, 1, 1, 0, 0, 0, 6, 0);
    /* Broker 1 loses its whole log (no truncate event: recovery finds it empty) and
     * takes records 4..5 again, then 6, at offsets 0..2. */
    append(&f, 2, 1, 0, 0, 4, 2, 0);
    append(&f, 3, 1, 0, 2, 6, 1, 0);
    cr_assert_eq(checker_producer_duplicates(f.c, PRODUCER), 0);
    cr_assert_eq(checker_violations_total(f.c), 0);
    append(&f, 4, 1, 0, 3, 5, 1, 0); /* but record 5 again at 3 is a duplicate of offset 1 */
    cr_assert_eq(checker_producer_duplicates(f.c, PRODUCER), 1);
    cr_assert_eq(checker_violations_total(f.c), 1);
    close_fixture(&f);
}

/* record_value_parse: a round trip, and what is not a streamlab value. */
static int parse_str(const char *s, record_value_id *id) {
    return record_value_parse((const uint8_t *)s, strlen(s), id);
}

Test(record_value, parses_what_format_wrote_and_rejects_the_rest) {
    uint8_t value[64];
    record_value_id in = {2147483647, 17, 123456789012345678LL}, out = {0};
    record_value_format(value, sizeof value, &in);
    cr_assert_eq(record_value_parse(value, sizeof value, &out), 0);
    cr_assert(out.producer == in.producer && out.partition == in.partition &&
              out.sequence == in.sequence);
    cr_assert_eq(parse_str("sl:1:2:3:", &out), 0);
    cr_assert(out.producer == 1 && out.partition == 2 && out.sequence == 3);
    cr_assert_eq(parse_str("sl:1:2:3", &out), -1);                    /* no final ':' */
    cr_assert_eq(parse_str("sl:1::3:", &out), -1);                    /* empty number */
    cr_assert_eq(parse_str("sl:1:x:3:", &out), -1);                   /* not a digit */
    cr_assert_eq(parse_str("sl:2147483648:0:0:", &out), -1);          /* producer > int32 */
    cr_assert_eq(parse_str("sl:1:2:1234567890123456789:", &out), -1); /* 19 digits */
    cr_assert_eq(parse_str("sl:1:2:123456789012345678:", &out), 0);   /* 18 digits */
    cr_assert_eq(parse_str("sk:1:2:3:", &out), -1);
    cr_assert_eq(record_value_parse(NULL, 0, &out), -1);
}
