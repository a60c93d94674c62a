/* test_mem_storage.c — namespaces, strcmp-ordered listing, power-off durability rules,
 * torn writes and fault injection of the simulator's in-memory storage. */
#include <criterion/criterion.h>
#include <string.h>

#include "mem_storage.h"

static int64_t rd(const storage *s, const char *name, char *buf, size_t cap) {
    int64_t n = s->pread(s->ctx, name, 0, buf, cap);
    if (n >= 0) buf[n] = 0;
    return n;
}

struct names {
    char all[512];
};
static void collect(void *arg, const char *name) {
    struct names *n = arg;
    strcat(n->all, name);
    strcat(n->all, ",");
}

Test(mem_storage, basic_ops_and_namespaces) {
    mem_storage *mem = mem_storage_create();
    const storage *a = mem_storage_view(mem, 1), *b = mem_storage_view(mem, 10);
    cr_assert_eq(a->create(a->ctx, "x/f"), 0);
    cr_assert_eq(a->create(a->ctx, "x/f"), STORAGE_EEXIST);
    cr_assert_eq(b->size(b->ctx, "x/f"), STORAGE_ENOENT);
    cr_assert_eq(a->append(a->ctx, "x/f", "hello", 5), 0);
    cr_assert_eq(a->append(a->ctx, "x/f", " world", 6), 0);
    char buf[64];
    cr_assert_eq(rd(a, "x/f", buf, sizeof buf - 1), 11);
    cr_assert_str_eq(buf, "hello world");
    cr_assert_eq(a->pread(a->ctx, "x/f", 6, buf, 3), 3);
    cr_assert_eq(a->pread(a->ctx, "x/f", 11, buf, 3), 0);
    cr_assert_eq(a->truncate(a->ctx, "x/f", 5), 0);
    cr_assert_eq(a->size(a->ctx, "x/f"), 5);
    cr_assert_eq(mem_storage_bytes(mem, 1), 5);
    cr_assert_eq(mem_storage_bytes(mem, 10), 0);
    b->create(b->ctx, "x/z");
    a->create(a->ctx, "x/b");
    a->create(a->ctx, "x/a");
    a->create(a->ctx, "xy");
    struct names n = {""};
    cr_assert_eq(a->list(a->ctx, "x/", collect, &n), 0);
    cr_assert_str_eq(n.all, "x/a,x/b,x/f,");
    cr_assert_eq(a->rename(a->ctx, "x/a", "x/f"), 0);
    cr_assert_eq(a->size(a->ctx, "x/f"), 0);
    cr_assert_eq(a->remove(a->ctx, "x/f"), 0);
    cr_assert_eq(a->remove(a->ctx, "x/f"), STORAGE_ENOENT);
    memset(&n, 0, sizeof n);
    a->list(a->ctx, "", collect, &n);
    cr_assert_str_eq(n.all, "x/b,xy,");
    mem_storage_destroy(mem);
}

Test(mem_storage, power_off_drops_unsynced_and_unsynced_creates) {
    mem_storage *mem = mem_storage_create();
    const storage *s = mem_storage_view(mem, 2);
    s->create(s->ctx, "d");
    s->append(s->ctx, "d", "abc", 3);
    s->sync(s->ctx, "d");
    s->append(s->ctx, "d", "def", 3);
    s->create(s->ctx, "new");
    s->append(s->ctx, "new", "zz", 2);
    mem_storage_power_off(mem, 2, 0);
    char buf[16];
    cr_assert_eq(rd(s, "d", buf, 15), 3);
    cr_assert_str_eq(buf, "abc");
    cr_assert_eq(s->size(s->ctx, "new"), STORAGE_ENOENT);
    /* a removed file stays removed */
    s->remove(s->ctx, "d");
    mem_storage_power_off(mem, 2, 0);
    cr_assert_eq(s->size(s->ctx, "d"), STORAGE_ENOENT);
    mem_storage_destroy(mem);
}

Test(mem_storage, torn_last_write_keeps_a_prefix) {
    for (uint64_t rv = 0; rv < 20; rv++) {
        mem_storage *mem = mem_storage_create();
        const storage *s = mem_storage_view(mem, 1);
        s->create(s->ctx, "a");
        s->create(s->ctx, "b");
        s->sync(s->ctx, "a");
        s->sync(s->ctx, "b");
        s->append(s->ctx, "a", "0123", 4);
        s->append(s->ctx, "b", "xyz", 3);
        s->append(s->ctx, "a", "4567", 4); /* the last write: torn */
        mem_storage_power_off(mem, 1, rv);
        cr_assert_eq(s->size(s->ctx, "b"), 0);
        char buf[16];
        int64_t n = rd(s, "a", buf, 15);
        cr_assert_eq(n, (int64_t)(rv % 9));
        cr_assert_eq(memcmp(buf, "01234567", (size_t)n), 0);
        mem_storage_destroy(mem);
    }
}

