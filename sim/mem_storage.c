/*
 * mem_storage.c — in-memory files for every simulated broker (see mem_storage.h
 * for the durability rules).
 *
 * Files live in one array sorted by full name "<node>/<name>", so a lookup is a
 * binary search and `list` is a range scan that comes out in strcmp order for
 * free (all names of a node share the "<node>/" prefix).  Each file remembers
 * how much of it is synced and whether its existence under this name is durable;
 * a rename that is not yet durable leaves "ghosts": the durable contents of the
 * names it overwrote, restored by a power-off unless the target is synced first.
 * Everything is deterministic: no clocks, no addresses in any ordering.
 *
 * Handles (storage_file) point at their mem_file, so the log's appends and reads
 * skip the name formatting and the binary search; a file keeps a list of its
 * handles and cuts them loose (they then see STORAGE_ENOENT) when it is removed,
 * renamed, renamed over or dropped by a power-off.
 */
#include "mem_storage.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_NAME_BYTES_MAX 1024

typedef struct mem_handle mem_handle;

typedef struct mem_file {
    char *name;          /* full name, "<node>/<name>" */
    mem_handle *handles; /* open on this file (a list): cut loose when it goes */
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t synced_len;
    bool durable;             /* exists under this name after a power-off */
    uint64_t last_append_seq; /* 0: never appended */
} mem_file;

typedef struct mem_node mem_node;

/* A storage_file: the file it names, or NULL once that file was removed or renamed. */
struct mem_handle {
    mem_node *node;
    mem_file *file;
    mem_handle *next; /* the file's next handle */
};

static mem_handle *mem_handle_of(storage_file *file) {
    assert(file != NULL);
    return (mem_handle *)(void *)file;
}

typedef struct mem_ghost {
    char *name;  /* full name to restore */
    char *owner; /* full name whose sync makes the rename durable */
    uint8_t *data;
    size_t len;
} mem_ghost;

struct mem_node {
    storage view;
    mem_storage *mem;
    int32_t id;
    int64_t fail_after; /* < 0: disarmed */
};

struct mem_storage {
    mem_file **files;
    size_t file_count, file_cap;
    mem_ghost *ghosts;
    size_t ghost_count, ghost_cap;
    mem_node **nodes;
    size_t node_count, node_cap;
    uint64_t append_seq;
    mem_file *last; /* the file found last: most calls name the same active segment */
};

static void *mem_xrealloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) abort(); /* the simulator cannot continue without memory */
    return q;
}

static char *mem_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(mem_xrealloc(NULL, n), s, n);
}

/* ---- the sorted file array ------------------------------------------------------- */

