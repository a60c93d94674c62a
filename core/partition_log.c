/*
 * partition_log.c — a partition's log, Kafka's layout over named files.
 *
 * Files of a partition directory D:
 *
 *   D/<20-digit base offset>.log    a segment: whole RecordBatch v2 batches, offsets
 *                                   increasing, the first at or above the base.
 *   D/<20-digit base offset>.index  its sparse offset index: 8-byte entries
 *                                   (relative offset, file position), big-endian,
 *                                   one before the first batch that follows at least
 *                                   index_interval_bytes of batches since the last.
 *   D/leader-epoch-checkpoint       Kafka's text format: "0\n<count>\n" then
 *                                   "<epoch> <start offset>\n" lines; written to
 *                                   a ".tmp" name, synced, renamed, synced.
 *
 * The log start offset is the base of the first segment (retention deletes whole
 * segments), so it needs no checkpoint of its own.
 *
 * Recovery (open).  Batches carry everything: offsets, sizes, timestamps and
 * leader epochs.  So open walks the batch headers of every segment (the last one
 * fully, CRC included, since only it can hold a torn write under our sync order;
 * earlier ones by header) and stops at the first batch whose length is not sane,
 * that runs past the end of the file, whose offsets go backwards or whose CRC
 * fails; the file is truncated there and later segments (no longer contiguous)
 * are removed.  The index is a pure function of the batch sequence, so it is
 * rebuilt in memory during the walk and the file rewritten when it differs —
 * which covers a missing, short or stale index.  The epoch cache is loaded from
 * its checkpoint, entries at or beyond the recovered end are dropped, and epochs
 * seen in the surviving batches but missing from the checkpoint (a write lost to a
 * power-off) are added back.
 *
 * Durability.  The files may hold writes that were never synced: appended before a
 * process crash, or before a sync that failed (the owner then closes and reopens).
 * Recovery keeps them, since they are valid batches, so every segment starts dirty:
 * the first partition_log_sync after open makes all the log holds durable, and an
 * owner that promises durability (raft acknowledges its log end) syncs right after
 * open.  Were they left clean, that sync would skip them and a later power-off could
 * drop records the owner had already acknowledged.
 *
 * Memory: a segment's index lives in memory too, so a read finds its position
 * with a binary search and no storage access; appends copy into one reused scratch
 * buffer to set offsets and epochs; nothing is allocated per record.
 */
#include "partition_log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_batch.h"

#define PL_NAME_BYTES_MAX (PARTITION_LOG_DIR_BYTES_MAX + 64)
#define PL_INDEX_ENTRY_BYTES 8
#define PL_CHECKPOINT_BYTES_MAX (1024 * 1024)

typedef struct pl_name {
    char s[PL_NAME_BYTES_MAX];
} pl_name;

/* "<dir>/<20-digit base>.<ext>", formatted by hand: every append and read names a
 * segment, and snprintf showed up in profiles. */
static pl_name pl_segment_name(const partition_log *log, int64_t base, const char *ext) {
    pl_name n;
    size_t dir_len = strlen(log->dir), ext_len = strlen(ext);
    assert(base >= 0 && dir_len + 22 + ext_len < sizeof n.s);
    memcpy(n.s, log->dir, dir_len);
    char *p = n.s + dir_len;
    *p++ = '/';
    /* Offsets are mostly short: zero-fill, then write only the significant digits. */
    memset(p, '0', 20);
    for (int i = 19; base > 0; i--, base /= 10) p[i] = (char)('0' + base % 10);
    p += 20;
    *p++ = '.';
    memcpy(p, ext, ext_len + 1);
    return n;
}

static pl_name pl_file_name(const partition_log *log, const char *file) {
    pl_name n;
    snprintf(n.s, sizeof n.s, "%s/%s", log->dir, file);
    return n;
}

static void pl_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int pl_grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 8;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return PARTITION_LOG_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static int pl_scratch(partition_log *log, size_t bytes) {
    return pl_grow((void **)&log->scratch, &log->scratch_cap, bytes, 1);
}

static int pl_io(partition_log *log, int rc) {
    if (rc < 0) log->failed = true;
    return rc < 0 ? PARTITION_LOG_EIO : 0;
}

static partition_log_segment *pl_active(partition_log *log) {
    assert(log->segment_count > 0);
    return &log->segments[log->segment_count - 1];
}

/* Creates an empty file, emptying a stale one left under the same name. */
static int pl_create_empty(partition_log *log, const char *name) {
    const storage *fs = log->fs;
    int rc = fs->create(fs->ctx, name);
    if (rc == STORAGE_EEXIST) rc = fs->truncate(fs->ctx, name, 0);
    return pl_io(log, rc);
}

/* Opens a segment file for its handle. */
static int pl_open_file(partition_log *log, const char *name, storage_file **file_out) {
    return pl_io(log, log->fs->open(log->fs->ctx, name, file_out));
}

static void pl_close_file(partition_log *log, storage_file **file) {
    if (*file) log->fs->close(log->fs->ctx, *file);
    *file = NULL;
}

/* Reads len bytes at position of an open file: the stored bytes themselves when the
 * storage hands out views, else a copy in buf.  Returns what pread would. */
static int64_t pl_pread(const partition_log *log, storage_file *file, int64_t position, size_t len,
                        uint8_t *buf, const uint8_t **bytes_out) {
    const storage *fs = log->fs;
    if (fs->view_file) return fs->view_file(fs->ctx, file, position, len, bytes_out);
    *bytes_out = buf;
    return fs->pread_file(fs->ctx, file, position, buf, len);
}

/* ---- the leader-epoch cache --------------------------------------------------------- */

