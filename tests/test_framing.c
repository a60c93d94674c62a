/* test_framing.c — the frame reader over a byte stream: frames split at every
 * byte boundary (and at random multi-splits) come out exactly as sent; many
 * frames in one feed; empty frames; the size limits, and that a stream that
 * failed stays failed; the pending count; lent feeds read in place. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "prng.h"

#define MAX_BYTES 100000

/* Appends a frame of len bytes (content derived from tag) to out; returns bytes written. */
static size_t put_frame(uint8_t *out, uint32_t len, uint8_t tag) {
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    for (uint32_t i = 0; i < len; i++) out[4 + i] = (uint8_t)(tag * 31 + i);
    return 4 + (size_t)len;
}

static void expect_frame(frame_reader *r, uint32_t len, uint8_t tag) {
    const uint8_t *f = NULL;
    size_t n = 12345;
    cr_assert_eq(frame_reader_next(r, &f, &n), FRAME_READY, "frame tag %u", tag);
    cr_assert_eq(n, len, "frame tag %u", tag);
    for (uint32_t i = 0; i < len; i++)
        cr_assert_eq(f[i], (uint8_t)(tag * 31 + i), "frame tag %u byte %u", tag, i);
}

static void expect_none(frame_reader *r) {
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(r, &f, &n), FRAME_NONE);
}

Test(framing, one_frame_split_at_every_boundary) {
    uint8_t stream[4 + 300];
    size_t total = put_frame(stream, 300, 7);
    for (size_t cut = 0; cut <= total; cut++) {
        frame_reader r;
        frame_reader_init(&r, MAX_BYTES);
        if (cut > 0)
            frame_reader_feed(&r, stream, cut); /* see feed_of_zero_bytes_into_new_reader */
        if (cut < total) {
            expect_none(&r);
            cr_assert_eq(frame_reader_pending(&r), cut);
            frame_reader_feed(&r, stream + cut, total - cut);
        }
        expect_frame(&r, 300, 7);
        expect_none(&r);
        cr_assert_eq(frame_reader_pending(&r), 0);
        frame_reader_deinit(&r);
    }
}

Test(framing, byte_at_a_time) {
    uint8_t stream[3 * (4 + 50)];
    size_t total = 0;
    for (uint8_t t = 0; t < 3; t++) total += put_frame(stream + total, 50, t);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    int got = 0;
    for (size_t i = 0; i < total; i++) {
        frame_reader_feed(&r, stream + i, 1);
        const uint8_t *f;
        size_t n;
        enum frame_result fr = frame_reader_next(&r, &f, &n);
        if (fr == FRAME_READY) {
            cr_assert_eq(n, 50);
            cr_assert_eq(f[0], (uint8_t)(got * 31));
            got++;
        } else {
            cr_assert_eq(fr, FRAME_NONE);
        }
    }
    cr_assert_eq(got, 3);
    frame_reader_deinit(&r);
}

Test(framing, many_frames_in_one_feed) {
    enum { FRAMES = 200 };
    uint8_t *stream = malloc(FRAMES * (4 + 256));
    cr_assert_not_null(stream);
    size_t total = 0;
    for (int i = 0; i < FRAMES; i++)
        total += put_frame(stream + total, (uint32_t)(i % 256), (uint8_t)i);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, stream, total);
    cr_assert_eq(frame_reader_pending(&r), total);
    for (int i = 0; i < FRAMES; i++) expect_frame(&r, (uint32_t)(i % 256), (uint8_t)i);
    expect_none(&r);
    cr_assert_eq(frame_reader_pending(&r), 0);
    frame_reader_deinit(&r);
    free(stream);
}

