#include "partition_metadata.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define FILE_NAME "partition.metadata"
#define ID_CHARS 22 /* 16 bytes of URL-safe base64 without padding */
#define CONTENT_BYTES 64

static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Kafka's Uuid.toString(): URL-safe base64 of the 16 bytes, no padding. */
static void id_text(const uint8_t id[16], char out[ID_CHARS + 1]) {
    int n = 0;
    uint32_t bits = 0;
    int have = 0;
    for (int i = 0; i < 16; i++) {
        bits = bits << 8 | id[i];
        have += 8;
        while (have >= 6) {
            have -= 6;
            out[n++] = base64url[(bits >> have) & 63];
        }
    }
    out[n++] = base64url[(bits << (6 - have)) & 63]; /* the last 2 bits, zero-filled */
    assert(n == ID_CHARS);
    out[n] = '\0';
}

static int content(const uint8_t id[16], char out[CONTENT_BYTES]) {
    char text[ID_CHARS + 1];
    id_text(id, text);
    return snprintf(out, CONTENT_BYTES, "version: 0\ntopic_id: %s\n", text);
}

static void file_name(const char *dir, const char *file, char *out, size_t bytes) {
    snprintf(out, bytes, "%s/%s", dir, file);
}

enum partition_metadata_owner partition_metadata_owner(const storage *fs, const char *dir,
                                                       const uint8_t topic_id[16]) {
    char name[512], want[CONTENT_BYTES], got[CONTENT_BYTES];
    file_name(dir, FILE_NAME, name, sizeof name);
    int64_t size = fs->size(fs->ctx, name);
    if (size == STORAGE_ENOENT) return PARTITION_METADATA_NONE;
    int len = content(topic_id, want);
    if (size != len) return PARTITION_METADATA_OTHER;
    if (fs->pread(fs->ctx, name, 0, got, (size_t)len) != len) return PARTITION_METADATA_OTHER;
    return memcmp(got, want, (size_t)len) == 0 ? PARTITION_METADATA_SAME : PARTITION_METADATA_OTHER;
}

int partition_metadata_write(const storage *fs, const char *dir, const uint8_t topic_id[16]) {
    char tmp[512], name[512], text[CONTENT_BYTES];
    file_name(dir, FILE_NAME ".tmp", tmp, sizeof tmp);
    file_name(dir, FILE_NAME, name, sizeof name);
    int len = content(topic_id, text);
    int rc = fs->remove(fs->ctx, tmp);
    if (rc < 0 && rc != STORAGE_ENOENT) return rc;
    if ((rc = fs->create(fs->ctx, tmp)) < 0) return rc;
    if ((rc = fs->append(fs->ctx, tmp, text, (size_t)len)) < 0) return rc;
    if ((rc = fs->sync(fs->ctx, tmp)) < 0) return rc;
    if ((rc = fs->rename(fs->ctx, tmp, name)) < 0) return rc;
    return fs->sync(fs->ctx, name);
}