/* Kafka's assign: a new epoch starts at start_offset; older epochs are kept. */
static int pl_epoch_assign(partition_log *log, int32_t epoch, int64_t start_offset, bool *changed) {
    if (log->epoch_count > 0 && log->epochs[log->epoch_count - 1].epoch >= epoch) return 0;
    while (log->epoch_count > 0 && log->epochs[log->epoch_count - 1].start_offset >= start_offset)
        log->epoch_count--;
    if (pl_grow((void **)&log->epochs, &log->epoch_cap, log->epoch_count + 1, sizeof *log->epochs))
        return PARTITION_LOG_ENOMEM;
    log->epochs[log->epoch_count++] = (partition_log_epoch_entry){epoch, start_offset};
    *changed = true;
    return 0;
}

/* Drops entries starting at or after end_offset. */
static void pl_epoch_truncate_end(partition_log *log, int64_t end_offset, bool *changed) {
    while (log->epoch_count > 0 && log->epochs[log->epoch_count - 1].start_offset >= end_offset) {
        log->epoch_count--;
        *changed = true;
    }
}

/* Entries wholly before start_offset go; the one covering it now starts there. */
static void pl_epoch_truncate_start(partition_log *log, int64_t start_offset, bool *changed) {
    size_t keep_from = 0;
    while (keep_from + 1 < log->epoch_count &&
           log->epochs[keep_from + 1].start_offset <= start_offset)
        keep_from++;
    if (keep_from > 0) {
        memmove(log->epochs, log->epochs + keep_from,
                (log->epoch_count - keep_from) * sizeof *log->epochs);
        log->epoch_count -= keep_from;
        *changed = true;
    }
    if (log->epoch_count > 0 && log->epochs[0].start_offset < start_offset) {
        log->epochs[0].start_offset = start_offset;
        *changed = true;
    }
}

static int pl_epoch_write(partition_log *log) {
    size_t cap = 32 + log->epoch_count * 40;
    char *text = malloc(cap);
    if (!text) return PARTITION_LOG_ENOMEM;
    size_t n = (size_t)snprintf(text, cap, "0\n%zu\n", log->epoch_count);
    for (size_t i = 0; i < log->epoch_count; i++)
        n += (size_t)snprintf(text + n, cap - n, "%" PRId32 " %" PRId64 "\n", log->epochs[i].epoch,
                              log->epochs[i].start_offset);
    assert(n < cap);
    const storage *fs = log->fs;
    pl_name tmp = pl_file_name(log, "leader-epoch-checkpoint.tmp");
    pl_name final = pl_file_name(log, "leader-epoch-checkpoint");
    int rc = pl_create_empty(log, tmp.s);
    if (rc == 0) rc = pl_io(log, fs->append(fs->ctx, tmp.s, text, n));
    if (rc == 0) rc = pl_io(log, fs->sync(fs->ctx, tmp.s));
    if (rc == 0) rc = pl_io(log, fs->rename(fs->ctx, tmp.s, final.s));
    if (rc == 0) rc = pl_io(log, fs->sync(fs->ctx, final.s));
    free(text);
    return rc;
}

/* Parses the checkpoint text; returns false (cache left empty) when malformed. */
static bool pl_epoch_parse(partition_log *log, char *text) {
    char *p = text, *end;
    if (strtol(p, &end, 10) != 0 || end == p || *end != '\n') return false;
    p = end + 1;
    long long count = strtoll(p, &end, 10);
    if (end == p || *end != '\n' || count < 0 || count > 1000000) return false;
    p = end + 1;
    for (long long i = 0; i < count; i++) {
        long long epoch = strtoll(p, &end, 10);
        if (end == p || *end != ' ' || epoch < 0 || epoch > INT32_MAX) return false;
        p = end + 1;
        long long start = strtoll(p, &end, 10);
        if (end == p || *end != '\n' || start < 0) return false;
        p = end + 1;
        size_t k = log->epoch_count;
        if (k > 0 && (log->epochs[k - 1].epoch >= epoch || log->epochs[k - 1].start_offset > start))
            return false;
        if (pl_grow((void **)&log->epochs, &log->epoch_cap, k + 1, sizeof *log->epochs))
            return false;
        log->epochs[log->epoch_count++] = (partition_log_epoch_entry){(int32_t)epoch, start};
    }
    return true;
}

static int pl_epoch_load(partition_log *log) {
    const storage *fs = log->fs;
    pl_name name = pl_file_name(log, "leader-epoch-checkpoint");
    int64_t size = fs->size(fs->ctx, name.s);
    if (size == STORAGE_ENOENT) return 0;
    if (size < 0) return PARTITION_LOG_EIO;
    if (size > PL_CHECKPOINT_BYTES_MAX) return 0; /* corrupt: rebuilt from the batches */
    char *text = malloc((size_t)size + 1);
    if (!text) return PARTITION_LOG_ENOMEM;
    int64_t got = fs->pread(fs->ctx, name.s, 0, text, (size_t)size);
    if (got >= 0) {
        text[got] = 0;
        if (!pl_epoch_parse(log, text)) log->epoch_count = 0;
    }
    free(text);
    return got < 0 ? PARTITION_LOG_EIO : 0;
}

/* ---- segments and their index -------------------------------------------------------- */

/* Applies the index rule before the batch at position; true when an entry was added. */
static int pl_index_note(partition_log *log, partition_log_segment *seg, int64_t base,
                         int64_t position, size_t total, bool *added) {
    *added = false;
    if (seg->bytes_since_index >= log->config.index_interval_bytes) {
        assert(base - seg->base_offset <= INT32_MAX && position <= INT32_MAX);
        if (pl_grow((void **)&seg->index, &seg->index_cap, seg->index_count + 1,
                    sizeof *seg->index))
            return PARTITION_LOG_ENOMEM;
        seg->index[seg->index_count++] =
            (partition_log_index_entry){(int32_t)(base - seg->base_offset), (int32_t)position};
        seg->bytes_since_index = 0;
        *added = true;
    }
    seg->bytes_since_index += (int64_t)total;
    return 0;
}

