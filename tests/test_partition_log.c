/* test_partition_log.c — the partition log over mem_storage: rolls, reads at every
 * offset, KIP-74, truncation, recovery (torn tails at every byte, corrupt CRC,
 * missing index), the epoch cache, retention, power-off and fail-the-Nth-operation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mem_storage.h"
#include "partition_log.h"
#include "record_batch.h"

#define DIR "t-0"

/* A batch of n records with values of value_bytes bytes, timestamps from ts. */
static size_t make_batch(uint8_t *buf, size_t cap, int n, int value_bytes, int64_t ts) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &cfg);
    uint8_t val[512];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < n; i++) {
        record_batch_record_in r = {
            .timestamp_ms = ts + i, .key_len = -1, .value = val, .value_len = value_bytes};
        cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    }
    return record_batch_builder_finish(&b);
}

static partition_log_config small_config(void) {
    partition_log_config c;
    partition_log_config_default(&c);
    c.segment_bytes = 1000;
    c.index_interval_bytes = 200;
    return c;
}

static void open_ok(partition_log *log, const storage *fs, const partition_log_config *c) {
    char err[128] = "";
    int rc = partition_log_open(log, fs, DIR, c, err, sizeof err);
    cr_assert_eq(rc, 0, "open: %d %s", rc, err);
}

/* Appends `batches` batches of 1..4 records under epoch; returns the end offset. */
static int64_t fill(partition_log *log, int batches, int32_t epoch, int64_t ts) {
    uint8_t buf[4096];
    for (int i = 0; i < batches; i++) {
        size_t len = make_batch(buf, sizeof buf, 1 + i % 4, 40 + i % 7, ts + i);
        int64_t base;
        int64_t end = partition_log_end_offset(log);
        cr_assert_eq(partition_log_append(log, buf, len, epoch, &base), 0);
        cr_assert_eq(base, end);
    }
    return partition_log_end_offset(log);
}

/* Every offset in [start, end) reads back the batch containing it, valid. */
static void check_reads(partition_log *log) {
    partition_log_buf out = {0};
    int64_t start = partition_log_start_offset(log), end = partition_log_end_offset(log);
    for (int64_t o = start; o < end; o++) {
        cr_assert_eq(partition_log_read(log, o, 1, &out), 0, "offset %lld", (long long)o);
        cr_assert_geq(out.len, RECORD_BATCH_HEADER_BYTES);
        cr_assert_eq(record_batch_total_bytes(out.bytes), out.len);
        cr_assert_eq(record_batch_validate(out.bytes, out.len, NULL, 0), 0);
        cr_assert_leq(record_batch_base_offset(out.bytes), o);
        cr_assert_geq(record_batch_last_offset(out.bytes), o);
        for (size_t max = 1; max <= 4096; max *= 64) { /* the view reads the same bytes */
            const uint8_t *view;
            size_t view_len;
            cr_assert_eq(partition_log_read(log, o, max, &out), 0);
            cr_assert_eq(partition_log_read_view(log, o, max, &view, &view_len), 0);
            cr_assert_eq(view_len, out.len, "offset %lld max %zu", (long long)o, max);
            cr_assert_eq(memcmp(view, out.bytes, view_len), 0);
        }
    }
    cr_assert_eq(partition_log_read(log, end, 1000, &out), 0);
    cr_assert_eq(out.len, 0);
    const uint8_t *view;
    size_t view_len = 1;
    cr_assert_eq(partition_log_read_view(log, end, 1000, &view, &view_len), 0);
    cr_assert_eq(view_len, 0);
    cr_assert_eq(partition_log_read_view(log, end + 1, 1000, &view, &view_len),
                 PARTITION_LOG_ERANGE);
    cr_assert_eq(partition_log_read(log, end + 1, 1000, &out), PARTITION_LOG_ERANGE);
    if (start > 0)
        cr_assert_eq(partition_log_read(log, start - 1, 1000, &out), PARTITION_LOG_ERANGE);
    partition_log_buf_free(&out);
}

struct count_ctx {
    const char *suffix;
    size_t n;
};
static void count_each(void *arg, const char *name) {
    struct count_ctx *c = arg;
    size_t a = strlen(name), b = strlen(c->suffix);
    if (a >= b && strcmp(name + a - b, c->suffix) == 0) c->n++;
}
static size_t count_files(const storage *fs, const char *suffix) {
    struct count_ctx c = {suffix, 0};
    fs->list(fs->ctx, DIR "/", count_each, &c);
    return c.n;
}
static int count_batch(void *arg, const uint8_t *b, size_t len) {
    return record_batch_validate(b, len, NULL, 0) != 0;
}
static char *seg_name(const partition_log *log, size_t i, const char *ext, char *buf) {
    sprintf(buf, DIR "/%020lld.%s", (long long)log->segments[i].base_offset, ext);
    return buf;
}

