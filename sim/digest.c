#include "digest.h"

#include <stdio.h>
#include <string.h>

uint64_t digest_bytes(const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    uint64_t h = DIGEST_INIT ^ (len * 0x9e3779b97f4a7c15ull);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w); /* the digest reads bytes little-endian everywhere */
#endif
        h = digest_step(h, w);
    }
    uint64_t tail = 0;
    for (size_t k = len; k > i; k--) tail = (tail << 8) | p[k - 1];
    return digest_mix(digest_step(h, tail));
}

void digest_hex(uint64_t digest, char out[17]) {
    snprintf(out, 17, "%016llx", (unsigned long long)digest);
}
