/*
 * partition_log.h — one partition's log over the named-file storage API:
 * segments, the sparse offset index, the leader-epoch cache, recovery, retention.
 * See partition_log.c for the file layout and the recovery algorithm.
 *
 * The caller owns the partition_log struct (open fills it, close releases what it
 * holds).  Operating errors are negative partition_log_error values; after a
 * storage error in a mutating call the log is "failed": the memory image may no
 * longer match the files, every later call returns PARTITION_LOG_EFAILED, and the
 * owner must close and reopen it (recovery makes files and memory agree again).
 */
#ifndef STREAMLAB_PARTITION_LOG_H
#define STREAMLAB_PARTITION_LOG_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

#define PARTITION_LOG_DIR_BYTES_MAX 200
#define PARTITION_LOG_SEGMENT_BYTES_DEFAULT (1024LL * 1024 * 1024)
#define PARTITION_LOG_INDEX_INTERVAL_BYTES_DEFAULT 4096

enum partition_log_error {
    PARTITION_LOG_OK = 0,
    PARTITION_LOG_EIO = -1,       /* storage failed */
    PARTITION_LOG_EINVALID = -2,  /* a batch failed validation */
    PARTITION_LOG_ERANGE = -3,    /* offset outside [log start, log end] */
    PARTITION_LOG_ENOMEM = -4,    /* allocation failed */
    PARTITION_LOG_EFAILED = -5,   /* an earlier storage error: close and reopen */
    PARTITION_LOG_ESEQUENCE = -6, /* replica batches not contiguous with the log end */
    PARTITION_LOG_EEPOCH = -7,    /* leader epoch below the latest one */
};

typedef struct partition_log_config {
    int64_t segment_bytes;        /* roll the active segment beyond this size */
    int32_t index_interval_bytes; /* bytes of batches between two index entries */
    int64_t retention_ms;         /* -1: no time retention */
    int64_t retention_bytes;      /* -1: no size retention */
} partition_log_config;

/* One sparse index entry: a batch starting at base + relative_offset sits at position. */
typedef struct partition_log_index_entry {
    int32_t relative_offset;
    int32_t position;
} partition_log_index_entry;

typedef struct partition_log_segment {
    int64_t base_offset;
    int64_t end_offset; /* last offset + 1; base_offset when empty */
    int64_t size_bytes;
    int64_t max_timestamp_ms; /* -1 when empty */
    int64_t bytes_since_index;
    partition_log_index_entry *index; /* in memory, mirrors <base>.index */
    size_t index_count, index_cap;
    storage_file *log_file;   /* <base>.log, open while the segment is in memory */
    storage_file *index_file; /* <base>.index, open once it exists */
    bool dirty;               /* appended since the last sync */
} partition_log_segment;

typedef struct partition_log_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} partition_log_epoch_entry;

/* Where a recently appended batch of the active segment starts. */
typedef struct partition_log_tail_entry {
    int64_t base_offset;
    int64_t position;
} partition_log_tail_entry;

#define PARTITION_LOG_TAIL_BATCHES 16

typedef struct partition_log {
    const storage *fs;
    char dir[PARTITION_LOG_DIR_BYTES_MAX];
    partition_log_config config;
    partition_log_segment *segments; /* sorted by base offset; the last is active */
    size_t segment_count, segment_cap;
    partition_log_epoch_entry *epochs; /* increasing epochs and start offsets */
    size_t epoch_count, epoch_cap;
    int64_t start_offset;
    uint8_t *scratch;    /* reused for appends and recovery: no per-batch allocation */
    size_t appended_len; /* scratch holds the last leader append as stored, this long */
    size_t scratch_cap;
    uint8_t *read_buf; /* partition_log_read_view's copy when the storage has no views */
    size_t read_cap;
    /* The last batches appended to the active segment (a ring, oldest at
     * tail_first), in memory only.  Followers and consumers read the newest
     * records; with only the sparse index each read scanned up to
     * index_interval_bytes of headers to find its batch.  Emptied on a roll and a
     * truncation, so every entry is a batch start in the active segment. */
    partition_log_tail_entry tail[PARTITION_LOG_TAIL_BATCHES];
    size_t tail_first, tail_count;
    bool failed;
} partition_log;

/* Bytes returned by partition_log_read.  The caller owns it: zero-initialise it,
 * reuse it across reads (it grows with realloc) and release it with
 * partition_log_buf_free. */
typedef struct partition_log_buf {
    uint8_t *bytes;
    size_t len;
    size_t cap;
} partition_log_buf;

