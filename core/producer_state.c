/*
 * producer_state.c — idempotent producers' sequence checks for one partition.
 *
 * An idempotent producer stamps every batch with its producer id, epoch and the
 * sequence of the batch's first record (per partition, from 0, wrapping at
 * INT32_MAX to 0).  The leader accepts a batch only if it continues the sequence,
 * so a retry of a batch that was appended but whose answer was lost cannot be
 * appended twice.  The rules, as Kafka's ProducerAppendInfo has them:
 *
 *   - no state for the producer id: accept any sequence (its first batch starts
 *     the state), except UNKNOWN_PRODUCER_ID for a non-zero sequence when the log
 *     has lost its beginning (log start > 0: retention may have removed the
 *     producer's batches — the rule of Kafka 0.11 to 2.4; see docs/cluster.md);
 *   - an epoch below ours: INVALID_PRODUCER_EPOCH;
 *   - a higher epoch: the producer bumped it (KIP-360) and restarts at 0; any
 *     other sequence is OUT_OF_ORDER_SEQUENCE_NUMBER;
 *   - same epoch, first and last sequence equal to one of the last five batches:
 *     a duplicate — the caller answers with that batch's offsets, appends nothing;
 *   - same epoch, first sequence = last sequence + 1: accepted; anything else is
 *     OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * Followers run no checks (the leader did) but keep the same state from the
 * batches they replicate, so a new leader deduplicates a retry of a batch that its
 * predecessor appended.  Nothing is written to storage: the state is a pure
 * function of the log's batch headers, replayed at open and after a truncation
 * (Kafka snapshots it to bound the replay; a lab's logs are small enough).
 */
#include "producer_state.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "record_batch.h"

/* Kafka's DefaultRecordBatch.incrementSequence: sequences wrap to 0 after INT32_MAX. */
static int32_t sequence_add(int32_t sequence, int32_t n) {
    assert(sequence >= 0 && n >= 0);
    if (sequence > INT32_MAX - n) return n - (INT32_MAX - sequence) - 1;
    return sequence + n;
}

producer_batch_info producer_batch_info_of(const uint8_t *batch) {
    int32_t first = record_batch_base_sequence(batch);
    int32_t delta = record_batch_last_offset_delta(batch);
    return (producer_batch_info){
        .producer_id = record_batch_producer_id(batch),
        .epoch = record_batch_producer_epoch(batch),
        .first_sequence = first,
        .last_sequence = first >= 0 && delta >= 0 ? sequence_add(first, delta) : first,
        .base_offset = record_batch_base_offset(batch),
        .last_offset = record_batch_last_offset(batch),
    };
}

void producer_state_init(producer_state *s) {
    *s = (producer_state){0};
}

void producer_state_deinit(producer_state *s) {
    free(s->entries);
    producer_state_init(s);
}

void producer_state_clear(producer_state *s) {
    s->count = 0;
}