Test(partition_log, append_read_across_rolls) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), 0);
    int64_t end = fill(&log, 60, 0, 1000);
    cr_assert_gt(log.segment_count, 4);
    cr_assert_eq(count_files(fs, ".log"), log.segment_count);
    check_reads(&log);
    /* bytes_max bounds the read, whole batches only, in one segment */
    partition_log_buf out = {0};
    cr_assert_eq(partition_log_read(&log, 0, 400, &out), 0);
    cr_assert_leq(out.len, 400);
    cr_assert_eq(record_batch_split(out.bytes, out.len, count_batch, NULL), out.len);
    partition_log_buf_free(&out);
    /* reopen: same state */
    size_t segs = log.segment_count;
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), end);
    cr_assert_eq(log.segment_count, segs);
    check_reads(&log);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

Test(partition_log, kip74_first_batch_larger_than_max) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    uint8_t buf[4096];
    size_t len = make_batch(buf, sizeof buf, 3, 300, 5);
    cr_assert_eq(partition_log_append(&log, buf, len, 0, NULL), 0);
    cr_assert_eq(partition_log_append(&log, buf, len, 0, NULL), 0);
    partition_log_buf out = {0};
    cr_assert_eq(partition_log_read(&log, 1, 10, &out), 0);
    cr_assert_eq(out.len, len);
    cr_assert_eq(record_batch_base_offset(out.bytes), 0);
    cr_assert_eq(record_batch_partition_leader_epoch(out.bytes), 0);
    partition_log_buf_free(&out);
    /* multi-batch append and invalid input */
    size_t a = make_batch(buf, sizeof buf, 2, 10, 5);
    size_t b = make_batch(buf + a, sizeof buf - a, 2, 10, 5);
    int64_t base;
    cr_assert_eq(partition_log_append(&log, buf, a + b, 0, &base), 0);
    cr_assert_eq(base, 6);
    cr_assert_eq(partition_log_end_offset(&log), 10);
    cr_assert_eq(partition_log_append(&log, buf, a + b - 1, 0, &base), PARTITION_LOG_EINVALID);
    buf[a - 1] ^= 1;
    cr_assert_eq(partition_log_append(&log, buf, a, 0, &base), PARTITION_LOG_EINVALID);
    cr_assert_eq(partition_log_end_offset(&log), 10);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

Test(partition_log, truncate_then_append) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    int64_t end = fill(&log, 40, 1, 0);
    for (int64_t cut = end - 1; cut > 0; cut -= 7) {
        cr_assert_eq(partition_log_truncate_to(&log, cut), 0);
        int64_t e = partition_log_end_offset(&log);
        cr_assert_leq(e, cut);
        cr_assert_gt(e, cut - 4);
        check_reads(&log);
        fill(&log, 3, 1, 0);
        check_reads(&log);
        partition_log_close(&log);
        open_ok(&log, fs, &c);
        check_reads(&log);
    }
    cr_assert_eq(partition_log_truncate_to(&log, 0), 0);
    cr_assert_eq(partition_log_end_offset(&log), 0);
    cr_assert_eq(log.segment_count, 1);
    fill(&log, 5, 2, 0);
    check_reads(&log);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

/* A follower whose log lies wholly below the leader's log start starts again there. */
Test(partition_log, restart_at_above_the_end) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    fill(&log, 20, 3, 0);
    cr_assert_eq(partition_log_last_epoch(&log), 3);
    cr_assert_eq(partition_log_restart_at(&log, 1000), 0);
    cr_assert_eq(partition_log_start_offset(&log), 1000);
    cr_assert_eq(partition_log_end_offset(&log), 1000);
    cr_assert_eq(partition_log_last_epoch(&log), -1, "the epochs described the old records");
    cr_assert_eq(log.segment_count, 1);
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_start_offset(&log), 1000, "survives a reopen");
    cr_assert_eq(partition_log_end_offset(&log), 1000);
    uint8_t buf[4096];
    size_t len = make_batch(buf, sizeof buf, 3, 40, 0);
    record_batch_set_base_offset(buf, 1000);
    record_batch_set_partition_leader_epoch(buf, 7);
    cr_assert_eq(partition_log_append_replica(&log, buf, len), 0);
    cr_assert_eq(partition_log_end_offset(&log), 1003);
    cr_assert_eq(partition_log_last_epoch(&log), 7);
    check_reads(&log);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