static void pl_index_encode(const partition_log_index_entry *e, uint8_t *out) {
    pl_put_be32(out, (uint32_t)e->relative_offset);
    pl_put_be32(out + 4, (uint32_t)e->position);
}

static void pl_segment_free(partition_log *log, partition_log_segment *seg) {
    pl_close_file(log, &seg->log_file);
    pl_close_file(log, &seg->index_file);
    free(seg->index);
    seg->index = NULL;
    seg->index_count = seg->index_cap = 0;
}

static int pl_segment_push(partition_log *log, int64_t base) {
    if (pl_grow((void **)&log->segments, &log->segment_cap, log->segment_count + 1,
                sizeof *log->segments))
        return PARTITION_LOG_ENOMEM;
    log->segments[log->segment_count++] =
        (partition_log_segment){.base_offset = base, .end_offset = base, .max_timestamp_ms = -1};
    return 0;
}

/* Reads the 61-byte header at position (into buf, or a view: *hdr_out); false when
 * it is not a sane batch start (short, bad length, past the file end, wrong magic,
 * offsets going backwards). */
static bool pl_read_header(partition_log *log, storage_file *file, int64_t position,
                           int64_t file_bytes, int64_t expected, uint8_t *buf,
                           const uint8_t **hdr_out, int *io) {
    int64_t got = pl_pread(log, file, position, RECORD_BATCH_HEADER_BYTES, buf, hdr_out);
    if (got < 0) *io = PARTITION_LOG_EIO;
    const uint8_t *hdr = *hdr_out;
    if (got < RECORD_BATCH_HEADER_BYTES) return false;
    int32_t length = record_batch_length(hdr);
    if (length < RECORD_BATCH_HEADER_BYTES - RECORD_BATCH_LOG_OVERHEAD_BYTES ||
        length > RECORD_BATCH_BYTES_MAX)
        return false;
    if (position + length + RECORD_BATCH_LOG_OVERHEAD_BYTES > file_bytes) return false;
    if (record_batch_magic(hdr) != RECORD_BATCH_MAGIC) return false;
    return record_batch_base_offset(hdr) >= expected && record_batch_last_offset_delta(hdr) >= 0;
}

/* Epoch changes seen while scanning, applied once the recovered end is known. */
typedef struct pl_epoch_seen {
    partition_log_epoch_entry *v;
    size_t count, cap;
} pl_epoch_seen;

static int pl_note_epoch(pl_epoch_seen *seen, int32_t epoch, int64_t base) {
    if (epoch < 0 || (seen->count > 0 && seen->v[seen->count - 1].epoch >= epoch)) return 0;
    if (pl_grow((void **)&seen->v, &seen->cap, seen->count + 1, sizeof *seen->v))
        return PARTITION_LOG_ENOMEM;
    seen->v[seen->count++] = (partition_log_epoch_entry){epoch, base};
    return 0;
}

/* Full check of the batch at position (CRC included), read into the scratch buffer. */
static bool pl_batch_valid(partition_log *log, storage_file *file, int64_t position, size_t total,
                           int *io) {
    if (pl_scratch(log, total)) {
        *io = PARTITION_LOG_ENOMEM;
        return false;
    }
    const uint8_t *batch;
    int64_t got = pl_pread(log, file, position, total, log->scratch, &batch);
    if (got < 0) *io = PARTITION_LOG_EIO;
    return got == (int64_t)total && record_batch_validate(batch, total, NULL, 0) == 0;
}

/* Walks the segment's batches from the start, rebuilding its in-memory state.
 * Returns 0 or an error; *valid_bytes is where the walk stopped. */
static int pl_scan_segment(partition_log *log, partition_log_segment *seg, bool full,
                           pl_epoch_seen *seen, int64_t *valid_bytes, int64_t *file_bytes) {
    if (!seg->log_file) {
        int rc = pl_open_file(log, pl_segment_name(log, seg->base_offset, "log").s, &seg->log_file);
        if (rc) return rc;
    }
    *file_bytes = log->fs->size_file(log->fs->ctx, seg->log_file);
    if (*file_bytes < 0) return PARTITION_LOG_EIO;
    seg->index_count = 0;
    seg->bytes_since_index = 0;
    seg->max_timestamp_ms = -1;
    seg->end_offset = seg->base_offset;
    int64_t pos = 0;
    int io = 0;
    uint8_t buf[RECORD_BATCH_HEADER_BYTES];
    const uint8_t *hdr;
    while (pos < *file_bytes &&
           pl_read_header(log, seg->log_file, pos, *file_bytes, seg->end_offset, buf, &hdr, &io)) {
        size_t total = record_batch_total_bytes(hdr);
        if (full && !pl_batch_valid(log, seg->log_file, pos, total, &io)) break;
        if (record_batch_last_offset(hdr) - seg->base_offset > INT32_MAX) break;
        bool added;
        int rc = pl_index_note(log, seg, record_batch_base_offset(hdr), pos, total, &added);
        if (rc == 0 && seen)
            rc = pl_note_epoch(seen, record_batch_partition_leader_epoch(hdr),
                               record_batch_base_offset(hdr));
        if (rc) return rc;
        if (record_batch_max_timestamp(hdr) > seg->max_timestamp_ms)
            seg->max_timestamp_ms = record_batch_max_timestamp(hdr);
        seg->end_offset = record_batch_last_offset(hdr) + 1;
        pos += (int64_t)total;
    }
    if (io) return io;
    seg->size_bytes = *valid_bytes = pos;
    assert(pos <= *file_bytes);
    return 0;
}

