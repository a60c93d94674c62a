/*
 * partition_metadata.h — the `partition.metadata` file of a partition's directory.
 *
 * As Kafka does since KIP-516, each partition directory names the topic id its log
 * belongs to ("version: 0\ntopic_id: <22 characters of URL-safe base64>\n").  A topic
 * deleted while a broker was down and then created again under the same name has a
 * new id, so that broker can tell the directory it finds is the old topic's and
 * must not serve its records as the new topic's.
 */
#ifndef STREAMLAB_PARTITION_METADATA_H
#define STREAMLAB_PARTITION_METADATA_H

#include <stdint.h>

#include "storage.h"

enum partition_metadata_owner {
    PARTITION_METADATA_NONE = 0,  /* no file (a new directory, or a log from before it) */
    PARTITION_METADATA_SAME = 1,  /* the file names this topic id */
    PARTITION_METADATA_OTHER = 2, /* another topic's, or unreadable: not this topic's log */
};

/* Whose directory dir is: compares its partition.metadata with topic_id. */
enum partition_metadata_owner partition_metadata_owner(const storage *fs, const char *dir,
                                                       const uint8_t topic_id[16]);
/* Writes dir/partition.metadata naming topic_id (replacing any), synced; 0 or a
 * negative storage error. */
int partition_metadata_write(const storage *fs, const char *dir, const uint8_t topic_id[16]);

#endif
