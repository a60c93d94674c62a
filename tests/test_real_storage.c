/* test_real_storage.c — the POSIX storage against a temporary directory: every
 * operation, sorted listing through subdirectories, names that would leave the
 * root, the descriptor cache past its size, and a partition log that is written,
 * torn at its tail, and recovered from real files. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partition_log.h"
#include "posix_storage.h"
#include "record_batch.h"

static char root[256];

static void make_root(void) {
    snprintf(root, sizeof root, "%s/streamlab-storage-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(real_storage, .init = make_root, .fini = remove_root);

static posix_storage *open_ok(void) {
    char err[256] = "";
    posix_storage *ps = posix_storage_open(root, err, sizeof err);
    cr_assert_not_null(ps, "%s", err);
    return ps;
}

struct names {
    char all[2048];
};
static void collect(void *arg, const char *name) {
    struct names *n = arg;
    strcat(n->all, name);
    strcat(n->all, ",");
}

Test(real_storage, operations) {
    posix_storage *ps = open_ok();
    const storage *s = posix_storage_api(ps);
    cr_assert_eq(s->create(s->ctx, "a-0/f.log"), 0);
    cr_assert_eq(s->create(s->ctx, "a-0/f.log"), STORAGE_EEXIST);
    cr_assert_eq(s->size(s->ctx, "a-0/missing"), STORAGE_ENOENT);
    cr_assert_eq(s->append(s->ctx, "a-0/missing", "x", 1), STORAGE_ENOENT);
    cr_assert_eq(s->append(s->ctx, "a-0/f.log", "hello", 5), 0);
    cr_assert_eq(s->append(s->ctx, "a-0/f.log", " world", 6), 0);
    char buf[64] = "";
    cr_assert_eq(s->pread(s->ctx, "a-0/f.log", 0, buf, sizeof buf), 11);
    cr_assert_eq(memcmp(buf, "hello world", 11), 0);
    cr_assert_eq(s->pread(s->ctx, "a-0/f.log", 6, buf, 3), 3);
    cr_assert_eq(memcmp(buf, "wor", 3), 0);
    cr_assert_eq(s->pread(s->ctx, "a-0/f.log", 11, buf, 3), 0);
    cr_assert_eq(s->truncate(s->ctx, "a-0/f.log", 5), 0);
    cr_assert_eq(s->size(s->ctx, "a-0/f.log"), 5);
    cr_assert_eq(s->sync(s->ctx, "a-0/f.log"), 0);
    /* the bytes are in a real file under the root */
    char path[512];
    snprintf(path, sizeof path, "%s/a-0/f.log", root);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 5);
    /* rename replaces the target; the cached descriptor follows the file */
    cr_assert_eq(s->create(s->ctx, "a-0/g.tmp"), 0);
    cr_assert_eq(s->append(s->ctx, "a-0/g.tmp", "new", 3), 0);
    cr_assert_eq(s->rename(s->ctx, "a-0/g.tmp", "a-0/f.log"), 0);
    cr_assert_eq(s->size(s->ctx, "a-0/f.log"), 3);
    cr_assert_eq(s->size(s->ctx, "a-0/g.tmp"), STORAGE_ENOENT);
    cr_assert_eq(s->append(s->ctx, "a-0/f.log", "er", 2), 0);
    cr_assert_eq(s->sync(s->ctx, "a-0/f.log"), 0);
    cr_assert_eq(s->pread(s->ctx, "a-0/f.log", 0, buf, sizeof buf), 5);
    cr_assert_eq(memcmp(buf, "newer", 5), 0);
    cr_assert_eq(s->rename(s->ctx, "a-0/nothing", "a-0/x"), STORAGE_ENOENT);
    cr_assert_eq(s->remove(s->ctx, "a-0/f.log"), 0);
    cr_assert_eq(s->remove(s->ctx, "a-0/f.log"), STORAGE_ENOENT);
    cr_assert_eq(s->size(s->ctx, "a-0/f.log"), STORAGE_ENOENT);
    posix_storage_close(ps);
}

