/*
 * hw_checkpoint.c — replication-offset-checkpoint: each partition's high
 * watermark, written every few seconds as Kafka does.
 *
 * Format (Kafka's): a version line "0", a count line, then "topic partition hw"
 * lines.  It is replaced atomically: written to a temporary name, synced, renamed.
 * A restarted broker starts each partition from the high watermark it checkpointed;
 * before KIP-101, a follower truncated its log to exactly that value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_internal.h"

#define HW_CHECKPOINT_FILE "replication-offset-checkpoint"
#define HW_CHECKPOINT_TMP "replication-offset-checkpoint.tmp"
#define HW_CHECKPOINT_BYTES_MAX (4 * 1024 * 1024)

void broker_hw_checkpoint_load(broker *b) {
    const storage *fs = b->env.fs;
    int64_t size = fs->size(fs->ctx, HW_CHECKPOINT_FILE);
    free(b->hw_checkpoint);
    b->hw_checkpoint = NULL;
    if (size <= 0 || size > HW_CHECKPOINT_BYTES_MAX) return;
    char *text = malloc((size_t)size + 1);
    if (!text) return;
    int64_t got = fs->pread(fs->ctx, HW_CHECKPOINT_FILE, 0, text, (size_t)size);
    text[got > 0 ? got : 0] = 0;
    b->hw_checkpoint = text;
}

int64_t broker_hw_checkpoint_get(const broker *b, const char *topic, int32_t partition) {
    if (!b->hw_checkpoint) return 0;
    size_t topic_len = strlen(topic);
    for (const char *line = b->hw_checkpoint; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n') line++;
        if (strncmp(line, topic, topic_len) != 0 || line[topic_len] != ' ') continue;
        int p;
        long long hw;
        if (sscanf(line + topic_len, " %d %lld", &p, &hw) == 2 && p == partition && hw >= 0)
            return hw;
    }
    return 0;
}

typedef struct checkpoint_text {
    char *p;
    size_t len, cap;
    int32_t count;
} checkpoint_text;

static void add_line(broker *b, broker_partition *p, void *arg) {
    checkpoint_text *t = arg;
    (void)b;
    if (!p->hosted) return;
    size_t need = strlen(p->topic) + 48;
    if (t->len + need > t->cap) {
        t->cap = (t->cap + need) * 2;
        t->p = realloc(t->p, t->cap);
        if (!t->p) abort();
    }
    t->len += (size_t)snprintf(t->p + t->len, t->cap - t->len, "%s %d %" PRId64 "\n", p->topic,
                               (int)p->index, p->high_watermark);
    t->count++;
}

void broker_hw_checkpoint_write(broker *b) {
    checkpoint_text body = {0};
    broker_each_partition(b, add_line, &body);
    if (body.count == 0) return;
    char head[32];
    int head_len = snprintf(head, sizeof head, "0\n%d\n", (int)body.count);
    const storage *fs = b->env.fs;
    fs->remove(fs->ctx, HW_CHECKPOINT_TMP);
    int rc = fs->create(fs->ctx, HW_CHECKPOINT_TMP);
    if (rc == 0) rc = fs->append(fs->ctx, HW_CHECKPOINT_TMP, head, (size_t)head_len);
    if (rc == 0) rc = fs->append(fs->ctx, HW_CHECKPOINT_TMP, body.p, body.len);
    if (rc == 0) rc = fs->sync(fs->ctx, HW_CHECKPOINT_TMP);
    if (rc == 0) fs->rename(fs->ctx, HW_CHECKPOINT_TMP, HW_CHECKPOINT_FILE);
    free(body.p);
}
