/*
 * event_queue.h — the engine's pending events, ordered by (virtual µs, sequence).
 *
 * A binary min-heap of small fixed-size entries.  The sequence number is assigned
 * at push time and breaks ties, so events at the same virtual time run in the order
 * they were scheduled, on every machine.  Cancellation is lazy: the owner of an
 * event keeps a token and ignores a popped event whose token is stale.
 */
#ifndef STREAMLAB_EVENT_QUEUE_H
#define STREAMLAB_EVENT_QUEUE_H

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

typedef struct event_queue {
    sim_event *heap;
    size_t count, cap;
    uint64_t seq_next;
} event_queue;

void event_queue_init(event_queue *q);
void event_queue_deinit(event_queue *q);
/* Schedules an event; returns its sequence number. */
uint64_t event_queue_push(event_queue *q, int64_t at_us, uint32_t kind, uint32_t target,
                          uint64_t token, void *payload);
/* Removes the earliest event into *out; 0 when empty. */
int event_queue_pop(event_queue *q, sim_event *out);
const sim_event *event_queue_peek(const event_queue *q);

#endif