Test(partition_log, torn_tail_at_every_byte) {
    partition_log_config c = small_config();
    c.segment_bytes = 1 << 20;
    uint8_t batch[4096];
    for (int64_t cut = 1;; cut++) {
        mem_storage *mem = mem_storage_create();
        const storage *fs = mem_storage_view(mem, 1);
        partition_log log;
        open_ok(&log, fs, &c);
        int64_t prev_end = fill(&log, 8, 0, 0);
        char name[256];
        seg_name(&log, 0, "log", name);
        int64_t prev_size = fs->size(fs->ctx, name);
        size_t len = make_batch(batch, sizeof batch, 3, 50, 9);
        cr_assert_eq(partition_log_append(&log, batch, len, 0, NULL), 0);
        partition_log_close(&log);
        if (cut >= (int64_t)len) {
            mem_storage_destroy(mem);
            break;
        }
        fs->truncate(fs->ctx, name, prev_size + cut);
        open_ok(&log, fs, &c);
        cr_assert_eq(partition_log_end_offset(&log), prev_end, "cut %lld", (long long)cut);
        cr_assert_eq(fs->size(fs->ctx, name), prev_size);
        check_reads(&log);
        fill(&log, 2, 0, 0);
        check_reads(&log);
        partition_log_close(&log);
        mem_storage_destroy(mem);
    }
}

Test(partition_log, corrupt_crc_and_missing_index) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    c.segment_bytes = 1 << 20;
    c.index_interval_bytes = 100;
    partition_log log;
    open_ok(&log, fs, &c);
    int64_t mid = fill(&log, 20, 0, 0);
    size_t index_count = log.segments[0].index_count;
    cr_assert_gt(index_count, 3);
    char name[256], iname[256];
    seg_name(&log, 0, "log", name);
    seg_name(&log, 0, "index", iname);
    int64_t size = fs->size(fs->ctx, name);
    fill(&log, 1, 0, 0);
    partition_log_close(&log);
    /* flip a byte in the last batch's value: CRC mismatch */
    int64_t full = fs->size(fs->ctx, name);
    uint8_t all[8192];
    cr_assert_eq(fs->pread(fs->ctx, name, 0, all, sizeof all), full);
    all[full - 3] ^= 0x40;
    fs->truncate(fs->ctx, name, 0);
    fs->append(fs->ctx, name, all, (size_t)full);
    cr_assert_eq(fs->remove(fs->ctx, iname), 0);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), mid);
    cr_assert_eq(fs->size(fs->ctx, name), size);
    cr_assert_eq(log.segments[0].index_count, index_count);
    cr_assert_eq(fs->size(fs->ctx, iname), (int64_t)index_count * 8);
    check_reads(&log);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

Test(partition_log, empty_directory_and_empty_segment) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), 0);
    cr_assert_eq(partition_log_last_epoch(&log), -1);
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), 0);
    fill(&log, 30, 0, 0);
    cr_assert_gt(log.segment_count, 1);
    int64_t end = partition_log_end_offset(&log);
    /* an empty active segment */
    char name[256];
    seg_name(&log, log.segment_count - 1, "log", name);
    int64_t base = log.segments[log.segment_count - 1].base_offset;
    partition_log_close(&log);
    fs->truncate(fs->ctx, name, 0);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), base);
    cr_assert_leq(base, end);
    check_reads(&log);
    cr_assert_eq(partition_log_delete(&log), 0);
    cr_assert_eq(mem_storage_bytes(mem, 1), 0);
    cr_assert_eq(count_files(fs, ""), 0);
    mem_storage_destroy(mem);
}

