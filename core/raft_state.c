/*
 * raft_state.c — the quorum-state file: "<version>\n<epoch> <voted-for> <leader>\n".
 *
 * Raft is only safe if a voter never forgets a vote it cast or an epoch it entered
 * as a candidate, so the file is replaced atomically and durably before either:
 * write a temporary file, sync it, rename it over the old one, sync the new name
 * (mem_storage makes a rename durable only once the target is synced).  A missing
 * file is a fresh voter: epoch 0, no vote, no leader.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_internal.h"

#define RAFT_STATE_VERSION 0
#define RAFT_STATE_BYTES_MAX 96

/* Parses "0\n<epoch> <voted> <leader>\n"; 0 or -1. */
static int raft_state_parse(const char *text, int32_t *epoch, int32_t *voted, int32_t *leader) {
    int version = -1, consumed = 0;
    long e = -1, v = -2, l = -2;
    if (sscanf(text, "%d\n%ld %ld %ld\n%n", &version, &e, &v, &l, &consumed) != 4) return -1;
    if (version != RAFT_STATE_VERSION || text[consumed] != '\0') return -1;
    if (e < 0 || e > INT32_MAX || v < -1 || v > INT32_MAX || l < -1 || l > INT32_MAX) return -1;
    *epoch = (int32_t)e;
    *voted = (int32_t)v;
    *leader = (int32_t)l;
    return 0;
}

int raft_state_load(raft *r) {
    assert(r != NULL && r->fs != NULL);
    const storage *fs = r->fs;
    r->epoch = 0;
    r->voted_for = -1;
    r->leader = -1;
    int64_t size = fs->size(fs->ctx, RAFT_STATE_FILE);
    if (size == STORAGE_ENOENT) return 0;
    if (size < 0 || size >= RAFT_STATE_BYTES_MAX) return -1;
    char text[RAFT_STATE_BYTES_MAX];
    if (fs->pread(fs->ctx, RAFT_STATE_FILE, 0, text, (size_t)size) != size) return -1;
    text[size] = '\0';
    int rc = raft_state_parse(text, &r->epoch, &r->voted_for, &r->leader);
    assert(rc != 0 || r->epoch >= 0);
    return rc;
}

int raft_state_save(const raft *r, int32_t epoch, int32_t voted_for, int32_t leader) {
    assert(epoch >= r->epoch && epoch >= 0);
    assert(voted_for >= -1 && leader >= -1);
    const storage *fs = r->fs;
    char text[RAFT_STATE_BYTES_MAX];
    int len = snprintf(text, sizeof text, "%d\n%ld %ld %ld\n", RAFT_STATE_VERSION, (long)epoch,
                       (long)voted_for, (long)leader);
    assert(len > 0 && (size_t)len < sizeof text);
    int rc = fs->remove(fs->ctx, RAFT_STATE_TMP_FILE);
    if (rc != 0 && rc != STORAGE_ENOENT) return -1;
    if (fs->create(fs->ctx, RAFT_STATE_TMP_FILE) != 0) return -1;
    if (fs->append(fs->ctx, RAFT_STATE_TMP_FILE, text, (size_t)len) != 0) return -1;
    if (fs->sync(fs->ctx, RAFT_STATE_TMP_FILE) != 0) return -1;
    if (fs->rename(fs->ctx, RAFT_STATE_TMP_FILE, RAFT_STATE_FILE) != 0) return -1;
    return fs->sync(fs->ctx, RAFT_STATE_FILE) == 0 ? 0 : -1;
}
