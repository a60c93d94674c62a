/*
 * record_batch.c — Kafka RecordBatch v2 (magic 2).
 *
 * Format (all fixed-width integers big-endian):
 *
 *   offset  size  field
 *        0     8  base offset              \ outside the CRC: the leader rewrites
 *        8     4  batch length (total-12)   | these in place when it assigns
 *       12     4  partition leader epoch   /  offsets, so no CRC recompute
 *       16     1  magic (2)
 *       17     4  CRC-32C of bytes 21..end
 *       21     2  attributes (bits 0-2 compression, 3 timestamp type,
 *                 4 transactional, 5 control)
 *       23     4  last offset delta
 *       27     8  base timestamp
 *       35     8  max timestamp
 *       43     8  producer id
 *       51     2  producer epoch
 *       53     4  base sequence
 *       57     4  record count
 *       61        records
 *
 * A record is a zig-zag varint length followed by that many bytes: attributes
 * (int8), timestamp delta (varlong), offset delta (varint), key length (varint,
 * -1 = null) and key, value length and value, header count and headers (each a
 * key length and key, value length and value).  All of its integers are zig-zag
 * varints.
 *
 * Bytes arrive from the network and from disk after a crash, so nothing here
 * trusts a length: every read is checked against the bytes actually present.
 * Compressed batches are opaque to us (stored and served as they came); only
 * their header and CRC are checked.
 */
#include "record_batch.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "big_endian.h"
#include "crc32c.h"
#include "varint.h"

int record_batch_compression(const uint8_t *b) {
    return record_batch_attributes(b) & RECORD_BATCH_COMPRESSION_MASK;
}

void record_batch_set_base_offset(uint8_t *b, int64_t base_offset) {
    assert(base_offset >= 0);
    be_store64(b + RB_BASE_OFFSET, (uint64_t)base_offset);
}

void record_batch_set_partition_leader_epoch(uint8_t *b, int32_t epoch) {
    be_store32(b + RB_LEADER_EPOCH, (uint32_t)epoch);
}

uint32_t record_batch_compute_crc(const uint8_t *b, size_t len) {
    assert(len >= RECORD_BATCH_HEADER_BYTES);
    return crc32c(0, b + RB_ATTRIBUTES, len - RB_ATTRIBUTES);
}

/* ---- validation -------------------------------------------------------------------- */

static int rb_fail(char *why, size_t why_bytes, const char *reason) {
    if (why && why_bytes) snprintf(why, why_bytes, "%s", reason);
    return -1;
}

static int rb_check_records(const uint8_t *bytes, size_t len, char *why, size_t why_bytes) {
    record_batch_iter it;
    record_batch_record r;
    if (record_batch_iter_init(&it, bytes, len) != 0)
        return rb_fail(why, why_bytes, "batch not iterable");
    int32_t count = 0;
    int rc;
    while ((rc = record_batch_iter_next(&it, &r)) == 1) {
        if (r.offset_delta < 0 || r.offset_delta > record_batch_last_offset_delta(bytes))
            return rb_fail(why, why_bytes, "record offset delta out of range");
        count++;
    }
    if (rc < 0) return rb_fail(why, why_bytes, "malformed record");
    if (it.pos != len) return rb_fail(why, why_bytes, "trailing bytes after records");
    assert(count == record_batch_record_count(bytes));
    return 0;
}

int record_batch_validate(const uint8_t *bytes, size_t len, char *why, size_t why_bytes) {
    assert(bytes != NULL || len == 0);
    if (len < RECORD_BATCH_HEADER_BYTES) return rb_fail(why, why_bytes, "shorter than a header");
    int32_t length = record_batch_length(bytes);
    if (length < 0 || (size_t)length + RECORD_BATCH_LOG_OVERHEAD_BYTES != len)
        return rb_fail(why, why_bytes, "batch length disagrees with the bytes");
    if (record_batch_magic(bytes) != RECORD_BATCH_MAGIC)
        return rb_fail(why, why_bytes, "magic is not 2");
    if (record_batch_base_offset(bytes) < 0) return rb_fail(why, why_bytes, "negative base offset");
    if (record_batch_last_offset_delta(bytes) < 0 || record_batch_record_count(bytes) < 0)
        return rb_fail(why, why_bytes, "negative last offset delta or record count");
    if (record_batch_compute_crc(bytes, len) != record_batch_crc(bytes))
        return rb_fail(why, why_bytes, "CRC-32C mismatch");
    if (record_batch_compression(bytes) != 0) return 0;
    return rb_check_records(bytes, len, why, why_bytes);
}

