/* test_batch_memo.c — the checker's memo of parsed batches: equal bytes give the
 * records parsed before, other bytes at the same slot (another batch at the same
 * base offset, or one a byte apart) are parsed afresh, and what is not a batch or
 * not a streamlab value is reported as such. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "batch_memo.h"
#include "record_batch.h"

enum { VALUE_BYTES = 40 };

static size_t make_batch(uint8_t *buf, size_t cap, int64_t base, int32_t producer, int64_t seq0,
                         int n, const char *foreign_value) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    cfg.base_offset = base;
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &cfg);
    for (int i = 0; i < n; i++) {
        uint8_t value[VALUE_BYTES];
        record_value_id id = {producer, 0, seq0 + i};
        record_value_format(value, sizeof value, &id);
        if (foreign_value && i == 0) memcpy(value, foreign_value, strlen(foreign_value));
        record_batch_record_in r = {
            .timestamp_ms = 1000 + i, .key_len = -1, .value = value, .value_len = VALUE_BYTES};
        cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    }
    return record_batch_builder_finish(&b);
}

static void expect_records(const batch_memo_record *r, int32_t n, int64_t base, int32_t producer,
                           int64_t seq0, int want) {
    cr_assert_eq(n, want);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(r[i].offset, base + i);
        cr_assert_neq(r[i].key, 0);
        cr_assert_eq(r[i].id.producer, producer);
        cr_assert_eq(r[i].id.sequence, seq0 + i);
        cr_assert_eq(r[i].key, record_value_key(&r[i].id));
    }
}

Test(batch_memo, equal_bytes_reuse_other_bytes_reparse) {
    batch_memo m;
    batch_memo_init(&m);
    uint8_t a[4096], b[4096];
    size_t alen = make_batch(a, sizeof a, 10, 101, 0, 3, NULL);
    const batch_memo_record *r;
    int32_t n = batch_memo_records(&m, a, alen, &r);
    expect_records(r, n, 10, 101, 0, 3);
    /* The same bytes at another address (a follower's copy). */
    memcpy(b, a, alen);
    n = batch_memo_records(&m, b, alen, &r);
    expect_records(r, n, 10, 101, 0, 3);
    /* Another batch at the same base offset (a new leader's). */
    size_t blen = make_batch(b, sizeof b, 10, 102, 7, 2, NULL);
    n = batch_memo_records(&m, b, blen, &r);
    expect_records(r, n, 10, 102, 7, 2);
    /* Same length, one byte different: parsed again (the value says 103). */
    memcpy(b, a, alen);
    uint8_t *p = NULL;
    for (size_t i = 0; i + 11 <= alen && !p; i++)
        if (memcmp(b + i, "sl:101:0:1:", 11) == 0) p = b + i;
    cr_assert_not_null(p);
    p[5] = '3';
    n = batch_memo_records(&m, b, alen, &r);
    cr_assert_eq(n, 3);
    cr_assert_eq(r[1].id.producer, 103);
    cr_assert_eq(r[0].id.producer, 101);
    /* A batch BATCH_MEMO_SLOTS offsets on takes the same slot. */
    size_t clen = make_batch(b, sizeof b, 10 + BATCH_MEMO_SLOTS, 101, 50, 1, NULL);
    n = batch_memo_records(&m, b, clen, &r);
    expect_records(r, n, 10 + BATCH_MEMO_SLOTS, 101, 50, 1);
    batch_memo_deinit(&m);
}

Test(batch_memo, not_a_batch_and_foreign_values) {
    batch_memo m;
    batch_memo_init(&m);
    const batch_memo_record *r = NULL;
    uint8_t a[4096];
    cr_assert_eq(batch_memo_records(&m, NULL, 0, &r), 0);
    cr_assert_eq(batch_memo_records(&m, a, 10, &r), 0, "shorter than a header");
    size_t len = make_batch(a, sizeof a, 0, 101, 0, 2, "kcat");
    for (int pass = 0; pass < 2; pass++) {
        int32_t n = batch_memo_records(&m, a, len, &r);
        cr_assert_eq(n, 2, "pass %d", pass);
        cr_assert_eq(r[0].key, 0, "not a streamlab value");
        cr_assert_eq(r[1].key, record_value_key(&r[1].id));
        cr_assert_eq(r[1].id.sequence, 1);
    }
    /* A length that disagrees with the batch: not iterable, even with a slot match. */
    cr_assert_eq(batch_memo_records(&m, a, len - 1, &r), 0);
    cr_assert_eq(batch_memo_records(&m, a, len, &r), 2);
    batch_memo_deinit(&m);
}
