/*
 * metadata_image.h — the cluster metadata every broker acts on.
 *
 * The controller writes metadata as records (TopicRecord, PartitionRecord,
 * PartitionChangeRecord, RegisterBrokerRecord, FenceBrokerRecord,
 * UnfenceBrokerRecord, RemoveTopicRecord, ... from kafka-protocol/metadata-records)
 * into the replicated metadata log; every broker applies the committed ones, in
 * order, to its image.  Brokers act on committed metadata only.
 *
 * A record value is framed as KRaft frames it (MetadataRecordSerde): an unsigned
 * varint frame version (1), an unsigned varint record type (the record's "apiKey"),
 * an unsigned varint record version, then the record body in its (flexible)
 * encoding.
 */
#ifndef STREAMLAB_METADATA_IMAGE_H
#define STREAMLAB_METADATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "kafka_messages.gen.h"
#include "wire.h"

#define METADATA_BROKERS_MAX 16
#define METADATA_REPLICAS_MAX 16
#define METADATA_TOPIC_NAME_BYTES_MAX 250
#define METADATA_NO_LEADER (-1)

typedef struct metadata_partition {
    int32_t partition;
    int32_t replicas[METADATA_REPLICAS_MAX];
    int32_t replica_count;
    int32_t isr[METADATA_REPLICAS_MAX];
    int32_t isr_count;
    int32_t leader; /* METADATA_NO_LEADER when offline */
    int32_t leader_epoch;
    int32_t partition_epoch;
} metadata_partition;

typedef struct metadata_topic {
    char name[METADATA_TOPIC_NAME_BYTES_MAX];
    uint8_t id[16];
    metadata_partition *partitions; /* owned */
    int32_t partition_count;
} metadata_topic;

typedef struct metadata_broker {
    int32_t id;
    int registered;
    int fenced;
    int64_t epoch; /* the offset of its RegisterBrokerRecord */
    char host[64];
    int32_t port;
} metadata_broker;

typedef struct metadata_image {
    metadata_topic *topics; /* owned, in creation order */
    int32_t topic_count, topic_cap;
    metadata_broker brokers[METADATA_BROKERS_MAX]; /* by id - 1 */
    int64_t offset; /* offset of the last applied record, -1 when empty */
    /* RemoveTopic records applied: a topic created after a deletion draws a new
     * topic id even under the same name (controller.c). */
    int64_t topics_removed;
} metadata_image;

void metadata_image_init(metadata_image *m);
void metadata_image_deinit(metadata_image *m);
/* Deep copy (dst is deinit'ed first if it holds anything: init it once before). */
void metadata_image_copy(metadata_image *dst, const metadata_image *src);

/* 1 when a and b hold the same brokers, topics and partitions (offset ignored: a
 * controller's `latest` only estimates the offsets of records not yet appended). */
int metadata_image_equal(const metadata_image *a, const metadata_image *b);

/* Applies one framed record value at `offset`.  Returns 0, or -1 when the value
 * cannot be decoded or names an unknown topic/partition, or is otherwise invalid
 * (see metadata_image.c), or offset <= m->offset (the image is unchanged). */
int metadata_image_apply(metadata_image *m, int64_t offset, const uint8_t *value, size_t len);

const metadata_topic *metadata_image_topic(const metadata_image *m, const char *name, size_t len);
const metadata_topic *metadata_image_topic_by_id(const metadata_image *m, const uint8_t id[16]);
const metadata_partition *metadata_image_partition(const metadata_image *m, const char *topic,
                                                   size_t topic_len, int32_t partition);
const metadata_broker *metadata_image_broker(const metadata_image *m, int32_t id);
/* Registered and not fenced. */
int metadata_image_broker_alive(const metadata_image *m, int32_t id);

/* ---- writing records ------------------------------------------------------------
 * Each appends one framed record value to w and returns its start position, so a
 * caller can gather several values in one buffer. */
size_t metadata_record_topic(wire_writer *w, const char *name, const uint8_t id[16]);
size_t metadata_record_partition(wire_writer *w, const uint8_t topic_id[16],
                                 const metadata_partition *p);
/* A change: fields with count -1 / leader -2 are "unchanged", as in the record. */
size_t metadata_record_partition_change(wire_writer *w, const uint8_t topic_id[16],
                                        int32_t partition, const int32_t *isr, int32_t isr_count,
                                        int32_t leader);
size_t metadata_record_register_broker(wire_writer *w, int32_t id, int64_t epoch, const char *host,
                                       int32_t port);
size_t metadata_record_fence_broker(wire_writer *w, int32_t id, int64_t epoch);
size_t metadata_record_unfence_broker(wire_writer *w, int32_t id, int64_t epoch);
size_t metadata_record_remove_topic(wire_writer *w, const uint8_t topic_id[16]);

#endif
