/*
 * posix_storage.h — core/storage.h over a directory, with POSIX calls.
 *
 * A name "topic-0/00000000000000000000.log" is the file of that relative path
 * under the root; directories are made on create and removed when a remove or
 * rename leaves them empty.  Names that would leave the root (absolute, "..",
 * empty components) fail with STORAGE_EIO.  Open descriptors are cached (a fixed
 * number, least recently used goes first) so that an append is one write(2).
 * sync is fsync(2) of the file and, after a create or rename, of its directory,
 * so a synced file is durable under its name.
 */
#ifndef STREAMLAB_POSIX_STORAGE_H
#define STREAMLAB_POSIX_STORAGE_H

#include <stdint.h>

#include "storage.h"

typedef struct posix_storage posix_storage;

/* Opens (creating it if needed) the directory `root`; NULL with err filled on failure. */
posix_storage *posix_storage_open(const char *root, char *err, size_t err_len);
void posix_storage_close(posix_storage *ps);
/* The storage the broker uses; valid until posix_storage_close. */
const storage *posix_storage_api(posix_storage *ps);
/* Operations that failed with an I/O error since open (for a log line and metrics). */
int64_t posix_storage_errors(const posix_storage *ps);

#endif
