/*
 * u64_set.h — an open-addressing set of non-zero 64-bit keys.
 *
 * The checker counts distinct consumed records with it.  Keys are already well
 * mixed hashes, so the slot is the key's low bits; the table doubles at 50% load.
 */
#ifndef STREAMLAB_U64_SET_H
#define STREAMLAB_U64_SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64_set {
    uint64_t *slots;
    size_t cap, count;
} u64_set;

void u64_set_init(u64_set *s);
void u64_set_deinit(u64_set *s);
/* Adds key (non-zero); returns 1 if it was new, 0 if present. */
int u64_set_add(u64_set *s, uint64_t key);
int u64_set_has(const u64_set *s, uint64_t key);

#endif
