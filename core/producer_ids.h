/*
 * producer_ids.h — unique producer ids for InitProducerId, without a controller
 * round trip.  Each broker hands out ids from its own range, node_id << 40 |
 * counter, and reserves the counter in blocks recorded (and synced) in its
 * storage before any id of a block is given out, so a restarted broker — even
 * after a power-off — never repeats one.  See docs/cluster.md for how this
 * differs from Kafka's controller-allocated blocks (KIP-730).
 */
#ifndef STREAMLAB_PRODUCER_IDS_H
#define STREAMLAB_PRODUCER_IDS_H

#include <stdint.h>

#include "storage.h"

#define PRODUCER_IDS_FILE "producer-id-block"
#define PRODUCER_IDS_BLOCK_SIZE 1000
#define PRODUCER_IDS_NODE_SHIFT 40

typedef struct producer_ids {
    int64_t next;      /* next counter to hand out */
    int64_t block_end; /* counters below it are reserved in storage; 0 before the first */
} producer_ids;

/* The next id for node_id into *id: 0, or -1 when the block could not be
 * recorded (answer COORDINATOR_NOT_AVAILABLE: the client retries). */
int producer_ids_next(producer_ids *ids, const storage *fs, int32_t node_id, int64_t *id);

#endif