bool record_batch_crc_valid(const uint8_t *bytes, size_t len) {
    return len >= RECORD_BATCH_HEADER_BYTES && record_batch_length(bytes) >= 0 &&
           (size_t)record_batch_length(bytes) + RECORD_BATCH_LOG_OVERHEAD_BYTES == len &&
           record_batch_magic(bytes) == RECORD_BATCH_MAGIC &&
           record_batch_last_offset_delta(bytes) >= 0 &&
           record_batch_compute_crc(bytes, len) == record_batch_crc(bytes);
}

/* ---- splitting ----------------------------------------------------------------------- */

size_t record_batch_split(const uint8_t *bytes, size_t len, record_batch_split_fn *each,
                          void *arg) {
    assert(each != NULL);
    size_t pos = 0;
    while (len - pos >= RECORD_BATCH_LOG_OVERHEAD_BYTES) {
        int32_t length = record_batch_length(bytes + pos);
        if (length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD_BYTES ||
            length > RECORD_BATCH_BYTES_MAX)
            break;
        size_t total = (size_t)length + RECORD_BATCH_LOG_OVERHEAD_BYTES;
        if (total > len - pos) break;
        if (each(arg, bytes + pos, total) != 0) break;
        pos += total;
    }
    assert(pos <= len);
    return pos;
}

/* ---- building ------------------------------------------------------------------------ */

static size_t rb_svarint_bytes(int64_t v) {
    return varint_size_u64(varint_zigzag64(v));
}

static size_t rb_put_svarint(uint8_t *p, int64_t v) {
    return varint_put_u64(p, varint_zigzag64(v));
}

static size_t rb_field_bytes(int32_t len) {
    return rb_svarint_bytes(len) + (len > 0 ? (size_t)len : 0);
}

static size_t rb_body_bytes(const record_batch_record_in *r, int64_t ts_delta, int32_t off_delta) {
    size_t n = 1 + rb_svarint_bytes(ts_delta) + rb_svarint_bytes(off_delta);
    n += rb_field_bytes(r->key_len) + rb_field_bytes(r->value_len);
    n += rb_svarint_bytes(r->header_count);
    for (int32_t i = 0; i < r->header_count; i++)
        n += rb_field_bytes(r->headers[i].key_len) + rb_field_bytes(r->headers[i].value_len);
    return n;
}

size_t record_batch_record_bytes(const record_batch_record_in *record, int64_t base_timestamp_ms) {
    /* The offset delta is at most 5 bytes; callers size batches conservatively. */
    size_t body = rb_body_bytes(record, record->timestamp_ms - base_timestamp_ms, INT32_MAX);
    return rb_svarint_bytes((int64_t)body) + body;
}

void record_batch_builder_config_default(record_batch_builder_config *config) {
    memset(config, 0, sizeof *config);
    config->partition_leader_epoch = -1;
    config->producer_id = RECORD_BATCH_NO_PRODUCER_ID;
    config->producer_epoch = -1;
    config->base_sequence = RECORD_BATCH_NO_SEQUENCE;
}

void record_batch_builder_init(record_batch_builder *builder, uint8_t *buf, size_t buf_bytes,
                               const record_batch_builder_config *config) {
    assert(buf_bytes >= RECORD_BATCH_HEADER_BYTES);
    assert((config->attributes & RECORD_BATCH_COMPRESSION_MASK) == 0);
    memset(buf, 0, RECORD_BATCH_HEADER_BYTES);
    *builder = (record_batch_builder){
        .buf = buf, .buf_bytes = buf_bytes, .used_bytes = RECORD_BATCH_HEADER_BYTES};
    record_batch_set_base_offset(buf, config->base_offset);
    record_batch_set_partition_leader_epoch(buf, config->partition_leader_epoch);
    buf[RB_MAGIC] = RECORD_BATCH_MAGIC;
    be_store16(buf + RB_ATTRIBUTES, (uint16_t)config->attributes);
    be_store64(buf + RB_PRODUCER_ID, (uint64_t)config->producer_id);
    be_store16(buf + RB_PRODUCER_EPOCH, (uint16_t)config->producer_epoch);
    be_store32(buf + RB_BASE_SEQUENCE, (uint32_t)config->base_sequence);
}

static size_t rb_put_field(uint8_t *p, const uint8_t *bytes, int32_t len) {
    size_t n = rb_put_svarint(p, len);
    if (len > 0) memcpy(p + n, bytes, (size_t)len);
    return n + (len > 0 ? (size_t)len : 0);
}

