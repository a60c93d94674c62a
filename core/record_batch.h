/*
 * record_batch.h — Kafka RecordBatch v2 (magic 2): header accessors, validation,
 * a builder for simulated producers, a record iterator and a splitter for a
 * "records" field holding several batches.  See record_batch.c for the format.
 *
 * All functions work on caller-owned byte buffers; nothing here allocates.
 */
#ifndef STREAMLAB_RECORD_BATCH_H
#define STREAMLAB_RECORD_BATCH_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "big_endian.h"

#define RECORD_BATCH_HEADER_BYTES 61
#define RECORD_BATCH_LOG_OVERHEAD_BYTES 12 /* base offset + batch length */
#define RECORD_BATCH_MAGIC 2
#define RECORD_BATCH_COMPRESSION_MASK 0x07
#define RECORD_BATCH_TIMESTAMP_TYPE_BIT 0x08
#define RECORD_BATCH_TRANSACTIONAL_BIT 0x10
#define RECORD_BATCH_CONTROL_BIT 0x20
#define RECORD_BATCH_NO_PRODUCER_ID (-1)
#define RECORD_BATCH_NO_SEQUENCE (-1)
/* A batch larger than this is treated as corrupt (Kafka's message.max.bytes is ~1 MiB). */
#define RECORD_BATCH_BYTES_MAX (64 * 1024 * 1024)

/* ---- header fields, read from / written to a buffer of >= 61 bytes ---------------- */
/* Inline: the log, the fetch paths and the checker read them millions of times.
 * The byte offsets of the fields (see record_batch.c for the format): */
enum {
    RB_BASE_OFFSET = 0,
    RB_LENGTH = 8,
    RB_LEADER_EPOCH = 12,
    RB_MAGIC = 16,
    RB_CRC = 17,
    RB_ATTRIBUTES = 21,
    RB_LAST_OFFSET_DELTA = 23,
    RB_BASE_TIMESTAMP = 27,
    RB_MAX_TIMESTAMP = 35,
    RB_PRODUCER_ID = 43,
    RB_PRODUCER_EPOCH = 51,
    RB_BASE_SEQUENCE = 53,
    RB_RECORD_COUNT = 57,
};

static inline int64_t record_batch_base_offset(const uint8_t *b) {
    return (int64_t)be_load64(b + RB_BASE_OFFSET);
}
/* Bytes after the length field. */
static inline int32_t record_batch_length(const uint8_t *b) {
    return (int32_t)(uint32_t)be_load32(b + RB_LENGTH);
}
static inline int32_t record_batch_partition_leader_epoch(const uint8_t *b) {
    return (int32_t)(uint32_t)be_load32(b + RB_LEADER_EPOCH);
}
static inline int8_t record_batch_magic(const uint8_t *b) {
    return (int8_t)b[RB_MAGIC];
}
static inline uint32_t record_batch_crc(const uint8_t *b) {
    return (uint32_t)be_load32(b + RB_CRC);
}
static inline int16_t record_batch_attributes(const uint8_t *b) {
    return (int16_t)(uint16_t)be_load16(b + RB_ATTRIBUTES);
}
static inline int32_t record_batch_last_offset_delta(const uint8_t *b) {
    return (int32_t)(uint32_t)be_load32(b + RB_LAST_OFFSET_DELTA);
}
static inline int64_t record_batch_base_timestamp(const uint8_t *b) {
    return (int64_t)be_load64(b + RB_BASE_TIMESTAMP);
}
static inline int64_t record_batch_max_timestamp(const uint8_t *b) {
    return (int64_t)be_load64(b + RB_MAX_TIMESTAMP);
}
static inline int64_t record_batch_producer_id(const uint8_t *b) {
    return (int64_t)be_load64(b + RB_PRODUCER_ID);
}
static inline int16_t record_batch_producer_epoch(const uint8_t *b) {
    return (int16_t)(uint16_t)be_load16(b + RB_PRODUCER_EPOCH);
}
static inline int32_t record_batch_base_sequence(const uint8_t *b) {
    return (int32_t)(uint32_t)be_load32(b + RB_BASE_SEQUENCE);
}
static inline int32_t record_batch_record_count(const uint8_t *b) {
    return (int32_t)(uint32_t)be_load32(b + RB_RECORD_COUNT);
}

/* Whole batch size (length + 12); only meaningful once the length is validated. */
static inline size_t record_batch_total_bytes(const uint8_t *b) {
    int32_t length = record_batch_length(b);
    assert(length >= RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD_BYTES);
    return (size_t)length + RECORD_BATCH_LOG_OVERHEAD_BYTES;
}

/* base offset + last offset delta. */
static inline int64_t record_batch_last_offset(const uint8_t *b) {
    return record_batch_base_offset(b) + record_batch_last_offset_delta(b);
}

/* Compression codec (attributes bits 0-2); 0 means uncompressed. */
int record_batch_compression(const uint8_t *b);

/* These two fields sit outside the CRC: set them without recomputing it. */
void record_batch_set_base_offset(uint8_t *b, int64_t base_offset);
void record_batch_set_partition_leader_epoch(uint8_t *b, int32_t epoch);

/* These sit inside the CRC: an idempotent producer stamps (or renumbers) a built
 * batch of len bytes, and the CRC is recomputed. */