void partition_log_config_default(partition_log_config *config);

/* Opens dir (created if empty) and recovers it: see partition_log.c.  On failure
 * returns a negative error, writes a reason to err, and holds no memory.  What it
 * recovers may include writes never synced; the next partition_log_sync syncs them. */
int partition_log_open(partition_log *log, const storage *fs, const char *dir,
                       const partition_log_config *config, char *err, size_t err_bytes);
void partition_log_close(partition_log *log);
/* Removes every file of the log, then closes it. */
int partition_log_delete(partition_log *log);

/* Leader append: bytes holds one or more whole batches (a Produce "records"
 * field).  Each is validated, then a copy gets offsets from the log end and
 * partition leader epoch leader_epoch (CRC untouched).  *base_offset_out gets the
 * first assigned offset. */
int partition_log_append(partition_log *log, const uint8_t *bytes, size_t len, int32_t leader_epoch,
                         int64_t *base_offset_out);
/* The batches of the last successful leader append as stored (offsets and leader
 * epoch assigned); valid until the next call on the log.  NULL after any other
 * append (a replica's bytes are stored as they came). */
const uint8_t *partition_log_appended(const partition_log *log, size_t *len);
/* Follower append: offsets and epochs are already set and must continue the log
 * end exactly. */
int partition_log_append_replica(partition_log *log, const uint8_t *bytes, size_t len);

/* Reads whole batches from the one containing offset, up to bytes_max bytes but
 * always the first batch whole (KIP-74), from a single segment.  out->len is 0 at
 * the log end; ERANGE below the log start or beyond the log end. */
int partition_log_read(partition_log *log, int64_t offset, size_t bytes_max,
                       partition_log_buf *out);
void partition_log_buf_free(partition_log_buf *buf);
/* The same read without a copy: *bytes_out points at the stored bytes (or, when the
 * storage cannot hand them out, at a buffer of the log), *len_out of them, valid
 * until the next call on the log. */
int partition_log_read_view(partition_log *log, int64_t offset, size_t bytes_max,
                            const uint8_t **bytes_out, size_t *len_out);

/* Calls each() with the 61-byte header of every batch, log start to log end, in
 * offset order (reading headers only); each() returning nonzero stops the walk.
 * Returns 0 or an error.  The idempotent-producer state is rebuilt this way. */
typedef int partition_log_header_fn(void *arg, const uint8_t *header);
int partition_log_each_header(partition_log *log, partition_log_header_fn *each, void *arg);

/* Removes everything at and above end_offset, whole batches (so the new end may be
 * below end_offset when it falls inside a batch).  Below the log start the log is
 * emptied and restarts at end_offset. */
int partition_log_truncate_to(partition_log *log, int64_t end_offset);
/* Empties the log and starts it again at start_offset, which may lie above its end
 * (Kafka's truncateFullyAndStartAt: a follower whose whole log is below the leader's
 * log start).  The leader-epoch cache is emptied too. */
int partition_log_restart_at(partition_log *log, int64_t start_offset);

/* Inline: replication and fetch ask for them on every request. */
static inline int64_t partition_log_start_offset(const partition_log *log) {
    return log->start_offset;
}
static inline int64_t partition_log_end_offset(const partition_log *log) {
    assert(log->segment_count > 0);
    return log->segments[log->segment_count - 1].end_offset;
}
/* The latest leader epoch, or -1 when none. */
int32_t partition_log_last_epoch(const partition_log *log);
/* A new leader's epoch starts at the log end, before its first append (Kafka
 * assigns it on becoming leader), so OffsetForLeaderEpoch answers right away. */
int partition_log_assign_epoch(partition_log *log, int32_t epoch);
/* OffsetForLeaderEpoch: the largest epoch <= epoch and the start offset of the next
 * higher epoch (or the log end for the latest epoch); -1 and -1 when unknown. */
void partition_log_end_offset_for_epoch(const partition_log *log, int32_t epoch, int32_t *epoch_out,
                                        int64_t *end_out);
/* The epoch cache, for tests and the leader-epoch checkpoint; valid until the next call. */
size_t partition_log_epoch_entries(const partition_log *log,
                                   const partition_log_epoch_entry **entries_out);

/* Syncs every segment and index appended since the last sync or open. */
int partition_log_sync(partition_log *log);
/* Deletes whole old segments (never the active one) beyond retention_ms (by their
 * max timestamp) or retention_bytes; returns the number deleted or an error. */
int partition_log_apply_retention(partition_log *log, int64_t now_ms);

#endif
