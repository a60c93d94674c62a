/*
 * batch_memo.h — the records of recently seen batches, parsed once.
 *
 * A batch's bytes travel unchanged: the leader appends them, each follower
 * appends the same bytes, each group reads them.  The checker needs each
 * record's offset and identity (sim/record_value.h) every time; parsing them
 * (record iterator, then the value) was most of its cost.  The memo keeps, per
 * partition, the last batch seen at each base offset modulo BATCH_MEMO_SLOTS: a
 * copy of its bytes and its parsed records.  A batch whose bytes are equal to the
 * copy (compared in full) gets the records parsed before: the parse is a function
 * of the bytes alone, so the checker's verdicts do not depend on the memo.
 */
#ifndef STREAMLAB_BATCH_MEMO_H
#define STREAMLAB_BATCH_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "record_value.h"

#define BATCH_MEMO_SLOTS 64 /* a power of two */

/* One record of a batch, in batch order. */
typedef struct batch_memo_record {
    int64_t offset;
    uint64_t key;       /* record_value_key of the value, 0 when it is not a streamlab value */
    record_value_id id; /* the parsed value, when key is not 0 */
} batch_memo_record;

typedef struct batch_memo_slot {
    uint8_t *bytes; /* a copy of the batch */
    size_t len, bytes_cap;
    batch_memo_record *records;
    int32_t count, records_cap;
} batch_memo_slot;

typedef struct batch_memo {
    batch_memo_slot *slots; /* BATCH_MEMO_SLOTS, allocated at first use */
} batch_memo;

void batch_memo_init(batch_memo *m);
void batch_memo_deinit(batch_memo *m);

/* The records of batch[0..len) as record_batch_iter yields them (none when the
 * batch is not iterable, those before a malformed one when one is): from the memo
 * when these exact bytes are there, else parsed now and remembered.  *records stays
 * valid until the next call on m. */
int32_t batch_memo_records(batch_memo *m, const uint8_t *batch, size_t len,
                           const batch_memo_record **records);

#endif