void record_batch_set_producer(uint8_t *b, size_t len, int64_t producer_id, int16_t producer_epoch,
                               int32_t base_sequence);

/* CRC-32C over attributes..end of a batch of len bytes. */
uint32_t record_batch_compute_crc(const uint8_t *b, size_t len);

/* Checks that bytes[0..len) is exactly one well-formed batch: length fields
 * consistent with len, magic 2, non-negative counts, CRC matches, and for an
 * uncompressed batch that its records parse and their count matches.  Returns 0
 * when valid, -1 otherwise with a reason in why (may be NULL). */
int record_batch_validate(const uint8_t *bytes, size_t len, char *why, size_t why_bytes);

/* What the wire or a disk could damage, as Kafka's RecordBatch.ensureValid checks
 * it: bytes[0..len) is one batch by its length field, magic 2, a non-negative
 * last offset delta, and the CRC matches.  The records themselves are not parsed
 * (the leader that took them from the client did that): for followers and
 * consumers.  1 when valid. */
bool record_batch_crc_valid(const uint8_t *bytes, size_t len);

/* ---- splitting a concatenation of batches ---------------------------------------- */
/* Called per whole batch (not yet validated; length >= header); nonzero stops. */
typedef int record_batch_split_fn(void *arg, const uint8_t *batch, size_t len);
/* Walks bytes as consecutive batches, calling each() for every whole batch.  Stops
 * at a partial trailing batch, a length field below the header size or above
 * RECORD_BATCH_BYTES_MAX, or when each() returns nonzero.  Returns the bytes
 * covered by the batches for which each() returned 0. */
size_t record_batch_split(const uint8_t *bytes, size_t len, record_batch_split_fn *each, void *arg);

/* ---- building ---------------------------------------------------------------------- */
typedef struct record_batch_header_in {
    const uint8_t *key; /* NULL with key_len -1 is a null key */
    int32_t key_len;
    const uint8_t *value; /* NULL with value_len -1 is a null value */
    int32_t value_len;
} record_batch_header_in;

typedef struct record_batch_record_in {
    int64_t timestamp_ms;
    const uint8_t *key; /* key_len -1 = null */
    int32_t key_len;
    const uint8_t *value; /* value_len -1 = null */
    int32_t value_len;
    const record_batch_header_in *headers;
    int32_t header_count;
} record_batch_record_in;

typedef struct record_batch_builder_config {
    int64_t base_offset; /* usually 0: the leader assigns offsets */
    int32_t partition_leader_epoch;
    int16_t attributes; /* must leave compression bits 0: the builder writes plain records */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
} record_batch_builder_config;

/* Encodes into a caller-owned buffer; no allocation. */
typedef struct record_batch_builder {
    uint8_t *buf;
    size_t buf_bytes;
    size_t used_bytes;
    int32_t record_count;
    int64_t base_timestamp_ms;
    int64_t max_timestamp_ms;
} record_batch_builder;

/* Default config: base offset 0, epoch -1, no producer id, no sequence. */
void record_batch_builder_config_default(record_batch_builder_config *config);
/* Starts a batch in buf (buf_bytes >= RECORD_BATCH_HEADER_BYTES). */
void record_batch_builder_init(record_batch_builder *builder, uint8_t *buf, size_t buf_bytes,
                               const record_batch_builder_config *config);
/* Bytes one record would add to the batch (timestamp relative to the base). */
size_t record_batch_record_bytes(const record_batch_record_in *record, int64_t base_timestamp_ms);
/* Appends a record; returns 0, or -1 (builder unchanged) when it does not fit. */
int record_batch_builder_add(record_batch_builder *builder, const record_batch_record_in *record);
/* Writes the header fields and CRC; returns the whole batch size.  A batch with no
 * records is legal but unusual (Kafka never sends one). */
size_t record_batch_builder_finish(record_batch_builder *builder);

/* ---- iterating the records of an uncompressed batch ----------------------------- */
typedef struct record_batch_record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    int64_t offset;       /* base offset + offset delta */
    int64_t timestamp_ms; /* base timestamp + timestamp delta */
    const uint8_t *key;   /* NULL when key_len is -1 */
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len is -1 */
    int32_t value_len;
    const uint8_t *headers; /* the encoded headers, already bounds-checked */
    size_t headers_bytes;
    int32_t header_count;
} record_batch_record;

typedef struct record_batch_iter {
    const uint8_t *batch;
    size_t len;
    size_t pos;
    int32_t remaining;
} record_batch_iter;

typedef struct record_batch_header {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len is -1 */
    int32_t value_len;
} record_batch_header;

typedef struct record_batch_header_iter {
    const uint8_t *p;
    size_t len;
    int32_t remaining;
} record_batch_header_iter;

/* Prepares to iterate batch[0..len); returns 0, or -1 when the batch is too short,
 * its length field disagrees with len, or it is compressed (not iterable). */
int record_batch_iter_init(record_batch_iter *it, const uint8_t *batch, size_t len);
/* Returns 1 with the next record, 0 at the end, -1 when malformed (*record then
 * holds nothing meaningful). */
int record_batch_iter_next(record_batch_iter *it, record_batch_record *record);
void record_batch_header_iter_init(record_batch_header_iter *it, const record_batch_record *r);
/* Returns 1 with the next header, 0 at the end, -1 when malformed. */
int record_batch_header_iter_next(record_batch_header_iter *it, record_batch_header *header);

#endif
