/*
 * wire.h — the primitive encodings of the Kafka protocol.
 *
 * Integers are big-endian.  Classic strings carry an int16 length and bytes an
 * int32 length, -1 meaning null; compact strings, bytes and arrays (flexible
 * versions) carry length+1 as an unsigned varint, 0 meaning null.
 *
 * The writer grows its buffer on demand; if memory runs out or a value cannot be
 * represented (a string longer than 32767 bytes behind an int16 length), it sets
 * `failed` and ignores every later write, so callers check once at the end.
 *
 * The reader never trusts a length: every getter checks what is left, and on an
 * overrun or a malformed length it sets `failed` (sticky), returns 0 (or a null
 * length) and consumes nothing more.  Decoded strings and bytes point into the
 * input buffer, which must outlive them.
 */
#ifndef STREAMLAB_WIRE_H
#define STREAMLAB_WIRE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "big_endian.h"

/* The small readers and writers below are forced inline: left to itself, GCC
 * made out-of-line copies of wire_put_i32 and friends for the big generated
 * codec file, and paid a call per field. */
#define WIRE_INLINE static inline __attribute__((always_inline))

typedef struct wire_writer {
    uint8_t *data;
    size_t len, cap;
    int failed;
} wire_writer;

typedef struct wire_reader {
    const uint8_t *data;
    size_t len, pos;
    int failed;
} wire_reader;

/* ---- writer ------------------------------------------------------------- */

void wire_writer_init(wire_writer *w);
void wire_writer_deinit(wire_writer *w);
/* Empties the writer and clears `failed`; keeps the buffer.  Inline, as are
 * reserve's common case, wire_patch_i32 and wire_reader_init: every message asks. */
WIRE_INLINE void wire_writer_reset(wire_writer *w) {
    w->len = 0;
    w->failed = 0;
}
/* reserve's slow path: grows the buffer. */
int wire_writer_grow_(wire_writer *w, size_t extra);
/* Makes room for `extra` more bytes; 0 on success, -1 (and `failed`) otherwise. */
WIRE_INLINE int wire_writer_reserve(wire_writer *w, size_t extra) {
    if (!w->failed && w->cap - w->len >= extra) return 0;
    return wire_writer_grow_(w, extra);
}

/* The fixed-width writes are inline: the codecs make millions of them, and as
 * calls they were a tenth of the simulator's instructions.  The common case
 * (room in the buffer) does not call wire_writer_reserve. */
WIRE_INLINE uint8_t *wire_put_room_(wire_writer *w, size_t n) {
    if (w->cap - w->len < n && wire_writer_reserve(w, n) != 0) return NULL;
    if (w->failed) return NULL;
    uint8_t *p = w->data + w->len;
    w->len += n;
    return p;
}
WIRE_INLINE void wire_put_i8(wire_writer *w, int8_t v) {
    uint8_t *p = wire_put_room_(w, 1);
    if (p) *p = (uint8_t)v;
}
WIRE_INLINE void wire_put_i16(wire_writer *w, int16_t v) {
    uint8_t *p = wire_put_room_(w, 2);
    if (p) be_store16(p, (uint16_t)v);
}
WIRE_INLINE void wire_put_i32(wire_writer *w, int32_t v) {
    uint8_t *p = wire_put_room_(w, 4);
    if (p) be_store32(p, (uint32_t)v);
}
WIRE_INLINE void wire_put_i64(wire_writer *w, int64_t v) {
    uint8_t *p = wire_put_room_(w, 8);
    if (p) be_store64(p, (uint64_t)v);
}
WIRE_INLINE void wire_put_u16(wire_writer *w, uint16_t v) {
    uint8_t *p = wire_put_room_(w, 2);
    if (p) be_store16(p, v);
}
WIRE_INLINE void wire_put_u32(wire_writer *w, uint32_t v) {
    uint8_t *p = wire_put_room_(w, 4);
    if (p) be_store32(p, v);
}
WIRE_INLINE void wire_put_raw(wire_writer *w, const void *bytes, size_t len) {
    if (len == 0) return;
    uint8_t *p = wire_put_room_(w, len);
    if (p) memcpy(p, bytes, len);
}
void wire_put_f64(wire_writer *w, double v);
void wire_put_bool(wire_writer *w, int v);
void wire_put_uuid(wire_writer *w, const uint8_t uuid[16]);
/* Varints of more than one byte; the inline writers below handle the rest. */
void wire_put_uvarint_long_(wire_writer *w, uint64_t v);
WIRE_INLINE void wire_put_uvarint(wire_writer *w, uint32_t v) {
    if (v < 0x80)
        wire_put_i8(w, (int8_t)v);
    else
        wire_put_uvarint_long_(w, v);
}
void wire_put_varint(wire_writer *w, int32_t v);
void wire_put_varlong(wire_writer *w, int64_t v);