Test(partition_log, epochs_and_offset_for_leader_epoch) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    int64_t e1 = fill(&log, 3, 1, 0); /* epoch 1 starts at 0 */
    int64_t e3 = fill(&log, 3, 3, 0); /* epoch 3 starts at e1 */
    int64_t e4 = fill(&log, 3, 4, 0); /* epoch 4 starts at e3 */
    uint8_t buf[512];
    size_t len = make_batch(buf, sizeof buf, 1, 1, 0);
    cr_assert_eq(partition_log_append(&log, buf, len, 2, NULL), PARTITION_LOG_EEPOCH);
    const partition_log_epoch_entry *e;
    cr_assert_eq(partition_log_epoch_entries(&log, &e), 3);
    cr_assert_eq(e[1].epoch, 3);
    cr_assert_eq(e[1].start_offset, e1);
    int32_t ep;
    int64_t off;
    partition_log_end_offset_for_epoch(&log, 4, &ep, &off);
    cr_assert(ep == 4 && off == e4);
    partition_log_end_offset_for_epoch(&log, 3, &ep, &off);
    cr_assert(ep == 3 && off == e3);
    partition_log_end_offset_for_epoch(&log, 2, &ep, &off);
    cr_assert(ep == 1 && off == e1);
    partition_log_end_offset_for_epoch(&log, 0, &ep, &off);
    cr_assert(ep == 0 && off == 0);
    partition_log_end_offset_for_epoch(&log, 5, &ep, &off);
    cr_assert(ep == -1 && off == -1);
    /* reopen with the checkpoint, then without it: the same cache */
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_epoch_entries(&log, &e), 3);
    cr_assert_eq(e[2].start_offset, e3);
    partition_log_close(&log);
    fs->remove(fs->ctx, DIR "/leader-epoch-checkpoint");
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_epoch_entries(&log, &e), 3);
    cr_assert_eq(e[2].epoch, 4);
    cr_assert_eq(e[2].start_offset, e3);
    /* truncation trims the cache; a replica append adds epochs from batches */
    cr_assert_eq(partition_log_truncate_to(&log, e1 + 1), 0);
    int64_t end = partition_log_end_offset(&log);
    cr_assert_eq(partition_log_epoch_entries(&log, &e), end > e1 ? 2 : 1);
    cr_assert_eq(partition_log_truncate_to(&log, e1), 0);
    cr_assert_eq(partition_log_epoch_entries(&log, &e), 1);
    record_batch_set_base_offset(buf, e1);
    record_batch_set_partition_leader_epoch(buf, 7);
    cr_assert_eq(partition_log_append_replica(&log, buf, len), 0);
    record_batch_set_base_offset(buf, e1 + 5);
    cr_assert_eq(partition_log_append_replica(&log, buf, len), PARTITION_LOG_ESEQUENCE);
    cr_assert_eq(partition_log_last_epoch(&log), 7);
    cr_assert_eq(partition_log_epoch_entries(&log, &e), 2);
    cr_assert_eq(e[1].start_offset, e1);
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_last_epoch(&log), 7);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

Test(partition_log, retention_by_bytes_and_time) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log_config c = small_config();
    partition_log log;
    open_ok(&log, fs, &c);
    fill(&log, 20, 0, 1000);  /* old timestamps */
    fill(&log, 20, 1, 50000); /* new timestamps */
    size_t segs = log.segment_count;
    c.retention_ms = 10000;
    log.config = c;
    int n = partition_log_apply_retention(&log, 55000);
    cr_assert_gt(n, 0);
    cr_assert_eq(log.segment_count, segs - (size_t)n);
    for (size_t i = 0; i + 1 < log.segment_count; i++)
        cr_assert_geq(log.segments[i].max_timestamp_ms, 45000);
    cr_assert_eq(partition_log_start_offset(&log), log.segments[0].base_offset);
    check_reads(&log);
    c.retention_ms = -1;
    c.retention_bytes = 1500;
    log.config = c;
    cr_assert_gt(partition_log_apply_retention(&log, 55000), 0);
    int64_t total = 0;
    for (size_t i = 0; i < log.segment_count; i++) total += log.segments[i].size_bytes;
    cr_assert(log.segment_count == 1 || total - log.segments[0].size_bytes < 1500);
    cr_assert_geq(total, 1500);
    check_reads(&log);
    const partition_log_epoch_entry *e;
    partition_log_epoch_entries(&log, &e);
    cr_assert_geq(e[0].start_offset, partition_log_start_offset(&log));
    int64_t start = partition_log_start_offset(&log), end = partition_log_end_offset(&log);
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_start_offset(&log), start);
    cr_assert_eq(partition_log_end_offset(&log), end);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

