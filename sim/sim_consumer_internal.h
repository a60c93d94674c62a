/*
 * sim_consumer_internal.h — the simulated consumer's state, shared by its two
 * halves: sim_consumer.c (positions, ListOffsets, Fetch) and
 * sim_consumer_group.c (the group protocol: coordinator, join, sync, heartbeat,
 * commits).
 */
#ifndef STREAMLAB_SIM_CONSUMER_INTERNAL_H
#define STREAMLAB_SIM_CONSUMER_INTERNAL_H

#include "fetch_session.h"
#include "sim_consumer.h"

#define CONSUMER_ASSIGNED_MAX 64
#define CONSUMER_MEMBER_ID_BYTES_MAX 128
#define CONSUMER_RETRY_BACKOFF_US 100000 /* retry.backoff.ms */

enum position_state {
    POSITION_NEED_COMMITTED = 0, /* ask the coordinator (OffsetFetch) */
    POSITION_FETCHING_COMMITTED,
    POSITION_UNKNOWN, /* no committed offset: auto.offset.reset through ListOffsets */
    POSITION_RESETTING,
    POSITION_VALID,
};

typedef struct assigned_partition {
    int32_t topic; /* index into the client's topics */
    int32_t partition;
    int64_t position;
    enum position_state state;
    int64_t retry_at_us;
} assigned_partition;

/* The eager protocol as Java's ConsumerCoordinator runs it. */
enum member_state {
    MEMBER_UNJOINED = 0, /* must (re)join: commit and revoke first when it owns partitions */
    MEMBER_REVOKING,     /* the synchronous commit-on-revoke is in flight */
    MEMBER_JOINING,      /* JoinGroup in flight */
    MEMBER_SYNCING,      /* SyncGroup in flight */
    MEMBER_STABLE,       /* assignment received: heartbeats and auto-commits */
};

struct sim_consumer {
    sim_client client;
    const broker_env *env;
    scenario_group group;
    int32_t node_id;
    /* membership */
    enum member_state state;
    char member_id[CONSUMER_MEMBER_ID_BYTES_MAX];
    int32_t generation; /* -1: none (Java's Generation.NO_GENERATION) */
    int leader;
    int coordinator_lost; /* forget the coordinator before the next step */
    int find_inflight;
    int64_t find_retry_at_us;
    int64_t join_retry_at_us;
    int heartbeat_inflight;
    int64_t heartbeat_at_us, heartbeat_ok_us;
    int commit_inflight;
    int64_t commit_at_us;
    int offsets_inflight;
    int32_t snapshot_partitions[SIM_CLIENT_TOPICS_MAX]; /* leader: counts it assigned from */
    /* assignment */
    int owns; /* holds the assignment of generation owned_generation */
    int32_t owned_generation;
    uint32_t assignment_epoch; /* bumped at every revoke; tags fetches and list offsets */
    assigned_partition assigned[CONSUMER_ASSIGNED_MAX];
    int32_t assigned_count;
    int fetch_inflight[SIM_CLIENT_BROKERS_MAX + 1];
    fetch_session_handler fetch_sessions[SIM_CLIENT_BROKERS_MAX + 1]; /* KIP-227, by node */
    int list_inflight[SIM_CLIENT_BROKERS_MAX + 1];
    sim_consumer_stats stats;
};

static inline int64_t consumer_now_us(const sim_consumer *c) {
    return broker_env_now_us(c->env);
}

/* sim_consumer_group.c */
void consumer_group_step(sim_consumer *c);
/* Handles a group API response (or failure, r == NULL); 0 when api_key is not one. */
int consumer_group_on_response(sim_consumer *c, int16_t api_key, uint64_t tag, wire_reader *r);
int64_t consumer_group_deadline_us(const sim_consumer *c);
/* The coordinator connection closed. */
void consumer_group_coordinator_closed(sim_consumer *c);
/* Gives up the assignment (OBSERVE_REVOKE) without committing. */
void consumer_revoke(sim_consumer *c);

/* sim_consumer.c */
assigned_partition *consumer_find_assigned(sim_consumer *c, kafka_str topic, int32_t partition);

/* The assigned partitions of one topic in `state` whose retry time has come, led by
 * `node` (-1: by any): indexes into c->assigned.  Requests group them by topic. */
typedef struct partition_pick {
    int32_t index[CONSUMER_ASSIGNED_MAX];
    int32_t count;
} partition_pick;
void consumer_pick(const sim_consumer *c, int32_t node, enum position_state state, int64_t now,
                   int32_t topic, partition_pick *out);

#endif
