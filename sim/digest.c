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

uint64_t digest_bytes(const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    uint64_t h = DIGEST_INIT ^ (len * 0x9e3779b97f4a7c15ull);
    size_t i = 0;
    /* Every delivered frame is hashed: four words per loop turn (the same steps in
     * the same order) spend fewer instructions on the loop itself. */
    for (; i + 32 <= len; i += 32) {
        h = digest_step(h, word_le(p + i));
        h = digest_step(h, word_le(p + i + 8));
        h = digest_step(h, word_le(p + i + 16));
        h = digest_step(h, word_le(p + i + 24));
    }
    for (; i + 8 <= len; i += 8) h = digest_step(h, word_le(p + i));
    uint64_t tail = 0;
    for (size_t k = len; k > i; k--) tail = (tail << 8) | p[k - 1];
    return digest_mix(digest_step(h, tail));
}

void digest_hex(uint64_t digest, char out[17]) {
    snprintf(out, 17, "%016llx", (unsigned long long)digest);
}
