/*
 * producer_state.h — what one partition remembers of each idempotent producer:
 * its epoch and its last five batches (first and last sequence, first and last
 * offset), as Kafka's ProducerStateManager does.  See producer_state.c for the
 * rules and why they are what they are.
 *
 * The owner (a broker partition) keeps it next to the partition's log: checked
 * before a leader append, updated on every append (leader and follower), rebuilt
 * from the batch headers at open and after a truncation.
 */
#ifndef STREAMLAB_PRODUCER_STATE_H
#define STREAMLAB_PRODUCER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "partition_log.h"

#define PRODUCER_STATE_BATCHES_MAX 5 /* max.in.flight.requests.per.connection */
/* Beyond this many producers a partition forgets the one idle longest (Kafka
 * expires producer ids after producer.id.expiration.ms instead). */
#define PRODUCER_STATE_PRODUCERS_MAX 4096

/* One appended batch, as the state keeps it. */
typedef struct producer_batch_meta {
    int32_t first_sequence, last_sequence;
    int64_t base_offset, last_offset;
} producer_batch_meta;

typedef struct producer_entry {
    int64_t producer_id;
    int16_t epoch;
    int32_t batch_count; /* batches[0..batch_count), oldest first */
    producer_batch_meta batches[PRODUCER_STATE_BATCHES_MAX];
} producer_entry;

typedef struct producer_state {
    producer_entry *entries; /* sorted by producer id */
    size_t count, cap;
} producer_state;

/* What the checks need of a batch: its header fields. */
typedef struct producer_batch_info {
    int64_t producer_id; /* < 0: not idempotent, never checked nor kept */
    int16_t epoch;
    int32_t first_sequence;
    int32_t last_sequence;
    int64_t base_offset, last_offset; /* where it was appended (update only) */
} producer_batch_info;

/* Reads the fields from a batch header (>= 61 bytes). */
producer_batch_info producer_batch_info_of(const uint8_t *batch);

void producer_state_init(producer_state *s);
void producer_state_deinit(producer_state *s);
void producer_state_clear(producer_state *s);

/* Leader, before appending a client's batch.  Returns a Kafka error code:
 * NONE (append it), DUPLICATE_SEQUENCE_NUMBER (a retry of a batch still in the
 * window: *duplicate gets where it sits; answer NONE with those offsets and do not
 * append), OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, or
 * UNKNOWN_PRODUCER_ID (no state, a non-zero sequence, and the log has lost its
 * beginning: log_start_offset > 0). */
int16_t producer_state_check(const producer_state *s, const producer_batch_info *in,
                             int64_t log_start_offset, producer_batch_meta *duplicate);
/* Records an appended batch (leader or follower); non-idempotent batches are
 * ignored.  Returns 0, or -1 when out of memory (the state is then incomplete). */
int producer_state_update(producer_state *s, const producer_batch_info *in);
/* Forgets everything, then replays every batch header of the log.  0 or a
 * partition_log error. */
int producer_state_rebuild(producer_state *s, partition_log *log);

/* The entry of producer_id, or NULL; valid until the next update. */
const producer_entry *producer_state_find(const producer_state *s, int64_t producer_id);

#endif
