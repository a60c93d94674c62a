#include "u64_map.h"

#include <assert.h>
#include <stdlib.h>

void u64_map_init(u64_map *m) {
    m->slots = NULL;
    m->cap = m->count = 0;
}

void u64_map_deinit(u64_map *m) {
    free(m->slots);
    u64_map_init(m);
}

/* The slot holding key, or the empty slot where it would go. */
static u64_map_slot *slot_for(const u64_map *m, uint64_t key) {
    assert(m->cap > 0 && (m->cap & (m->cap - 1)) == 0);
    size_t j = key & (m->cap - 1);
    while (m->slots[j].key && m->slots[j].key != key) j = (j + 1) & (m->cap - 1);
    return &m->slots[j];
}

static void grow(u64_map *m) {
    u64_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) abort();
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key) *slot_for(m, old.slots[i].key) = old.slots[i];
    free(old.slots);
}

void u64_map_put(u64_map *m, uint64_t key, int64_t value) {
    assert(key != 0);
    if (2 * (m->count + 1) > m->cap) grow(m);
    u64_map_slot *s = slot_for(m, key);
    if (!s->key) m->count++;
    *s = (u64_map_slot){key, value};
}

int u64_map_get(const u64_map *m, uint64_t key, int64_t *value) {
    if (!m->cap) return 0;
    const u64_map_slot *s = slot_for(m, key);
    if (!s->key) return 0;
    *value = s->value;
    return 1;
}