Test(mem_storage, rename_durable_only_after_sync) {
    mem_storage *mem = mem_storage_create();
    const storage *s = mem_storage_view(mem, 1);
    char buf[16];
    s->create(s->ctx, "ck");
    s->append(s->ctx, "ck", "old", 3);
    s->sync(s->ctx, "ck");
    s->create(s->ctx, "ck.tmp");
    s->append(s->ctx, "ck.tmp", "new", 3);
    s->sync(s->ctx, "ck.tmp");
    s->rename(s->ctx, "ck.tmp", "ck");
    cr_assert_eq(rd(s, "ck", buf, 15), 3);
    cr_assert_str_eq(buf, "new");
    mem_storage_power_off(mem, 1, 0);
    rd(s, "ck", buf, 15);
    cr_assert_str_eq(buf, "old");
    /* now with the sync after the rename */
    s->rename(s->ctx, "ck.tmp", "ck");
    s->sync(s->ctx, "ck");
    mem_storage_power_off(mem, 1, 0);
    rd(s, "ck", buf, 15);
    cr_assert_str_eq(buf, "new");
    cr_assert_eq(s->size(s->ctx, "ck.tmp"), STORAGE_ENOENT);
    mem_storage_destroy(mem);
}

Test(mem_storage, fail_after_fails_exactly_one_op) {
    mem_storage *mem = mem_storage_create();
    const storage *s = mem_storage_view(mem, 1);
    mem_storage_fail_after(mem, 1, 2);
    cr_assert_eq(s->create(s->ctx, "a"), 0);
    cr_assert_eq(s->append(s->ctx, "a", "x", 1), 0);
    cr_assert_eq(s->append(s->ctx, "a", "y", 1), STORAGE_EIO);
    cr_assert_eq(s->append(s->ctx, "a", "z", 1), 0);
    cr_assert_eq(s->size(s->ctx, "a"), 2);
    mem_storage_destroy(mem);
}

/* A handle does what the named calls do, counts for fault injection like them,
 * hands out views of the stored bytes, and sees ENOENT once its file is removed or
 * renamed (never the bytes of a file that took the name). */
Test(mem_storage, handles_match_named_calls) {
    mem_storage *mem = mem_storage_create();
    const storage *s = mem_storage_view(mem, 1);
    storage_file *f, *g;
    cr_assert_eq(s->open(s->ctx, "h", &f), STORAGE_ENOENT);
    s->create(s->ctx, "h");
    cr_assert_eq(s->open(s->ctx, "h", &f), 0);
    cr_assert_eq(s->append_file(s->ctx, f, "hello", 5), 0);
    cr_assert_eq(s->append(s->ctx, "h", " world", 6), 0);
    cr_assert_eq(s->size_file(s->ctx, f), 11);
    char buf[16] = "";
    cr_assert_eq(s->pread_file(s->ctx, f, 6, buf, sizeof buf), 5);
    cr_assert_eq(memcmp(buf, "world", 5), 0);
    const uint8_t *view;
    cr_assert_eq(s->view_file(s->ctx, f, 6, 3, &view), 3);
    cr_assert_eq(memcmp(view, "wor", 3), 0);
    cr_assert_eq(s->view_file(s->ctx, f, 11, 3, &view), 0);
    cr_assert_eq(s->truncate_file(s->ctx, f, 5), 0);
    cr_assert_eq(s->size(s->ctx, "h"), 5);
    cr_assert_eq(s->sync_file(s->ctx, f), 0);
    cr_assert_eq(s->append_file(s->ctx, f, "!", 1), 0);
    mem_storage_power_off(mem, 1, 0); /* the synced 5 bytes stay, the handle too */
    cr_assert_eq(s->size_file(s->ctx, f), 5);
    mem_storage_fail_after(mem, 1, 1);
    cr_assert_eq(s->size_file(s->ctx, f), 5);
    cr_assert_eq(s->append_file(s->ctx, f, "x", 1), STORAGE_EIO);
    cr_assert_eq(s->size_file(s->ctx, f), 5);
    /* remove and rename cut the handles loose */
    cr_assert_eq(s->open(s->ctx, "h", &g), 0);
    s->create(s->ctx, "other");
    cr_assert_eq(s->rename(s->ctx, "other", "h"), 0);
    cr_assert_eq(s->size_file(s->ctx, f), STORAGE_ENOENT);
    cr_assert_eq(s->append_file(s->ctx, g, "x", 1), STORAGE_ENOENT);
    s->close(s->ctx, g);
    cr_assert_eq(s->open(s->ctx, "h", &g), 0);
    cr_assert_eq(s->remove(s->ctx, "h"), 0);
    cr_assert_eq(s->sync_file(s->ctx, g), STORAGE_ENOENT);
    s->close(s->ctx, g);
    s->close(s->ctx, f);
    mem_storage_destroy(mem);
}
