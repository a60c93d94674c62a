/* test_event_queue.c — the engine's heap pops in (virtual µs, sequence) order:
 * equal times in push order, and 1e5 random interleaved pushes and pops agree
 * with a sorted reference.  Also the digest helpers the engine folds with. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "event_queue.h"
#include "prng.h"

Test(event_queue, empty_pops_nothing) {
    event_queue q;
    event_queue_init(&q);
    sim_event e;
    cr_assert_eq(event_queue_peek(&q, &e), 0);
    cr_assert_eq(event_queue_pop(&q, &e), 0);
    event_queue_deinit(&q);
}

Test(event_queue, payload_fields_survive) {
    event_queue q;
    event_queue_init(&q);
    int x;
    uint64_t seq = event_queue_push(&q, 17, 3, 9, 12345, &x);
    sim_event top;
    cr_assert_eq(event_queue_peek(&q, &top), 1);
    cr_assert_eq(top.seq, seq);
    cr_assert_eq(top.at_us, 17);
    cr_assert_eq(top.payload, &x);
    sim_event e;
    cr_assert_eq(event_queue_pop(&q, &e), 1);
    cr_assert_eq(e.at_us, 17);
    cr_assert_eq(e.seq, seq);
    cr_assert_eq(e.kind, 3);
    cr_assert_eq(e.target, 9);
    cr_assert_eq(e.token, 12345);
    cr_assert_eq(e.payload, &x);
    cr_assert_eq(q.count, 0);
    event_queue_deinit(&q);
}

Test(event_queue, sequence_numbers_grow_in_push_order) {
    event_queue q;
    event_queue_init(&q);
    for (uint32_t i = 0; i < 100; i++) event_queue_push(&q, 100 - i, 0, i, 0, NULL);
    /* Popped latest-pushed first (earliest time); its sequence is the largest. */
    sim_event e;
    uint64_t prev = UINT64_MAX;
    for (uint32_t i = 0; i < 100; i++) {
        cr_assert_eq(event_queue_pop(&q, &e), 1);
        cr_assert_eq(e.target, 99 - i);
        cr_assert_lt(e.seq, prev);
        prev = e.seq;
    }
    event_queue_deinit(&q);
}

/* event_queue_push returns the pushed event's own sequence, also when it moves
 * up the heap past earlier-pushed events. */
Test(event_queue, push_returns_the_pushed_events_sequence) {
    event_queue q;
    event_queue_init(&q);
    uint64_t returned[100];
    for (uint32_t i = 0; i < 100; i++) returned[i] = event_queue_push(&q, 100 - i, 0, i, 0, NULL);
    sim_event e;
    while (event_queue_pop(&q, &e))
        cr_assert_eq(e.seq, returned[e.target], "event %u popped with seq %llu, push returned %llu",
                     e.target, (unsigned long long)e.seq, (unsigned long long)returned[e.target]);
    event_queue_deinit(&q);
}

Test(event_queue, equal_times_pop_in_push_order) {
    event_queue q;
    event_queue_init(&q);
    /* Interleave three instants so the heap is shuffled between equal keys. */
    for (uint32_t i = 0; i < 3000; i++) event_queue_push(&q, (int64_t)(i % 3) * 10, 0, i, 0, NULL);
    sim_event e;
    for (int64_t t = 0; t < 30; t += 10) {
        int64_t last_target = -1;
        for (int i = 0; i < 1000; i++) {
            cr_assert_eq(event_queue_pop(&q, &e), 1);
            cr_assert_eq(e.at_us, t);
            cr_assert_gt((int64_t)e.target, last_target, "time %lld: target %u after %lld",
                         (long long)t, e.target, (long long)last_target);
            last_target = e.target;
        }
    }
    cr_assert_eq(event_queue_pop(&q, &e), 0);
    event_queue_deinit(&q);
}

Test(event_queue, random_pushes_pop_sorted) {
    event_queue q;
    event_queue_init(&q);
    prng p;
    prng_seed(&p, 1);
    for (int i = 0; i < 5000; i++)
        event_queue_push(&q, (int64_t)prng_range(&p, 0, 200), 0, (uint32_t)i, 0, NULL);
    sim_event prev, e;
    cr_assert_eq(event_queue_pop(&q, &prev), 1);
    int n = 1;
    while (event_queue_pop(&q, &e)) {
        cr_assert(e.at_us > prev.at_us || (e.at_us == prev.at_us && e.seq > prev.seq),
                  "(%lld,%llu) after (%lld,%llu)", (long long)e.at_us, (unsigned long long)e.seq,
                  (long long)prev.at_us, (unsigned long long)prev.seq);
        prev = e;
        n++;
    }
    cr_assert_eq(n, 5000);
    event_queue_deinit(&q);
}

Test(event_queue, negative_and_extreme_times) {
    event_queue q;
    event_queue_init(&q);
    event_queue_push(&q, INT64_MAX, 0, 0, 0, NULL);
    event_queue_push(&q, 0, 0, 1, 0, NULL);
    event_queue_push(&q, INT64_MIN, 0, 2, 0, NULL);
    event_queue_push(&q, -1, 0, 3, 0, NULL);
    uint32_t want[] = {2, 3, 1, 0};
    sim_event e;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(event_queue_pop(&q, &e), 1);
        cr_assert_eq(e.target, want[i]);
    }
    event_queue_deinit(&q);
}

/* ---- against a sorted reference ------------------------------------------------------ */

typedef struct ref_event {
    int64_t at_us;
    uint64_t seq;
} ref_event;

