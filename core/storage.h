/*
 * storage.h — the named-file storage API that both drivers implement.
 *
 * The broker core keeps all of its durable state (log segments, offset indexes,
 * the leader-epoch checkpoint, the controller's quorum state) in a handful of
 * named files.  The core never touches a file system itself: a driver hands it a
 * `storage` whose callbacks do the work.  The simulator implements it in memory
 * (sim/mem_storage.c), tracking written and synced bytes so that a power-off can
 * drop the unsynced tail; real mode implements it with POSIX calls.
 *
 * Names are relative paths with '/' separators ("topic-1-0/00000000000000000000.log").
 * Each broker gets its own namespace: two brokers never see each other's files.
 * Every call completes synchronously.  Return values: 0 (or a byte count) on
 * success, a negative value on failure (STORAGE_ENOENT, STORAGE_EIO, ...).
 *
 * Handles.  A file written and read over and over (a log segment, its index) is
 * opened once: `open` resolves the name to a storage_file handle, and the *_file
 * calls then do exactly what the named calls do, with the same results and the
 * same durability, without resolving the name again.  Opening touches no data
 * and never fails but for a missing file (or, in real mode, the open(2) itself).
 * A handle must be closed before its file is removed or renamed, or renamed over;
 * a handle used after that gets STORAGE_ENOENT (never another file's bytes).
 */
#ifndef STREAMLAB_STORAGE_H
#define STREAMLAB_STORAGE_H

#include <stddef.h>
#include <stdint.h>

enum storage_error {
    STORAGE_OK = 0,
    STORAGE_ENOENT = -1, /* no such file */
    STORAGE_EEXIST = -2, /* create of a file that exists */
    STORAGE_EIO = -3,    /* the medium failed */
    STORAGE_ENOSPC = -4, /* out of space */
};

typedef void storage_list_fn(void *arg, const char *name);

/* An open file: see Handles above.  Owned by the storage, released by close. */
typedef struct storage_file storage_file;

typedef struct storage {
    void *ctx;
    /* Creates an empty file; STORAGE_EEXIST when it exists. */
    int (*create)(void *ctx, const char *name);
    /* Appends len bytes at the end of the file. */
    int (*append)(void *ctx, const char *name, const void *bytes, size_t len);
    /* Reads up to len bytes at offset; returns the count read (0 at or past the end). */
    int64_t (*pread)(void *ctx, const char *name, int64_t offset, void *buf, size_t len);
    /* The file's length in bytes, or STORAGE_ENOENT. */
    int64_t (*size)(void *ctx, const char *name);
    /* Cuts the file to len bytes (len <= size). */
    int (*truncate)(void *ctx, const char *name, int64_t len);
    /* Makes everything appended so far durable (survives a power-off). */
    int (*sync)(void *ctx, const char *name);
    /* Atomically replaces `to` with `from` (durable once `to` is synced). */
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*remove)(void *ctx, const char *name);
    /* Calls each(arg, name) for every file whose name starts with prefix, in
     * strcmp order (deterministic). */
    int (*list)(void *ctx, const char *prefix, storage_list_fn *each, void *arg);

    /* Opens an existing file: 0 and *file_out, or STORAGE_ENOENT (nothing opened). */
    int (*open)(void *ctx, const char *name, storage_file **file_out);
    void (*close)(void *ctx, storage_file *file);
    /* append, pread, size, truncate and sync of an open file. */
    int (*append_file)(void *ctx, storage_file *file, const void *bytes, size_t len);
    int64_t (*pread_file)(void *ctx, storage_file *file, int64_t offset, void *buf, size_t len);
    int64_t (*size_file)(void *ctx, storage_file *file);
    int (*truncate_file)(void *ctx, storage_file *file, int64_t len);
    int (*sync_file)(void *ctx, storage_file *file);
    /* Optional (NULL when the storage cannot): pread without the copy.  *bytes_out
     * points at the stored bytes from offset, as many as pread_file would return;
     * they stay valid until the next call that changes this file, or closes it. */
    int64_t (*view_file)(void *ctx, storage_file *file, int64_t offset, size_t len,
                         const uint8_t **bytes_out);
} storage;

/* Removes every file under dir/ (e.g. a deleted partition's directory); 0 or the
 * first negative storage error.  No handle to those files may be open. */
int storage_remove_dir(const storage *fs, const char *dir);

#endif
