/* test_record_batch.c — builder -> validate -> iterate, in-place rewrites, corruption,
 * splitting, and the iterator's refusal to trust lengths. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "crc32c.h"
#include "record_batch.h"

static size_t build_sample(uint8_t *buf, size_t cap, int n) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    cfg.producer_id = 77;
    cfg.producer_epoch = 3;
    cfg.base_sequence = 10;
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &cfg);
    record_batch_header_in h[2] = {{(const uint8_t *)"h1", 2, (const uint8_t *)"v1", 2},
                                   {(const uint8_t *)"h2", 2, NULL, -1}};
    for (int i = 0; i < n; i++) {
        char val[32];
        int vlen = snprintf(val, sizeof val, "value-%d", i);
        record_batch_record_in r = {.timestamp_ms = 1000 + i * 7 - (i == 2 ? 50 : 0),
                                    .key = i % 2 ? (const uint8_t *)"key" : NULL,
                                    .key_len = i % 2 ? 3 : -1,
                                    .value = (const uint8_t *)val,
                                    .value_len = vlen,
                                    .headers = h,
                                    .header_count = i % 3 == 0 ? 2 : 0};
        cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    }
    return record_batch_builder_finish(&b);
}

Test(record_batch, round_trip) {
    uint8_t buf[4096];
    size_t len = build_sample(buf, sizeof buf, 5);
    char why[128] = "";
    cr_assert_eq(record_batch_validate(buf, len, why, sizeof why), 0, "%s", why);
    cr_assert_eq(record_batch_total_bytes(buf), len);
    cr_assert_eq(record_batch_magic(buf), 2);
    cr_assert_eq(record_batch_record_count(buf), 5);
    cr_assert_eq(record_batch_last_offset_delta(buf), 4);
    cr_assert_eq(record_batch_base_timestamp(buf), 1000);
    cr_assert_eq(record_batch_max_timestamp(buf), 1028);
    cr_assert_eq(record_batch_producer_id(buf), 77);
    cr_assert_eq(record_batch_producer_epoch(buf), 3);
    cr_assert_eq(record_batch_base_sequence(buf), 10);
    cr_assert_eq(record_batch_partition_leader_epoch(buf), -1);
    cr_assert_eq(record_batch_compression(buf), 0);

    record_batch_iter it;
    record_batch_record r;
    cr_assert_eq(record_batch_iter_init(&it, buf, len), 0);
    int i = 0;
    while (record_batch_iter_next(&it, &r) == 1) {
        char val[32];
        int vlen = snprintf(val, sizeof val, "value-%d", i);
        cr_assert_eq(r.offset_delta, i);
        cr_assert_eq(r.offset, i);
        cr_assert_eq(r.timestamp_ms, 1000 + i * 7 - (i == 2 ? 50 : 0));
        cr_assert_eq(r.value_len, vlen);
        cr_assert_eq(memcmp(r.value, val, (size_t)vlen), 0);
        if (i % 2) {
            cr_assert_eq(r.key_len, 3);
            cr_assert_eq(memcmp(r.key, "key", 3), 0);
        } else {
            cr_assert_eq(r.key_len, -1);
            cr_assert_null(r.key);
        }
        cr_assert_eq(r.header_count, i % 3 == 0 ? 2 : 0);
        record_batch_header_iter hi;
        record_batch_header h;
        record_batch_header_iter_init(&hi, &r);
        int nh = 0;
        while (record_batch_header_iter_next(&hi, &h) == 1) {
            cr_assert_eq(h.key_len, 2);
            cr_assert_eq(memcmp(h.key, nh == 0 ? "h1" : "h2", 2), 0);
            cr_assert_eq(h.value_len, nh == 0 ? 2 : -1);
            nh++;
        }
        cr_assert_eq(nh, r.header_count);
        i++;
    }
    cr_assert_eq(i, 5);
    cr_assert_eq(record_batch_iter_next(&it, &r), 0);
}

Test(record_batch, rewrite_offset_and_epoch_keeps_crc) {
    uint8_t buf[4096];
    size_t len = build_sample(buf, sizeof buf, 3);
    uint32_t crc = record_batch_crc(buf);
    record_batch_set_base_offset(buf, 123456789012LL);
    record_batch_set_partition_leader_epoch(buf, 42);
    cr_assert_eq(record_batch_crc(buf), crc);
    cr_assert_eq(record_batch_validate(buf, len, NULL, 0), 0);
    cr_assert_eq(record_batch_base_offset(buf), 123456789012LL);
    cr_assert_eq(record_batch_last_offset(buf), 123456789014LL);
    cr_assert_eq(record_batch_partition_leader_epoch(buf), 42);
    record_batch_iter it;
    record_batch_record r;
    record_batch_iter_init(&it, buf, len);
    cr_assert_eq(record_batch_iter_next(&it, &r), 1);
    cr_assert_eq(r.offset, 123456789012LL);
}

Test(record_batch, every_flipped_byte_is_detected) {
    uint8_t buf[1024];
    size_t len = build_sample(buf, sizeof buf, 4);
    for (size_t i = 8; i < len; i++) {
        if (i >= 12 && i < 16) continue; /* the leader epoch is outside the CRC */
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            cr_assert_neq(record_batch_validate(buf, len, NULL, 0), 0, "byte %zu", i);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    char why[64];
    cr_assert_neq(record_batch_validate(buf, len - 1, why, sizeof why), 0);
    cr_assert_neq(record_batch_validate(buf, 30, why, sizeof why), 0);
    cr_assert_eq(record_batch_validate(buf, len, why, sizeof why), 0);
}

