/*
 * mem_storage.h — the simulator's in-memory implementation of core/storage.h.
 *
 * One store, owned by the driver, holds the files of every broker so that they
 * survive a broker crash; each broker sees its own namespace through a view.
 * The store tracks, per file, the written and the synced length, so a power-off
 * can drop what was never synced.  Durability rules (conservative but simple):
 *
 *   - append: durable once the file is synced;
 *   - create: the file exists after a power-off only if it was synced since;
 *   - rename: the new name holds the file after a power-off only once `to` is
 *     synced after the rename; until then a power-off brings back the durable
 *     contents of the replaced `to` and of `from` (as the rename never happened);
 *   - truncate and remove: durable at once (a removed file stays removed);
 *   - power_off: every unsynced tail is dropped, except that the file that took
 *     the node's most recent unsynced append keeps a prefix of its unsynced tail
 *     of length random_value % (unsynced bytes + 1): a torn last write.
 */
#ifndef STREAMLAB_MEM_STORAGE_H
#define STREAMLAB_MEM_STORAGE_H

#include <stdint.h>

#include "storage.h"

typedef struct mem_storage mem_storage;

mem_storage *mem_storage_create(void);
void mem_storage_destroy(mem_storage *mem);
/* The storage a broker uses; owned by mem and valid until mem_storage_destroy. */
const storage *mem_storage_view(mem_storage *mem, int32_t node_id);
/* Machine crash of node_id: see the rules above.  Deterministic in random_value. */
void mem_storage_power_off(mem_storage *mem, int32_t node_id, uint64_t random_value);
/* Total bytes held in node_id's files (written, synced or not). */
int64_t mem_storage_bytes(mem_storage *mem, int32_t node_id);
/* Fault injection: after n_ops more operations of node_id succeed, the next one
 * fails with STORAGE_EIO and has no effect; later ones succeed again.  A negative
 * n_ops disarms. */
void mem_storage_fail_after(mem_storage *mem, int32_t node_id, int64_t n_ops);

#endif