/* Makes <base>.index equal the in-memory entries, rewriting it when it differs. */
static int pl_index_sync_file(partition_log *log, partition_log_segment *seg) {
    const storage *fs = log->fs;
    pl_name name = pl_segment_name(log, seg->base_offset, "index");
    size_t bytes = seg->index_count * PL_INDEX_ENTRY_BYTES;
    int rc = pl_scratch(log, bytes * 2 + 1);
    if (rc) return rc;
    uint8_t *want = log->scratch, *have = log->scratch + bytes;
    for (size_t i = 0; i < seg->index_count; i++)
        pl_index_encode(&seg->index[i], want + i * PL_INDEX_ENTRY_BYTES);
    int64_t size = fs->size(fs->ctx, name.s);
    if (size == (int64_t)bytes && fs->pread(fs->ctx, name.s, 0, have, bytes) == (int64_t)bytes &&
        memcmp(want, have, bytes) == 0)
        return 0;
    rc = pl_create_empty(log, name.s);
    if (rc == 0 && bytes) rc = pl_io(log, fs->append(fs->ctx, name.s, want, bytes));
    seg->dirty = true;
    return rc;
}

/* Opens the index once pl_index_sync_file made sure it exists. */
static int pl_open_index(partition_log *log, partition_log_segment *seg) {
    if (seg->index_file) return 0;
    return pl_open_file(log, pl_segment_name(log, seg->base_offset, "index").s, &seg->index_file);
}

/* Removes the segment's files (closing them first); its memory stays. */
static int pl_remove_segment_files(partition_log *log, partition_log_segment *seg) {
    const storage *fs = log->fs;
    pl_close_file(log, &seg->log_file);
    pl_close_file(log, &seg->index_file);
    pl_name a = pl_segment_name(log, seg->base_offset, "log");
    pl_name b = pl_segment_name(log, seg->base_offset, "index");
    int rc1 = fs->remove(fs->ctx, a.s), rc2 = fs->remove(fs->ctx, b.s);
    if (rc1 < 0 && rc1 != STORAGE_ENOENT) return pl_io(log, rc1);
    if (rc2 < 0 && rc2 != STORAGE_ENOENT) return pl_io(log, rc2);
    return 0;
}

/* Removes segments [from, count) from storage and memory. */
static int pl_drop_segments_from(partition_log *log, size_t from) {
    if (log->segment_count > from) log->tail_count = 0; /* it described the active segment */
    while (log->segment_count > from) {
        partition_log_segment *seg = pl_active(log);
        int rc = pl_remove_segment_files(log, seg);
        if (rc) return rc;
        pl_segment_free(log, seg);
        log->segment_count--;
    }
    return 0;
}

static int pl_new_segment(partition_log *log, int64_t base) {
    log->tail_count = 0; /* the tail describes the active segment only */
    int rc = pl_segment_push(log, base);
    if (rc) return rc;
    partition_log_segment *seg = pl_active(log);
    pl_name name = pl_segment_name(log, base, "log"), index = pl_segment_name(log, base, "index");
    rc = pl_create_empty(log, name.s);
    if (rc == 0) rc = pl_open_file(log, name.s, &seg->log_file);
    if (rc == 0) rc = pl_create_empty(log, index.s);
    if (rc == 0) rc = pl_open_file(log, index.s, &seg->index_file);
    if (rc == 0) seg->dirty = true;
    return rc;
}

/* ---- open and recovery --------------------------------------------------------------- */

typedef struct pl_listing {
    partition_log *log;
    size_t dir_len;
    int rc;
} pl_listing;

static void pl_list_each(void *arg, const char *name) {
    pl_listing *l = arg;
    const char *file = name + l->dir_len + 1;
    size_t n = strlen(file);
    if (n != 24 || strcmp(file + 20, ".log") != 0 || l->rc) return;
    int64_t base = 0;
    for (int i = 0; i < 20; i++) {
        if (file[i] < '0' || file[i] > '9' || base > (INT64_MAX - 9) / 10) return;
        base = base * 10 + (file[i] - '0');
    }
    l->rc = pl_segment_push(l->log, base);
}

/* Scans every segment, cutting the log at the first damage. */
static int pl_recover_segments(partition_log *log, pl_epoch_seen *seen) {
    for (size_t i = 0; i < log->segment_count; i++) {
        partition_log_segment *seg = &log->segments[i];
        bool last = i + 1 == log->segment_count;
        int64_t valid, file_bytes;
        int rc = pl_scan_segment(log, seg, last, seen, &valid, &file_bytes);
        if (rc) return rc;
        bool cut = valid < file_bytes;
        if (cut) rc = pl_io(log, log->fs->truncate_file(log->fs->ctx, seg->log_file, valid));
        if (rc) return rc;
        if (cut) seg->dirty = true;
        if (!last && (cut || seg->end_offset != log->segments[i + 1].base_offset))
            rc = pl_drop_segments_from(log, i + 1);
        if (rc) return rc;
    }
    return 0;
}

static int pl_recover_epochs(partition_log *log, pl_epoch_seen *seen) {
    bool changed = false;
    int64_t end = partition_log_end_offset(log);
    pl_epoch_truncate_end(log, end, &changed);
    pl_epoch_truncate_start(log, log->start_offset, &changed);
    for (size_t i = 0; i < seen->count; i++) {
        int rc = pl_epoch_assign(log, seen->v[i].epoch, seen->v[i].start_offset, &changed);
        if (rc) return rc;
    }
    return changed ? pl_epoch_write(log) : 0;
}