int record_batch_builder_add(record_batch_builder *builder, const record_batch_record_in *r) {
    assert(r->key_len >= -1 && r->value_len >= -1 && r->header_count >= 0);
    if (builder->record_count == 0) builder->base_timestamp_ms = r->timestamp_ms;
    int64_t ts_delta = r->timestamp_ms - builder->base_timestamp_ms;
    size_t body = rb_body_bytes(r, ts_delta, builder->record_count);
    size_t need = rb_svarint_bytes((int64_t)body) + body;
    if (need > builder->buf_bytes - builder->used_bytes) return -1;
    uint8_t *p = builder->buf + builder->used_bytes;
    size_t n = rb_put_svarint(p, (int64_t)body);
    p[n++] = 0; /* record attributes: unused */
    n += rb_put_svarint(p + n, ts_delta);
    n += rb_put_svarint(p + n, builder->record_count);
    n += rb_put_field(p + n, r->key, r->key_len);
    n += rb_put_field(p + n, r->value, r->value_len);
    n += rb_put_svarint(p + n, r->header_count);
    for (int32_t i = 0; i < r->header_count; i++) {
        n += rb_put_field(p + n, r->headers[i].key, r->headers[i].key_len);
        n += rb_put_field(p + n, r->headers[i].value, r->headers[i].value_len);
    }
    assert(n == need);
    builder->used_bytes += n;
    if (builder->record_count == 0 || r->timestamp_ms > builder->max_timestamp_ms)
        builder->max_timestamp_ms = r->timestamp_ms;
    builder->record_count++;
    return 0;
}

size_t record_batch_builder_finish(record_batch_builder *builder) {
    uint8_t *b = builder->buf;
    size_t len = builder->used_bytes;
    assert(len >= RECORD_BATCH_HEADER_BYTES && len <= builder->buf_bytes);
    int32_t count = builder->record_count;
    be_store32(b + RB_LENGTH, (uint32_t)(len - RECORD_BATCH_LOG_OVERHEAD_BYTES));
    be_store32(b + RB_LAST_OFFSET_DELTA, (uint32_t)(count > 0 ? count - 1 : 0));
    be_store64(b + RB_BASE_TIMESTAMP, (uint64_t)builder->base_timestamp_ms);
    be_store64(b + RB_MAX_TIMESTAMP, (uint64_t)builder->max_timestamp_ms);
    be_store32(b + RB_RECORD_COUNT, (uint32_t)count);
    be_store32(b + RB_CRC, record_batch_compute_crc(b, len));
    return len;
}

void record_batch_set_producer(uint8_t *b, size_t len, int64_t producer_id, int16_t producer_epoch,
                               int32_t base_sequence) {
    assert(len >= RECORD_BATCH_HEADER_BYTES && record_batch_total_bytes(b) == len);
    be_store64(b + RB_PRODUCER_ID, (uint64_t)producer_id);
    be_store16(b + RB_PRODUCER_EPOCH, (uint16_t)producer_epoch);
    be_store32(b + RB_BASE_SEQUENCE, (uint32_t)base_sequence);
    be_store32(b + RB_CRC, record_batch_compute_crc(b, len));
}

/* ---- iterating ----------------------------------------------------------------------- */

int record_batch_iter_init(record_batch_iter *it, const uint8_t *batch, size_t len) {
    assert(it != NULL);
    memset(it, 0, sizeof *it);
    if (len < RECORD_BATCH_HEADER_BYTES) return -1;
    int32_t length = record_batch_length(batch);
    if (length < 0 || (size_t)length + RECORD_BATCH_LOG_OVERHEAD_BYTES != len) return -1;
    if (record_batch_compression(batch) != 0 || record_batch_record_count(batch) < 0) return -1;
    *it = (record_batch_iter){.batch = batch,
                              .len = len,
                              .pos = RECORD_BATCH_HEADER_BYTES,
                              .remaining = record_batch_record_count(batch)};
    return 0;
}

/* A cursor over [p, end) whose reads fail instead of overrunning. */
typedef struct rb_cursor {
    const uint8_t *p;
    size_t left;
    bool bad;
} rb_cursor;

static int64_t rb_read_svarint_long(rb_cursor *c, size_t bytes_max) {
    uint64_t v = 0;
    size_t n = c->bad ? 0 : varint_get_u64(c->p, c->left, bytes_max, &v);
    if (n == 0) {
        c->bad = true;
        return 0;
    }
    c->p += n;
    c->left -= n;
    return varint_unzigzag64(v);
}

