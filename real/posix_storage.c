/*
 * posix_storage.c — the named-file storage API over a directory.
 *
 * Every name is resolved relative to a descriptor of the root directory (openat),
 * so a broker's files stay under its log.dirs whatever the process's working
 * directory.  Descriptors stay open in a small cache: the core appends to the same
 * two files of a partition (segment and index) on every produce, and reopening
 * them each time would double the system calls.  Directories are never removed;
 * Kafka leaves a deleted partition's directory to its own cleaner as well.
 */
#define _GNU_SOURCE
#include "posix_storage.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POSIX_FDS_MAX 256
#define POSIX_NAME_BYTES_MAX 512
#define POSIX_LIST_DEPTH_MAX 8

typedef struct posix_fd {
    char name[POSIX_NAME_BYTES_MAX]; /* empty: slot free */
    int fd;
    int dir_dirty; /* created or renamed into its directory since the last sync */
    uint64_t used;
    uint64_t generation; /* bumped when the slot lets go of its file */
} posix_fd;

/* A storage_file: the name, and the cache slot that held its descriptor (still
 * valid while the slot's generation is unchanged), so an append on a handle skips
 * the search of the cache.  The inode tells, after the cache let go of the
 * descriptor, whether the name still holds the same file. */
typedef struct posix_handle {
    char name[POSIX_NAME_BYTES_MAX];
    posix_fd *slot;
    uint64_t generation;
    dev_t dev;
    ino_t ino;
} posix_handle;

struct posix_storage {
    storage api;
    int root_fd;
    uint64_t use_clock;
    int64_t errors;
    posix_fd fds[POSIX_FDS_MAX];
};

static int map_errno(posix_storage *ps, int e) {
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return STORAGE_ENOENT;
    case EEXIST:
        return STORAGE_EEXIST;
    case ENOSPC:
    case EDQUOT:
        ps->errors++;
        return STORAGE_ENOSPC;
    default:
        ps->errors++;
        return STORAGE_EIO;
    }
}

/* A relative path of non-empty components, none "." or "..". */
static int name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= POSIX_NAME_BYTES_MAX || name[0] == '/' || name[n - 1] == '/') return 0;
    const char *s = name;
    while (*s) {
        size_t c = strcspn(s, "/");
        if (c == 0 || (c == 1 && s[0] == '.') || (c == 2 && s[0] == '.' && s[1] == '.')) return 0;
        s += c;
        if (*s == '/') s++;
    }
    return 1;
}

/* Makes every directory on the way to `name`. */
static int make_parents(posix_storage *ps, const char *name) {
    char path[POSIX_NAME_BYTES_MAX];
    snprintf(path, sizeof path, "%s", name);
    for (char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = 0;
        if (mkdirat(ps->root_fd, path, 0755) != 0 && errno != EEXIST) return -1;
        *slash = '/';
    }
    return 0;
}

