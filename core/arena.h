/*
 * arena.h — a bump allocator for decoded Kafka messages.
 *
 * A decoder places every array it meets into an arena, so a whole request is freed
 * at once by arena_reset.  Memory comes in chunks; arena_reset keeps the first chunk
 * so a connection that decodes one request after another allocates nothing in the
 * steady state.  The arena itself never limits growth: decoders bound what they ask
 * for by the size of their input (an array count larger than the bytes left is
 * malformed), so a request of n bytes costs O(n) memory at most.
 */
#ifndef STREAMLAB_ARENA_H
#define STREAMLAB_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK_BYTES_MIN 4096

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;     /* newest chunk; allocations bump inside it */
    size_t bytes_reserved; /* total of all chunks' capacities, for tests and metrics */
} arena;

void arena_init(arena *a);
/* Zeroed memory aligned to 8; NULL only when malloc fails. */
void *arena_alloc(arena *a, size_t bytes);
/* Frees every chunk but the first and empties it. */
void arena_reset(arena *a);
void arena_deinit(arena *a);

#endif
