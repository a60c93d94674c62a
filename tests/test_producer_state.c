/* test_producer_state.c — idempotent producers' per-partition state: duplicates within
 * the window of five batches, gaps, stale and new epochs, unknown producers, sequence
 * wrap-around, eviction, and the state rebuilt from a log's batch headers (at open and
 * after a truncation). */
#include <criterion/criterion.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "mem_storage.h"
#include "partition_log.h"
#include "producer_state.h"
#include "record_batch.h"

static producer_state S;

static void setup(void) {
    producer_state_init(&S);
}

static void teardown(void) {
    producer_state_deinit(&S);
}

TestSuite(producer_state, .init = setup, .fini = teardown, .timeout = 30);

static producer_batch_info info(int64_t pid, int16_t epoch, int32_t first, int32_t count,
                                int64_t base) {
    return (producer_batch_info){.producer_id = pid,
                                 .epoch = epoch,
                                 .first_sequence = first,
                                 .last_sequence = first + count - 1,
                                 .base_offset = base,
                                 .last_offset = base + count - 1};
}

static int16_t check(producer_batch_info in, producer_batch_meta *dup) {
    producer_batch_meta unused;
    return producer_state_check(&S, &in, 0, dup ? dup : &unused);
}

/* Appends (checked) n batches of 2 records from sequence 0 at offsets from base. */
static void append_batches(int64_t pid, int16_t epoch, int n, int64_t base) {
    for (int i = 0; i < n; i++) {
        producer_batch_info in = info(pid, epoch, 2 * i, 2, base + 2 * i);
        cr_assert_eq(check(in, NULL), KAFKA_ERROR_NONE, "batch %d in sequence", i);
        cr_assert_eq(producer_state_update(&S, &in), 0);
    }
}

Test(producer_state, retries_in_the_window_of_five_are_duplicates) {
    append_batches(7, 0, 8, 100); /* sequences 0..15 at offsets 100..115 */
    for (int i = 3; i < 8; i++) {
        producer_batch_meta dup = {0};
        cr_assert_eq(check(info(7, 0, 2 * i, 2, -1), &dup), KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER,
                     "batch %d is in the window", i);
        cr_assert_eq(dup.base_offset, 100 + 2 * i, "the original's offsets");
        cr_assert_eq(dup.last_offset, 101 + 2 * i);
    }
    cr_assert_eq(check(info(7, 0, 4, 2, -1), NULL), KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                 "older than the window");
    cr_assert_eq(check(info(7, 0, 14, 1, -1), NULL), KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                 "same first sequence, another last: not the same batch");
    cr_assert_eq(check(info(7, 0, 16, 3, -1), NULL), KAFKA_ERROR_NONE, "the next batch");
    cr_assert_eq(producer_state_find(&S, 7)->batch_count, PRODUCER_STATE_BATCHES_MAX);
}

Test(producer_state, a_gap_is_out_of_order) {
    append_batches(7, 0, 2, 0);
    cr_assert_eq(check(info(7, 0, 5, 1, -1), NULL), KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    cr_assert_eq(check(info(7, 0, 4, 1, -1), NULL), KAFKA_ERROR_NONE);
}

Test(producer_state, stale_epoch_and_new_epoch) {
    append_batches(7, 3, 2, 0);
    cr_assert_eq(check(info(7, 2, 4, 1, -1), NULL), KAFKA_ERROR_INVALID_PRODUCER_EPOCH);
    cr_assert_eq(check(info(7, 4, 4, 1, -1), NULL), KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                 "a new epoch restarts at 0");
    producer_batch_info bumped = info(7, 4, 0, 1, 10);
    cr_assert_eq(check(bumped, NULL), KAFKA_ERROR_NONE);
    cr_assert_eq(producer_state_update(&S, &bumped), 0);
    cr_assert_eq(producer_state_find(&S, 7)->batch_count, 1, "the window starts again");
    cr_assert_eq(check(info(7, 3, 4, 1, -1), NULL), KAFKA_ERROR_INVALID_PRODUCER_EPOCH);
}

Test(producer_state, unknown_producers_are_accepted_unless_history_was_lost) {
    producer_batch_meta dup;
    producer_batch_info in = info(9, 0, 42, 1, -1);
    cr_assert_eq(producer_state_check(&S, &in, 0, &dup), KAFKA_ERROR_NONE);
    cr_assert_eq(producer_state_check(&S, &in, 500, &dup), KAFKA_ERROR_UNKNOWN_PRODUCER_ID);
    in.first_sequence = in.last_sequence = 0;
    cr_assert_eq(producer_state_check(&S, &in, 500, &dup), KAFKA_ERROR_NONE);
    in.producer_id = -1; /* not idempotent: never checked */
    cr_assert_eq(producer_state_check(&S, &in, 500, &dup), KAFKA_ERROR_NONE);
    cr_assert_eq(producer_state_update(&S, &in), 0);
    cr_assert_eq(S.count, 0);
}

Test(producer_state, producers_are_independent_and_sorted) {
    append_batches(30, 0, 1, 0);
    append_batches(10, 0, 1, 2);
    append_batches(20, 0, 1, 4);
    cr_assert_eq(S.count, 3);
    cr_assert(S.entries[0].producer_id == 10 && S.entries[1].producer_id == 20 &&
              S.entries[2].producer_id == 30);
    cr_assert_eq(check(info(20, 0, 2, 1, -1), NULL), KAFKA_ERROR_NONE);
    cr_assert_null(producer_state_find(&S, 15));
}

Test(producer_state, sequences_wrap_to_zero) {
    producer_batch_info in = info(7, 0, INT32_MAX - 1, 1, 0);
    in.last_sequence = INT32_MAX; /* two records: INT32_MAX - 1 and INT32_MAX */
    in.last_offset = 1;
    cr_assert_eq(producer_state_update(&S, &in), 0);
    cr_assert_eq(check(info(7, 0, 0, 1, -1), NULL), KAFKA_ERROR_NONE, "after INT32_MAX comes 0");
    cr_assert_eq(check(in, NULL), KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER);

    uint8_t batch[RECORD_BATCH_HEADER_BYTES] = {0}; /* a header whose sequences wrap */
    batch[11] = RECORD_BATCH_HEADER_BYTES - 12;
    batch[26] = 2; /* last offset delta */
    record_batch_set_base_offset(batch, 0);
    memset(batch + 43, 0, 8);
    batch[50] = 7;                             /* producer id 7 */
    memcpy(batch + 53, "\x7f\xff\xff\xfe", 4); /* base sequence INT32_MAX - 1 */
    producer_batch_info wrapped = producer_batch_info_of(batch);
    cr_assert_eq(wrapped.producer_id, 7);
    cr_assert_eq(wrapped.last_sequence, 0, "INT32_MAX - 1, INT32_MAX, 0");
}

Test(producer_state, the_producer_idle_longest_is_forgotten_when_full) {
    for (int64_t pid = 0; pid < PRODUCER_STATE_PRODUCERS_MAX; pid++) {
        producer_batch_info in = info(pid, 0, 0, 1, pid);
        cr_assert_eq(producer_state_update(&S, &in), 0);
    }
    producer_batch_info in = info(1, 0, 1, 1, PRODUCER_STATE_PRODUCERS_MAX); /* 1 is active */
    cr_assert_eq(producer_state_update(&S, &in), 0);
    in = info(-5 + 2 * PRODUCER_STATE_PRODUCERS_MAX, 0, 0, 1, PRODUCER_STATE_PRODUCERS_MAX + 1);
    cr_assert_eq(producer_state_update(&S, &in), 0);
    cr_assert_eq(S.count, PRODUCER_STATE_PRODUCERS_MAX);
    cr_assert_null(producer_state_find(&S, 0), "producer 0 was idle longest");
    cr_assert_not_null(producer_state_find(&S, 1));
}

/* ---- rebuilt from a log ----------------------------------------------------------------- */

/* A batch of n records stamped (pid, epoch, sequence); pid -1 for a plain one. */
static size_t stamped(uint8_t *buf, size_t cap, int n, int64_t pid, int16_t epoch, int32_t seq) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    cfg.producer_id = pid;
    cfg.producer_epoch = pid < 0 ? -1 : epoch;
    cfg.base_sequence = pid < 0 ? -1 : seq;
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &cfg);
    for (int i = 0; i < n; i++) {
        record_batch_record_in r = {
            .timestamp_ms = 1000 + i, .key_len = -1, .value = (const uint8_t *)"v", .value_len = 1};
        cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    }
    return record_batch_builder_finish(&b);
}