static int sync_parent(posix_storage *ps, const char *name) {
    char dir[POSIX_NAME_BYTES_MAX];
    snprintf(dir, sizeof dir, "%s", name);
    char *slash = strrchr(dir, '/');
    int dfd;
    if (slash) {
        *slash = 0;
        dfd = openat(ps->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else
        dfd = dup(ps->root_fd);
    if (dfd < 0) return -1;
    int rc = fsync(dfd);
    close(dfd);
    return rc;
}

/* ---- the descriptor cache ----------------------------------------------------------- */

static posix_fd *fd_find(posix_storage *ps, const char *name) {
    for (int i = 0; i < POSIX_FDS_MAX; i++)
        if (ps->fds[i].name[0] && strcmp(ps->fds[i].name, name) == 0) return &ps->fds[i];
    return NULL;
}

static void fd_drop(posix_fd *f) {
    if (!f || !f->name[0]) return;
    close(f->fd);
    f->name[0] = 0;
    f->fd = -1;
    f->generation++;
}

static posix_fd *fd_slot(posix_storage *ps) {
    posix_fd *victim = &ps->fds[0];
    for (int i = 0; i < POSIX_FDS_MAX; i++) {
        if (!ps->fds[i].name[0]) return &ps->fds[i];
        if (ps->fds[i].used < victim->used) victim = &ps->fds[i];
    }
    /* The evicted file may still owe its directory an fsync: pay it now. */
    if (victim->dir_dirty) sync_parent(ps, victim->name);
    fd_drop(victim);
    return victim;
}

/* The open descriptor of an existing file, or NULL with errno set. */
static posix_fd *fd_get(posix_storage *ps, const char *name, int flags) {
    posix_fd *f = fd_find(ps, name);
    if (!f) {
        int fd = openat(ps->root_fd, name, O_RDWR | O_APPEND | O_CLOEXEC | flags, 0644);
        if (fd < 0) return NULL;
        f = fd_slot(ps);
        snprintf(f->name, sizeof f->name, "%s", name);
        f->fd = fd;
        f->dir_dirty = (flags & O_CREAT) != 0;
    }
    f->used = ++ps->use_clock;
    return f;
}

/* ---- the operations --------------------------------------------------------------- */

#define PS(ctx) ((posix_storage *)(ctx))
#define CHECK_NAME(ps, name)                                                                       \
    do {                                                                                           \
        if (!name_valid(name)) {                                                                   \
            (ps)->errors++;                                                                        \
            return STORAGE_EIO;                                                                    \
        }                                                                                          \
    } while (0)

static int ps_create(void *ctx, const char *name) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    if (fd_find(ps, name)) return STORAGE_EEXIST;
    if (make_parents(ps, name) != 0) return map_errno(ps, errno);
    if (!fd_get(ps, name, O_CREAT | O_EXCL)) return map_errno(ps, errno);
    return STORAGE_OK;
}

static int fd_append(posix_storage *ps, posix_fd *f, const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return map_errno(ps, n < 0 ? errno : EIO);
        p += n;
        len -= (size_t)n;
    }
    return STORAGE_OK;
}

static int64_t fd_pread(posix_storage *ps, posix_fd *f, int64_t offset, void *buf, size_t len) {
    assert(offset >= 0);
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(f->fd, (uint8_t *)buf + got, len - got, (off_t)offset + (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return map_errno(ps, errno);
        if (n == 0) break;
        got += (size_t)n;
    }
    return (int64_t)got;
}

static int64_t stat_size(posix_storage *ps, int rc, const struct stat *st) {
    if (rc != 0) return map_errno(ps, errno);
    if (!S_ISREG(st->st_mode)) return map_errno(ps, EISDIR);
    return (int64_t)st->st_size;
}

static int fd_truncate(posix_storage *ps, posix_fd *f, int64_t len) {
    assert(len >= 0);
    if (ftruncate(f->fd, (off_t)len) != 0) return map_errno(ps, errno);
    return STORAGE_OK;
}

static int fd_sync(posix_storage *ps, posix_fd *f) {
    if (fdatasync(f->fd) != 0) return map_errno(ps, errno);
    if (f->dir_dirty) {
        if (sync_parent(ps, f->name) != 0) return map_errno(ps, errno);
        f->dir_dirty = 0;
    }
    return STORAGE_OK;
}

static int ps_append(void *ctx, const char *name, const void *bytes, size_t len) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    posix_fd *f = fd_get(ps, name, 0);
    return f ? fd_append(ps, f, bytes, len) : map_errno(ps, errno);
}

static int64_t ps_pread(void *ctx, const char *name, int64_t offset, void *buf, size_t len) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    posix_fd *f = fd_get(ps, name, 0);
    return f ? fd_pread(ps, f, offset, buf, len) : map_errno(ps, errno);
}

static int64_t ps_size(void *ctx, const char *name) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    struct stat st;
    posix_fd *f = fd_find(ps, name);
    return stat_size(ps, f ? fstat(f->fd, &st) : fstatat(ps->root_fd, name, &st, 0), &st);
}

static int ps_truncate(void *ctx, const char *name, int64_t len) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    posix_fd *f = fd_get(ps, name, 0);
    return f ? fd_truncate(ps, f, len) : map_errno(ps, errno);
}

