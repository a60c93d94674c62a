/*
 * arena.c — chunks are a singly linked list, newest first.  A request bigger than
 * the default chunk gets a chunk of its own size, so waste stays below one chunk.
 */
#include "arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    arena_chunk *next;
    size_t cap;
    size_t used;
    /* 8-aligned payload follows the header */
};

#define ARENA_HEADER_BYTES ((sizeof(arena_chunk) + 7u) & ~(size_t)7u)

static uint8_t *chunk_payload(arena_chunk *c) {
    return (uint8_t *)c + ARENA_HEADER_BYTES;
}

void arena_init(arena *a) {
    assert(a != NULL);
    a->head = NULL;
    a->bytes_reserved = 0;
}

static arena_chunk *chunk_new(arena *a, size_t bytes) {
    size_t cap = bytes > ARENA_CHUNK_BYTES_MIN ? bytes : ARENA_CHUNK_BYTES_MIN;
    if (cap > SIZE_MAX - ARENA_HEADER_BYTES) return NULL;
    arena_chunk *c = malloc(ARENA_HEADER_BYTES + cap);
    if (c == NULL) return NULL;
    c->next = a->head;
    c->cap = cap;
    c->used = 0;
    a->head = c;
    a->bytes_reserved += cap;
    return c;
}

void *arena_alloc(arena *a, size_t bytes) {
    assert(a != NULL);
    if (bytes > SIZE_MAX - 7u) return NULL;
    size_t rounded = (bytes + 7u) & ~(size_t)7u;
    if (rounded == 0) rounded = 8;
    arena_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < rounded) {
        c = chunk_new(a, rounded);
        if (c == NULL) return NULL;
    }
    uint8_t *p = chunk_payload(c) + c->used;
    c->used += rounded;
    assert(c->used <= c->cap);
    memset(p, 0, rounded);
    return p;
}

void arena_reset(arena *a) {
    assert(a != NULL);
    arena_chunk *c = a->head;
    if (c == NULL) return;
    /* The oldest chunk (the list's tail) is the one kept: later ones may be one-off
     * giants made for a single large array. */
    while (c->next != NULL) {
        arena_chunk *next = c->next;
        a->bytes_reserved -= c->cap;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
    assert(a->bytes_reserved == c->cap);
}

void arena_deinit(arena *a) {
    assert(a != NULL);
    arena_chunk *c = a->head;
    while (c != NULL) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes_reserved = 0;
}