Test(real_storage, list_is_sorted_and_prefixed) {
    posix_storage *ps = open_ok();
    const storage *s = posix_storage_api(ps);
    const char *names[] = {"t-1/b", "t-1/a", "t-10/a", "t-0/z", "top", "t-1/sub/c", "u"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_eq(s->create(s->ctx, names[i]), 0, "%s", names[i]);
    struct names n = {""};
    cr_assert_eq(s->list(s->ctx, "t-1/", collect, &n), 0);
    cr_assert_str_eq(n.all, "t-1/a,t-1/b,t-1/sub/c,");
    memset(&n, 0, sizeof n);
    cr_assert_eq(s->list(s->ctx, "t-1", collect, &n), 0);
    cr_assert_str_eq(n.all, "t-1/a,t-1/b,t-1/sub/c,t-10/a,");
    memset(&n, 0, sizeof n);
    cr_assert_eq(s->list(s->ctx, "", collect, &n), 0);
    cr_assert_str_eq(n.all, "t-0/z,t-1/a,t-1/b,t-1/sub/c,t-10/a,top,u,");
    memset(&n, 0, sizeof n);
    cr_assert_eq(s->list(s->ctx, "none/", collect, &n), 0);
    cr_assert_str_eq(n.all, "");
    posix_storage_close(ps);
}

Test(real_storage, names_cannot_leave_the_root) {
    posix_storage *ps = open_ok();
    const storage *s = posix_storage_api(ps);
    const char *bad[] = {"/etc/passwd", "../x", "a/../../x", "a//b", "a/", "", ".", "a/./b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(s->create(s->ctx, bad[i]), STORAGE_EIO, "%s", bad[i]);
        cr_assert_eq(s->size(s->ctx, bad[i]), STORAGE_EIO, "%s", bad[i]);
    }
    cr_assert_gt(posix_storage_errors(ps), 0);
    posix_storage_close(ps);
}

Test(real_storage, more_files_than_cached_descriptors) {
    posix_storage *ps = open_ok();
    const storage *s = posix_storage_api(ps);
    char name[64];
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "d-%d/f", i);
        cr_assert_eq(s->create(s->ctx, name), 0);
        cr_assert_eq(s->append(s->ctx, name, &i, sizeof i), 0);
    }
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "d-%d/f", i);
        int got = -1;
        cr_assert_eq(s->append(s->ctx, name, &i, sizeof i), 0);
        cr_assert_eq(s->pread(s->ctx, name, 4, &got, sizeof got), 4);
        cr_assert_eq(got, i);
        cr_assert_eq(s->sync(s->ctx, name), 0);
    }
    posix_storage_close(ps);
}

/* Handles: the same results as the named calls, also once the descriptor cache
 * evicted their file, and ENOENT (not another file) after a remove or rename. */
