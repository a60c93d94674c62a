#include "event_queue.h"

#include <assert.h>
#include <stdlib.h>

static int event_before(const sim_event *a, const sim_event *b) {
    if (a->at_us != b->at_us) return a->at_us < b->at_us;
    return a->seq < b->seq;
}

void event_queue_init(event_queue *q) {
    q->heap = NULL;
    q->count = q->cap = 0;
    q->seq_next = 1;
}

void event_queue_deinit(event_queue *q) {
    free(q->heap);
    q->heap = NULL;
    q->count = q->cap = 0;
}

static void sift_up(sim_event *h, size_t i) {
    sim_event e = h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&e, &h[parent])) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
}

static void sift_down(sim_event *h, size_t n, size_t i) {
    sim_event e = h[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && event_before(&h[child + 1], &h[child])) child++;
        if (!event_before(&h[child], &e)) break;
        h[i] = h[child];
        i = child;
    }
    h[i] = e;
}

uint64_t event_queue_push(event_queue *q, int64_t at_us, uint32_t kind, uint32_t target,
                          uint64_t token, void *payload) {
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        sim_event *heap = realloc(q->heap, cap * sizeof *heap);
        if (!heap) abort();
        q->heap = heap;
        q->cap = cap;
    }
    sim_event *e = &q->heap[q->count];
    e->at_us = at_us;
    e->seq = q->seq_next++;
    e->kind = kind;
    e->target = target;
    e->token = token;
    e->payload = payload;
    uint64_t seq = e->seq; /* sift_up moves entries: read it first */
    sift_up(q->heap, q->count++);
    return seq;
}

int event_queue_pop(event_queue *q, sim_event *out) {
    if (q->count == 0) return 0;
    *out = q->heap[0];
    q->heap[0] = q->heap[--q->count];
    if (q->count) sift_down(q->heap, q->count, 0);
    assert(q->count == 0 || !event_before(&q->heap[0], out));
    return 1;
}

const sim_event *event_queue_peek(const event_queue *q) {
    return q->count ? &q->heap[0] : NULL;
}
