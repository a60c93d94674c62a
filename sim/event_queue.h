/*
 * event_queue.h — the engine's pending events, ordered by (virtual µs, sequence).
 *
 * A binary min-heap of 16-byte keys (time, and the sequence packed with the slot
 * that holds the rest of the event), so a sift moves two words instead of a
 * whole event.  The sequence number is assigned at push time and breaks ties, so
 * events at the same virtual time run in the order they were scheduled, on every
 * machine.  Cancellation is lazy: the owner of an event keeps a token and ignores
 * a popped event whose token is stale.
 */
#ifndef STREAMLAB_EVENT_QUEUE_H
#define STREAMLAB_EVENT_QUEUE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_event {
    int64_t at_us;
    uint64_t seq;
    uint32_t kind;
    uint32_t target; /* node index, connection id, fault index: meaning set by kind */
    uint64_t token;  /* staleness check, or a payload index */
    void *payload;
} sim_event;

/* Heap order: at_us, then `order` = sequence << EVENT_QUEUE_SLOT_BITS | slot (the
 * sequence is unique, so the slot bits never decide). */
typedef struct event_queue_key {
    int64_t at_us;
    uint64_t order;
} event_queue_key;

typedef struct event_queue_slot {
    uint32_t kind;
    uint32_t target;
    uint64_t token;
    void *payload;
} event_queue_slot;

typedef struct event_queue {
    event_queue_key *heap;
    size_t count, cap;
    event_queue_slot *slots; /* cap of them; free ones listed in free_slots */
    uint32_t *free_slots;
    size_t free_count;
    uint64_t seq_next;
} event_queue;

#define EVENT_QUEUE_SLOT_BITS 24 /* at most 16 M pending events */
#define EVENT_QUEUE_SEQ_MAX (UINT64_MAX >> EVENT_QUEUE_SLOT_BITS)

void event_queue_init(event_queue *q);
void event_queue_deinit(event_queue *q);
/* The slow path of push: doubles the heap and the slots. */
void event_queue_grow_(event_queue *q);

/* Push and pop run once per event: inline, with the sifts. */
static inline int event_queue_key_before_(const event_queue_key *a, const event_queue_key *b) {
    if (a->at_us != b->at_us) return a->at_us < b->at_us;
    return a->order < b->order;
}

/* Schedules an event; returns its sequence number. */
static inline uint64_t event_queue_push(event_queue *q, int64_t at_us, uint32_t kind,
                                        uint32_t target, uint64_t token, void *payload) {
    if (q->count == q->cap) event_queue_grow_(q);
    uint32_t slot = q->free_slots[--q->free_count];
    q->slots[slot] =
        (event_queue_slot){.kind = kind, .target = target, .token = token, .payload = payload};
    uint64_t seq = q->seq_next++;
    assert(seq <= EVENT_QUEUE_SEQ_MAX);
    event_queue_key *h = q->heap;
    event_queue_key e = {.at_us = at_us, .order = seq << EVENT_QUEUE_SLOT_BITS | slot};
    size_t i = q->count++;
    while (i > 0) { /* sift up */
        size_t parent = (i - 1) / 2;
        if (!event_queue_key_before_(&e, &h[parent])) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
    return seq;
}

#define EVENT_QUEUE_SLOT_MASK_ ((1u << EVENT_QUEUE_SLOT_BITS) - 1)

/* The event a key stands for. */
static inline void event_queue_fill_(const event_queue *q, const event_queue_key *k,
                                     sim_event *out) {
    const event_queue_slot *s = &q->slots[k->order & EVENT_QUEUE_SLOT_MASK_];
    out->at_us = k->at_us;
    out->seq = k->order >> EVENT_QUEUE_SLOT_BITS;
    out->kind = s->kind;
    out->target = s->target;
    out->token = s->token;
    out->payload = s->payload;
}

/* Removes the earliest event into *out; 0 when empty. */
static inline int event_queue_pop(event_queue *q, sim_event *out) {
    if (q->count == 0) return 0;
    event_queue_key top = q->heap[0];
    event_queue_fill_(q, &top, out);
    q->free_slots[q->free_count++] = (uint32_t)(top.order & EVENT_QUEUE_SLOT_MASK_);
    size_t n = --q->count;
    if (n) { /* the last key sifts down from the root */
        event_queue_key *h = q->heap;
        event_queue_key e = h[n];
        size_t i = 0;
        for (;;) {
            size_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && event_queue_key_before_(&h[child + 1], &h[child])) child++;
            if (!event_queue_key_before_(&h[child], &e)) break;
            h[i] = h[child];
            i = child;
        }
        h[i] = e;
    }
    assert(q->count == 0 || !event_queue_key_before_(&q->heap[0], &top));
    return 1;
}
/* Copies the earliest event into *out without removing it; 0 when empty. */
int event_queue_peek(const event_queue *q, sim_event *out);
/* The i-th pending event (0 <= i < count) in heap order, e.g. to list them. */
void event_queue_get(const event_queue *q, size_t i, sim_event *out);

/* The time of the earliest event, or INT64_MAX when empty. */
static inline int64_t event_queue_next_at_us(const event_queue *q) {
    return q->count ? q->heap[0].at_us : INT64_MAX;
}
/* The sequence of the earliest event (the queue must not be empty). */
static inline uint64_t event_queue_next_seq(const event_queue *q) {
    return q->heap[0].order >> EVENT_QUEUE_SLOT_BITS;
}
/* Takes a sequence number for an event the owner keeps outside the queue (the
 * world's node timers), ordered with the queued ones. */
static inline uint64_t event_queue_take_seq(event_queue *q) {
    return q->seq_next++;
}

#endif
