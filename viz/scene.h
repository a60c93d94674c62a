/*
 * scene.h — what the viewer shows at one instant, built from a cluster_view plus
 * the recent activity around it (messages in flight, consumer positions, rates,
 * the event log).  No SDL here: the scene is plain data, so tests can check it.
 *
 * A source (source_trace.c for a recorded run, source_live.c for a running one)
 * fills a viz_input; viz_scene_build() derives everything the drawing needs:
 * brokers online, under-replicated partitions, each consumer's partitions and lag,
 * each group's lag, and the dots for messages in flight.
 *
 * Messages in the lab take 1–5 ms, far too fast to see, so each message stays on
 * screen for at least `dot_window_us` of virtual time (the source scales it with the
 * playback speed): a dot travels from sender to receiver over that window.  A lost
 * message stops half-way and lingers as a cross.
 */
#ifndef STREAMLAB_VIZ_SCENE_H
#define STREAMLAB_VIZ_SCENE_H

#include <stdint.h>

#include "cluster_view.h"

#define VIZ_BROKERS_MAX 8
#define VIZ_NODES_MAX 64
#define VIZ_CONSUMER_PARTS_MAX 16
#define VIZ_DOTS_MAX 900
#define VIZ_LOG_LINES_MAX 16
#define VIZ_NAME_BYTES_MAX 64
#define VIZ_LINE_BYTES_MAX 112

enum viz_node_kind { VIZ_NODE_BROKER = 1, VIZ_NODE_PRODUCER, VIZ_NODE_CONSUMER, VIZ_NODE_OTHER };

typedef struct viz_node {
    int32_t id;
    enum viz_node_kind kind;
    char name[VIZ_NAME_BYTES_MAX];
    char topic[VIZ_NAME_BYTES_MAX]; /* producers: the topic written, when known */
    char group[VIZ_NAME_BYTES_MAX]; /* consumers: the group */
} viz_node;

typedef struct viz_msg { /* one network message (the trace's `messages` row) */
    int64_t send_us;
    int64_t deliver_us; /* -1 when lost */
    int32_t src, dst;
    int16_t api_key;
    uint8_t lost, is_response;
} viz_msg;

typedef struct viz_position { /* where a consumer read last */
    int32_t node;
    char topic[VIZ_NAME_BYTES_MAX];
    int32_t partition;
    int64_t next_offset;
    int64_t t_us; /* when it last consumed there */
} viz_position;

enum viz_tone { VIZ_TONE_INFO, VIZ_TONE_GOOD, VIZ_TONE_BAD, VIZ_TONE_ACTION };

typedef struct viz_line { /* one event log line, in plain words */
    int64_t t_us;
    enum viz_tone tone;
    char text[VIZ_LINE_BYTES_MAX];
} viz_line;

typedef struct viz_mark { /* a fault marker on the timeline */
    int64_t t_us;
    enum viz_tone tone;
    char label[32];
} viz_mark;

enum viz_traffic {
    VIZ_TRAFFIC_PRODUCE,
    VIZ_TRAFFIC_FETCH,       /* consumer fetches */
    VIZ_TRAFFIC_REPLICATION, /* broker-to-broker fetches */
    VIZ_TRAFFIC_CONTROLLER,  /* quorum, LeaderAndIsr, AlterPartition, heartbeats */
    VIZ_TRAFFIC_GROUP,       /* coordinator: join, sync, heartbeat, commit */
    VIZ_TRAFFIC_METADATA,    /* metadata, api versions, list offsets, anything else */
    VIZ_TRAFFIC_COUNT
};

typedef struct viz_input {
    const cluster_view *view;
    int64_t t_us, end_us;
    const viz_node *nodes;
    int node_count;
    const viz_position *positions;
    int position_count;
    const viz_msg *msgs; /* sent within [t_us - 2 * dot_window_us, t_us], any order */
    int msg_count;
    const viz_line *lines; /* in time order; those after t_us are ignored */
    int line_count;
    const viz_mark *marks;
    int mark_count;
    double records_in_per_s, records_out_per_s;
    int32_t replication_factor;                                 /* for topics that name none */
    uint8_t link_cut[VIZ_BROKERS_MAX + 1][VIZ_BROKERS_MAX + 1]; /* live mode knows; else 0 */
    int live;
    int64_t dot_window_us;
} viz_input;

typedef struct viz_part_ref {
    int16_t topic; /* index into view->topics */
    int16_t partition;
} viz_part_ref;

typedef struct viz_consumer {
    int32_t node;
    const char *name;
    int32_t group; /* index into viz_scene.groups */
    viz_part_ref parts[VIZ_CONSUMER_PARTS_MAX];
    int part_count;
    int64_t lag;
} viz_consumer;

typedef struct viz_group {
    char name[VIZ_NAME_BYTES_MAX];
    int32_t generation; /* -1 = no rebalance seen */
    int32_t members;    /* in that generation */
    int64_t lag;
    int64_t records_consumed;
} viz_group;

typedef struct viz_producer {
    int32_t node;
    const char *name, *topic;
    int64_t acked, failed;
} viz_producer;

typedef struct viz_dot {
    int32_t src, dst;
    float progress; /* 0 at the sender, 1 at the receiver */
    float alpha;    /* lost crosses fade out */
    uint8_t traffic, lost;
} viz_dot;

typedef struct viz_scene {
    viz_input in;
    int brokers_online;
    int under_replicated;
    viz_producer producers[VIZ_NODES_MAX];
    int producer_count;
    viz_group groups[CLUSTER_VIEW_GROUPS_MAX];
    int group_count;
    viz_consumer consumers[VIZ_NODES_MAX];
    int consumer_count;
    viz_dot dots[VIZ_DOTS_MAX];
    int dot_count;
    int traffic_count[VIZ_TRAFFIC_COUNT]; /* dots of each kind */
    int lost_count;
    const viz_line *log[VIZ_LOG_LINES_MAX]; /* newest first */
    int log_count;
} viz_scene;

/* Builds the scene from `in` (pointers are kept, not copied: keep them alive). */
void viz_scene_build(viz_scene *s, const viz_input *in);

/* The colour class of a message. */
enum viz_traffic viz_traffic_of(int16_t api_key, int src_is_broker, int dst_is_broker);
const char *viz_traffic_name(enum viz_traffic t);

/* Lookups; -1 / NULL when absent. */
const cluster_view_broker *viz_scene_broker(const viz_scene *s, int32_t id);
/* Lab topics are drawn; `__consumer_offsets` (the coordinator's bookkeeping) is not. */
int viz_topic_drawn(const cluster_view_topic *t);
int viz_scene_partition_under_replicated(const viz_scene *s, const cluster_view_topic *t,
                                         const cluster_view_partition *p);
const viz_node *viz_scene_node(const viz_scene *s, int32_t id);

/* A partition's replica set as far as the trace tells: its ISR, the leader and every
 * node that reported a log for it, sorted.  Returns the count (<= CLUSTER_VIEW_REPLICAS_MAX). */
int viz_partition_replicas(const cluster_view_partition *p, int32_t *out);
/* A replica's log end offset, or -1 when that node reported none. */
int64_t viz_replica_log_end(const cluster_view_partition *p, int32_t node);
int viz_partition_in_isr(const cluster_view_partition *p, int32_t node);

#endif