static void log_append(partition_log *log, int n, int64_t pid, int16_t epoch, int32_t seq) {
    uint8_t buf[1024];
    size_t len = stamped(buf, sizeof buf, n, pid, epoch, seq);
    cr_assert_eq(partition_log_append(log, buf, len, 0, NULL), 0);
}

Test(producer_state, rebuilt_from_the_log_and_after_truncation) {
    mem_storage *mem = mem_storage_create();
    partition_log_config cfg;
    partition_log_config_default(&cfg);
    cfg.segment_bytes = 400; /* several segments */
    partition_log log;
    char err[128];
    cr_assert_eq(partition_log_open(&log, mem_storage_view(mem, 1), "t-0", &cfg, err, sizeof err),
                 0);
    for (int i = 0; i < 8; i++) { /* producer 5: sequences 0..23 at offsets 0..31 */
        log_append(&log, 3, 5, 0, 3 * i);
        log_append(&log, 1, -1, 0, 0);
    }
    log_append(&log, 2, 6, 1, 0); /* producer 6 at offsets 32..33 */
    partition_log_close(&log);
    cr_assert_eq(partition_log_open(&log, mem_storage_view(mem, 1), "t-0", &cfg, err, sizeof err),
                 0);
    cr_assert_gt(log.segment_count, 1);
    cr_assert_eq(producer_state_rebuild(&S, &log), 0);
    cr_assert_eq(S.count, 2, "plain batches keep no state");
    producer_batch_meta dup;
    cr_assert_eq(check(info(5, 0, 21, 3, -1), &dup), KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER);
    cr_assert_eq(dup.base_offset, 28);
    cr_assert_eq(check(info(5, 0, 9, 3, -1), &dup), KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER,
                 "the fifth batch back");
    cr_assert_eq(check(info(5, 0, 24, 1, -1), NULL), KAFKA_ERROR_NONE);
    cr_assert_eq(check(info(6, 1, 2, 1, -1), NULL), KAFKA_ERROR_NONE);

    /* Truncated inside producer 5's batch at 24..26: it and producer 6 are gone. */
    cr_assert_eq(partition_log_truncate_to(&log, 25), 0);
    cr_assert_eq(partition_log_end_offset(&log), 24);
    cr_assert_eq(producer_state_rebuild(&S, &log), 0);
    cr_assert_null(producer_state_find(&S, 6));
    cr_assert_eq(check(info(5, 0, 18, 3, -1), NULL), KAFKA_ERROR_NONE,
                 "the truncated batch is appended again");
    cr_assert_eq(check(info(5, 0, 15, 3, -1), &dup), KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER);
    cr_assert_eq(dup.base_offset, 20);
    cr_assert_eq(check(info(5, 0, 3, 3, -1), &dup), KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER,
                 "the window reaches back five batches again");
    partition_log_close(&log);
    mem_storage_destroy(mem);
}
