/*
 * producer_ids.c — producer id blocks in PRODUCER_IDS_FILE.
 *
 * The file holds one decimal line: the end of the last reserved block.  Taking a
 * block writes the new end to a temporary file, syncs it and renames it over
 * the old one (then syncs that name), so the file always holds a complete value
 * and a crash at any point loses at most unused ids of a block, never repeats
 * one.  The file is read at the first request after open: every block reserved
 * in an earlier life is behind us.
 */
#include "producer_ids.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PRODUCER_IDS_TMP PRODUCER_IDS_FILE ".tmp"
#define PRODUCER_IDS_COUNTER_MAX (INT64_C(1) << PRODUCER_IDS_NODE_SHIFT)

/* The recorded end of the last block (0 when none), or -1 on a storage error. */
static int64_t read_reserved(const storage *fs) {
    char text[32];
    int64_t got = fs->pread(fs->ctx, PRODUCER_IDS_FILE, 0, text, sizeof text - 1);
    if (got == STORAGE_ENOENT) return 0;
    if (got < 0) return -1;
    text[got] = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\n' || v < 0) return -1; /* never written torn: see above */
    return v;
}

static int write_reserved(const storage *fs, int64_t block_end) {
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", block_end);
    fs->remove(fs->ctx, PRODUCER_IDS_TMP);
    int rc = fs->create(fs->ctx, PRODUCER_IDS_TMP);
    if (rc == 0) rc = fs->append(fs->ctx, PRODUCER_IDS_TMP, text, (size_t)n);
    if (rc == 0) rc = fs->sync(fs->ctx, PRODUCER_IDS_TMP);
    if (rc == 0) rc = fs->rename(fs->ctx, PRODUCER_IDS_TMP, PRODUCER_IDS_FILE);
    if (rc == 0) rc = fs->sync(fs->ctx, PRODUCER_IDS_FILE);
    return rc < 0 ? -1 : 0;
}

int producer_ids_next(producer_ids *ids, const storage *fs, int32_t node_id, int64_t *id) {
    assert(node_id >= 0 && node_id < (1 << 22));
    assert(ids->next <= ids->block_end);
    if (ids->next == ids->block_end) {
        int64_t start = ids->block_end;
        if (start == 0 && (start = read_reserved(fs)) < 0) return -1;
        if (start + PRODUCER_IDS_BLOCK_SIZE > PRODUCER_IDS_COUNTER_MAX) return -1; /* exhausted */
        if (write_reserved(fs, start + PRODUCER_IDS_BLOCK_SIZE) != 0) return -1;
        ids->next = start;
        ids->block_end = start + PRODUCER_IDS_BLOCK_SIZE;
    }
    *id = (int64_t)node_id << PRODUCER_IDS_NODE_SHIFT | ids->next++;
    assert(*id >= 0 && ids->next <= ids->block_end);
    return 0;
}