/* The string and bytes writers: int16, int32 or compact (varint len+1) prefix. */
WIRE_INLINE void wire_put_str16_(wire_writer *w, const void *s, int32_t len, int nullable) {
    if (len < 0) {
        wire_put_i16(w, nullable ? -1 : 0);
        return;
    }
    if (len > INT16_MAX) {
        w->failed = 1;
        return;
    }
    wire_put_i16(w, (int16_t)len);
    wire_put_raw(w, s, (size_t)len);
}
WIRE_INLINE void wire_put_bytes32_(wire_writer *w, const void *b, int32_t len, int nullable) {
    if (len < 0) {
        wire_put_i32(w, nullable ? -1 : 0);
        return;
    }
    wire_put_i32(w, len);
    wire_put_raw(w, b, (size_t)len);
}
WIRE_INLINE void wire_put_compact_(wire_writer *w, const void *b, int32_t len, int nullable) {
    if (len < 0) {
        wire_put_uvarint(w, nullable ? 0 : 1);
        return;
    }
    wire_put_uvarint(w, (uint32_t)len + 1);
    wire_put_raw(w, b, (size_t)len);
}

/* len < 0 means null.  The non-nullable variants write a null as empty. */
WIRE_INLINE void wire_put_string(wire_writer *w, const char *s, int32_t len) {
    wire_put_str16_(w, s, len, 0);
}
WIRE_INLINE void wire_put_nullable_string(wire_writer *w, const char *s, int32_t len) {
    wire_put_str16_(w, s, len, 1);
}
WIRE_INLINE void wire_put_compact_string(wire_writer *w, const char *s, int32_t len) {
    wire_put_compact_(w, s, len, 0);
}
WIRE_INLINE void wire_put_compact_nullable_string(wire_writer *w, const char *s, int32_t len) {
    wire_put_compact_(w, s, len, 1);
}
WIRE_INLINE void wire_put_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    wire_put_bytes32_(w, b, len, 0);
}
WIRE_INLINE void wire_put_nullable_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    wire_put_bytes32_(w, b, len, 1);
}
WIRE_INLINE void wire_put_compact_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    wire_put_compact_(w, b, len, 0);
}
WIRE_INLINE void wire_put_compact_nullable_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    wire_put_compact_(w, b, len, 1);
}
/* Array element counts: int32 (-1 null) or unsigned varint count+1 (0 null). */
WIRE_INLINE void wire_put_array_len(wire_writer *w, int32_t count) {
    wire_put_i32(w, count < 0 ? -1 : count);
}
WIRE_INLINE void wire_put_compact_array_len(wire_writer *w, int32_t count) {
    wire_put_uvarint(w, count < 0 ? 0 : (uint32_t)count + 1);
}

/* ---- sized writing ------------------------------------------------------
 * The generated encoders first add up a message's exact size with wire_size_*,
 * reserve it once, then write through a cursor with wire_cur_*: no bounds check,
 * no `failed` test and no reload of the writer per field.  Each wire_cur_* writes
 * exactly what its wire_put_* counterpart does and returns the cursor past it. */
WIRE_INLINE size_t wire_size_uvarint(uint32_t v) {
    return v < (1u << 7) ? 1 : v < (1u << 14) ? 2 : v < (1u << 21) ? 3 : v < (1u << 28) ? 4 : 5;
}
/* An int16-prefixed string; sets *bad when it is too long for its prefix. */
WIRE_INLINE size_t wire_size_str16(int32_t len, int *bad) {
    if (len > INT16_MAX) *bad = 1;
    return 2 + (len > 0 ? (size_t)len : 0);
}
WIRE_INLINE size_t wire_size_bytes32(int32_t len) {
    return 4 + (len > 0 ? (size_t)len : 0);
}
/* Compact strings and bytes; a null takes one byte. */
WIRE_INLINE size_t wire_size_compact(int32_t len) {
    return len < 0 ? 1 : wire_size_uvarint((uint32_t)len + 1) + (size_t)len;
}
WIRE_INLINE size_t wire_size_compact_array_len(int32_t count) {
    return wire_size_uvarint(count < 0 ? 0 : (uint32_t)count + 1);
}

