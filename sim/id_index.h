/*
 * id_index.h — an int64 value per record identity (sim/record_value.h), in
 * dense arrays.
 *
 * A producer numbers its records per partition from 0 without gaps, so the
 * values of one (producer, partition) "lane" sit in an array indexed by
 * sequence, visited nearly in order: the checker's tables of millions of
 * records (where each record first sits in a leader's log, which records a group
 * has read) stay cache-friendly where a hash table missed the cache on every
 * record.  A value can lie (it parses but names a sequence far away, or a
 * negative one): such ids, and ids of lanes beyond ID_INDEX_LANES_MAX, go to a
 * hash map instead, so memory stays bounded and every id is still answered.
 * Each id lives in one place: where it was first put.
 */
#ifndef STREAMLAB_ID_INDEX_H
#define STREAMLAB_ID_INDEX_H

#include <stdint.h>

#include "record_value.h"
#include "u64_map.h"

#define ID_INDEX_LANES_MAX 1024
/* A lane grows to hold a sequence at most this far beyond its size. */
#define ID_INDEX_SLACK (1 << 20)

typedef struct id_index_lane {
    int32_t producer, partition;
    int64_t *values; /* by sequence; ID_INDEX_ABSENT where none */
    int64_t cap;
} id_index_lane;

typedef struct id_index {
    id_index_lane *lanes;
    int32_t lane_count, lane_cap;
    int32_t last; /* the lane used last: ids come in runs */
    u64_map far;  /* record_value_key -> value for the ids no lane holds */
} id_index;

void id_index_init(id_index *x);
void id_index_deinit(id_index *x);
/* Sets id's value (any value but INT64_MIN). */
void id_index_put(id_index *x, const record_value_id *id, int64_t value);
/* 1 with *value when id has one, else 0. */
int id_index_get(const id_index *x, const record_value_id *id, int64_t *value);
/* Puts value 1 unless id has a value: 1 when it had none (as a set's add). */
int id_index_add(id_index *x, const record_value_id *id);

#endif