static int ps_sync(void *ctx, const char *name) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    posix_fd *f = fd_get(ps, name, 0);
    return f ? fd_sync(ps, f) : map_errno(ps, errno);
}

static int ps_rename(void *ctx, const char *from, const char *to) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, from);
    CHECK_NAME(ps, to);
    if (strcmp(from, to) == 0) return ps_size(ctx, from) < 0 ? STORAGE_ENOENT : STORAGE_OK;
    if (make_parents(ps, to) != 0) return map_errno(ps, errno);
    if (renameat(ps->root_fd, from, ps->root_fd, to) != 0) return map_errno(ps, errno);
    fd_drop(fd_find(ps, to));
    posix_fd *f = fd_find(ps, from);
    if (f) { /* the open descriptor now is the file `to` */
        snprintf(f->name, sizeof f->name, "%s", to);
        f->dir_dirty = 1;
        f->generation++; /* handles opened on `from` must not follow it */
    } else if (sync_parent(ps, to) != 0)
        return map_errno(ps, errno);
    return STORAGE_OK;
}

static int ps_remove(void *ctx, const char *name) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    fd_drop(fd_find(ps, name));
    if (unlinkat(ps->root_fd, name, 0) != 0) return map_errno(ps, errno);
    return STORAGE_OK;
}

/* ---- handles ------------------------------------------------------------------------ */

static posix_handle *handle_of(storage_file *file) {
    assert(file != NULL);
    return (posix_handle *)(void *)file;
}

/* The handle's descriptor: its slot while that still holds the file, else the
 * cache's (reopening by name: the slot was evicted); NULL with errno set. */
static posix_fd *handle_fd(posix_storage *ps, posix_handle *h) {
    if (h->slot && h->slot->generation == h->generation) {
        h->slot->used = ++ps->use_clock;
        return h->slot;
    }
    posix_fd *f = fd_get(ps, h->name, 0);
    if (!f) return NULL;
    struct stat st;
    if (fstat(f->fd, &st) != 0) return NULL;
    if (st.st_dev != h->dev || st.st_ino != h->ino) { /* removed or renamed over */
        errno = ENOENT;
        return NULL;
    }
    h->slot = f;
    h->generation = f->generation;
    return f;
}

static int ps_open(void *ctx, const char *name, storage_file **file_out) {
    posix_storage *ps = PS(ctx);
    CHECK_NAME(ps, name);
    posix_fd *f = fd_get(ps, name, 0);
    struct stat st;
    if (!f || fstat(f->fd, &st) != 0) return map_errno(ps, errno);
    posix_handle *h = calloc(1, sizeof *h);
    if (!h) abort();
    snprintf(h->name, sizeof h->name, "%s", name);
    h->slot = f;
    h->generation = f->generation;
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    *file_out = (storage_file *)(void *)h;
    return STORAGE_OK;
}

static void ps_close(void *ctx, storage_file *file) {
    (void)ctx;
    free(file); /* the descriptor stays in the cache */
}

static int ps_append_file(void *ctx, storage_file *file, const void *bytes, size_t len) {
    posix_fd *f = handle_fd(PS(ctx), handle_of(file));
    return f ? fd_append(PS(ctx), f, bytes, len) : map_errno(PS(ctx), errno);
}

static int64_t ps_pread_file(void *ctx, storage_file *file, int64_t offset, void *buf, size_t len) {
    posix_fd *f = handle_fd(PS(ctx), handle_of(file));
    return f ? fd_pread(PS(ctx), f, offset, buf, len) : map_errno(PS(ctx), errno);
}

static int64_t ps_size_file(void *ctx, storage_file *file) {
    posix_fd *f = handle_fd(PS(ctx), handle_of(file));
    if (!f) return map_errno(PS(ctx), errno);
    struct stat st;
    return stat_size(PS(ctx), fstat(f->fd, &st), &st);
}

static int ps_truncate_file(void *ctx, storage_file *file, int64_t len) {
    posix_fd *f = handle_fd(PS(ctx), handle_of(file));
    return f ? fd_truncate(PS(ctx), f, len) : map_errno(PS(ctx), errno);
}

