/*
 * cluster_view.h — the cluster state a viewer needs at one instant.
 *
 * A cluster_view is folded from the observe_event stream (core/observe.h):
 * brokers up or down, the active controller, each partition's leader, epoch,
 * ISR, high watermark and per-replica log end / log start offsets, producer
 * counters, consumer-group state and totals.  The trace writer keeps one and
 * serialises it as a keyframe every virtual second; the viewer loads the
 * newest keyframe before a seek target with cluster_view_from_json() and
 * applies the events after it with cluster_view_apply().
 *
 * Everything is bounded by the *_MAX constants below.  An event that would
 * exceed a bound is ignored and counted in `overflow`; an event that names no
 * topic, a negative partition or an unknown kind is ignored and counted in
 * `invalid`.  Nothing here crashes on odd input.
 *
 * Memory: the caller owns the struct (init/deinit).  Partition tables are
 * allocated when a topic first appears and committed-offset tables when a
 * group first appears; deinit frees them.
 */
#ifndef STREAMLAB_CLUSTER_VIEW_H
#define STREAMLAB_CLUSTER_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "observe.h"

#define CLUSTER_VIEW_BROKERS_MAX 16
#define CLUSTER_VIEW_TOPICS_MAX 64
#define CLUSTER_VIEW_PARTITIONS_MAX 64 /* per topic */
#define CLUSTER_VIEW_REPLICAS_MAX 16   /* per partition: ISR entries and replica logs */
#define CLUSTER_VIEW_PRODUCERS_MAX 64
#define CLUSTER_VIEW_GROUPS_MAX 32
#define CLUSTER_VIEW_GROUP_OFFSETS_MAX 256 /* committed (topic, partition) pairs per group */
#define CLUSTER_VIEW_NAME_BYTES_MAX 64     /* topic and group names, NUL included */
#define CLUSTER_VIEW_REASON_BYTES_MAX 16   /* "crash", "power_off" */

typedef struct cluster_view_broker {
    int32_t id;
    int up;
    int64_t since_us;                                /* when it last went up or down */
    char down_reason[CLUSTER_VIEW_REASON_BYTES_MAX]; /* detail of the last BROKER_STOP */
} cluster_view_broker;

typedef struct cluster_view_replica {
    int32_t node;
    int64_t log_end_offset;   /* APPEND offset_last+1, TRUNCATE offset */
    int64_t log_start_offset; /* LOG_START */
} cluster_view_replica;

typedef struct cluster_view_partition {
    int32_t leader; /* -1 = none known */
    int32_t leader_epoch;
    int32_t isr[CLUSTER_VIEW_REPLICAS_MAX];
    int32_t isr_count;
    int64_t high_watermark;
    cluster_view_replica replicas[CLUSTER_VIEW_REPLICAS_MAX]; /* in order of first report */
    int32_t replicas_count;
} cluster_view_partition;

typedef struct cluster_view_topic {
    char name[CLUSTER_VIEW_NAME_BYTES_MAX];
    int32_t partitions_count;   /* declared by TOPIC_CREATE, raised by events on higher ids */
    int32_t replication_factor; /* 0 = not created by a TOPIC_CREATE event seen */
    cluster_view_partition *partitions; /* CLUSTER_VIEW_PARTITIONS_MAX entries */
} cluster_view_topic;

typedef struct cluster_view_producer {
    int32_t node;
    int64_t records_acked;
    int64_t records_failed;
} cluster_view_producer;

typedef struct cluster_view_offset {
    int32_t topic; /* index into cluster_view.topics */
    int32_t partition;
    int64_t offset;
} cluster_view_offset;

typedef struct cluster_view_group {
    char name[CLUSTER_VIEW_NAME_BYTES_MAX];
    int32_t generation; /* -1 until the first REBALANCE */
    int32_t members;    /* in that generation */
    int64_t records_consumed;
    cluster_view_offset *committed; /* CLUSTER_VIEW_GROUP_OFFSETS_MAX entries */
    int32_t committed_count;
} cluster_view_group;

typedef struct cluster_view_totals {
    int64_t events;           /* events applied, including ignored ones */
    int64_t batches_appended; /* APPEND events on any replica */
    int64_t truncations;
    int64_t leader_changes; /* LEADER events */
    int64_t broker_stops;
    int64_t records_acked;
    int64_t records_failed;
    int64_t records_consumed;
    int64_t commits;
    int64_t rebalances;
} cluster_view_totals;

typedef struct cluster_view {
    int64_t t_us;                                          /* time of the last event applied */
    cluster_view_broker brokers[CLUSTER_VIEW_BROKERS_MAX]; /* sorted by id */
    int32_t brokers_count;
    int32_t controller; /* -1 = none known */
    int32_t controller_epoch;
    cluster_view_topic topics[CLUSTER_VIEW_TOPICS_MAX]; /* in order of first appearance */
    int32_t topics_count;
    cluster_view_producer producers[CLUSTER_VIEW_PRODUCERS_MAX]; /* sorted by node */
    int32_t producers_count;
    cluster_view_group groups[CLUSTER_VIEW_GROUPS_MAX]; /* in order of first appearance */
    int32_t groups_count;
    cluster_view_totals totals;
    int64_t overflow; /* updates dropped because a *_MAX bound was reached */
    int64_t invalid;  /* events dropped because a field made no sense */
} cluster_view;

void cluster_view_init(cluster_view *v);
void cluster_view_deinit(cluster_view *v); /* frees tables; v may be init'ed again */

/* Registers broker `id` as down (since 0) if not yet known, so a keyframe taken
 * before it starts still shows it.  Returns -1 (and counts overflow) when full. */
int cluster_view_add_broker(cluster_view *v, int32_t id);

/* Folds one event into the view.  Events must come in engine order. */
void cluster_view_apply(cluster_view *v, int64_t t_us, const observe_event *ev);

/* Serialises the whole view (docs/trace.md, "keyframes").  malloc'd, caller frees;
 * NULL only when out of memory.  Equal views give byte-identical JSON. */
char *cluster_view_to_json(const cluster_view *v);

/* Replaces *v (which must be init'ed) with the view in `json`.  Returns 0, or -1 when
 * the text is not a view; *v is then empty (init'ed). */
int cluster_view_from_json(cluster_view *v, const char *json);

/* Lookups for viewers and tests; NULL when absent. */
const cluster_view_broker *cluster_view_broker_get(const cluster_view *v, int32_t id);
const cluster_view_topic *cluster_view_topic_get(const cluster_view *v, const char *name);
const cluster_view_partition *cluster_view_partition_get(const cluster_view *v, const char *topic,
                                                         int32_t partition);
const cluster_view_group *cluster_view_group_get(const cluster_view *v, const char *name);
const cluster_view_producer *cluster_view_producer_get(const cluster_view *v, int32_t node);

#endif
