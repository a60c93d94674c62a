#include "event_queue.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOT_MASK EVENT_QUEUE_SLOT_MASK_

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

void event_queue_grow_(event_queue *q) {
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

int event_queue_peek(const event_queue *q, sim_event *out) {
    if (q->count == 0) return 0;
    event_queue_fill_(q, &q->heap[0], out);
    return 1;
}

void event_queue_get(const event_queue *q, size_t i, sim_event *out) {
    assert(i < q->count);
    event_queue_fill_(q, &q->heap[i], out);
}
