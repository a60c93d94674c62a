/*
 * scenario.h — a scenario file (DESIGN.md §4), loaded and validated.
 *
 * scenario_load() reads the JSON with cJSON, applies `--set KEY=VALUE`
 * overrides, fills every default, and validates everything; on any error it
 * writes one line "FILE: FIELD: expected ..." into err and returns -1, so nothing
 * runs.  Keys whose behaviour is not simulated yet are accepted and listed in
 * `not_simulated` so the summary can say so.
 */
#ifndef STREAMLAB_SCENARIO_H
#define STREAMLAB_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define SCENARIO_NAME_BYTES_MAX 64
#define SCENARIO_TOPICS_MAX 64
#define SCENARIO_PRODUCERS_MAX 64
#define SCENARIO_GROUPS_MAX 32
#define SCENARIO_GROUP_TOPICS_MAX 16
#define SCENARIO_FAULTS_MAX 256
#define SCENARIO_BROKERS_MAX 9
#define SCENARIO_NOT_SIMULATED_MAX 32
#define SCENARIO_PARTITIONS_MAX 1024 /* per topic, and offsets_topic_partitions */
#define SCENARIO_CONSUMERS_MAX 1024  /* per group */

enum scenario_truncation {
    SCENARIO_TRUNCATION_LEADER_EPOCH = 0,
    SCENARIO_TRUNCATION_EPOCH_SINGLE,
    SCENARIO_TRUNCATION_HIGH_WATERMARK,
};

typedef struct scenario_cluster {
    int32_t brokers;                 /* 3 */
    int32_t min_insync_replicas;     /* 1 */
    int64_t replica_lag_time_max_ms; /* 30000 */
    int unclean_leader_election;     /* 0 */
    enum scenario_truncation truncation;
    int64_t flush_interval_ms;          /* -1 = null = never */
    int32_t offsets_topic_partitions;   /* 50 */
    int64_t retention_ms;               /* 7 days; -1 = null = unbounded */
    int64_t retention_bytes;            /* -1 = null = unbounded */
    int64_t segment_bytes;              /* 1 GiB; retention deletes whole segments */
    int auto_create_topics;             /* 1 */
    int32_t default_partitions;         /* 3 */
    int32_t default_replication_factor; /* 3 */
} scenario_cluster;

typedef struct scenario_network {
    int64_t latency_ms_min; /* 1 */
    int64_t latency_ms_max; /* 5 */
    /* drop_rate as an integer fraction: a connection breaks at a given message
     * with probability drop_rate_ppm / 1,000,000 (never floating point in the engine). */
    uint32_t drop_rate_ppm;
} scenario_network;

typedef struct scenario_topic {
    char name[SCENARIO_NAME_BYTES_MAX];
    int32_t partitions;
    int32_t replication_factor;
} scenario_topic;

enum scenario_acks { SCENARIO_ACKS_ALL = -1, SCENARIO_ACKS_NONE = 0, SCENARIO_ACKS_LEADER = 1 };

typedef struct scenario_producer {
    char name[SCENARIO_NAME_BYTES_MAX];
    char topic[SCENARIO_NAME_BYTES_MAX];
    int32_t rate_per_s;          /* records per virtual second */
    int16_t acks;                /* -1 (all), 0, 1 */
    int32_t value_bytes;         /* 100 */
    int32_t keys;                /* 0 = null keys */
    int idempotent;              /* 1 */
    int64_t linger_ms;           /* 5 */
    int32_t batch_bytes;         /* 16384 */
    int64_t delivery_timeout_ms; /* 120000 */
} scenario_producer;

enum scenario_assignor { SCENARIO_ASSIGNOR_RANGE = 0, SCENARIO_ASSIGNOR_ROUNDROBIN };
enum scenario_offset_reset { SCENARIO_RESET_LATEST = 0, SCENARIO_RESET_EARLIEST };

typedef struct scenario_group {
    char name[SCENARIO_NAME_BYTES_MAX];
    char topics[SCENARIO_GROUP_TOPICS_MAX][SCENARIO_NAME_BYTES_MAX];
    int32_t topic_count;
    int32_t consumers;
    enum scenario_assignor assignor;
    int64_t session_timeout_ms;      /* 45000 */
    int64_t heartbeat_interval_ms;   /* 3000 */
    int64_t auto_commit_interval_ms; /* 5000 */
    enum scenario_offset_reset auto_offset_reset;
} scenario_group;

enum scenario_fault_kind {
    SCENARIO_FAULT_CRASH = 1,
    SCENARIO_FAULT_RESTART,
    SCENARIO_FAULT_POWER_OFF,
    SCENARIO_FAULT_SPLIT,
    SCENARIO_FAULT_ISOLATE,
    SCENARIO_FAULT_CUT,
    SCENARIO_FAULT_SLOW,
    SCENARIO_FAULT_HEAL,
    SCENARIO_FAULT_CRASH_CONSUMER,
    SCENARIO_FAULT_ADD_CONSUMER,
};

