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

int wire_writer_grow_(wire_writer *w, size_t extra) {
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

void wire_put_uvarint_long_(wire_writer *w, uint64_t v) {
    uint8_t buf[VARINT64_BYTES_MAX];
    wire_put_raw(w, buf, varint_put_u64(buf, v));
}

void wire_put_varint(wire_writer *w, int32_t v) {
    wire_put_uvarint_long_(w, varint_zigzag32(v));
}
void wire_put_varlong(wire_writer *w, int64_t v) {
    wire_put_uvarint_long_(w, varint_zigzag64(v));
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

uint32_t wire_get_uvarint_long_(wire_reader *r) {
    uint64_t v = get_varint_u64(r, VARINT32_BYTES_MAX);
    if (v > UINT32_MAX) {
        r->failed = 1;
        return 0;
    }
    return (uint32_t)v;
}

int32_t wire_get_varint(wire_reader *r) {
    return varint_unzigzag32(wire_get_uvarint_long_(r));
}

int64_t wire_get_varlong(wire_reader *r) {
    return varint_unzigzag64(get_varint_u64(r, VARINT64_BYTES_MAX));
}
