/*
 * record_value.h — what a simulated producer writes into each record's value.
 *
 * Every value names its producer, partition and per-partition sequence number
 * ("sl:101:2:17:" then '.' padding up to value_bytes), so the checker can match
 * acknowledgements, consumption, losses and duplicates (DESIGN.md §3), and a
 * human reading the log with kcat can too.
 */
#ifndef STREAMLAB_RECORD_VALUE_H
#define STREAMLAB_RECORD_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define RECORD_VALUE_BYTES_MIN 32

typedef struct record_value_id {
    int32_t producer; /* producer node id */
    int32_t partition;
    int64_t sequence;
} record_value_id;

/* Writes the value into out (value_bytes long, >= RECORD_VALUE_BYTES_MIN). */
void record_value_format(uint8_t *out, size_t value_bytes, const record_value_id *id);
/* Parses a value; 0 on success, -1 when it is not a streamlab value. */
int record_value_parse(const uint8_t *value, size_t len, record_value_id *id);

/* A record's identity as one number, for tables: producer, partition and
 * sequence, mixed; never 0. */
static inline uint64_t record_value_key(const record_value_id *id) {
    uint64_t k = digest_fold(digest_fold((uint64_t)id->producer, (uint64_t)id->partition),
                             (uint64_t)id->sequence);
    return k ? k : 1;
}

#endif