/* The check a follower and a consumer make: every flipped bit the CRC or the
 * framing covers is caught, without parsing the records. */
Test(record_batch, crc_check_catches_every_flipped_byte) {
    uint8_t buf[1024];
    size_t len = build_sample(buf, sizeof buf, 4);
    cr_assert(record_batch_crc_valid(buf, len));
    for (size_t i = 8; i < len; i++) {
        if (i >= 12 && i < 16) continue; /* the leader epoch is outside the CRC */
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            cr_assert(!record_batch_crc_valid(buf, len), "byte %zu bit %d", i, bit);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    cr_assert(!record_batch_crc_valid(buf, len - 1));
    cr_assert(!record_batch_crc_valid(buf, 30));
    cr_assert(!record_batch_crc_valid(buf, 0));
    be_store32(buf + RB_LENGTH, 0xffffffffu); /* a negative length never asserts */
    cr_assert(!record_batch_crc_valid(buf, len));
}

Test(record_batch, iterator_never_trusts_lengths) {
    uint8_t buf[1024], copy[1024];
    size_t len = build_sample(buf, sizeof buf, 4);
    /* Mutate every record byte to every value: iteration must stay in bounds. */
    for (size_t i = RECORD_BATCH_HEADER_BYTES; i < len; i++) {
        for (int v = 0; v < 256; v += 17) {
            memcpy(copy, buf, len);
            copy[i] = (uint8_t)v;
            record_batch_iter it;
            record_batch_record r;
            cr_assert_eq(record_batch_iter_init(&it, copy, len), 0);
            int rc;
            while ((rc = record_batch_iter_next(&it, &r)) == 1) {
                cr_assert(r.value_len < 0 || r.value + r.value_len <= copy + len);
                cr_assert(r.key_len < 0 || r.key + r.key_len <= copy + len);
            }
        }
    }
}

Test(record_batch, compressed_is_not_iterable_but_valid) {
    uint8_t buf[256];
    size_t len = build_sample(buf, sizeof buf, 1);
    buf[22] |= 1; /* gzip */
    uint32_t crc = record_batch_compute_crc(buf, len);
    for (int i = 0; i < 4; i++) buf[17 + i] = (uint8_t)(crc >> (24 - 8 * i));
    cr_assert_eq(record_batch_validate(buf, len, NULL, 0), 0);
    record_batch_iter it;
    cr_assert_eq(record_batch_iter_init(&it, buf, len), -1);
}

Test(record_batch, builder_reports_full) {
    uint8_t buf[100];
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    record_batch_builder b;
    record_batch_builder_init(&b, buf, sizeof buf, &cfg);
    uint8_t val[30] = {0};
    record_batch_record_in r = {.timestamp_ms = 5, .key_len = -1, .value = val, .value_len = 30};
    cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    cr_assert_eq(record_batch_builder_add(&b, &r), -1);
    size_t len = record_batch_builder_finish(&b);
    cr_assert_eq(record_batch_validate(buf, len, NULL, 0), 0);
    cr_assert_eq(record_batch_record_count(buf), 1);
    cr_assert(record_batch_record_bytes(&r, 5) >= len - RECORD_BATCH_HEADER_BYTES);
}

struct split_ctx {
    int count;
    size_t sizes[8];
};
static int split_cb(void *arg, const uint8_t *b, size_t len) {
    struct split_ctx *s = arg;
    s->sizes[s->count++] = len;
    return 0;
}

Test(record_batch, split_stops_at_partial_tail) {
    uint8_t buf[4096];
    size_t a = build_sample(buf, sizeof buf, 2);
    size_t b = build_sample(buf + a, sizeof buf - a, 3);
    size_t c = build_sample(buf + a + b, sizeof buf - a - b, 1);
    struct split_ctx s = {0};
    cr_assert_eq(record_batch_split(buf, a + b + c, split_cb, &s), a + b + c);
    cr_assert_eq(s.count, 3);
    cr_assert_eq(s.sizes[1], b);
    for (size_t cut = 0; cut < c; cut++) {
        memset(&s, 0, sizeof s);
        cr_assert_eq(record_batch_split(buf, a + b + cut, split_cb, &s), a + b);
        cr_assert_eq(s.count, 2);
    }
    memset(&s, 0, sizeof s);
    cr_assert_eq(record_batch_split(buf, 0, split_cb, &s), 0);
}
