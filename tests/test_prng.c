/* test_prng.c — the one PRNG: a seed fixes the stream, ranges stay inside their
 * bounds (degenerate and full ranges included) and are roughly uniform, and the
 * ppm chance has exact extremes. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "prng.h"

Test(prng, same_seed_same_stream) {
    prng a, b;
    prng_seed(&a, 42);
    prng_seed(&b, 42);
    for (int i = 0; i < 10000; i++) cr_assert_eq(prng_next(&a), prng_next(&b), "draw %d", i);
}

Test(prng, reseeding_restarts_the_stream) {
    prng a;
    uint64_t first[16];
    prng_seed(&a, 7);
    for (int i = 0; i < 16; i++) first[i] = prng_next(&a);
    prng_seed(&a, 7);
    for (int i = 0; i < 16; i++) cr_assert_eq(prng_next(&a), first[i]);
}

Test(prng, different_seeds_differ) {
    /* Neighbouring seeds, and seed 0, must give unrelated streams. */
    uint64_t seeds[] = {0, 1, 2, 3, UINT64_MAX, 0x8000000000000000ull};
    size_t n = sizeof seeds / sizeof seeds[0];
    uint64_t heads[6][8];
    for (size_t s = 0; s < n; s++) {
        prng p;
        prng_seed(&p, seeds[s]);
        for (int i = 0; i < 8; i++) heads[s][i] = prng_next(&p);
    }
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            int same = 0;
            for (int i = 0; i < 8; i++) same += heads[a][i] == heads[b][i];
            cr_assert_eq(same, 0, "seeds %zu and %zu share draws", a, b);
        }
}

Test(prng, seed_zero_is_not_a_stuck_state) {
    prng p;
    prng_seed(&p, 0);
    uint64_t x = prng_next(&p), y = prng_next(&p);
    cr_assert(x != 0 || y != 0);
    cr_assert_neq(x, y);
}

Test(prng, range_stays_within_bounds) {
    prng p;
    prng_seed(&p, 3);
    struct {
        uint64_t lo, hi;
    } cases[] = {
        {0, 0},
        {5, 5},
        {UINT64_MAX, UINT64_MAX},
        {0, 1},
        {10, 13},
        {1000, 5000},
        {0, UINT64_MAX - 1},
        {1, UINT64_MAX},
        {UINT64_MAX - 3, UINT64_MAX},
        {0, (1ull << 63) + 1}, /* just above half: the rejection loop runs often */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int i = 0; i < 20000; i++) {
            uint64_t v = prng_range(&p, cases[c].lo, cases[c].hi);
            cr_assert(v >= cases[c].lo && v <= cases[c].hi, "case %zu: %llu", c,
                      (unsigned long long)v);
        }
}

Test(prng, degenerate_range_returns_its_value) {
    prng p;
    prng_seed(&p, 9);
    for (int i = 0; i < 100; i++) cr_assert_eq(prng_range(&p, 77, 77), 77);
}

Test(prng, full_range_is_the_raw_stream) {
    prng a, b;
    prng_seed(&a, 11);
    prng_seed(&b, 11);
    for (int i = 0; i < 100; i++) cr_assert_eq(prng_range(&a, 0, UINT64_MAX), prng_next(&b));
}

Test(prng, range_reaches_both_ends) {
    prng p;
    prng_seed(&p, 5);
    int saw_lo = 0, saw_hi = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = prng_range(&p, 1000, 1003);
        saw_lo |= v == 1000;
        saw_hi |= v == 1003;
    }
    cr_assert(saw_lo && saw_hi);
    /* The top of the full-width range minus one is reachable too. */
    saw_lo = saw_hi = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = prng_range(&p, UINT64_MAX - 1, UINT64_MAX);
        saw_lo |= v == UINT64_MAX - 1;
        saw_hi |= v == UINT64_MAX;
    }
    cr_assert(saw_lo && saw_hi);
}

/* Each of k buckets gets within 15% of n/k over n draws: a biased or
 * off-by-one range (a bucket never drawn, or drawn twice as often) fails. */
static void check_uniform(uint64_t seed, uint64_t lo, uint64_t k, int n) {
    prng p;
    prng_seed(&p, seed);
    int counts[64] = {0};
    cr_assert_leq(k, 64);
    for (int i = 0; i < n; i++) {
        uint64_t v = prng_range(&p, lo, lo + k - 1);
        counts[v - lo]++;
    }
    double expect = (double)n / (double)k;
    for (uint64_t b = 0; b < k; b++)
        cr_assert(counts[b] > expect * 0.85 && counts[b] < expect * 1.15,
                  "range of %llu: bucket %llu has %d, expected ~%.0f", (unsigned long long)k,
                  (unsigned long long)b, counts[b], expect);
}

Test(prng, small_ranges_are_roughly_uniform) {
    check_uniform(1, 0, 2, 100000);
    check_uniform(2, 1, 3, 100000);
    check_uniform(3, 1000, 6, 120000);
    check_uniform(4, 0, 7, 140000);
    check_uniform(5, UINT64_MAX - 9, 10, 200000);
    check_uniform(6, 0, 64, 320000);
}

Test(prng, chance_ppm_extremes) {
    prng p;
    prng_seed(&p, 8);
    for (int i = 0; i < 100000; i++) {
        cr_assert_eq(prng_chance_ppm(&p, 0), 0);
        cr_assert_eq(prng_chance_ppm(&p, 1000000), 1);
    }
}

Test(prng, chance_ppm_extremes_draw_nothing) {
    /* Certain outcomes must not consume randomness, or turning drops on at 0 ppm
     * would change every later draw of a run. */
    prng a, b;
    prng_seed(&a, 12);
    prng_seed(&b, 12);
    prng_chance_ppm(&a, 0);
    prng_chance_ppm(&a, 1000000);
    cr_assert_eq(prng_next(&a), prng_next(&b));
}

Test(prng, chance_ppm_near_its_rate) {
    prng p;
    prng_seed(&p, 13);
    int hits = 0, n = 200000;
    for (int i = 0; i < n; i++) hits += prng_chance_ppm(&p, 250000);
    cr_assert(hits > n / 4 - 2000 && hits < n / 4 + 2000, "hits %d", hits);
    hits = 0;
    for (int i = 0; i < n; i++) hits += prng_chance_ppm(&p, 1);
    cr_assert_leq(hits, 5, "1 ppm hit %d times in %d", hits, n);
    hits = 0;
    for (int i = 0; i < n; i++) hits += prng_chance_ppm(&p, 999999);
    cr_assert_geq(hits, n - 5);
}
