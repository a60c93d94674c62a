#include "digest.h"

#include <stdio.h>
#include <string.h>

static inline uint64_t word_le(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w); /* the digest reads bytes little-endian everywhere */
#endif
    return w;
}

/* Every delivered frame is hashed.  One chain of steps (a multiply each) over a
 * frame's words waited ~5 cycles a word, so four independent lanes take the four
 * words of each 32-byte block; the last words and the tail go to lane 0, and the
 * lanes are combined in a fixed order: the same value everywhere. */
uint64_t digest_bytes(const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    uint64_t seed = DIGEST_INIT ^ (len * 0x9e3779b97f4a7c15ull);
    uint64_t h0 = seed, h1 = seed ^ 0x243f6a8885a308d3ull, h2 = seed ^ 0x13198a2e03707344ull,
             h3 = seed ^ 0xa4093822299f31d0ull; /* digits of pi: lanes start apart */
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        h0 = digest_step(h0, word_le(p + i));
        h1 = digest_step(h1, word_le(p + i + 8));
        h2 = digest_step(h2, word_le(p + i + 16));
        h3 = digest_step(h3, word_le(p + i + 24));
    }
    for (; i + 8 <= len; i += 8) h0 = digest_step(h0, word_le(p + i));
    uint64_t tail = 0;
    for (size_t k = len; k > i; k--) tail = (tail << 8) | p[k - 1];
    h0 = digest_step(h0, tail);
    return digest_mix(digest_step(digest_step(digest_step(h0, h1), h2), h3));
}

void digest_hex(uint64_t digest, char out[17]) {
    snprintf(out, 17, "%016llx", (unsigned long long)digest);
}
