#include "event_queue.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOT_MASK ((1u << EVENT_QUEUE_SLOT_BITS) - 1)

static inline int key_before(const event_queue_key *a, const event_queue_key *b) {
    if (a->at_us != b->at_us) return a->at_us < b->at_us;
    return a->order < b->order;
}

void event_queue_init(event_queue *q) {
    q->heap = NULL;
    q->slots = NULL;
    q->free_slots = NULL;
    q->count = q->cap = q->free_count = 0;
    q->seq_next = 1;
}

void event_queue_deinit(event_queue *q) {
    free(q->heap);
    free(q->slots);
    free(q->free_slots);
    event_queue_init(q);
}

static void sift_up(event_queue_key *h, size_t i) {
    event_queue_key e = h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!key_before(&e, &h[parent])) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
}

static void sift_down(event_queue_key *h, size_t n, size_t i) {
    event_queue_key e = h[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && key_before(&h[child + 1], &h[child])) child++;
        if (!key_before(&h[child], &e)) break;
        h[i] = h[child];
        i = child;
    }
    h[i] = e;
}

static void grow(event_queue *q) {
    size_t cap = q->cap ? q->cap * 2 : 1024;
    if (cap > (size_t)SLOT_MASK + 1) {
        fprintf(stderr, "streamlab: more than %u pending events\n", SLOT_MASK + 1);
        abort();
    }
    event_queue_key *heap = realloc(q->heap, cap * sizeof *heap);
    if (!heap) abort();
    q->heap = heap;
    event_queue_slot *slots = realloc(q->slots, cap * sizeof *slots);
    if (!slots) abort();
    q->slots = slots;
    uint32_t *free_slots = realloc(q->free_slots, cap * sizeof *free_slots);
    if (!free_slots) abort();
    q->free_slots = free_slots;
    /* Every slot is in use when the heap is full: the new ones are all free, the
     * lowest on top of the stack. */
    assert(q->free_count == 0 && q->count == q->cap);
    for (size_t s = cap; s > q->cap; s--) q->free_slots[q->free_count++] = (uint32_t)(s - 1);
    q->cap = cap;
}

uint64_t event_queue_push(event_queue *q, int64_t at_us, uint32_t kind, uint32_t target,
                          uint64_t token, void *payload) {
    if (q->count == q->cap) grow(q);
    uint32_t slot = q->free_slots[--q->free_count];
    q->slots[slot] =
        (event_queue_slot){.kind = kind, .target = target, .token = token, .payload = payload};
    uint64_t seq = q->seq_next++;
    assert(seq <= EVENT_QUEUE_SEQ_MAX);
    q->heap[q->count] =
        (event_queue_key){.at_us = at_us, .order = seq << EVENT_QUEUE_SLOT_BITS | slot};
    sift_up(q->heap, q->count++);
    return seq;
}

static void fill(const event_queue *q, const event_queue_key *k, sim_event *out) {
    const event_queue_slot *s = &q->slots[k->order & SLOT_MASK];
    out->at_us = k->at_us;
    out->seq = k->order >> EVENT_QUEUE_SLOT_BITS;
    out->kind = s->kind;
    out->target = s->target;
    out->token = s->token;
    out->payload = s->payload;
}

int event_queue_pop(event_queue *q, sim_event *out) {
    if (q->count == 0) return 0;
    event_queue_key top = q->heap[0];
    fill(q, &top, out);
    q->free_slots[q->free_count++] = (uint32_t)(top.order & SLOT_MASK);
    q->heap[0] = q->heap[--q->count];
    if (q->count) sift_down(q->heap, q->count, 0);
    assert(q->count == 0 || !key_before(&q->heap[0], &top));
    return 1;
}

int event_queue_peek(const event_queue *q, sim_event *out) {
    if (q->count == 0) return 0;
    fill(q, &q->heap[0], out);
    return 1;
}

void event_queue_get(const event_queue *q, size_t i, sim_event *out) {
    assert(i < q->count);
    fill(q, &q->heap[i], out);
}
