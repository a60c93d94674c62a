/*
 * arena.h — a bump allocator for decoded Kafka messages.
 *
 * A decoder places every array it meets into an arena, so a whole request is freed
 * at once by arena_reset.  Memory comes in chunks; arena_reset keeps the first chunk
 * so a connection that decodes one request after another allocates nothing in the
 * steady state.  The arena itself never limits growth: decoders bound what they ask
 * for by the size of their input (an array count larger than the bytes left is
 * malformed), so a request of n bytes costs O(n) memory at most.
 *
 * The bump itself is inline: the simulator allocates ~25,000 times per virtual
 * second, and as calls (with a memset of every block) that was 5% of a lab run.
 */
#ifndef STREAMLAB_ARENA_H
#define STREAMLAB_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ARENA_CHUNK_BYTES_MIN 4096

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head; /* newest chunk; allocations bump inside it */
    uint8_t *next;     /* the free part of head: `left` bytes from here */
    size_t left;
    size_t bytes_reserved; /* total of all chunks' capacities, for tests and metrics */
    /* The oldest chunk (the one reset keeps), its payload and capacity: a reset
     * of an arena that never grew past it is inline. */
    arena_chunk *first;
    uint8_t *first_payload;
    size_t first_cap;
} arena;

void arena_init(arena *a);
/* An arena whose first chunk is the caller's buffer (8-aligned, e.g. on the
 * stack), for a decode whose arena lives only as long as one call: no malloc and
 * free when the message fits.  The buffer must outlive the arena. */
void arena_init_buffer(arena *a, void *buffer, size_t bytes);
/* The slow path of the allocators below: a new chunk. */
void *arena_alloc_chunk_(arena *a, size_t bytes);

/* Memory aligned to 8 whose contents are unspecified, for a caller that writes
 * every byte (a copy, or an array whose elements are all initialised); NULL only
 * when malloc fails. */
static inline void *arena_alloc_uninit(arena *a, size_t bytes) {
    size_t rounded = (bytes + 7u) & ~(size_t)7u; /* 0 for 0 bytes, or on overflow */
    if (rounded - 1u < a->left) {
        uint8_t *p = a->next;
        a->next = p + rounded;
        a->left -= rounded;
        return p;
    }
    return arena_alloc_chunk_(a, bytes);
}

/* Zeroed memory aligned to 8; NULL only when malloc fails. */
static inline void *arena_alloc(arena *a, size_t bytes) {
    void *p = arena_alloc_uninit(a, bytes);
    if (p != NULL) memset(p, 0, bytes);
    return p;
}

/* reset's slow path: frees the chunks after the first. */
void arena_reset_chunks_(arena *a);
/* Frees every chunk but the first and empties it. */
static inline void arena_reset(arena *a) {
    if (a->head != a->first) {
        arena_reset_chunks_(a);
        return;
    }
    a->next = a->first_payload; /* NULL for an arena with no chunk yet */
    a->left = a->first_cap;
}
void arena_deinit(arena *a);

#endif