Test(partition_log, power_off_loses_unsynced_suffix) {
    partition_log_config c = small_config();
    for (uint64_t rv = 0; rv < 40; rv++) {
        mem_storage *mem = mem_storage_create();
        const storage *fs = mem_storage_view(mem, 1);
        partition_log log;
        open_ok(&log, fs, &c);
        int64_t synced = fill(&log, 10 + (int)(rv % 7), 0, 0);
        cr_assert_eq(partition_log_sync(&log), 0);
        partition_log_buf before = {0};
        cr_assert_eq(partition_log_read(&log, 0, 1 << 20, &before), 0);
        int64_t end = fill(&log, 1 + (int)(rv % 9), rv % 2 ? 1 : 0, 0);
        partition_log_close(&log);
        mem_storage_power_off(mem, 1, rv * 2654435761u);
        open_ok(&log, fs, &c);
        int64_t got = partition_log_end_offset(&log);
        if (rv == 0) cr_assert_eq(got, synced);
        cr_assert(got >= synced && got <= end, "rv %llu", (unsigned long long)rv);
        check_reads(&log);
        partition_log_buf after = {0};
        cr_assert_eq(partition_log_read(&log, 0, 1 << 20, &after), 0);
        cr_assert_geq(after.len, 1);
        cr_assert_eq(
            memcmp(after.bytes, before.bytes, after.len < before.len ? after.len : before.len), 0);
        int32_t ep;
        int64_t off;
        partition_log_end_offset_for_epoch(&log, partition_log_last_epoch(&log), &ep, &off);
        cr_assert_eq(off, got);
        fill(&log, 2, 2, 0);
        check_reads(&log);
        partition_log_buf_free(&before);
        partition_log_buf_free(&after);
        partition_log_close(&log);
        mem_storage_destroy(mem);
    }
}

/* A sync fails, the owner reopens (as it must), and the batch the failed sync left
 * unsynced is back in the log: the next sync must make it durable, or a power-off
 * drops what the owner acknowledged after reopening. */
Test(partition_log, reopen_after_failed_sync_then_sync_makes_all_durable) {
    partition_log_config c = small_config();
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    partition_log log;
    open_ok(&log, fs, &c);
    fill(&log, 3, 0, 0);
    cr_assert_eq(partition_log_sync(&log), 0);
    int64_t end = fill(&log, 1, 0, 0);
    mem_storage_fail_after(mem, 1, 0);
    cr_assert_eq(partition_log_sync(&log), PARTITION_LOG_EIO);
    partition_log_close(&log);
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), end, "recovery keeps the unsynced batch");
    cr_assert_eq(partition_log_sync(&log), 0);
    partition_log_close(&log);
    mem_storage_power_off(mem, 1, 0); /* drops every unsynced byte */
    open_ok(&log, fs, &c);
    cr_assert_eq(partition_log_end_offset(&log), end, "the sync after open made it durable");
    check_reads(&log);
    partition_log_close(&log);
    mem_storage_destroy(mem);
}

/* One run of open/append/truncate/sync/retention; returns when an operation fails. */
static void workload(partition_log *log, const storage *fs, const partition_log_config *c) {
    char err[128];
    if (partition_log_open(log, fs, DIR, c, err, sizeof err) != 0) return;
    uint8_t buf[1024];
    for (int i = 0; i < 12; i++) {
        size_t len = make_batch(buf, sizeof buf, 2, 60, i * 1000);
        if (partition_log_append(log, buf, len, i / 4, NULL) != 0) break;
        if (i % 3 == 2 && partition_log_sync(log) != 0) break;
        if (i == 7 && partition_log_truncate_to(log, partition_log_end_offset(log) - 3) != 0) break;
        if (i == 10 && partition_log_apply_retention(log, 5000) < 0) break;
    }
    partition_log_close(log);
}

Test(partition_log, fail_nth_storage_operation) {
    partition_log_config c = small_config();
    c.retention_bytes = 600;
    for (int64_t n = 0; n < 400; n++) {
        mem_storage *mem = mem_storage_create();
        const storage *fs = mem_storage_view(mem, 1);
        partition_log log;
        workload(&log, fs, &c); /* a first clean life */
        mem_storage_fail_after(mem, 1, n);
        workload(&log, fs, &c);
        mem_storage_fail_after(mem, 1, -1);
        if (n % 2) mem_storage_power_off(mem, 1, (uint64_t)n);
        open_ok(&log, fs, &c);
        check_reads(&log);
        const partition_log_epoch_entry *e;
        size_t k = partition_log_epoch_entries(&log, &e);
        for (size_t i = 0; i < k; i++)
            cr_assert_lt(e[i].start_offset, partition_log_end_offset(&log));
        fill(&log, 3, 9, 0);
        check_reads(&log);
        partition_log_close(&log);
        mem_storage_destroy(mem);
    }
}
