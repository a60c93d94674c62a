#include "u64_set.h"

#include <assert.h>
#include <stdlib.h>

void u64_set_init(u64_set *s) {
    s->slots = NULL;
    s->cap = s->count = 0;
}

void u64_set_deinit(u64_set *s) {
    free(s->slots);
    u64_set_init(s);
}

static void grow(u64_set *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots) abort();
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t k = s->slots[i];
        if (!k) continue;
        size_t j = k & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = k;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
}

int u64_set_add(u64_set *s, uint64_t key) {
    assert(key != 0);
    if (2 * (s->count + 1) > s->cap) grow(s);
    size_t j = key & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == key) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = key;
    s->count++;
    return 1;
}

int u64_set_has(const u64_set *s, uint64_t key) {
    if (!s->cap) return 0;
    size_t j = key & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == key) return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}
