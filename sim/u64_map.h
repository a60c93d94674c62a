/*
 * u64_map.h — an open-addressing map from non-zero 64-bit keys to int64 values.
 *
 * The checker remembers with it where each record first sits in a partition's
 * log, to find a record appended twice.  Keys are already well mixed hashes, so
 * the slot is the key's low bits; the table doubles at 50% load.
 */
#ifndef STREAMLAB_U64_MAP_H
#define STREAMLAB_U64_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64_map_slot {
    uint64_t key; /* 0 = empty */
    int64_t value;
} u64_map_slot;

typedef struct u64_map {
    u64_map_slot *slots;
    size_t cap, count;
} u64_map;

void u64_map_init(u64_map *m);
void u64_map_deinit(u64_map *m);
/* Sets key (non-zero) to value. */
void u64_map_put(u64_map *m, uint64_t key, int64_t value);
/* 1 with *value when key is present, else 0. */
int u64_map_get(const u64_map *m, uint64_t key, int64_t *value);

#endif