static int pl_recover(partition_log *log) {
    pl_listing l = {log, strlen(log->dir), 0};
    pl_name prefix = pl_file_name(log, "");
    int rc = log->fs->list(log->fs->ctx, prefix.s, pl_list_each, &l);
    if (rc < 0) return PARTITION_LOG_EIO;
    if (l.rc) return l.rc;
    rc = pl_epoch_load(log);
    pl_epoch_seen seen = {0};
    if (rc == 0) rc = pl_recover_segments(log, &seen);
    if (rc == 0 && log->segment_count == 0) rc = pl_new_segment(log, 0);
    for (size_t i = 0; rc == 0 && i < log->segment_count; i++) {
        rc = pl_index_sync_file(log, &log->segments[i]);
        if (rc == 0) rc = pl_open_index(log, &log->segments[i]);
        log->segments[i].dirty = true; /* may hold writes never synced: see Durability */
    }
    if (rc == 0) log->start_offset = log->segments[0].base_offset;
    if (rc == 0) rc = pl_recover_epochs(log, &seen);
    free(seen.v);
    return rc;
}

void partition_log_config_default(partition_log_config *config) {
    config->segment_bytes = PARTITION_LOG_SEGMENT_BYTES_DEFAULT;
    config->index_interval_bytes = PARTITION_LOG_INDEX_INTERVAL_BYTES_DEFAULT;
    config->retention_ms = -1;
    config->retention_bytes = -1;
}

int partition_log_open(partition_log *log, const storage *fs, const char *dir,
                       const partition_log_config *config, char *err, size_t err_bytes) {
    assert(log && fs && dir && config);
    assert(config->segment_bytes > 0 && config->index_interval_bytes > 0);
    memset(log, 0, sizeof *log);
    if (strlen(dir) == 0 || strlen(dir) >= sizeof log->dir) {
        if (err && err_bytes) snprintf(err, err_bytes, "bad partition directory name");
        return PARTITION_LOG_EINVALID;
    }
    log->fs = fs;
    memcpy(log->dir, dir, strlen(dir) + 1);
    log->config = *config;
    int rc = pl_recover(log);
    if (rc) {
        if (err && err_bytes) snprintf(err, err_bytes, "%s: recovery failed (%d)", dir, rc);
        partition_log_close(log);
    }
    return rc;
}

void partition_log_close(partition_log *log) {
    for (size_t i = 0; i < log->segment_count; i++) pl_segment_free(log, &log->segments[i]);
    free(log->segments);
    free(log->epochs);
    free(log->scratch);
    free(log->read_buf);
    memset(log, 0, sizeof *log);
}

int partition_log_delete(partition_log *log) {
    const storage *fs = log->fs;
    char dir[PARTITION_LOG_DIR_BYTES_MAX];
    snprintf(dir, sizeof dir, "%s", log->dir);
    partition_log_close(log); /* handles closed before their files go (storage.h) */
    return storage_remove_dir(fs, dir) < 0 ? PARTITION_LOG_EIO : 0;
}

/* ---- append ----------------------------------------------------------------------------- */

typedef struct pl_check {
    int64_t next_offset; /* -1: leader append, offsets not checked */
    size_t count;
    bool bad;
    bool out_of_sequence;
} pl_check;

/* A replica's batches were validated record by record by the leader that took them
 * from the client; a follower checks what the wire could have damaged: the framing,
 * the magic byte and the CRC (as Kafka's follower does with ensureValid). */
static int pl_check_each(void *arg, const uint8_t *batch, size_t len) {
    pl_check *c = arg;
    bool ok = c->next_offset >= 0 ? record_batch_crc_valid(batch, len)
                                  : record_batch_validate(batch, len, NULL, 0) == 0;
    if (!ok)
        c->bad = true;
    else if (c->next_offset >= 0 && record_batch_base_offset(batch) != c->next_offset)
        c->bad = c->out_of_sequence = true;
    if (c->bad) return 1;
    if (c->next_offset >= 0) c->next_offset = record_batch_last_offset(batch) + 1;
    c->count++;
    return 0;
}

static int pl_roll(partition_log *log, int64_t base) {
    assert(base >= pl_active(log)->end_offset);
    return pl_new_segment(log, base);
}

static void pl_tail_note(partition_log *log, int64_t base, int64_t position) {
    size_t at = (log->tail_first + log->tail_count) % PARTITION_LOG_TAIL_BATCHES;
    log->tail[at] = (partition_log_tail_entry){base, position};
    if (log->tail_count < PARTITION_LOG_TAIL_BATCHES)
        log->tail_count++;
    else
        log->tail_first = (log->tail_first + 1) % PARTITION_LOG_TAIL_BATCHES;
}

/* Writes one batch whose offsets are final at the end of the active segment. */
static int pl_append_batch(partition_log *log, const uint8_t *b, size_t total) {
    partition_log_segment *seg = pl_active(log);
    int64_t base = record_batch_base_offset(b);
    assert(base >= seg->end_offset);
    if (seg->size_bytes > 0 && (seg->size_bytes + (int64_t)total > log->config.segment_bytes ||
                                record_batch_last_offset(b) - seg->base_offset > INT32_MAX)) {
        int rc = pl_roll(log, base);
        if (rc) return rc;
        seg = pl_active(log);
    }
    bool added;
    int rc = pl_index_note(log, seg, base, seg->size_bytes, total, &added);
    if (rc) return rc;
    const storage *fs = log->fs;
    if (added) {
        uint8_t e[PL_INDEX_ENTRY_BYTES];
        pl_index_encode(&seg->index[seg->index_count - 1], e);
        rc = pl_io(log, fs->append_file(fs->ctx, seg->index_file, e, sizeof e));
        if (rc) return rc;
    }
    rc = pl_io(log, fs->append_file(fs->ctx, seg->log_file, b, total));
    if (rc) return rc;
    pl_tail_note(log, base, seg->size_bytes);
    seg->size_bytes += (int64_t)total;
    seg->end_offset = record_batch_last_offset(b) + 1;
    if (record_batch_max_timestamp(b) > seg->max_timestamp_ms)
        seg->max_timestamp_ms = record_batch_max_timestamp(b);
    seg->dirty = true;
    return 0;
}