/* How a fault names a broker. */
enum scenario_target_kind {
    SCENARIO_TARGET_BROKER = 1,  /* target.broker */
    SCENARIO_TARGET_CONTROLLER,  /* the active controller at that moment */
    SCENARIO_TARGET_LEADER,      /* leader of target.topic / target.partition then */
    SCENARIO_TARGET_CRASHED,     /* restart only: every crashed or powered-off broker */
    SCENARIO_TARGET_COORDINATOR, /* coordinator of target.group: the leader of topic
                                    "__consumer_offsets" / partition, as LEADER */
};

typedef struct scenario_target {
    enum scenario_target_kind kind;
    int32_t broker;
    char topic[SCENARIO_NAME_BYTES_MAX];
    int32_t partition;
    char group[SCENARIO_NAME_BYTES_MAX]; /* COORDINATOR */
} scenario_target;

typedef struct scenario_fault {
    int64_t at_us;
    enum scenario_fault_kind kind;
    scenario_target target; /* crash, restart, power_off, isolate */
    /* split: group_of[broker id] = 1-based side; brokers not listed are 0 (own side) */
    int32_t split_side[SCENARIO_BROKERS_MAX + 1];
    int32_t link[2]; /* cut, slow, heal of one link; heal_all when heal: true */
    int heal_all;
    int64_t slow_latency_ms_min, slow_latency_ms_max;
    char group[SCENARIO_NAME_BYTES_MAX]; /* crash_consumer, add_consumer */
    int32_t consumer;                    /* crash_consumer: 1-based */
} scenario_fault;

typedef struct scenario_chaos {
    int enabled;
    int64_t from_us, until_us;
    int64_t crash_every_ms_min, crash_every_ms_max; /* 0,0 = none */
    int64_t split_every_ms_min, split_every_ms_max; /* 0,0 = none */
    int64_t down_ms_min, down_ms_max;
    int64_t power_off_every_ms_min, power_off_every_ms_max; /* 0,0 = none (null) */
} scenario_chaos;

typedef struct scenario {
    char path[256];
    char name[SCENARIO_NAME_BYTES_MAX];
    char *description; /* owned */
    char *source_json; /* the file as read, owned (recorded in traces) */
    uint64_t seed;     /* 1 */
    int64_t duration_us;
    int64_t liveness_us; /* 30 s */
    scenario_cluster cluster;
    scenario_network network;
    scenario_topic topics[SCENARIO_TOPICS_MAX];
    int32_t topic_count;
    scenario_producer producers[SCENARIO_PRODUCERS_MAX];
    int32_t producer_count;
    scenario_group groups[SCENARIO_GROUPS_MAX];
    int32_t group_count;
    scenario_fault faults[SCENARIO_FAULTS_MAX];
    int32_t fault_count;
    scenario_chaos chaos;
    const char *not_simulated[SCENARIO_NOT_SIMULATED_MAX]; /* static strings: keys present
                                                              whose behaviour comes later */
    int32_t not_simulated_count;
} scenario;

/* One `--set KEY=VALUE`: KEY is a dotted path ("cluster.truncation",
 * "producers.0.rate_per_s" or "producers.producer-1.acks"); VALUE is parsed as
 * JSON, or taken as a string when it is not valid JSON. */
typedef struct scenario_override {
    const char *key;
    const char *value;
} scenario_override;

/* Loads path (or, when json_text is not NULL, that text as if read from path),
 * applies overrides, fills defaults and validates.  On error returns -1 with one
 * line in err: "FILE: FIELD: expected ..." and s holds nothing to free (calling
 * scenario_free is harmless).  Format and error reference: docs/scenario.md. */
int scenario_load(scenario *s, const char *path, const char *json_text,
                  const scenario_override *overrides, int override_count, char *err,
                  size_t err_len);
void scenario_free(scenario *s);

/* Index of the topic/group by name, or -1. */
int scenario_topic_index(const scenario *s, const char *name);
int scenario_group_index(const scenario *s, const char *name);

/* Splits "KEY=VALUE" in place (the '=' becomes NUL); o points into arg.
 * Returns -1 when there is no '=' or KEY is empty. */
int scenario_override_parse(char *arg, scenario_override *o);

/* Records that key (a static string) is present but not simulated yet.  Once
 * only per key; keys beyond SCENARIO_NOT_SIMULATED_MAX are dropped.  The
 * policy of what to mark belongs to the caller. */
void scenario_mark_not_simulated(scenario *s, const char *key);

/* The scenario with every default filled, as formatted JSON that loads back to
 * the same scenario (sim/scenario_json.c).  malloc'd: free() it.  NULL when out
 * of memory. */
char *scenario_effective_json(const scenario *s);

/* The spelling used in scenario files. */
const char *scenario_truncation_name(enum scenario_truncation t);
const char *scenario_assignor_name(enum scenario_assignor a);
const char *scenario_offset_reset_name(enum scenario_offset_reset r);
const char *scenario_fault_kind_name(enum scenario_fault_kind k);

#endif
