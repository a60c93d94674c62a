/*
 * arena.c — chunks are a singly linked list, newest first.  A request bigger than
 * the default chunk gets a chunk of its own size, so waste stays below one chunk.
 * The bump pointer and its room (a->next, a->left) always describe the free part of a->head.
 */
#include "arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    arena_chunk *next;
    size_t cap;
    int owned; /* 0 for a buffer from arena_init_buffer, which is not freed */
    /* 8-aligned payload follows the header */
};

#define ARENA_HEADER_BYTES ((sizeof(arena_chunk) + 7u) & ~(size_t)7u)

static uint8_t *chunk_payload(arena_chunk *c) {
    return (uint8_t *)c + ARENA_HEADER_BYTES;
}

void arena_init(arena *a) {
    assert(a != NULL);
    a->head = NULL;
    a->next = NULL;
    a->left = 0;
    a->bytes_reserved = 0;
    a->first = NULL;
    a->first_payload = NULL;
    a->first_cap = 0;
}

static void note_first(arena *a, arena_chunk *c) {
    a->first = c;
    a->first_payload = chunk_payload(c);
    a->first_cap = c->cap;
}

void arena_init_buffer(arena *a, void *buffer, size_t bytes) {
    assert(a != NULL && buffer != NULL && (uintptr_t)buffer % 8 == 0);
    assert(bytes >= ARENA_HEADER_BYTES + 8);
    arena_chunk *c = buffer;
    c->next = NULL;
    c->cap = (bytes - ARENA_HEADER_BYTES) & ~(size_t)7u;
    c->owned = 0;
    a->head = c;
    a->next = chunk_payload(c);
    a->left = c->cap;
    a->bytes_reserved = c->cap;
    note_first(a, c);
}

void *arena_alloc_chunk_(arena *a, size_t bytes) {
    assert(a != NULL);
    if (bytes > SIZE_MAX - 7u) return NULL;
    size_t rounded = (bytes + 7u) & ~(size_t)7u;
    if (rounded == 0) rounded = 8;
    if (rounded <= a->left) { /* only a 0-byte request comes here */
        uint8_t *p = a->next;
        a->next += rounded;
        a->left -= rounded;
        return p;
    }
    size_t cap = rounded > ARENA_CHUNK_BYTES_MIN ? rounded : ARENA_CHUNK_BYTES_MIN;
    if (cap > SIZE_MAX - ARENA_HEADER_BYTES) return NULL;
    arena_chunk *c = malloc(ARENA_HEADER_BYTES + cap);
    if (c == NULL) return NULL;
    c->next = a->head;
    c->cap = cap;
    c->owned = 1;
    if (a->head == NULL) note_first(a, c);
    a->head = c;
    a->bytes_reserved += cap;
    uint8_t *p = chunk_payload(c);
    a->next = p + rounded;
    a->left = cap - rounded;
    return p;
}

void arena_reset_chunks_(arena *a) {
    assert(a != NULL);
    arena_chunk *c = a->head;
    if (c == NULL) return;
    /* The oldest chunk (the list's tail) is the one kept: later ones may be one-off
     * giants made for a single large array. */
    while (c->next != NULL) {
        arena_chunk *next = c->next;
        assert(c->owned);
        a->bytes_reserved -= c->cap;
        free(c);
        c = next;
    }
    a->head = c;
    a->next = chunk_payload(c);
    a->left = c->cap;
    assert(a->bytes_reserved == c->cap);
    assert(c == a->first && a->first_payload == a->next && a->first_cap == a->left);
}

void arena_deinit(arena *a) {
    assert(a != NULL);
    arena_chunk *c = a->head;
    while (c != NULL) {
        arena_chunk *next = c->next;
        if (c->owned) free(c);
        c = next;
    }
    arena_init(a);
}