Test(framing, random_multi_splits_reassemble_exactly) {
    enum { FRAMES = 300 };
    prng p;
    prng_seed(&p, 99);
    uint32_t lens[FRAMES];
    size_t total = 0;
    for (int i = 0; i < FRAMES; i++) {
        /* Mostly small, some empty, some larger than the reader's first buffer. */
        uint64_t kind = prng_range(&p, 0, 9);
        lens[i] = kind == 0   ? 0
                  : kind == 1 ? (uint32_t)prng_range(&p, 4000, 9000)
                              : (uint32_t)prng_range(&p, 1, 200);
        total += 4 + lens[i];
    }
    uint8_t *stream = malloc(total);
    cr_assert_not_null(stream);
    size_t at = 0;
    for (int i = 0; i < FRAMES; i++) at += put_frame(stream + at, lens[i], (uint8_t)i);
    for (int round = 0; round < 20; round++) {
        frame_reader r;
        frame_reader_init(&r, MAX_BYTES);
        size_t fed = 0;
        int next = 0;
        while (fed < total) {
            size_t chunk = (size_t)prng_range(&p, 1, round < 10 ? 7 : 3000);
            if (chunk > total - fed) chunk = total - fed;
            /* Feed from a private copy so the reader cannot lean on our buffer. */
            uint8_t *copy = malloc(chunk);
            cr_assert_not_null(copy);
            memcpy(copy, stream + fed, chunk);
            frame_reader_feed(&r, copy, chunk);
            memset(copy, 0xEE, chunk);
            free(copy);
            fed += chunk;
            const uint8_t *f;
            size_t n;
            enum frame_result fr;
            while ((fr = frame_reader_next(&r, &f, &n)) == FRAME_READY) {
                cr_assert_lt(next, FRAMES);
                cr_assert_eq(n, lens[next], "round %d frame %d", round, next);
                for (size_t k = 0; k < n; k++)
                    cr_assert_eq(f[k], (uint8_t)(next * 31 + (int)k), "round %d frame %d byte %zu",
                                 round, next, k);
                next++;
            }
            cr_assert_eq(fr, FRAME_NONE);
        }
        cr_assert_eq(next, FRAMES, "round %d", round);
        cr_assert_eq(frame_reader_pending(&r), 0);
        frame_reader_deinit(&r);
    }
    free(stream);
}

Test(framing, zero_length_frame) {
    uint8_t stream[4 + 4 + 4 + 3];
    size_t total = put_frame(stream, 0, 1);
    total += put_frame(stream + total, 0, 2);
    total += put_frame(stream + total, 3, 3);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, stream, total);
    expect_frame(&r, 0, 1);
    cr_assert_eq(frame_reader_pending(&r), total - 4);
    expect_frame(&r, 0, 2);
    expect_frame(&r, 3, 3);
    expect_none(&r);
    frame_reader_deinit(&r);
}

Test(framing, size_exactly_max_is_accepted) {
    uint8_t stream[4 + 64];
    size_t total = put_frame(stream, 64, 5);
    frame_reader r;
    frame_reader_init(&r, 64);
    frame_reader_feed(&r, stream, total);
    expect_frame(&r, 64, 5);
    frame_reader_deinit(&r);
}

Test(framing, negative_size_fails) {
    uint8_t good[4 + 8];
    size_t glen = put_frame(good, 8, 1);
    uint8_t bad[4] = {0x80, 0, 0, 0x10}; /* INT32_MIN + 16 */
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, good, glen);
    frame_reader_feed(&r, bad, 4);
    expect_frame(&r, 8, 1); /* frames before the bad size still come out */
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_NEGATIVE);
    /* The stream cannot be resynchronised: even a good frame after it is refused. */
    frame_reader_feed(&r, good, glen);
    cr_assert_lt(frame_reader_next(&r, &f, &n), 0);
    cr_assert_lt(frame_reader_next(&r, &f, &n), 0);
    frame_reader_deinit(&r);
}

Test(framing, size_minus_one_is_negative) {
    uint8_t bad[4] = {0xff, 0xff, 0xff, 0xff};
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, bad, 4);
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_NEGATIVE);
    frame_reader_deinit(&r);
}

Test(framing, size_above_max_fails_and_stays_failed) {
    uint8_t hdr[4] = {0, 0, 0, 65}; /* header only: the reader decides from the size alone */
    frame_reader r;
    frame_reader_init(&r, 64);
    frame_reader_feed(&r, hdr, 4);
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_TOO_LARGE);
    uint8_t good[4 + 8];
    size_t glen = put_frame(good, 8, 1);
    frame_reader_feed(&r, good, glen);
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_TOO_LARGE);
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_TOO_LARGE);
    frame_reader_deinit(&r);
}

Test(framing, huge_size_fails_without_waiting_for_the_body) {
    uint8_t hdr[4] = {0x7f, 0xff, 0xff, 0xff};
    frame_reader r;
    frame_reader_init(&r, 100 * 1024 * 1024);
    frame_reader_feed(&r, hdr, 4);
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_TOO_LARGE);
    frame_reader_deinit(&r);
}

Test(framing, partial_size_prefix_is_pending) {
    uint8_t stream[4 + 10];
    put_frame(stream, 10, 4);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    cr_assert_eq(frame_reader_pending(&r), 0);
    expect_none(&r);
    for (size_t i = 0; i < 3; i++) {
        frame_reader_feed(&r, stream + i, 1);
        cr_assert_eq(frame_reader_pending(&r), i + 1);
        expect_none(&r);
    }
    frame_reader_feed(&r, stream + 3, 5); /* size complete, body partial */
    cr_assert_eq(frame_reader_pending(&r), 8);
    expect_none(&r);
    frame_reader_feed(&r, stream + 8, 6);
    cr_assert_eq(frame_reader_pending(&r), 14);
    expect_frame(&r, 10, 4);
    cr_assert_eq(frame_reader_pending(&r), 0);
    frame_reader_deinit(&r);
}

