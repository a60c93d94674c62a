/*
 * prng.h — the simulator's one source of randomness.
 *
 * xoshiro256** seeded through splitmix64.  Everything random in a run — latency,
 * drops, chaos, power-off tears, keys — is drawn from one prng in engine order, so
 * a seed fixes the run.  Ranges are drawn with integer arithmetic only (Lemire's
 * multiply-and-reject), never through floating point.
 */
#ifndef STREAMLAB_PRNG_H
#define STREAMLAB_PRNG_H

#include <stdint.h>

typedef struct prng {
    uint64_t s[4];
} prng;

void prng_seed(prng *p, uint64_t seed);
uint64_t prng_next(prng *p);
/* Uniform in [lo, hi] inclusive; lo <= hi. */
uint64_t prng_range(prng *p, uint64_t lo, uint64_t hi);
/* 1 with probability ppm / 1,000,000. */
int prng_chance_ppm(prng *p, uint32_t ppm);

#endif
