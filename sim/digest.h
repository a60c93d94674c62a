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

/* One cheap step over a 64-bit word (rotate, xor, multiply, as FxHash does) for
 * hashing many words in a row; finish with digest_mix so that every input bit
 * reaches every output bit.  Every frame's bytes and every event's seven fields
 * are hashed: a full digest_mix per word made the digest ~5% of a run. */
static inline uint64_t digest_step(uint64_t h, uint64_t word) {
    return ((h << 23 | h >> 41) ^ word) * 0x9e3779b97f4a7c15ull;
}

/* A 64-bit hash of bytes, independent of alignment and endianness. */
uint64_t digest_bytes(const void *bytes, size_t len);

/* Hex form, 16 characters and a NUL. */
void digest_hex(uint64_t digest, char out[17]);

#endif