Test(framing, frame_stays_valid_until_next_feed) {
    uint8_t stream[2 * (4 + 20)];
    size_t total = put_frame(stream, 20, 1);
    total += put_frame(stream + total, 20, 2);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, stream, total);
    const uint8_t *f1, *f2;
    size_t n1, n2;
    cr_assert_eq(frame_reader_next(&r, &f1, &n1), FRAME_READY);
    cr_assert_eq(frame_reader_next(&r, &f2, &n2), FRAME_READY);
    /* Both frames taken before a feed must still read correctly. */
    for (size_t i = 0; i < 20; i++) {
        cr_assert_eq(f1[i], (uint8_t)(31 + i));
        cr_assert_eq(f2[i], (uint8_t)(62 + i));
    }
    frame_reader_deinit(&r);
}

/* frame_reader_feed(r, bytes, 0) on a reader that has never buffered anything
 * once called memcpy with r->buf == NULL (undefined behaviour; UBSan aborted).  A
 * driver that passes on an empty read hits it: feed returns before the copy now. */
Test(framing, feed_of_zero_bytes_into_new_reader) {
    uint8_t byte = 0;
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, &byte, 0);
    cr_assert_eq(frame_reader_pending(&r), 0);
    expect_none(&r);
    frame_reader_deinit(&r);
}

Test(framing, feed_of_zero_bytes_after_data_changes_nothing) {
    uint8_t stream[4 + 5];
    size_t total = put_frame(stream, 5, 9);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed(&r, stream, 6);
    frame_reader_feed(&r, stream + 6, 0);
    cr_assert_eq(frame_reader_pending(&r), 6);
    expect_none(&r);
    frame_reader_feed(&r, stream + 6, total - 6);
    expect_frame(&r, 5, 9);
    frame_reader_deinit(&r);
}

/* A lent feed: frames read in place from the caller's buffer; what is left unread
 * at keep (a partial frame, or whole frames behind a parked request) is copied, so
 * the caller's buffer may change (here: is freed, for ASan) right after keep. */
Test(framing, lent_frames_are_read_in_place_and_the_rest_kept) {
    uint8_t *stream = malloc(3 * (4 + 50));
    cr_assert_not_null(stream);
    size_t total = put_frame(stream, 50, 1);
    total += put_frame(stream + total, 50, 2);
    total += put_frame(stream + total, 50, 3);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed_lent(&r, stream, total - 10); /* the third frame is partial */
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_READY);
    cr_assert(f == stream + 4, "the first frame read in place");
    expect_frame(&r, 50, 2);
    expect_none(&r);
    frame_reader_keep(&r);
    cr_assert_eq(frame_reader_pending(&r), 54 - 10);
    uint8_t tail[10];
    memcpy(tail, stream + total - 10, 10);
    memset(stream, 0xee, total);
    free(stream);
    expect_none(&r);
    frame_reader_feed_lent(&r, tail, 10); /* appended to the partial frame: copied */
    expect_frame(&r, 50, 3);
    frame_reader_keep(&r);
    cr_assert_eq(frame_reader_pending(&r), 0);
    frame_reader_deinit(&r);
}

Test(framing, lent_whole_frames_left_unread_survive_keep) {
    uint8_t *stream = malloc(3 * (4 + 20));
    cr_assert_not_null(stream);
    size_t total = put_frame(stream, 20, 4);
    total += put_frame(stream + total, 20, 5);
    total += put_frame(stream + total, 0, 6);
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed_lent(&r, stream, total);
    expect_frame(&r, 20, 4); /* then the caller stops, as a parked connection does */
    frame_reader_keep(&r);
    memset(stream, 0xee, total);
    free(stream);
    cr_assert_eq(frame_reader_pending(&r), 24 + 4);
    expect_frame(&r, 20, 5);
    expect_frame(&r, 0, 6);
    expect_none(&r);
    uint8_t more[4 + 7];
    size_t m = put_frame(more, 7, 8);
    frame_reader_feed_lent(&r, more, m); /* everything was read: lent again */
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_READY);
    cr_assert(f == more + 4 && n == 7);
    frame_reader_keep(&r);
    frame_reader_deinit(&r);
}

Test(framing, lent_stream_with_a_bad_size_fails) {
    uint8_t stream[4] = {0x80, 0, 0, 0};
    frame_reader r;
    frame_reader_init(&r, MAX_BYTES);
    frame_reader_feed_lent(&r, stream, sizeof stream);
    const uint8_t *f;
    size_t n;
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_NEGATIVE);
    frame_reader_keep(&r);
    cr_assert_eq(frame_reader_next(&r, &f, &n), FRAME_TOO_LARGE); /* stays failed */
    frame_reader_deinit(&r);
}
