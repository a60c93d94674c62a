/*
 * wire.c — see wire.h.  Varints come from varint.h; this file only frames them.
 */
#include "wire.h"

#include "varint.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_WRITER_CAP_MIN 256

/* ---- writer ------------------------------------------------------------- */

void wire_writer_init(wire_writer *w) {
    assert(w != NULL);
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->failed = 0;
}

void wire_writer_deinit(wire_writer *w) {
    assert(w != NULL);
    free(w->data);
    wire_writer_init(w);
}

void wire_writer_reset(wire_writer *w) {
    assert(w != NULL);
    w->len = 0;
    w->failed = 0;
}

int wire_writer_reserve(wire_writer *w, size_t extra) {
    assert(w->len <= w->cap);
    if (w->failed) return -1;
    if (w->cap - w->len >= extra) return 0;
    if (extra > SIZE_MAX / 2 - w->len) {
        w->failed = 1;
        return -1;
    }
    size_t cap = w->cap ? w->cap : WIRE_WRITER_CAP_MIN;
    while (cap < w->len + extra) cap *= 2;
    uint8_t *data = realloc(w->data, cap);
    if (data == NULL) {
        w->failed = 1;
        return -1;
    }
    w->data = data;
    w->cap = cap;
    return 0;
}

void wire_put_raw(wire_writer *w, const void *bytes, size_t len) {
    if (len == 0 || wire_writer_reserve(w, len) != 0) return;
    assert(bytes != NULL);
    memcpy(w->data + w->len, bytes, len);
    w->len += len;
}

void wire_put_bool(wire_writer *w, int v) {
    wire_put_i8(w, v ? 1 : 0);
}

void wire_put_f64(wire_writer *w, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    wire_put_i64(w, (int64_t)bits);
}

void wire_put_uuid(wire_writer *w, const uint8_t uuid[16]) {
    wire_put_raw(w, uuid, 16);
}

static void put_varint_u64(wire_writer *w, uint64_t v) {
    uint8_t buf[VARINT64_BYTES_MAX];
    wire_put_raw(w, buf, varint_put_u64(buf, v));
}

void wire_put_uvarint(wire_writer *w, uint32_t v) {
    put_varint_u64(w, v);
}
void wire_put_varint(wire_writer *w, int32_t v) {
    put_varint_u64(w, varint_zigzag32(v));
}
void wire_put_varlong(wire_writer *w, int64_t v) {
    put_varint_u64(w, varint_zigzag64(v));
}

static void put_str16(wire_writer *w, const void *s, int32_t len, int nullable) {
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

static void put_bytes32(wire_writer *w, const void *b, int32_t len, int nullable) {
    if (len < 0) {
        wire_put_i32(w, nullable ? -1 : 0);
        return;
    }
    wire_put_i32(w, len);
    wire_put_raw(w, b, (size_t)len);
}

static void put_compact(wire_writer *w, const void *b, int32_t len, int nullable) {
    if (len < 0) {
        wire_put_uvarint(w, nullable ? 0 : 1);
        return;
    }
    wire_put_uvarint(w, (uint32_t)len + 1);
    wire_put_raw(w, b, (size_t)len);
}

void wire_put_string(wire_writer *w, const char *s, int32_t len) {
    put_str16(w, s, len, 0);
}
void wire_put_nullable_string(wire_writer *w, const char *s, int32_t len) {
    put_str16(w, s, len, 1);
}
void wire_put_compact_string(wire_writer *w, const char *s, int32_t len) {
    put_compact(w, s, len, 0);
}
void wire_put_compact_nullable_string(wire_writer *w, const char *s, int32_t len) {
    put_compact(w, s, len, 1);
}
void wire_put_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    put_bytes32(w, b, len, 0);
}
void wire_put_nullable_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    put_bytes32(w, b, len, 1);
}
void wire_put_compact_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    put_compact(w, b, len, 0);
}
void wire_put_compact_nullable_bytes(wire_writer *w, const uint8_t *b, int32_t len) {
    put_compact(w, b, len, 1);
}

void wire_put_array_len(wire_writer *w, int32_t count) {
    wire_put_i32(w, count < 0 ? -1 : count);
}

void wire_put_compact_array_len(wire_writer *w, int32_t count) {
    wire_put_uvarint(w, count < 0 ? 0 : (uint32_t)count + 1);
}

void wire_patch_i32(wire_writer *w, size_t at, int32_t v) {
    if (w->failed) return;
    assert(at + 4 <= w->len);
    uint32_t u = (uint32_t)v;
    for (size_t i = 0; i < 4; i++) w->data[at + i] = (uint8_t)(u >> (24 - 8 * i));
}

size_t wire_sized_begin(const wire_writer *w) {
    return w->len;
}