WIRE_INLINE uint8_t *wire_cur_i8(uint8_t *p, int8_t v) {
    *p = (uint8_t)v;
    return p + 1;
}
WIRE_INLINE uint8_t *wire_cur_bool(uint8_t *p, int v) {
    *p = v ? 1 : 0;
    return p + 1;
}
WIRE_INLINE uint8_t *wire_cur_i16(uint8_t *p, int16_t v) {
    be_store16(p, (uint16_t)v);
    return p + 2;
}
WIRE_INLINE uint8_t *wire_cur_u16(uint8_t *p, uint16_t v) {
    be_store16(p, v);
    return p + 2;
}
WIRE_INLINE uint8_t *wire_cur_i32(uint8_t *p, int32_t v) {
    be_store32(p, (uint32_t)v);
    return p + 4;
}
WIRE_INLINE uint8_t *wire_cur_i64(uint8_t *p, int64_t v) {
    be_store64(p, (uint64_t)v);
    return p + 8;
}
WIRE_INLINE uint8_t *wire_cur_f64(uint8_t *p, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    be_store64(p, bits);
    return p + 8;
}
WIRE_INLINE uint8_t *wire_cur_uuid(uint8_t *p, const uint8_t uuid[16]) {
    memcpy(p, uuid, 16);
    return p + 16;
}
WIRE_INLINE uint8_t *wire_cur_uvarint(uint8_t *p, uint32_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}
WIRE_INLINE uint8_t *wire_cur_raw(uint8_t *p, const void *bytes, size_t len) {
    if (len > 0) memcpy(p, bytes, len);
    return p + len;
}
/* len < 0 is null: written as such when nullable, else as empty (as wire_put_*). */
WIRE_INLINE uint8_t *wire_cur_str16(uint8_t *p, const char *s, int32_t len, int nullable) {
    if (len < 0) return wire_cur_i16(p, nullable ? -1 : 0);
    return wire_cur_raw(wire_cur_i16(p, (int16_t)len), s, (size_t)len);
}
WIRE_INLINE uint8_t *wire_cur_bytes32(uint8_t *p, const uint8_t *b, int32_t len, int nullable) {
    if (len < 0) return wire_cur_i32(p, nullable ? -1 : 0);
    return wire_cur_raw(wire_cur_i32(p, len), b, (size_t)len);
}
WIRE_INLINE uint8_t *wire_cur_compact(uint8_t *p, const void *b, int32_t len, int nullable) {
    if (len < 0) return wire_cur_uvarint(p, nullable ? 0 : 1);
    return wire_cur_raw(wire_cur_uvarint(p, (uint32_t)len + 1), b, (size_t)len);
}
WIRE_INLINE uint8_t *wire_cur_array_len(uint8_t *p, int32_t count) {
    return wire_cur_i32(p, count < 0 ? -1 : count);
}
WIRE_INLINE uint8_t *wire_cur_compact_array_len(uint8_t *p, int32_t count) {
    return wire_cur_uvarint(p, count < 0 ? 0 : (uint32_t)count + 1);
}

/* Overwrites 4 bytes at `at` (a length prefix written earlier as a placeholder). */
WIRE_INLINE void wire_patch_i32(wire_writer *w, size_t at, int32_t v) {
    if (w->failed) return;
    assert(at + 4 <= w->len);
    be_store32(w->data + at, (uint32_t)v);
}
/* A tagged field's body is prefixed by its size as an unsigned varint: remember
 * where the body starts, write it, then wire_sized_end inserts the size there. */
WIRE_INLINE size_t wire_sized_begin(const wire_writer *w) {
    return w->len;
}
void wire_sized_end(wire_writer *w, size_t at);

/* ---- reader ------------------------------------------------------------- */

WIRE_INLINE void wire_reader_init(wire_reader *r, const void *data, size_t len) {
    assert(r != NULL && (data != NULL || len == 0));
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->failed = 0;
}
WIRE_INLINE size_t wire_remaining(const wire_reader *r) {
    return r->failed ? 0 : r->len - r->pos;
}
/* Marks the reader malformed; always returns -1 so decoders can `return`. */
WIRE_INLINE int wire_fail(wire_reader *r) {
    r->failed = 1;
    return -1;
}

/* Inline for the same reason as the fixed-width writes.  The next n bytes, or
 * NULL (and `failed`) when fewer are left. */
WIRE_INLINE const uint8_t *wire_get_room_(wire_reader *r, size_t n) {
    if (r->failed || r->len - r->pos < n) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}
