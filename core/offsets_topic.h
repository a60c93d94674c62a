/*
 * offsets_topic.h — the `__consumer_offsets` topic: which partition holds a group,
 * and the records the group coordinator writes there (kafka-protocol/group-records).
 *
 * A record's key and value each start with an int16 schema version, as in Kafka:
 * offsets use key version 1 (OffsetCommitKey) and value version 3 (1 when the
 * commit carries an expire timestamp); group metadata uses key version 2
 * (GroupMetadataKey) and value version 3.  A null value is a tombstone.
 */
#ifndef STREAMLAB_OFFSETS_TOPIC_H
#define STREAMLAB_OFFSETS_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_messages.gen.h"
#include "record_batch.h"
#include "wire.h"

#define OFFSETS_TOPIC_NAME "__consumer_offsets"
#define OFFSETS_KEY_VERSION_OFFSET 1
#define OFFSETS_KEY_VERSION_GROUP 2
#define OFFSETS_VALUE_VERSION_OFFSET 3
#define OFFSETS_VALUE_VERSION_OFFSET_EXPIRING 1
#define OFFSETS_VALUE_VERSION_GROUP 3

/* Java's String.hashCode over the UTF-16 code units of a UTF-8 string. */
int32_t offsets_topic_java_string_hash(const char *s, size_t len);
/* kafka_abs(java_string_hash(group)) % partitions; Kafka's Utils.abs maps INT32_MIN to 0. */
int32_t offsets_topic_partition_for(kafka_str group, int32_t partitions);
/* 1 for topics Kafka reports as internal. */
int offsets_topic_is_internal(const char *topic);

/* ---- writing ------------------------------------------------------------------- */

/* Records for one batch: keys and values are encoded into `data`, the batch is
 * built by finish.  The caller owns it: init, any number of add/finish/reset,
 * deinit. */
typedef struct offsets_batch_record {
    size_t key_at, key_len;
    size_t value_at;
    int32_t value_len; /* -1: tombstone */
} offsets_batch_record;

typedef struct offsets_batch {
    wire_writer data;
    offsets_batch_record *recs;
    int32_t count, cap;
    uint8_t *batch;
    size_t batch_len, batch_cap;
} offsets_batch;

void offsets_batch_init(offsets_batch *ob);
void offsets_batch_deinit(offsets_batch *ob);
void offsets_batch_reset(offsets_batch *ob);
void offsets_batch_add_offset(offsets_batch *ob, kafka_str group, kafka_str topic,
                              int32_t partition, const kafka_offset_commit_value *value);
/* value NULL writes a tombstone. */
void offsets_batch_add_group(offsets_batch *ob, kafka_str group,
                             const kafka_group_metadata_value *value);
/* Builds the batch (offsets from 0, the leader assigns them): 0, or -1 when the
 * records cannot be encoded. */
int offsets_batch_finish(offsets_batch *ob, int64_t timestamp_ms);

/* ---- reading ------------------------------------------------------------------- */

enum offsets_record_kind { OFFSETS_RECORD_OFFSET = 1, OFFSETS_RECORD_GROUP };

typedef struct offsets_record {
    enum offsets_record_kind kind;
    kafka_offset_commit_key offset_key;
    kafka_group_metadata_key group_key;
    int tombstone;
    kafka_offset_commit_value offset_value;
    kafka_group_metadata_value group_value;
} offsets_record;

/* Decodes one stored record: 0, or -1 when its key or value is malformed or of
 * an unknown version (the loader skips it).  Arrays live in `a`; strings point
 * into the record. */
int offsets_record_decode(const record_batch_record *rec, offsets_record *out, arena *a);

#endif
