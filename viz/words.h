/*
 * words.h — the event log in plain words: "broker 2 crashed",
 * "topic-1/0: leader 2 → 1, epoch 4", "group-2 rebalanced, generation 5".
 *
 * Phrasing a leader change needs the previous leader, so a viz_words remembers
 * each partition's leader and ISR size; seed it from the view at the start of the
 * stretch of events it is given.
 */
#ifndef STREAMLAB_VIZ_WORDS_H
#define STREAMLAB_VIZ_WORDS_H

#include "cluster_view.h"
#include "observe.h"
#include "scene.h"

#define VIZ_WORDS_PARTITIONS_MAX 512

typedef struct viz_words_partition {
    char topic[CLUSTER_VIEW_NAME_BYTES_MAX];
    int32_t partition, leader, isr_count;
} viz_words_partition;

typedef struct viz_words {
    viz_words_partition parts[VIZ_WORDS_PARTITIONS_MAX];
    int count;
    uint8_t broker_stopped[CLUSTER_VIEW_BROKERS_MAX + 1]; /* seen down: a start is a restart */
} viz_words;

/* Remembers leaders, ISR sizes and down brokers of `v` (NULL: forget all). */
void viz_words_seed(viz_words *w, const cluster_view *v);

/* 1 and a line when the event is worth telling, else 0 (appends, acks, fetches). */
int viz_words_event(viz_words *w, int64_t t_us, const observe_event *ev, viz_line *out);

/* An injected action ({"crash":2} from `origin` script/chaos/live): its log line and
 * its timeline marker. */
void viz_words_action(int64_t t_us, const char *origin, const char *action_json, viz_line *out,
                      viz_mark *mark);

#endif
