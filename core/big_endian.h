/*
 * big_endian.h — loads and stores of big-endian integers, as Kafka's wire and
 * record formats use them.
 *
 * Written byte by byte (no alignment or host byte order assumed); GCC and Clang
 * turn each into one load or store and a byte swap.  A loop over a width did not
 * unroll at -O2 and cost ~5 instructions a byte, which the codecs and the log
 * paid millions of times per simulated hour.
 */
#ifndef STREAMLAB_BIG_ENDIAN_H
#define STREAMLAB_BIG_ENDIAN_H

#include <stdint.h>

static inline uint16_t be_load16(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t be_load32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be_load64(const uint8_t *p) {
    return (uint64_t)be_load32(p) << 32 | be_load32(p + 4);
}

static inline void be_store16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void be_store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void be_store64(uint8_t *p, uint64_t v) {
    be_store32(p, (uint32_t)(v >> 32));
    be_store32(p + 4, (uint32_t)v);
}

#endif