/* Appends the validated batches bytes[0..len).  A leader append (leader_epoch >= 0)
 * passes the scratch copy, whose offsets and epochs are set here; a replica's are
 * final already, so they go to storage straight from the caller's bytes. */
static int pl_append_batches(partition_log *log, uint8_t *scratch, const uint8_t *bytes, size_t len,
                             int32_t leader_epoch) {
    assert((leader_epoch >= 0) == (scratch != NULL));
    bool changed = false;
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *b = bytes + pos;
        size_t total = record_batch_total_bytes(b);
        if (scratch) {
            record_batch_set_base_offset(scratch + pos, partition_log_end_offset(log));
            record_batch_set_partition_leader_epoch(scratch + pos, leader_epoch);
        }
        int32_t epoch = record_batch_partition_leader_epoch(b);
        int rc =
            epoch >= 0 ? pl_epoch_assign(log, epoch, record_batch_base_offset(b), &changed) : 0;
        if (rc == 0) rc = pl_append_batch(log, b, total);
        if (rc) return rc;
        pos += total;
    }
    assert(pos == len);
    return changed ? pl_epoch_write(log) : 0;
}

static int pl_append_common(partition_log *log, const uint8_t *bytes, size_t len,
                            int32_t leader_epoch, int64_t next_offset) {
    if (log->failed) return PARTITION_LOG_EFAILED;
    log->appended_len = 0;
    pl_check c = {next_offset, 0, false, false};
    if (record_batch_split(bytes, len, pl_check_each, &c) != len || c.bad || c.count == 0)
        return c.out_of_sequence ? PARTITION_LOG_ESEQUENCE : PARTITION_LOG_EINVALID;
    if (leader_epoch < 0) return pl_append_batches(log, NULL, bytes, len, leader_epoch);
    if (pl_scratch(log, len)) return PARTITION_LOG_ENOMEM;
    memcpy(log->scratch, bytes, len);
    int rc = pl_append_batches(log, log->scratch, log->scratch, len, leader_epoch);
    log->appended_len = rc == 0 ? len : 0;
    return rc;
}

const uint8_t *partition_log_appended(const partition_log *log, size_t *len) {
    *len = log->appended_len;
    return log->appended_len ? log->scratch : NULL;
}

int partition_log_append(partition_log *log, const uint8_t *bytes, size_t len, int32_t leader_epoch,
                         int64_t *base_offset_out) {
    assert(log != NULL && leader_epoch >= 0);
    if (leader_epoch < partition_log_last_epoch(log)) return PARTITION_LOG_EEPOCH;
    int64_t base = partition_log_end_offset(log);
    int rc = pl_append_common(log, bytes, len, leader_epoch, -1);
    if (rc == 0 && base_offset_out) *base_offset_out = base;
    return rc;
}

int partition_log_append_replica(partition_log *log, const uint8_t *bytes, size_t len) {
    assert(log != NULL);
    return pl_append_common(log, bytes, len, -1, partition_log_end_offset(log));
}

/* ---- read ----------------------------------------------------------------------------------- */

/* The segment holding offset (start <= offset < end). */
static partition_log_segment *pl_segment_for(partition_log *log, int64_t offset) {
    size_t lo = 0, hi = log->segment_count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segments[mid].base_offset <= offset)
            lo = mid;
        else
            hi = mid;
    }
    partition_log_segment *seg = &log->segments[lo];
    assert(seg->base_offset <= offset || lo == 0);
    return seg;
}

/* Position of the last indexed batch at or before offset. */
static int64_t pl_index_lookup(const partition_log_segment *seg, int64_t offset) {
    size_t lo = 0, hi = seg->index_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->base_offset + seg->index[mid].relative_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : seg->index[lo - 1].position;
}

/* From position, finds the batch whose last offset is >= offset. */
/* Position of the newest tail batch starting at or before offset, or -1 (offset
 * precedes the tail, or seg is not the active segment). */
static int64_t pl_tail_lookup(const partition_log *log, const partition_log_segment *seg,
                              int64_t offset) {
    if (seg != log->segments + log->segment_count - 1) return -1;
    for (size_t k = log->tail_count; k > 0; k--) {
        const partition_log_tail_entry *e =
            &log->tail[(log->tail_first + k - 1) % PARTITION_LOG_TAIL_BATCHES];
        if (e->base_offset <= offset) return e->position;
    }
    return -1;
}