/* Returns a pointer to the next n bytes and consumes them, or NULL on overrun. */
WIRE_INLINE const uint8_t *wire_get_raw(wire_reader *r, size_t n) {
    return wire_get_room_(r, n);
}
WIRE_INLINE void wire_skip(wire_reader *r, size_t n) {
    (void)wire_get_room_(r, n);
}
WIRE_INLINE int8_t wire_get_i8(wire_reader *r) {
    const uint8_t *p = wire_get_room_(r, 1);
    return p ? (int8_t)*p : 0;
}
WIRE_INLINE int16_t wire_get_i16(wire_reader *r) {
    const uint8_t *p = wire_get_room_(r, 2);
    return p ? (int16_t)be_load16(p) : 0;
}
WIRE_INLINE int32_t wire_get_i32(wire_reader *r) {
    const uint8_t *p = wire_get_room_(r, 4);
    return p ? (int32_t)be_load32(p) : 0;
}
WIRE_INLINE int64_t wire_get_i64(wire_reader *r) {
    const uint8_t *p = wire_get_room_(r, 8);
    return p ? (int64_t)be_load64(p) : 0;
}
WIRE_INLINE uint16_t wire_get_u16(wire_reader *r) {
    const uint8_t *p = wire_get_room_(r, 2);
    return p ? be_load16(p) : 0;
}
WIRE_INLINE uint32_t wire_get_u32(wire_reader *r) {
    const uint8_t *p = wire_get_room_(r, 4);
    return p ? be_load32(p) : 0;
}
double wire_get_f64(wire_reader *r);
/* Any non-zero byte is true (as in Kafka); returns 0 or 1. */
uint8_t wire_get_bool(wire_reader *r);
void wire_get_uuid(wire_reader *r, uint8_t out[16]);
/* Varints of more than one byte (and every error); the inline getter takes the
 * one-byte case, which is almost every length and tag count. */
uint32_t wire_get_uvarint_long_(wire_reader *r);
WIRE_INLINE uint32_t wire_get_uvarint(wire_reader *r) {
    if (!r->failed && r->pos < r->len && r->data[r->pos] < 0x80) return r->data[r->pos++];
    return wire_get_uvarint_long_(r);
}
int32_t wire_get_varint(wire_reader *r);
int64_t wire_get_varlong(wire_reader *r);

/* Takes `len` bytes (len -1 = null) after a length prefix has been read. */
WIRE_INLINE int32_t wire_take_(wire_reader *r, int64_t len, int nullable, const void **out) {
    *out = NULL;
    if (r->failed) return -1;
    if (len == -1 && nullable) return -1;
    if (len < 0 || (uint64_t)len > r->len - r->pos || len > INT32_MAX) {
        r->failed = 1;
        return -1;
    }
    *out = r->data + r->pos;
    r->pos += (size_t)len;
    return (int32_t)len;
}
WIRE_INLINE int64_t wire_compact_len_(wire_reader *r) {
    return (int64_t)wire_get_uvarint(r) - 1;
}
WIRE_INLINE int32_t wire_get_str_(wire_reader *r, int compact, int nullable, const char **out) {
    const void *p;
    int64_t len = compact ? wire_compact_len_(r) : wire_get_i16(r);
    int32_t n = wire_take_(r, len, nullable, &p);
    *out = p;
    return n;
}
WIRE_INLINE int32_t wire_get_bytes_(wire_reader *r, int compact, int nullable,
                                    const uint8_t **out) {
    const void *p;
    int64_t len = compact ? wire_compact_len_(r) : wire_get_i32(r);
    int32_t n = wire_take_(r, len, nullable, &p);
    *out = p;
    return n;
}

/* Return the length (-1 for null) and point *out into the input (NULL for null).
 * The non-nullable variants treat a null as malformed. */
WIRE_INLINE int32_t wire_get_string(wire_reader *r, const char **out) {
    return wire_get_str_(r, 0, 0, out);
}
WIRE_INLINE int32_t wire_get_nullable_string(wire_reader *r, const char **out) {
    return wire_get_str_(r, 0, 1, out);
}
WIRE_INLINE int32_t wire_get_compact_string(wire_reader *r, const char **out) {
    return wire_get_str_(r, 1, 0, out);
}
WIRE_INLINE int32_t wire_get_compact_nullable_string(wire_reader *r, const char **out) {
    return wire_get_str_(r, 1, 1, out);
}
WIRE_INLINE int32_t wire_get_bytes(wire_reader *r, const uint8_t **out) {
    return wire_get_bytes_(r, 0, 0, out);
}
WIRE_INLINE int32_t wire_get_nullable_bytes(wire_reader *r, const uint8_t **out) {
    return wire_get_bytes_(r, 0, 1, out);
}
WIRE_INLINE int32_t wire_get_compact_bytes(wire_reader *r, const uint8_t **out) {
    return wire_get_bytes_(r, 1, 0, out);
}
WIRE_INLINE int32_t wire_get_compact_nullable_bytes(wire_reader *r, const uint8_t **out) {
    return wire_get_bytes_(r, 1, 1, out);
}
/* Array counts, -1 for null; the caller still checks the count against what is left. */
WIRE_INLINE int32_t wire_get_array_len(wire_reader *r) {
    int32_t n = wire_get_i32(r);
    if (r->failed || n < -1) {
        r->failed = 1;
        return -1;
    }
    return n;
}
WIRE_INLINE int32_t wire_get_compact_array_len(wire_reader *r) {
    int64_t n = wire_compact_len_(r);
    if (r->failed || n > INT32_MAX) {
        r->failed = 1;
        return -1;
    }
    return (int32_t)n;
}

#endif