/* Most varints of a record (deltas, lengths, counts) fit in one or two bytes:
 * those inline, the rest out of line. */
static inline int64_t rb_read_svarint(rb_cursor *c, size_t bytes_max) {
    if (c->bad || c->left == 0) return rb_read_svarint_long(c, bytes_max);
    uint64_t b0 = c->p[0];
    if (b0 < 0x80) {
        c->p++;
        c->left--;
        return varint_unzigzag64(b0);
    }
    uint64_t b1 = c->left >= 2 ? c->p[1] : 0x80;
    if (b1 < 0x80) {
        c->p += 2;
        c->left -= 2;
        return varint_unzigzag64((b0 & 0x7f) | b1 << 7);
    }
    return rb_read_svarint_long(c, bytes_max);
}

static inline int32_t rb_read_svarint32(rb_cursor *c) {
    int64_t v = rb_read_svarint(c, VARINT32_BYTES_MAX);
    if (v < INT32_MIN || v > INT32_MAX) c->bad = true;
    return c->bad ? 0 : (int32_t)v;
}

/* Reads a length-prefixed field (-1 = null); returns its bytes or NULL. */
static inline const uint8_t *rb_read_field(rb_cursor *c, int32_t *len_out) {
    int32_t len = rb_read_svarint32(c);
    *len_out = len;
    if (c->bad || len < -1 || (len > 0 && (size_t)len > c->left)) {
        c->bad = true;
        *len_out = -1;
        return NULL;
    }
    if (len < 0) return NULL;
    const uint8_t *bytes = c->p;
    c->p += len;
    c->left -= (size_t)len;
    return bytes;
}

/* Fills every field of *r on success (no memset: this runs for every record). */
static int rb_parse_body(rb_cursor *c, const uint8_t *batch, record_batch_record *r) {
    if (c->left < 1) return -1;
    r->attributes = (int8_t)c->p[0];
    c->p++;
    c->left--;
    r->timestamp_delta = rb_read_svarint(c, VARINT64_BYTES_MAX);
    r->offset_delta = rb_read_svarint32(c);
    r->key = rb_read_field(c, &r->key_len);
    r->value = rb_read_field(c, &r->value_len);
    r->header_count = rb_read_svarint32(c);
    if (c->bad || r->header_count < 0) return -1;
    r->headers = c->p;
    for (int32_t i = 0; i < r->header_count && !c->bad; i++) {
        int32_t klen, vlen;
        rb_read_field(c, &klen);
        rb_read_field(c, &vlen);
        if (klen < 0) c->bad = true;
    }
    if (c->bad || c->left != 0) return -1;
    r->headers_bytes = (size_t)(c->p - r->headers);
    r->offset = record_batch_base_offset(batch) + r->offset_delta;
    r->timestamp_ms = record_batch_base_timestamp(batch) + r->timestamp_delta;
    return 0;
}

int record_batch_iter_next(record_batch_iter *it, record_batch_record *record) {
    assert(it->pos <= it->len);
    if (it->remaining == 0) return 0;
    if (it->batch == NULL) return -1;
    rb_cursor c = {it->batch + it->pos, it->len - it->pos, false};
    int64_t body = rb_read_svarint(&c, VARINT32_BYTES_MAX);
    if (c.bad || body < 1 || (uint64_t)body > c.left) return -1;
    size_t header_bytes = (size_t)(c.p - (it->batch + it->pos));
    rb_cursor bc = {c.p, (size_t)body, false};
    if (rb_parse_body(&bc, it->batch, record) != 0) return -1;
    it->pos += header_bytes + (size_t)body;
    it->remaining--;
    assert(it->pos <= it->len);
    return 1;
}

void record_batch_header_iter_init(record_batch_header_iter *it, const record_batch_record *r) {
    assert(r->header_count >= 0);
    *it = (record_batch_header_iter){r->headers, r->headers_bytes, r->header_count};
}

int record_batch_header_iter_next(record_batch_header_iter *it, record_batch_header *header) {
    if (it->remaining == 0) return 0;
    rb_cursor c = {it->p, it->len, false};
    header->key = rb_read_field(&c, &header->key_len);
    header->value = rb_read_field(&c, &header->value_len);
    if (c.bad || header->key_len < 0) return -1;
    it->len = c.left;
    it->p = c.p;
    it->remaining--;
    return 1;
}