void wire_sized_end(wire_writer *w, size_t at) {
    if (w->failed) return;
    assert(at <= w->len);
    size_t body = w->len - at;
    if (body > UINT32_MAX) {
        w->failed = 1;
        return;
    }
    uint8_t prefix[VARINT64_BYTES_MAX];
    size_t n = varint_put_u64(prefix, body);
    if (wire_writer_reserve(w, n) != 0) return;
    memmove(w->data + at + n, w->data + at, body);
    memcpy(w->data + at, prefix, n);
    w->len += n;
}

/* ---- reader ------------------------------------------------------------- */

void wire_reader_init(wire_reader *r, const void *data, size_t len) {
    assert(r != NULL && (data != NULL || len == 0));
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->failed = 0;
}

size_t wire_remaining(const wire_reader *r) {
    assert(r->pos <= r->len);
    return r->failed ? 0 : r->len - r->pos;
}

int wire_fail(wire_reader *r) {
    r->failed = 1;
    return -1;
}

const uint8_t *wire_get_raw(wire_reader *r, size_t n) {
    if (r->failed || r->len - r->pos < n) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

void wire_skip(wire_reader *r, size_t n) {
    (void)wire_get_raw(r, n);
}

uint8_t wire_get_bool(wire_reader *r) {
    return wire_get_i8(r) != 0;
}

double wire_get_f64(wire_reader *r) {
    uint64_t bits = (uint64_t)wire_get_i64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void wire_get_uuid(wire_reader *r, uint8_t out[16]) {
    const uint8_t *p = wire_get_raw(r, 16);
    if (p != NULL)
        memcpy(out, p, 16);
    else
        memset(out, 0, 16);
}

static uint64_t get_varint_u64(wire_reader *r, size_t bytes_max) {
    uint64_t v = 0;
    if (r->failed) return 0;
    size_t n = varint_get_u64(r->data + r->pos, r->len - r->pos, bytes_max, &v);
    if (n == 0) {
        r->failed = 1;
        return 0;
    }
    r->pos += n;
    return v;
}

uint32_t wire_get_uvarint(wire_reader *r) {
    uint64_t v = get_varint_u64(r, VARINT32_BYTES_MAX);
    if (v > UINT32_MAX) {
        r->failed = 1;
        return 0;
    }
    return (uint32_t)v;
}

int32_t wire_get_varint(wire_reader *r) {
    return varint_unzigzag32(wire_get_uvarint(r));
}

int64_t wire_get_varlong(wire_reader *r) {
    return varint_unzigzag64(get_varint_u64(r, VARINT64_BYTES_MAX));
}

/* Takes `len` bytes (len -1 = null) after a length prefix has been read. */
static int32_t take(wire_reader *r, int64_t len, int nullable, const void **out) {
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

static int64_t compact_len(wire_reader *r) {
    return (int64_t)wire_get_uvarint(r) - 1;
}

static int32_t get_str(wire_reader *r, int compact, int nullable, const char **out) {
    const void *p;
    int64_t len = compact ? compact_len(r) : wire_get_i16(r);
    int32_t n = take(r, len, nullable, &p);
    *out = p;
    return n;
}

static int32_t get_bytes(wire_reader *r, int compact, int nullable, const uint8_t **out) {
    const void *p;
    int64_t len = compact ? compact_len(r) : wire_get_i32(r);
    int32_t n = take(r, len, nullable, &p);
    *out = p;
    return n;
}

int32_t wire_get_string(wire_reader *r, const char **out) {
    return get_str(r, 0, 0, out);
}
int32_t wire_get_nullable_string(wire_reader *r, const char **out) {
    return get_str(r, 0, 1, out);
}
int32_t wire_get_compact_string(wire_reader *r, const char **out) {
    return get_str(r, 1, 0, out);
}
int32_t wire_get_compact_nullable_string(wire_reader *r, const char **out) {
    return get_str(r, 1, 1, out);
}
int32_t wire_get_bytes(wire_reader *r, const uint8_t **out) {
    return get_bytes(r, 0, 0, out);
}
int32_t wire_get_nullable_bytes(wire_reader *r, const uint8_t **out) {
    return get_bytes(r, 0, 1, out);
}
int32_t wire_get_compact_bytes(wire_reader *r, const uint8_t **out) {
    return get_bytes(r, 1, 0, out);
}
int32_t wire_get_compact_nullable_bytes(wire_reader *r, const uint8_t **out) {
    return get_bytes(r, 1, 1, out);
}

int32_t wire_get_array_len(wire_reader *r) {
    int32_t n = wire_get_i32(r);
    if (r->failed || n < -1) {
        r->failed = 1;
        return -1;
    }
    return n;
}

int32_t wire_get_compact_array_len(wire_reader *r) {
    int64_t n = compact_len(r);
    if (r->failed || n > INT32_MAX) {
        r->failed = 1;
        return -1;
    }
    return (int32_t)n;
}
