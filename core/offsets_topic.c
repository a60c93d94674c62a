/*
 * offsets_topic.c — partitioning of `__consumer_offsets` and its record format.
 *
 * Kafka places a group on partition Utils.abs(groupId.hashCode) % partitions,
 * where hashCode is Java's String hash over UTF-16 code units: a group name
 * outside ASCII is decoded from UTF-8 first (invalid bytes count as U+FFFD, as
 * Java's decoder substitutes them), and a code point above U+FFFF counts as its
 * two surrogates.
 *
 * Each record is key = int16 version + key struct, value = int16 version + value
 * struct (null for a tombstone), exactly what Kafka's GroupMetadataManager
 * writes, so a log written here reads like a Kafka broker's.
 */
#include "offsets_topic.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- partitioning ---------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s[*i]; advances *i.  Invalid input counts as
 * U+FFFD, one per maximal invalid subpart (a lead byte and the continuation bytes
 * that follow it), as Java's decoder replaces it. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i) {
    unsigned char c = s[(*i)++];
    int extra = c < 0x80             ? 0
                : (c & 0xE0) == 0xC0 ? 1
                : (c & 0xF0) == 0xE0 ? 2
                : (c & 0xF8) == 0xF0 ? 3
                                     : -1;
    if (extra <= 0) return extra == 0 ? c : 0xFFFD;
    uint32_t cp = (uint32_t)(c & (0x3F >> extra));
    for (int k = 0; k < extra; k++) {
        if (*i >= len || (s[*i] & 0xC0) != 0x80) return 0xFFFD;
        cp = cp << 6 | (s[(*i)++] & 0x3F);
    }
    return cp > 0x10FFFF ? 0xFFFD : cp;
}