static int ref_cmp(const void *a, const void *b) {
    const ref_event *x = a, *y = b;
    if (x->at_us != y->at_us) return x->at_us < y->at_us ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The reference: an array kept sorted by (at_us, seq); pushes insert in place,
 * pops take the front.  Slow and obviously right. */
typedef struct reference {
    ref_event *v;
    size_t n;
} reference;

static void ref_push(reference *r, int64_t at_us, uint64_t seq) {
    size_t i = r->n;
    ref_event e = {at_us, seq};
    while (i > 0 && ref_cmp(&r->v[i - 1], &e) > 0) {
        r->v[i] = r->v[i - 1];
        i--;
    }
    r->v[i] = e;
    r->n++;
}

static ref_event ref_pop(reference *r) {
    ref_event e = r->v[0];
    memmove(r->v, r->v + 1, (r->n - 1) * sizeof *r->v);
    r->n--;
    return e;
}

Test(event_queue, random_operations_match_sorted_reference, .timeout = 30) {
    event_queue q;
    event_queue_init(&q);
    prng p;
    prng_seed(&p, 2024);
    reference r = {calloc(100000, sizeof(ref_event)), 0};
    cr_assert_not_null(r.v);
    int64_t now = 0;
    for (int op = 0; op < 100000; op++) {
        /* Push more than pop until the queue is a few thousand deep, then drain-ish. */
        int push = r.n == 0 || prng_range(&p, 0, 99) < (r.n < 3000 ? 60u : 45u);
        if (push) {
            /* Like the engine: never in the past, often at the same instant. */
            int64_t at = now + (int64_t)prng_range(&p, 0, 3) * (int64_t)prng_range(&p, 0, 50);
            uint64_t seq = event_queue_push(&q, at, 0, 0, 0, NULL);
            ref_push(&r, at, seq);
        } else {
            sim_event e;
            cr_assert_eq(event_queue_pop(&q, &e), 1);
            ref_event want = ref_pop(&r);
            cr_assert_eq(e.at_us, want.at_us, "op %d", op);
            cr_assert_eq(e.seq, want.seq, "op %d", op);
            now = e.at_us;
        }
        cr_assert_eq(q.count, r.n);
    }
    while (r.n) {
        sim_event e;
        cr_assert_eq(event_queue_pop(&q, &e), 1);
        ref_event want = ref_pop(&r);
        cr_assert_eq(e.at_us, want.at_us);
        cr_assert_eq(e.seq, want.seq);
    }
    sim_event e;
    cr_assert_eq(event_queue_peek(&q, &e), 0);
    free(r.v);
    event_queue_deinit(&q);
}

/* ---- digest --------------------------------------------------------------------------- */

Test(digest, bytes_hash_depends_on_every_byte_and_length) {
    uint8_t buf[40];
    for (int i = 0; i < 40; i++) buf[i] = (uint8_t)i;
    uint64_t base = digest_bytes(buf, sizeof buf);
    cr_assert_eq(digest_bytes(buf, sizeof buf), base);
    for (int i = 0; i < 40; i++) {
        buf[i] ^= 1;
        cr_assert_neq(digest_bytes(buf, sizeof buf), base, "byte %d ignored", i);
        buf[i] ^= 1;
    }
    /* Trailing zero bytes still change the hash: the length is folded in. */
    uint8_t zeros[16] = {0};
    for (size_t n = 0; n < 16; n++)
        cr_assert_neq(digest_bytes(zeros, n), digest_bytes(zeros, n + 1), "len %zu", n);
}

Test(digest, bytes_hash_sees_words_moved_between_lanes) {
    /* Four lanes hash the words of each 32-byte block: swapping words between
     * lanes, or between blocks of one lane, must still change the hash. */
    uint8_t buf[100];
    for (int i = 0; i < 100; i++) buf[i] = (uint8_t)(i * 13 + 5);
    uint64_t base = digest_bytes(buf, sizeof buf);
    int pairs[][2] = {{0, 8}, {8, 16}, {16, 24}, {0, 32}, {24, 56}, {64, 88}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        uint8_t t[100];
        memcpy(t, buf, sizeof t);
        memcpy(t + pairs[k][0], buf + pairs[k][1], 8);
        memcpy(t + pairs[k][1], buf + pairs[k][0], 8);
        cr_assert_neq(digest_bytes(t, sizeof t), base, "words at %d and %d", pairs[k][0],
                      pairs[k][1]);
    }
    for (int i = 0; i < 100; i++) {
        buf[i] ^= 0x80;
        cr_assert_neq(digest_bytes(buf, sizeof buf), base, "byte %d ignored", i);
        buf[i] ^= 0x80;
    }
}

Test(digest, bytes_hash_ignores_alignment) {
    uint8_t a[64], b[65];
    for (int i = 0; i < 64; i++) a[i] = (uint8_t)(i * 7 + 1);
    memcpy(b + 1, a, 64);
    for (size_t n = 0; n <= 64; n++) cr_assert_eq(digest_bytes(a, n), digest_bytes(b + 1, n));
}

Test(digest, fold_is_order_sensitive) {
    uint64_t d1 = digest_fold(digest_fold(DIGEST_INIT, 1), 2);
    uint64_t d2 = digest_fold(digest_fold(DIGEST_INIT, 2), 1);
    cr_assert_neq(d1, d2);
    cr_assert_neq(digest_fold(DIGEST_INIT, 0), DIGEST_INIT);
}

Test(digest, hex_is_sixteen_lowercase_digits) {
    char out[17];
    digest_hex(0x9f1c2a7be04d3c11ull, out);
    cr_assert_str_eq(out, "9f1c2a7be04d3c11");
    digest_hex(1, out);
    cr_assert_str_eq(out, "0000000000000001");
}
