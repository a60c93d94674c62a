#include "storage.h"

#include <stdio.h>

typedef struct remove_ctx {
    const storage *fs;
    int rc;
} remove_ctx;

static void remove_each(void *arg, const char *name) {
    remove_ctx *r = arg;
    int rc = r->fs->remove(r->fs->ctx, name);
    if (rc < 0 && rc != STORAGE_ENOENT && r->rc == 0) r->rc = rc;
}

int storage_remove_dir(const storage *fs, const char *dir) {
    char prefix[512];
    int n = snprintf(prefix, sizeof prefix, "%s/", dir);
    if (n < 0 || (size_t)n >= sizeof prefix) return STORAGE_EIO;
    remove_ctx r = {.fs = fs, .rc = 0};
    int rc = fs->list(fs->ctx, prefix, remove_each, &r);
    return rc < 0 ? rc : r.rc;
}
