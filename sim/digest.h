/*
 * digest.h — the run digest (DESIGN.md §3).
 *
 * A 64-bit value folded, in engine order, over every event and every injected
 * action.  Integer arithmetic only, bytes read in a fixed order, so the value is
 * the same on any machine, at any optimisation level, with or without a trace.
 */
#ifndef STREAMLAB_DIGEST_H
#define STREAMLAB_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_INIT 0x736c6162646967ull /* "slabdig" */

static inline uint64_t digest_mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static inline uint64_t digest_fold(uint64_t digest, uint64_t value) {
    return digest_mix(digest ^ (value + 0x9e3779b97f4a7c15ull + (digest << 6) + (digest >> 2)));
}

/* A 64-bit hash of bytes, independent of alignment and endianness. */
uint64_t digest_bytes(const void *bytes, size_t len);

/* Hex form, 16 characters and a NUL. */
void digest_hex(uint64_t digest, char out[17]);

#endif