Test(real_storage, handles) {
    posix_storage *ps = open_ok();
    const storage *s = posix_storage_api(ps);
    storage_file *f, *g;
    cr_assert_eq(s->open(s->ctx, "h-0/f", &f), STORAGE_ENOENT);
    cr_assert_eq(s->open(s->ctx, "../f", &f), STORAGE_EIO);
    cr_assert_eq(s->create(s->ctx, "h-0/f"), 0);
    cr_assert_eq(s->open(s->ctx, "h-0/f", &f), 0);
    cr_assert_eq(s->append_file(s->ctx, f, "hello", 5), 0);
    cr_assert_eq(s->append(s->ctx, "h-0/f", " world", 6), 0);
    cr_assert_eq(s->size_file(s->ctx, f), 11);
    char buf[16] = "";
    cr_assert_eq(s->pread_file(s->ctx, f, 6, buf, sizeof buf), 5);
    cr_assert_eq(memcmp(buf, "world", 5), 0);
    cr_assert_eq(s->truncate_file(s->ctx, f, 5), 0);
    cr_assert_eq(s->sync_file(s->ctx, f), 0);
    char name[64];
    for (int i = 0; i < 300; i++) { /* more than the cache holds: f's descriptor goes */
        snprintf(name, sizeof name, "e-%d/f", i);
        cr_assert_eq(s->create(s->ctx, name), 0);
    }
    cr_assert_eq(s->append_file(s->ctx, f, "!", 1), 0);
    cr_assert_eq(s->size(s->ctx, "h-0/f"), 6);
    cr_assert_eq(s->open(s->ctx, "h-0/f", &g), 0);
    cr_assert_eq(s->create(s->ctx, "h-0/g"), 0);
    cr_assert_eq(s->rename(s->ctx, "h-0/g", "h-0/f"), 0);
    cr_assert_eq(s->size_file(s->ctx, f), STORAGE_ENOENT, "renamed over: not the new file");
    cr_assert_eq(s->remove(s->ctx, "h-0/f"), 0);
    cr_assert_eq(s->append_file(s->ctx, g, "x", 1), STORAGE_ENOENT);
    cr_assert_eq(s->sync_file(s->ctx, f), STORAGE_ENOENT);
    s->close(s->ctx, g);
    s->close(s->ctx, f);
    posix_storage_close(ps);
}

static size_t make_batch(uint8_t *buf, size_t cap, int n, int64_t ts) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &cfg);
    uint8_t val[100];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < n; i++) {
        record_batch_record_in r = {
            .timestamp_ms = ts + i, .key_len = -1, .value = val, .value_len = sizeof val};
        cr_assert_eq(record_batch_builder_add(&b, &r), 0);
    }
    return record_batch_builder_finish(&b);
}

/* The core's recovery over real files: a torn tail is cut at the last whole batch. */
Test(real_storage, partition_log_recovers_from_real_files) {
    posix_storage *ps = open_ok();
    const storage *s = posix_storage_api(ps);
    partition_log_config c;
    partition_log_config_default(&c);
    c.segment_bytes = 4096;
    partition_log log;
    char err[128] = "";
    cr_assert_eq(partition_log_open(&log, s, "orders-0", &c, err, sizeof err), 0, "%s", err);
    uint8_t buf[8192];
    for (int i = 0; i < 50; i++) {
        int64_t base;
        size_t len = make_batch(buf, sizeof buf, 3, 1000 + i);
        cr_assert_eq(partition_log_append(&log, buf, len, 0, &base), 0);
        cr_assert_eq(base, 3 * i);
    }
    cr_assert_eq(partition_log_sync(&log), 0);
    partition_log_close(&log);
    posix_storage_close(ps);

    /* tear the last segment: half a batch of garbage at its end */
    struct names n = {""};
    ps = open_ok();
    s = posix_storage_api(ps);
    cr_assert_eq(s->list(s->ctx, "orders-0/", collect, &n), 0);
    cr_assert(strstr(n.all, "00000000000000000000.log") != NULL, "%s", n.all);
    char *last = NULL, *tok = strtok(n.all, ",");
    for (; tok; tok = strtok(NULL, ","))
        if (strstr(tok, ".log")) last = tok;
    cr_assert_not_null(last);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, last);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "\0\0\0\0\0\0\0\x09\0\0\x01\0\0garbage", 20), 20);
    close(fd);

    cr_assert_eq(partition_log_open(&log, s, "orders-0", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(partition_log_end_offset(&log), 150);
    partition_log_buf out = {0};
    cr_assert_eq(partition_log_read(&log, 149, 1 << 20, &out), 0);
    cr_assert_gt(out.len, 0);
    const uint8_t *view; /* no views in real mode: a copy in the log's buffer */
    size_t view_len;
    cr_assert_eq(partition_log_read_view(&log, 149, 1 << 20, &view, &view_len), 0);
    cr_assert_eq(view_len, out.len);
    cr_assert_eq(memcmp(view, out.bytes, out.len), 0);
    partition_log_buf_free(&out);
    partition_log_close(&log);
    posix_storage_close(ps);
}