static size_t mem_lower_bound(const mem_storage *mem, const char *full) {
    size_t lo = 0, hi = mem->file_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(mem->files[mid]->name, full) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static mem_file *mem_find(mem_storage *mem, const char *full, size_t *pos_out) {
    if (!pos_out && mem->last && strcmp(mem->last->name, full) == 0) return mem->last;
    size_t pos = mem_lower_bound(mem, full);
    if (pos_out) *pos_out = pos;
    if (pos < mem->file_count && strcmp(mem->files[pos]->name, full) == 0) {
        mem->last = mem->files[pos];
        return mem->files[pos];
    }
    return NULL;
}

static mem_file *mem_insert(mem_storage *mem, const char *full) {
    size_t pos;
    mem_file *existing = mem_find(mem, full, &pos);
    assert(existing == NULL);
    if (mem->file_count == mem->file_cap) {
        mem->file_cap = mem->file_cap ? mem->file_cap * 2 : 16;
        mem->files = mem_xrealloc(mem->files, mem->file_cap * sizeof *mem->files);
    }
    mem_file *f = mem_xrealloc(NULL, sizeof *f);
    *f = (mem_file){.name = mem_strdup(full)};
    memmove(mem->files + pos + 1, mem->files + pos, (mem->file_count - pos) * sizeof *mem->files);
    mem->files[pos] = f;
    mem->file_count++;
    return f;
}

/* Handles of f see STORAGE_ENOENT from now on (f is going, or changing name). */
static void mem_file_cut_handles(mem_file *f) {
    for (mem_handle *h = f->handles; h; h = h->next) h->file = NULL;
    f->handles = NULL;
}

static void mem_file_free(mem_file *f) {
    assert(f);
    mem_file_cut_handles(f);
    free(f->name);
    free(f->data);
    free(f);
}

static void mem_erase_at(mem_storage *mem, size_t pos) {
    assert(pos < mem->file_count);
    if (mem->last == mem->files[pos]) mem->last = NULL;
    mem_file_free(mem->files[pos]);
    memmove(mem->files + pos, mem->files + pos + 1,
            (mem->file_count - pos - 1) * sizeof *mem->files);
    mem->file_count--;
}

static void mem_file_reserve(mem_file *f, size_t len) {
    if (len <= f->cap) return;
    size_t cap = f->cap ? f->cap : 64;
    while (cap < len) cap *= 2;
    f->data = mem_xrealloc(f->data, cap);
    f->cap = cap;
}

/* ---- ghosts (durable contents an unsynced rename overwrote) ---------------------- */

static void mem_ghost_add(mem_storage *mem, const char *name, const char *owner, uint8_t *data,
                          size_t len) {
    if (mem->ghost_count == mem->ghost_cap) {
        mem->ghost_cap = mem->ghost_cap ? mem->ghost_cap * 2 : 8;
        mem->ghosts = mem_xrealloc(mem->ghosts, mem->ghost_cap * sizeof *mem->ghosts);
    }
    mem->ghosts[mem->ghost_count++] =
        (mem_ghost){.name = mem_strdup(name), .owner = mem_strdup(owner), .data = data, .len = len};
}

static void mem_ghost_drop_at(mem_storage *mem, size_t i) {
    assert(i < mem->ghost_count);
    free(mem->ghosts[i].name);
    free(mem->ghosts[i].owner);
    free(mem->ghosts[i].data);
    mem->ghosts[i] = mem->ghosts[--mem->ghost_count];
}

static void mem_ghost_drop_owned(mem_storage *mem, const char *owner) {
    for (size_t i = mem->ghost_count; i-- > 0;)
        if (strcmp(mem->ghosts[i].owner, owner) == 0) mem_ghost_drop_at(mem, i);
}

static uint8_t *mem_copy_bytes(const uint8_t *data, size_t len) {
    uint8_t *p = mem_xrealloc(NULL, len);
    if (len) memcpy(p, data, len);
    return p;
}

/* ---- per-node operations ---------------------------------------------------------- */

/* "<node>/<name>", formatted by hand: this runs on every storage call. */
static int mem_full_name(const mem_node *node, const char *name, char *out) {
    char digits[12];
    int d = 0;
    uint32_t id = (uint32_t)node->id;
    do digits[d++] = (char)('0' + id % 10);
    while ((id /= 10) && d < 11);
    int n = 0;
    while (d) out[n++] = digits[--d];
    out[n++] = '/';
    size_t len = strlen(name);
    assert((size_t)n + len < MEM_NAME_BYTES_MAX);
    memcpy(out + n, name, len + 1);
    return n + (int)len;
}

/* Counts an operation; true when fault injection says it must fail. */
static bool mem_should_fail(mem_node *node) {
    if (node->fail_after < 0) return false;
    if (node->fail_after-- > 0) return false;
    node->fail_after = -1;
    return true;
}

/* The file a named call works on: STORAGE_OK and *file_out, or the error it returns. */
static int mem_resolve(mem_node *node, const char *name, mem_file **file_out) {
    char full[MEM_NAME_BYTES_MAX];
    mem_full_name(node, name, full);
    if (mem_should_fail(node)) return STORAGE_EIO;
    *file_out = mem_find(node->mem, full, NULL);
    return *file_out ? STORAGE_OK : STORAGE_ENOENT;
}

/* The same for a handle: the same fault counting, no name to look up. */
static int mem_resolve_handle(storage_file *file, mem_file **file_out) {
    mem_handle *h = mem_handle_of(file);
    if (mem_should_fail(h->node)) return STORAGE_EIO;
    *file_out = h->file;
    return *file_out ? STORAGE_OK : STORAGE_ENOENT;
}

static int mem_op_create(void *ctx, const char *name) {
    mem_node *node = ctx;
    char full[MEM_NAME_BYTES_MAX];
    mem_full_name(node, name, full);
    if (mem_should_fail(node)) return STORAGE_EIO;
    if (mem_find(node->mem, full, NULL)) return STORAGE_EEXIST;
    mem_insert(node->mem, full);
    return STORAGE_OK;
}

static int mem_do_append(mem_node *node, mem_file *f, const void *bytes, size_t len) {
    if (len == 0) return STORAGE_OK;
    mem_file_reserve(f, f->len + len);
    memcpy(f->data + f->len, bytes, len);
    f->len += len;
    f->last_append_seq = ++node->mem->append_seq;
    return STORAGE_OK;
}

/* How many bytes a read of len at offset gets: 0 at or past the end. */
static size_t mem_readable(const mem_file *f, int64_t offset, size_t len) {
    assert(offset >= 0);
    if ((uint64_t)offset >= f->len) return 0;
    size_t n = f->len - (size_t)offset;
    return n < len ? n : len;
}

static int64_t mem_do_pread(const mem_file *f, int64_t offset, void *buf, size_t len) {
    size_t n = mem_readable(f, offset, len);
    if (n) memcpy(buf, f->data + offset, n);
    return (int64_t)n;
}

static int mem_do_truncate(mem_file *f, int64_t len) {
    assert(len >= 0 && (uint64_t)len <= f->len);
    f->len = (size_t)len;
    if (f->synced_len > f->len) f->synced_len = f->len;
    return STORAGE_OK;
}

static int mem_do_sync(mem_storage *mem, mem_file *f) {
    f->synced_len = f->len;
    f->durable = true;
    if (mem->ghost_count) mem_ghost_drop_owned(mem, f->name);
    return STORAGE_OK;
}

static int mem_op_append(void *ctx, const char *name, const void *bytes, size_t len) {
    mem_file *f;
    int rc = mem_resolve(ctx, name, &f);
    return rc ? rc : mem_do_append(ctx, f, bytes, len);
}

static int64_t mem_op_pread(void *ctx, const char *name, int64_t offset, void *buf, size_t len) {
    mem_file *f;
    int rc = mem_resolve(ctx, name, &f);
    return rc ? rc : mem_do_pread(f, offset, buf, len);
}

static int64_t mem_op_size(void *ctx, const char *name) {
    mem_file *f;
    int rc = mem_resolve(ctx, name, &f);
    return rc ? rc : (int64_t)f->len;
}

static int mem_op_truncate(void *ctx, const char *name, int64_t len) {
    mem_file *f;
    int rc = mem_resolve(ctx, name, &f);
    return rc ? rc : mem_do_truncate(f, len);
}

static int mem_op_sync(void *ctx, const char *name) {
    mem_file *f;
    int rc = mem_resolve(ctx, name, &f);
    return rc ? rc : mem_do_sync(((mem_node *)ctx)->mem, f);
}

/* ---- handles ------------------------------------------------------------------------ */

static int mem_op_open(void *ctx, const char *name, storage_file **file_out) {
    mem_node *node = ctx;
    char full[MEM_NAME_BYTES_MAX];
    mem_full_name(node, name, full);
    mem_file *f = mem_find(node->mem, full, NULL);
    if (!f) return STORAGE_ENOENT;
    mem_handle *h = mem_xrealloc(NULL, sizeof *h);
    *h = (mem_handle){.node = node, .file = f, .next = f->handles};
    f->handles = h;
    *file_out = (storage_file *)(void *)h;
    return STORAGE_OK;
}

static void mem_op_close(void *ctx, storage_file *file) {
    (void)ctx;
    if (!file) return;
    mem_handle *h = mem_handle_of(file);
    if (h->file) {
        mem_handle **link = &h->file->handles;
        while (*link != h) link = &(*link)->next;
        *link = h->next;
    }
    free(h);
}

static int mem_op_append_file(void *ctx, storage_file *file, const void *bytes, size_t len) {
    mem_file *f;
    int rc = mem_resolve_handle(file, &f);
    return rc ? rc : mem_do_append(ctx, f, bytes, len);
}

static int64_t mem_op_pread_file(void *ctx, storage_file *file, int64_t offset, void *buf,
                                 size_t len) {
    (void)ctx;
    mem_file *f;
    int rc = mem_resolve_handle(file, &f);
    return rc ? rc : mem_do_pread(f, offset, buf, len);
}

static int64_t mem_op_size_file(void *ctx, storage_file *file) {
    (void)ctx;
    mem_file *f;
    int rc = mem_resolve_handle(file, &f);
    return rc ? rc : (int64_t)f->len;
}

static int mem_op_truncate_file(void *ctx, storage_file *file, int64_t len) {
    (void)ctx;
    mem_file *f;
    int rc = mem_resolve_handle(file, &f);
    return rc ? rc : mem_do_truncate(f, len);
}

static int mem_op_sync_file(void *ctx, storage_file *file) {
    mem_file *f;
    int rc = mem_resolve_handle(file, &f);
    return rc ? rc : mem_do_sync(((mem_node *)ctx)->mem, f);
}

/* A pread that hands out the stored bytes: valid until the file changes (an append
 * may move them). */
static int64_t mem_op_view_file(void *ctx, storage_file *file, int64_t offset, size_t len,
                                const uint8_t **bytes_out) {
    (void)ctx;
    mem_file *f;
    *bytes_out = NULL;
    int rc = mem_resolve_handle(file, &f);
    if (rc) return rc;
    size_t n = mem_readable(f, offset, len);
    if (n) *bytes_out = f->data + offset;
    return (int64_t)n;
}

static int mem_op_rename(void *ctx, const char *from, const char *to) {
    ((mem_node *)ctx)->mem->last = NULL;
    mem_node *node = ctx;
    mem_storage *mem = node->mem;
    char ffull[MEM_NAME_BYTES_MAX], tfull[MEM_NAME_BYTES_MAX];
    mem_full_name(node, from, ffull);
    mem_full_name(node, to, tfull);
    if (mem_should_fail(node)) return STORAGE_EIO;
    size_t fpos, tpos;
    mem_file *f = mem_find(mem, ffull, &fpos);
    if (!f) return STORAGE_ENOENT;
    if (strcmp(ffull, tfull) == 0) return STORAGE_OK;
    for (size_t i = 0; i < mem->ghost_count; i++)
        if (strcmp(mem->ghosts[i].owner, ffull) == 0) {
            free(mem->ghosts[i].owner);
            mem->ghosts[i].owner = mem_strdup(tfull);
        }
    if (f->durable)
        mem_ghost_add(mem, ffull, tfull, mem_copy_bytes(f->data, f->synced_len), f->synced_len);
    mem_file *old = mem_find(mem, tfull, &tpos);
    if (old) {
        if (old->durable)
            mem_ghost_add(mem, tfull, tfull, mem_copy_bytes(old->data, old->synced_len),
                          old->synced_len);
        mem_erase_at(mem, tpos);
        mem_find(mem, ffull, &fpos);
    }
    /* Move the file record to its new sorted position under the new name. */
    memmove(mem->files + fpos, mem->files + fpos + 1,
            (mem->file_count - fpos - 1) * sizeof *mem->files);
    mem->file_count--;
    mem_file_cut_handles(f);
    free(f->name);
    f->name = mem_strdup(tfull);
    f->durable = false;
    size_t pos = mem_lower_bound(mem, tfull);
    memmove(mem->files + pos + 1, mem->files + pos, (mem->file_count - pos) * sizeof *mem->files);
    mem->files[pos] = f;
    mem->file_count++;
    return STORAGE_OK;
}

static int mem_op_remove(void *ctx, const char *name) {
    ((mem_node *)ctx)->mem->last = NULL;
    mem_node *node = ctx;
    char full[MEM_NAME_BYTES_MAX];
    mem_full_name(node, name, full);
    if (mem_should_fail(node)) return STORAGE_EIO;
    size_t pos;
    if (!mem_find(node->mem, full, &pos)) return STORAGE_ENOENT;
    mem_erase_at(node->mem, pos);
    mem_ghost_drop_owned(node->mem, full);
    return STORAGE_OK;
}

static int mem_op_list(void *ctx, const char *prefix, storage_list_fn *each, void *arg) {
    mem_node *node = ctx;
    mem_storage *mem = node->mem;
    char full[MEM_NAME_BYTES_MAX], cur[MEM_NAME_BYTES_MAX];
    size_t node_len = (size_t)mem_full_name(node, "", full);
    mem_full_name(node, prefix, full);
    size_t full_len = strlen(full);
    if (mem_should_fail(node)) return STORAGE_EIO;
    size_t pos = mem_lower_bound(mem, full);
    while (pos < mem->file_count && strncmp(mem->files[pos]->name, full, full_len) == 0) {
        /* Copy first: the callback may create or remove files. */
        snprintf(cur, sizeof cur, "%s", mem->files[pos]->name);
        each(arg, cur + node_len);
        pos = mem_lower_bound(mem, cur);
        if (pos < mem->file_count && strcmp(mem->files[pos]->name, cur) == 0) pos++;
    }
    return STORAGE_OK;
}

/* ---- the store ------------------------------------------------------------------------ */

mem_storage *mem_storage_create(void) {
    mem_storage *mem = mem_xrealloc(NULL, sizeof *mem);
    memset(mem, 0, sizeof *mem);
    return mem;
}

void mem_storage_destroy(mem_storage *mem) {
    if (!mem) return;
    for (size_t i = 0; i < mem->file_count; i++) mem_file_free(mem->files[i]);
    while (mem->ghost_count) mem_ghost_drop_at(mem, mem->ghost_count - 1);
    for (size_t i = 0; i < mem->node_count; i++) free(mem->nodes[i]);
    free(mem->files);
    free(mem->ghosts);
    free(mem->nodes);
    free(mem);
}

static mem_node *mem_node_get(mem_storage *mem, int32_t node_id) {
    for (size_t i = 0; i < mem->node_count; i++)
        if (mem->nodes[i]->id == node_id) return mem->nodes[i];
    if (mem->node_count == mem->node_cap) {
        mem->node_cap = mem->node_cap ? mem->node_cap * 2 : 4;
        mem->nodes = mem_xrealloc(mem->nodes, mem->node_cap * sizeof *mem->nodes);
    }
    mem_node *node = mem_xrealloc(NULL, sizeof *node);
    *node = (mem_node){.mem = mem, .id = node_id, .fail_after = -1};
    node->view = (storage){.ctx = node,
                           .create = mem_op_create,
                           .append = mem_op_append,
                           .pread = mem_op_pread,
                           .size = mem_op_size,
                           .truncate = mem_op_truncate,
                           .sync = mem_op_sync,
                           .rename = mem_op_rename,
                           .remove = mem_op_remove,
                           .list = mem_op_list,
                           .open = mem_op_open,
                           .close = mem_op_close,
                           .append_file = mem_op_append_file,
                           .pread_file = mem_op_pread_file,
                           .size_file = mem_op_size_file,
                           .truncate_file = mem_op_truncate_file,
                           .sync_file = mem_op_sync_file,
                           .view_file = mem_op_view_file};
    mem->nodes[mem->node_count++] = node;
    return node;
}

const storage *mem_storage_view(mem_storage *mem, int32_t node_id) {
    assert(mem != NULL);
    return &mem_node_get(mem, node_id)->view;
}

/* Index range [lo, hi) of node_id's files in the sorted array. */
static void mem_node_range(const mem_storage *mem, const mem_node *node, size_t *lo, size_t *hi) {
    char prefix[MEM_NAME_BYTES_MAX];
    size_t plen = (size_t)mem_full_name(node, "", prefix);
    *lo = mem_lower_bound(mem, prefix);
    *hi = *lo;
    while (*hi < mem->file_count && strncmp(mem->files[*hi]->name, prefix, plen) == 0) (*hi)++;
}

static mem_file *mem_torn_candidate(const mem_storage *mem, size_t lo, size_t hi) {
    mem_file *torn = NULL;
    for (size_t i = lo; i < hi; i++) {
        mem_file *f = mem->files[i];
        if (f->len > f->synced_len && (!torn || f->last_append_seq > torn->last_append_seq))
            torn = f;
    }
    return torn;
}

static void mem_restore_ghosts(mem_storage *mem, const mem_node *node) {
    char prefix[MEM_NAME_BYTES_MAX];
    size_t plen = (size_t)mem_full_name(node, "", prefix);
    for (size_t i = mem->ghost_count; i-- > 0;) {
        mem_ghost *g = &mem->ghosts[i];
        if (strncmp(g->name, prefix, plen) != 0) continue;
        if (!mem_find(mem, g->name, NULL)) {
            mem_file *f = mem_insert(mem, g->name);
            f->data = g->data;
            f->len = f->cap = f->synced_len = g->len;
            f->durable = true;
            g->data = NULL;
        }
        mem_ghost_drop_at(mem, i);
    }
}

void mem_storage_power_off(mem_storage *mem, int32_t node_id, uint64_t random_value) {
    mem->last = NULL;
    mem_node *node = mem_node_get(mem, node_id);
    size_t lo, hi;
    mem_node_range(mem, node, &lo, &hi);
    mem_file *torn = mem_torn_candidate(mem, lo, hi);
    for (size_t i = hi; i-- > lo;) {
        mem_file *f = mem->files[i];
        if (!f->durable) {
            mem_erase_at(mem, i);
            continue;
        }
        size_t keep = 0;
        if (f == torn) keep = (size_t)(random_value % (uint64_t)(f->len - f->synced_len + 1));
        f->len = f->synced_len + keep;
        f->synced_len = f->len;
        assert(f->len <= f->cap || f->len == 0);
    }
    mem_restore_ghosts(mem, node);
}

int64_t mem_storage_bytes(mem_storage *mem, int32_t node_id) {
    mem_node *node = mem_node_get(mem, node_id);
    size_t lo, hi;
    mem_node_range(mem, node, &lo, &hi);
    int64_t total = 0;
    for (size_t i = lo; i < hi; i++) total += (int64_t)mem->files[i]->len;
    return total;
}

void mem_storage_fail_after(mem_storage *mem, int32_t node_id, int64_t n_ops) {
    mem_node_get(mem, node_id)->fail_after = n_ops < 0 ? -1 : n_ops;
}