/* Finds the batch of seg holding offset: its position and size. */
static int pl_seek(partition_log *log, const partition_log_segment *seg, int64_t offset,
                   int64_t *position, size_t *total) {
    /* Both give a batch start at or before offset; the scan below finds its batch.
     * The tail holds the newest batches one after the other, so a position from it
     * is the very batch, at or after anything the index could offer. */
    int64_t pos = pl_tail_lookup(log, seg, offset);
    if (pos < 0) pos = pl_index_lookup(seg, offset);
    uint8_t buf[RECORD_BATCH_HEADER_BYTES];
    const uint8_t *hdr;
    for (;;) {
        if (pos >= seg->size_bytes) return PARTITION_LOG_EIO; /* memory and file disagree */
        int io = 0;
        if (!pl_read_header(log, seg->log_file, pos, seg->size_bytes, 0, buf, &hdr, &io))
            return io ? io : PARTITION_LOG_EIO;
        if (record_batch_last_offset(hdr) >= offset) break;
        pos += (int64_t)record_batch_total_bytes(hdr);
    }
    *position = pos;
    *total = record_batch_total_bytes(hdr);
    return 0;
}

/* Where a read at offset of up to bytes_max bytes lies: *seg_out, from *position,
 * *bytes long (0 at the log end). */
static int pl_locate(partition_log *log, int64_t offset, size_t bytes_max,
                     partition_log_segment **seg_out, int64_t *position, size_t *bytes) {
    *bytes = 0;
    if (log->failed) return PARTITION_LOG_EFAILED;
    if (offset < log->start_offset || offset > partition_log_end_offset(log))
        return PARTITION_LOG_ERANGE;
    if (offset == partition_log_end_offset(log)) return 0;
    partition_log_segment *seg = pl_segment_for(log, offset);
    if (offset >= seg->end_offset) seg++; /* only an empty active segment ends there */
    assert(seg < log->segments + log->segment_count);
    int64_t pos;
    size_t first;
    int rc = pl_seek(log, seg, offset, &pos, &first);
    if (rc) return rc;
    size_t n = first;
    int io = 0;
    uint8_t buf[RECORD_BATCH_HEADER_BYTES];
    const uint8_t *hdr;
    while (
        pos + (int64_t)n < seg->size_bytes &&
        pl_read_header(log, seg->log_file, pos + (int64_t)n, seg->size_bytes, 0, buf, &hdr, &io) &&
        n + record_batch_total_bytes(hdr) <= bytes_max)
        n += record_batch_total_bytes(hdr);
    if (io) return io;
    *seg_out = seg;
    *position = pos;
    *bytes = n;
    return 0;
}

int partition_log_read(partition_log *log, int64_t offset, size_t bytes_max,
                       partition_log_buf *out) {
    assert(log != NULL && out != NULL);
    out->len = 0;
    partition_log_segment *seg;
    int64_t pos;
    size_t bytes;
    int rc = pl_locate(log, offset, bytes_max, &seg, &pos, &bytes);
    if (rc || bytes == 0) return rc;
    if (pl_grow((void **)&out->bytes, &out->cap, bytes, 1)) return PARTITION_LOG_ENOMEM;
    int64_t got = log->fs->pread_file(log->fs->ctx, seg->log_file, pos, out->bytes, bytes);
    if (got != (int64_t)bytes) return PARTITION_LOG_EIO;
    out->len = bytes;
    return 0;
}

int partition_log_read_view(partition_log *log, int64_t offset, size_t bytes_max,
                            const uint8_t **bytes_out, size_t *len_out) {
    assert(log != NULL && bytes_out != NULL && len_out != NULL);
    *bytes_out = NULL;
    *len_out = 0;
    partition_log_segment *seg;
    int64_t pos;
    size_t bytes;
    int rc = pl_locate(log, offset, bytes_max, &seg, &pos, &bytes);
    if (rc || bytes == 0) return rc;
    if (!log->fs->view_file && pl_grow((void **)&log->read_buf, &log->read_cap, bytes, 1))
        return PARTITION_LOG_ENOMEM;
    if (pl_pread(log, seg->log_file, pos, bytes, log->read_buf, bytes_out) != (int64_t)bytes)
        return PARTITION_LOG_EIO;
    *len_out = bytes;
    return 0;
}

void partition_log_buf_free(partition_log_buf *buf) {
    free(buf->bytes);
    *buf = (partition_log_buf){0};
}

int partition_log_each_header(partition_log *log, partition_log_header_fn *each, void *arg) {
    assert(log != NULL && each != NULL);
    if (log->failed) return PARTITION_LOG_EFAILED;
    uint8_t buf[RECORD_BATCH_HEADER_BYTES];
    const uint8_t *hdr;
    for (size_t i = 0; i < log->segment_count; i++) {
        const partition_log_segment *seg = &log->segments[i];
        for (int64_t pos = 0; pos < seg->size_bytes;) {
            int io = 0;
            if (!pl_read_header(log, seg->log_file, pos, seg->size_bytes, 0, buf, &hdr, &io))
                return io ? io : PARTITION_LOG_EIO; /* memory and file disagree */
            if (each(arg, hdr)) return 0;
            pos += (int64_t)record_batch_total_bytes(hdr);
        }
    }
    return 0;
}

/* ---- truncation -------------------------------------------------------------------------- */

static int pl_truncate_fully(partition_log *log, int64_t start_offset) {
    int rc = pl_drop_segments_from(log, 0);
    if (rc == 0) rc = pl_new_segment(log, start_offset);
    if (rc) return rc;
    log->start_offset = start_offset;
    return 0;
}

/* Cuts the segment holding end_offset at the batch containing it. */
static int pl_truncate_segment(partition_log *log, partition_log_segment *seg, int64_t end_offset) {
    const storage *fs = log->fs;
    int64_t pos, valid, file_bytes;
    size_t total;
    int rc = pl_seek(log, seg, end_offset, &pos, &total);
    if (rc == 0) rc = pl_io(log, fs->truncate_file(fs->ctx, seg->log_file, pos));
    if (rc == 0) rc = pl_scan_segment(log, seg, false, NULL, &valid, &file_bytes);
    if (rc) return log->failed = true, rc;
    assert(valid == pos && file_bytes == pos);
    seg->dirty = true;
    return pl_io(log, fs->truncate_file(fs->ctx, seg->index_file,
                                        (int64_t)(seg->index_count * PL_INDEX_ENTRY_BYTES)));
}