int32_t offsets_topic_java_string_hash(const char *s, size_t len) {
    uint32_t h = 0; /* Java int arithmetic wraps: compute unsigned */
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp = utf8_next(u, len, &i);
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

int32_t offsets_topic_partition_for(kafka_str group, int32_t partitions) {
    assert(partitions > 0);
    int32_t h = offsets_topic_java_string_hash(group.ptr, group.len > 0 ? (size_t)group.len : 0);
    int32_t abs_h = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return abs_h % partitions;
}

int offsets_topic_is_internal(const char *topic) {
    return topic != NULL && strcmp(topic, OFFSETS_TOPIC_NAME) == 0;
}

/* ---- writing ----------------------------------------------------------------------- */

void offsets_batch_init(offsets_batch *ob) {
    memset(ob, 0, sizeof *ob);
    wire_writer_init(&ob->data);
}

void offsets_batch_deinit(offsets_batch *ob) {
    wire_writer_deinit(&ob->data);
    free(ob->recs);
    free(ob->batch);
    memset(ob, 0, sizeof *ob);
}

void offsets_batch_reset(offsets_batch *ob) {
    wire_writer_reset(&ob->data);
    ob->count = 0;
    ob->batch_len = 0;
}

static offsets_batch_record *record_begin(offsets_batch *ob) {
    if (ob->count == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 16;
        ob->recs = realloc(ob->recs, (size_t)ob->cap * sizeof *ob->recs);
        if (!ob->recs) abort();
    }
    offsets_batch_record *r = &ob->recs[ob->count++];
    r->key_at = ob->data.len;
    return r;
}

void offsets_batch_add_offset(offsets_batch *ob, kafka_str group, kafka_str topic,
                              int32_t partition, const kafka_offset_commit_value *value) {
    offsets_batch_record *r = record_begin(ob);
    kafka_offset_commit_key key = {.group = group, .topic = topic, .partition = partition};
    wire_put_i16(&ob->data, OFFSETS_KEY_VERSION_OFFSET);
    kafka_offset_commit_key_encode(&key, &ob->data, OFFSETS_KEY_VERSION_OFFSET);
    r->key_len = ob->data.len - r->key_at;
    r->value_at = ob->data.len;
    int16_t version = value->expire_timestamp >= 0 ? OFFSETS_VALUE_VERSION_OFFSET_EXPIRING
                                                   : OFFSETS_VALUE_VERSION_OFFSET;
    wire_put_i16(&ob->data, version);
    kafka_offset_commit_value_encode(value, &ob->data, version);
    r->value_len = (int32_t)(ob->data.len - r->value_at);
}

void offsets_batch_add_group(offsets_batch *ob, kafka_str group,
                             const kafka_group_metadata_value *value) {
    offsets_batch_record *r = record_begin(ob);
    kafka_group_metadata_key key = {.group = group};
    wire_put_i16(&ob->data, OFFSETS_KEY_VERSION_GROUP);
    kafka_group_metadata_key_encode(&key, &ob->data, OFFSETS_KEY_VERSION_GROUP);
    r->key_len = ob->data.len - r->key_at;
    r->value_at = ob->data.len;
    r->value_len = -1;
    if (!value) return;
    wire_put_i16(&ob->data, OFFSETS_VALUE_VERSION_GROUP);
    kafka_group_metadata_value_encode(value, &ob->data, OFFSETS_VALUE_VERSION_GROUP);
    r->value_len = (int32_t)(ob->data.len - r->value_at);
}

static record_batch_record_in record_in(const offsets_batch *ob, int32_t i, int64_t timestamp_ms) {
    const offsets_batch_record *r = &ob->recs[i];
    return (record_batch_record_in){.timestamp_ms = timestamp_ms,
                                    .key = ob->data.data + r->key_at,
                                    .key_len = (int32_t)r->key_len,
                                    .value = r->value_len >= 0 ? ob->data.data + r->value_at : NULL,
                                    .value_len = r->value_len};
}

int offsets_batch_finish(offsets_batch *ob, int64_t timestamp_ms) {
    if (ob->data.failed || ob->count == 0) return -1;
    size_t need = RECORD_BATCH_HEADER_BYTES;
    for (int32_t i = 0; i < ob->count; i++) {
        record_batch_record_in in = record_in(ob, i, timestamp_ms);
        need += record_batch_record_bytes(&in, timestamp_ms);
    }
    if (need > ob->batch_cap) {
        ob->batch = realloc(ob->batch, need);
        if (!ob->batch) abort();
        ob->batch_cap = need;
    }
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    record_batch_builder bb;
    record_batch_builder_init(&bb, ob->batch, ob->batch_cap, &cfg);
    for (int32_t i = 0; i < ob->count; i++) {
        record_batch_record_in in = record_in(ob, i, timestamp_ms);
        if (record_batch_builder_add(&bb, &in) != 0) return -1;
    }
    ob->batch_len = record_batch_builder_finish(&bb);
    return 0;
}

/* ---- reading ------------------------------------------------------------------------- */

static int decode_value(const record_batch_record *rec, offsets_record *out, arena *a) {
    out->tombstone = rec->value == NULL || rec->value_len < 0;
    if (out->tombstone) return 0;
    wire_reader r;
    wire_reader_init(&r, rec->value, (size_t)rec->value_len);
    int16_t version = wire_get_i16(&r);
    if (r.failed || version < 0) return -1;
    if (out->kind == OFFSETS_RECORD_OFFSET) {
        if (version > KAFKA_OFFSET_COMMIT_VALUE_VERSION_MAX) return -1;
        return kafka_offset_commit_value_decode(&out->offset_value, &r, version, a);
    }
    if (version > KAFKA_GROUP_METADATA_VALUE_VERSION_MAX) return -1;
    return kafka_group_metadata_value_decode(&out->group_value, &r, version, a);
}

int offsets_record_decode(const record_batch_record *rec, offsets_record *out, arena *a) {
    memset(out, 0, sizeof *out);
    kafka_offset_commit_key_init(&out->offset_key);
    kafka_group_metadata_key_init(&out->group_key);
    kafka_offset_commit_value_init(&out->offset_value);
    kafka_group_metadata_value_init(&out->group_value);
    if (rec->key == NULL || rec->key_len < 2) return -1;
    wire_reader r;
    wire_reader_init(&r, rec->key, (size_t)rec->key_len);
    int16_t version = wire_get_i16(&r);
    if (version == 0 || version == 1) {
        out->kind = OFFSETS_RECORD_OFFSET;
        if (kafka_offset_commit_key_decode(&out->offset_key, &r, version, a) != 0) return -1;
    } else if (version == 2) {
        out->kind = OFFSETS_RECORD_GROUP;
        if (kafka_group_metadata_key_decode(&out->group_key, &r, version, a) != 0) return -1;
    } else {
        return -1;
    }
    return decode_value(rec, out, a);
}
