#include "prng.h"

#include <assert.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void prng_seed(prng *p, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) p->s[i] = splitmix64(&x);
    assert(p->s[0] | p->s[1] | p->s[2] | p->s[3]);
}

uint64_t prng_next(prng *p) {
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Lemire's nearly-divisionless bounded draw: uniform in [0, bound). */
static uint64_t prng_below(prng *p, uint64_t bound) {
    assert(bound > 0);
    unsigned __int128 m = (unsigned __int128)prng_next(p) * bound;
    uint64_t low = (uint64_t)m;
    if (low < bound) {
        uint64_t threshold = (0 - bound) % bound;
        while (low < threshold) {
            m = (unsigned __int128)prng_next(p) * bound;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

uint64_t prng_range(prng *p, uint64_t lo, uint64_t hi) {
    assert(lo <= hi);
    if (lo == 0 && hi == UINT64_MAX) return prng_next(p);
    return lo + prng_below(p, hi - lo + 1);
}

int prng_chance_ppm(prng *p, uint32_t ppm) {
    if (ppm == 0) return 0;
    if (ppm >= 1000000) return 1;
    return prng_below(p, 1000000) < ppm;
}
