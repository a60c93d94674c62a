/*
 * varint.h — the variable-length integers of the Kafka protocol.
 *
 * Unsigned varints (protobuf style, 7 bits a byte, low bits first) carry the
 * lengths of compact strings, arrays and tagged fields; signed varints are
 * zig-zag encoded and carry every integer inside a v2 record.  The decoders never
 * read past `len` and reject encodings longer than the type allows.
 */
#ifndef STREAMLAB_VARINT_H
#define STREAMLAB_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT32_BYTES_MAX 5
#define VARINT64_BYTES_MAX 10

static inline uint32_t varint_zigzag32(int32_t v) {
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}
static inline int32_t varint_unzigzag32(uint32_t v) {
    return (int32_t)((v >> 1) ^ (~(v & 1) + 1));
}
static inline uint64_t varint_zigzag64(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t varint_unzigzag64(uint64_t v) {
    return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
}

/* Writes v into out (at least VARINT64_BYTES_MAX bytes); returns the bytes used. */
static inline size_t varint_put_u64(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Bytes varint_put_u64 would use. */
static inline size_t varint_size_u64(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Reads an unsigned varint of at most bytes_max bytes; returns the bytes used, or 0
 * when the input ends early or the encoding is too long. */
static inline size_t varint_get_u64(const uint8_t *in, size_t len, size_t bytes_max,
                                    uint64_t *out) {
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < bytes_max; i++) {
        v |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if ((in[i] & 0x80) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

static inline size_t varint_get_u32(const uint8_t *in, size_t len, uint32_t *out) {
    uint64_t v = 0;
    size_t n = varint_get_u64(in, len, VARINT32_BYTES_MAX, &v);
    if (n == 0 || v > UINT32_MAX) return 0;
    *out = (uint32_t)v;
    return n;
}

static inline size_t varint_get_i32(const uint8_t *in, size_t len, int32_t *out) {
    uint32_t v = 0;
    size_t n = varint_get_u32(in, len, &v);
    if (n) *out = varint_unzigzag32(v);
    return n;
}

static inline size_t varint_get_i64(const uint8_t *in, size_t len, int64_t *out) {
    uint64_t v = 0;
    size_t n = varint_get_u64(in, len, VARINT64_BYTES_MAX, &v);
    if (n) *out = varint_unzigzag64(v);
    return n;
}

#endif