/* Index of the first entry with an id >= producer_id. */
static size_t lower_bound(const producer_state *s, int64_t producer_id) {
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->entries[mid].producer_id < producer_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const producer_entry *producer_state_find(const producer_state *s, int64_t producer_id) {
    size_t i = lower_bound(s, producer_id);
    return i < s->count && s->entries[i].producer_id == producer_id ? &s->entries[i] : NULL;
}

static const producer_batch_meta *find_duplicate(const producer_entry *e,
                                                 const producer_batch_info *in) {
    for (int32_t i = 0; i < e->batch_count; i++)
        if (e->batches[i].first_sequence == in->first_sequence &&
            e->batches[i].last_sequence == in->last_sequence)
            return &e->batches[i];
    return NULL;
}

int16_t producer_state_check(const producer_state *s, const producer_batch_info *in,
                             int64_t log_start_offset, producer_batch_meta *duplicate) {
    assert(s != NULL && in != NULL && duplicate != NULL);
    if (in->producer_id < 0) return KAFKA_ERROR_NONE;
    if (in->epoch < 0 || in->first_sequence < 0) return KAFKA_ERROR_INVALID_RECORD;
    const producer_entry *e = producer_state_find(s, in->producer_id);
    if (!e || e->batch_count == 0)
        return in->first_sequence != 0 && log_start_offset > 0 && !e
                   ? KAFKA_ERROR_UNKNOWN_PRODUCER_ID
                   : KAFKA_ERROR_NONE;
    if (in->epoch < e->epoch) return KAFKA_ERROR_INVALID_PRODUCER_EPOCH;
    if (in->epoch > e->epoch)
        return in->first_sequence == 0 ? KAFKA_ERROR_NONE
                                       : KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    const producer_batch_meta *dup = find_duplicate(e, in);
    if (dup) {
        *duplicate = *dup;
        return KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER;
    }
    int32_t last = e->batches[e->batch_count - 1].last_sequence;
    return in->first_sequence == sequence_add(last, 1) ? KAFKA_ERROR_NONE
                                                       : KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

/* The entry idle longest: its newest batch is the oldest. */
static size_t evictee(const producer_state *s) {
    size_t best = 0;
    for (size_t i = 1; i < s->count; i++) {
        const producer_entry *a = &s->entries[i], *b = &s->entries[best];
        if (a->batches[a->batch_count - 1].last_offset < b->batches[b->batch_count - 1].last_offset)
            best = i;
    }
    return best;
}

static producer_entry *entry_for(producer_state *s, int64_t producer_id) {
    size_t i = lower_bound(s, producer_id);
    if (i < s->count && s->entries[i].producer_id == producer_id) return &s->entries[i];
    if (s->count == PRODUCER_STATE_PRODUCERS_MAX) {
        size_t gone = evictee(s);
        memmove(&s->entries[gone], &s->entries[gone + 1],
                (s->count - gone - 1) * sizeof *s->entries);
        s->count--;
        if (gone < i) i--;
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        producer_entry *grown = realloc(s->entries, cap * sizeof *grown);
        if (!grown) return NULL;
        s->entries = grown;
        s->cap = cap;
    }
    memmove(&s->entries[i + 1], &s->entries[i], (s->count - i) * sizeof *s->entries);
    s->count++;
    s->entries[i] = (producer_entry){.producer_id = producer_id, .epoch = -1};
    return &s->entries[i];
}

int producer_state_update(producer_state *s, const producer_batch_info *in) {
    assert(s != NULL && in != NULL);
    if (in->producer_id < 0) return 0;
    assert(in->last_offset >= in->base_offset);
    producer_entry *e = entry_for(s, in->producer_id);
    if (!e) return -1;
    if (in->epoch != e->epoch) { /* a new epoch starts a new window */
        e->epoch = in->epoch;
        e->batch_count = 0;
    }
    if (e->batch_count == PRODUCER_STATE_BATCHES_MAX) {
        memmove(&e->batches[0], &e->batches[1],
                (PRODUCER_STATE_BATCHES_MAX - 1) * sizeof *e->batches);
        e->batch_count--;
    }
    e->batches[e->batch_count++] = (producer_batch_meta){.first_sequence = in->first_sequence,
                                                         .last_sequence = in->last_sequence,
                                                         .base_offset = in->base_offset,
                                                         .last_offset = in->last_offset};
    assert(e->batch_count <= PRODUCER_STATE_BATCHES_MAX);
    return 0;
}

typedef struct replay_ctx {
    producer_state *s;
    int out_of_memory;
} replay_ctx;

static int replay_header(void *arg, const uint8_t *header) {
    replay_ctx *ctx = arg;
    producer_batch_info in = producer_batch_info_of(header);
    if (producer_state_update(ctx->s, &in) != 0) ctx->out_of_memory = 1;
    return ctx->out_of_memory;
}

int producer_state_rebuild(producer_state *s, partition_log *log) {
    assert(s != NULL && log != NULL);
    producer_state_clear(s);
    replay_ctx ctx = {s, 0};
    int rc = partition_log_each_header(log, replay_header, &ctx);
    if (rc == 0 && ctx.out_of_memory) rc = PARTITION_LOG_ENOMEM;
    return rc;
}
