/*
 * broker.h — one Kafka broker as a state machine (DESIGN.md §2).
 *
 * Everything the broker learns arrives through the broker_on_* calls; everything
 * it does leaves through the broker_env the driver supplies.  The broker never
 * blocks, never reads a clock or a file of its own, and keeps no global state, so
 * three of them share one process in the simulator.  A crash is broker_destroy():
 * nothing survives but what env->fs holds.
 */
#ifndef STREAMLAB_BROKER_H
#define STREAMLAB_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "observe.h"
#include "storage.h"

/* A connection handle chosen by the driver; 0 is never a valid connection. */
typedef uint32_t conn_id;

typedef struct broker_env {
    void *ctx;
    int64_t (*now_us)(void *ctx);   /* monotonic, for timeouts */
    int64_t (*epoch_ms)(void *ctx); /* calendar time, for record timestamps */
    uint64_t (*random_u64)(void *ctx);
    /* Dials another broker; returns the new connection (on_connected or on_closed
     * follows later), or 0 when no connection can be started now. */
    conn_id (*connect)(void *ctx, int32_t node_id);
    void (*send)(void *ctx, conn_id conn, const uint8_t *bytes, size_t len);
    void (*close)(void *ctx, conn_id conn);
    void (*observe)(void *ctx, const observe_event *event);
    const storage *fs;
    /* When set, the current now_us value, read without a call (the simulator sets
     * it: the clock is asked ~20 times per event).  NULL: ask now_us. */
    const int64_t *clock_us;
} broker_env;

static inline int64_t broker_env_now_us(const broker_env *env) {
    return env->clock_us ? *env->clock_us : env->now_us(env->ctx);
}

enum broker_truncation {
    BROKER_TRUNCATION_LEADER_EPOCH = 0, /* KIP-279 */
    BROKER_TRUNCATION_EPOCH_SINGLE,     /* KIP-101 as first shipped */
    BROKER_TRUNCATION_HIGH_WATERMARK,   /* before KIP-101 */
};

#define BROKER_NODES_MAX 16
#define BROKER_HOST_BYTES_MAX 64

typedef struct broker_node_address {
    int32_t node_id;
    char host[BROKER_HOST_BYTES_MAX];
    int32_t port;
} broker_node_address;

/* A topic the broker knows at start (static metadata, until the controller lands). */
typedef struct broker_topic_config {
    const char *name;
    int32_t partitions;
    int32_t replication_factor;
} broker_topic_config;

typedef struct broker_config {
    int32_t node_id;
    const char *cluster_id;
    broker_node_address nodes[BROKER_NODES_MAX]; /* every broker, this one included */
    int32_t node_count;
    int32_t min_insync_replicas;
    int64_t replica_lag_time_max_ms;
    int unclean_leader_election;
    enum broker_truncation truncation;
    int64_t flush_interval_ms; /* -1 = never */
    int32_t offsets_topic_partitions;
    /* group.initial.rebalance.delay.ms (3000): an empty group's first rebalance waits */
    int64_t group_initial_rebalance_delay_ms;
    int64_t retention_ms;    /* -1 = unbounded */
    int64_t retention_bytes; /* -1 = unbounded */
    int auto_create_topics;
    /* A Metadata request that auto-creates topics is answered once they exist (with
     * their leaders), or after this long with LEADER_NOT_AVAILABLE; 0 answers at once
     * as Kafka does.  Clients then need one metadata round less. */
    int64_t auto_create_wait_ms; /* 5000 */
    int32_t default_partitions;
    int32_t default_replication_factor;
    int64_t segment_bytes;
    int32_t request_bytes_max;         /* socket.request.max.bytes */
    const broker_topic_config *topics; /* static metadata (when metadata_quorum is 0) */
    int32_t topic_count;
    /* 1: every broker is a controller voter and metadata comes from the replicated
     * metadata log (DESIGN.md §2); 0: the static `topics` above, first replica leads. */
    int metadata_quorum;
    int64_t broker_heartbeat_interval_ms;   /* 2000 */
    int64_t broker_session_timeout_ms;      /* 9000 */
    int64_t controller_election_timeout_ms; /* 1000 */
    int64_t controller_fetch_timeout_ms;    /* 2000 */
} broker_config;

/* Fills cfg with Kafka's defaults for a broker of a `node_count`-broker cluster. */
void broker_config_defaults(broker_config *cfg, int32_t node_id, int32_t node_count);

typedef struct broker broker;

/* Starts a broker, or restarts one after a crash: state comes from env->fs only. */
broker *broker_open(const broker_env *env, const broker_config *cfg);
void broker_destroy(broker *b);

void broker_on_accept(broker *b, conn_id conn);
void broker_on_connected(broker *b, conn_id conn);
void broker_on_closed(broker *b, conn_id conn);
void broker_on_bytes(broker *b, conn_id conn, const uint8_t *bytes, size_t len);

/* The next virtual µs at which broker_on_timer must run, or INT64_MAX for none. */
int64_t broker_next_deadline_us(const broker *b);
void broker_on_timer(broker *b);

int32_t broker_node_id(const broker *b);
/* The active controller as this broker knows it (itself when it leads the
 * quorum), or -1. */
int32_t broker_active_controller(const broker *b);
/* The leader of topic/partition in this broker's committed metadata, or -1. */
int32_t broker_partition_leader(const broker *b, const char *topic, int32_t partition);

/* One partition as this broker sees it, for a driver's metrics (core/broker_stats.c). */
typedef struct broker_partition_info {
    const char *topic;
    int32_t partition;
    int32_t leader; /* -1: none */
    int32_t replica_count;
    int32_t isr_count;
    int hosted;                                               /* this broker holds a replica */
    int64_t log_start_offset, log_end_offset, high_watermark; /* -1 when not hosted */
    uint64_t bytes_out;      /* record bytes this broker answered to consumers' fetches */
    uint64_t failed_fetches; /* times this broker answered a fetch of it with an error */
} broker_partition_info;

typedef void broker_partition_fn(void *arg, const broker_partition_info *info);
/* Calls each(arg, info) for every partition in this broker's metadata. */
void broker_partition_infos(const broker *b, broker_partition_fn *each, void *arg);
/* Brokers registered and unfenced in this broker's committed metadata. */
int32_t broker_alive_count(const broker *b);
/* Fetch partitions this broker answered with an error, for every topic (also
 * those it does not know). */
uint64_t broker_failed_fetches(const broker *b);
/* min.insync.replicas as configured. */
int32_t broker_min_insync_replicas(const broker *b);

/* The groups this broker coordinates (loaded ones), for metrics such as
 * kafka_consumergroup_members and _lag: on_group per group (state as DescribeGroups
 * names it), then on_offset per committed offset of that group.  Either may be NULL. */
typedef void broker_group_fn(void *arg, const char *group, const char *state, int32_t members);
typedef void broker_group_offset_fn(void *arg, const char *group, const char *topic,
                                    int32_t partition, int64_t offset);
void broker_each_group(const broker *b, broker_group_fn *on_group,
                       broker_group_offset_fn *on_offset, void *arg);

#endif