int partition_log_truncate_to(partition_log *log, int64_t end_offset) {
    assert(log != NULL && end_offset >= 0);
    if (log->failed) return PARTITION_LOG_EFAILED;
    if (end_offset >= partition_log_end_offset(log)) return 0;
    int rc;
    if (end_offset <= log->start_offset) {
        rc = pl_truncate_fully(log, end_offset);
    } else {
        partition_log_segment *seg = pl_segment_for(log, end_offset);
        size_t i = (size_t)(seg - log->segments);
        if (seg->base_offset == end_offset && i > 0) {
            rc = pl_drop_segments_from(log, i);
        } else {
            rc = pl_drop_segments_from(log, i + 1);
            if (rc == 0) rc = pl_truncate_segment(log, pl_active(log), end_offset);
        }
    }
    /* Emptied only now: pl_truncate_segment seeks with it to find the cut. */
    log->tail_count = 0;
    if (rc) return rc;
    bool changed = false;
    pl_epoch_truncate_end(log, partition_log_end_offset(log), &changed);
    assert(partition_log_end_offset(log) <= end_offset || end_offset <= log->start_offset);
    return changed ? pl_epoch_write(log) : 0;
}

int partition_log_restart_at(partition_log *log, int64_t start_offset) {
    assert(log != NULL && start_offset >= 0);
    if (log->failed) return PARTITION_LOG_EFAILED;
    int rc = pl_truncate_fully(log, start_offset);
    log->tail_count = 0;
    if (rc) return rc;
    bool changed = false;
    pl_epoch_truncate_end(log, 0, &changed); /* every epoch described the old records */
    return changed ? pl_epoch_write(log) : 0;
}

/* ---- positions and epochs ------------------------------------------------------------ */

int32_t partition_log_last_epoch(const partition_log *log) {
    return log->epoch_count ? log->epochs[log->epoch_count - 1].epoch : -1;
}

void partition_log_end_offset_for_epoch(const partition_log *log, int32_t epoch, int32_t *epoch_out,
                                        int64_t *end_out) {
    *epoch_out = -1;
    *end_out = -1;
    if (epoch < 0 || log->epoch_count == 0) return;
    if (epoch == partition_log_last_epoch(log)) {
        *epoch_out = epoch;
        *end_out = partition_log_end_offset(log);
        return;
    }
    size_t higher = 0; /* the first entry with a higher epoch */
    while (higher < log->epoch_count && log->epochs[higher].epoch <= epoch) higher++;
    if (higher == log->epoch_count) return; /* above the latest epoch: unknown */
    *epoch_out = higher == 0 ? epoch : log->epochs[higher - 1].epoch;
    *end_out = log->epochs[higher].start_offset;
}

size_t partition_log_epoch_entries(const partition_log *log,
                                   const partition_log_epoch_entry **entries_out) {
    *entries_out = log->epochs;
    return log->epoch_count;
}

/* ---- sync and retention --------------------------------------------------------------- */

int partition_log_sync(partition_log *log) {
    if (log->failed) return PARTITION_LOG_EFAILED;
    const storage *fs = log->fs;
    for (size_t i = 0; i < log->segment_count; i++) {
        partition_log_segment *seg = &log->segments[i];
        if (!seg->dirty) continue;
        int rc = pl_io(log, fs->sync_file(fs->ctx, seg->log_file));
        if (rc == 0) rc = pl_io(log, fs->sync_file(fs->ctx, seg->index_file));
        if (rc) return rc;
        seg->dirty = false;
    }
    return 0;
}

static bool pl_expired(const partition_log *log, const partition_log_segment *seg, int64_t now_ms,
                       int64_t total_bytes) {
    const partition_log_config *c = &log->config;
    if (c->retention_ms >= 0 && seg->max_timestamp_ms >= 0 &&
        now_ms - seg->max_timestamp_ms > c->retention_ms)
        return true;
    return c->retention_bytes >= 0 && total_bytes - seg->size_bytes >= c->retention_bytes;
}

int partition_log_apply_retention(partition_log *log, int64_t now_ms) {
    if (log->failed) return PARTITION_LOG_EFAILED;
    int64_t total = 0;
    for (size_t i = 0; i < log->segment_count; i++) total += log->segments[i].size_bytes;
    size_t n = 0;
    while (n + 1 < log->segment_count && pl_expired(log, &log->segments[n], now_ms, total)) {
        int rc = pl_remove_segment_files(log, &log->segments[n]);
        if (rc) return rc;
        total -= log->segments[n].size_bytes;
        pl_segment_free(log, &log->segments[n]);
        n++;
    }
    if (n == 0) return 0;
    memmove(log->segments, log->segments + n, (log->segment_count - n) * sizeof *log->segments);
    log->segment_count -= n;
    log->start_offset = log->segments[0].base_offset;
    bool changed = false;
    pl_epoch_truncate_start(log, log->start_offset, &changed);
    int rc = changed ? pl_epoch_write(log) : 0;
    return rc ? rc : (int)n;
}

int partition_log_assign_epoch(partition_log *log, int32_t epoch) {
    assert(log != NULL && epoch >= 0);
    if (log->failed) return PARTITION_LOG_EFAILED;
    bool changed = false;
    int rc = pl_epoch_assign(log, epoch, partition_log_end_offset(log), &changed);
    if (rc == 0 && changed) rc = pl_epoch_write(log);
    return rc;
}