static int ps_sync_file(void *ctx, storage_file *file) {
    posix_fd *f = handle_fd(PS(ctx), handle_of(file));
    return f ? fd_sync(PS(ctx), f) : map_errno(PS(ctx), errno);
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct name_list {
    char **names;
    size_t count, cap;
} name_list;

static void name_list_add(name_list *l, const char *name) {
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->names = realloc(l->names, l->cap * sizeof *l->names);
        if (!l->names) abort();
    }
    l->names[l->count] = strdup(name);
    if (!l->names[l->count]) abort();
    l->count++;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the regular files under directory `rel` ("" = root) whose names start
 * with prefix; descends only into directories that can hold such names. */
static int walk(posix_storage *ps, const char *rel, const char *prefix, name_list *out, int depth) {
    if (depth > POSIX_LIST_DEPTH_MAX) return 0;
    int dfd =
        rel[0] ? openat(ps->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(ps->root_fd);
    if (dfd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -1;
    }
    if (!rel[0]) rewinddir(d); /* a dup shares its offset with the root descriptor */
    size_t plen = strlen(prefix);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[POSIX_NAME_BYTES_MAX];
        int n = snprintf(path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (n < 0 || (size_t)n >= sizeof path) continue;
        struct stat st;
        if (fstatat(ps->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        size_t len = (size_t)n;
        size_t cmp = len < plen ? len : plen;
        if (strncmp(path, prefix, cmp) != 0) continue; /* no name below can match */
        if (S_ISDIR(st.st_mode))
            rc = walk(ps, path, prefix, out, depth + 1);
        else if (S_ISREG(st.st_mode) && len >= plen)
            name_list_add(out, path);
    }
    closedir(d);
    return rc;
}

static int ps_list(void *ctx, const char *prefix, storage_list_fn *each, void *arg) {
    posix_storage *ps = PS(ctx);
    name_list l = {0};
    int rc = walk(ps, "", prefix, &l, 0);
    if (rc == 0) {
        if (l.count > 1) qsort(l.names, l.count, sizeof *l.names, cmp_names);
        for (size_t i = 0; i < l.count; i++) each(arg, l.names[i]); /* may remove files */
    }
    for (size_t i = 0; i < l.count; i++) free(l.names[i]);
    free(l.names);
    return rc == 0 ? STORAGE_OK : map_errno(ps, errno);
}

/* ---- life cycle ------------------------------------------------------------------------- */

posix_storage *posix_storage_open(const char *root, char *err, size_t err_len) {
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "%s: cannot create: %s", root, strerror(errno));
        return NULL;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot open: %s", root, strerror(errno));
        return NULL;
    }
    posix_storage *ps = calloc(1, sizeof *ps);
    if (!ps) abort();
    ps->root_fd = fd;
    for (int i = 0; i < POSIX_FDS_MAX; i++) ps->fds[i].fd = -1;
    ps->api = (storage){.ctx = ps,
                        .create = ps_create,
                        .append = ps_append,
                        .pread = ps_pread,
                        .size = ps_size,
                        .truncate = ps_truncate,
                        .sync = ps_sync,
                        .rename = ps_rename,
                        .remove = ps_remove,
                        .list = ps_list,
                        .open = ps_open,
                        .close = ps_close,
                        .append_file = ps_append_file,
                        .pread_file = ps_pread_file,
                        .size_file = ps_size_file,
                        .truncate_file = ps_truncate_file,
                        .sync_file = ps_sync_file,
                        .view_file = NULL};
    return ps;
}

void posix_storage_close(posix_storage *ps) {
    if (!ps) return;
    for (int i = 0; i < POSIX_FDS_MAX; i++) fd_drop(&ps->fds[i]);
    close(ps->root_fd);
    free(ps);
}

const storage *posix_storage_api(posix_storage *ps) {
    return &ps->api;
}

int64_t posix_storage_errors(const posix_storage *ps) {
    return ps->errors;
}
