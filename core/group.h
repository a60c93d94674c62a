/*
 * group.h — one consumer group as the coordinator keeps it (Kafka's classic
 * group protocol): members, generation, chosen protocol, assignments and
 * committed offsets.  Pure state: no IO, no clock of its own; the coordinator
 * (group_coordinator.c) drives its transitions and answers the clients.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
 *     ▲                  ▲                                             │ leader's SyncGroup,
 *     └──last member─────┴──join, leave, session expiry◀── Stable ◀────┘ written to the log
 *
 * Dead is a group being unloaded (its offsets partition moved away).
 */
#ifndef STREAMLAB_GROUP_H
#define STREAMLAB_GROUP_H

#include <stdint.h>

#include "broker.h"
#include "kafka_messages.gen.h"

enum group_state {
    GROUP_EMPTY = 0,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD,
};

/* Owned bytes; len -1 is null. */
typedef struct group_blob {
    uint8_t *bytes;
    int32_t len;
} group_blob;

typedef struct group_protocol {
    char *name;
    group_blob metadata;
} group_protocol;

/* A response the coordinator holds for later: conn 0 = none (or its connection
 * closed: the answer is dropped, as Kafka drops it on a closed socket). */
typedef struct group_held {
    conn_id conn;
    int32_t correlation_id;
    int16_t api_version;
} group_held;

typedef struct group_member {
    char *member_id;
    char *group_instance_id; /* NULL: dynamic member (static membership is not modelled) */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    group_protocol *protocols;
    int32_t protocol_count;
    group_blob assignment;
    int64_t session_deadline_us;
    int awaiting_join; /* rejoined in this rebalance; `join` holds its answer */
    int awaiting_sync;
    group_held join, sync;
} group_member;

typedef struct group_pending_member { /* handed out with MEMBER_ID_REQUIRED */
    char *member_id;
    int64_t deadline_us;
} group_pending_member;

typedef struct group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp_ms;
    int64_t expire_timestamp_ms;
} group_offset;

typedef struct group {
    char *id;
    int32_t offsets_partition;
    enum group_state state;
    int32_t generation;
    char *protocol_type; /* NULL until the first member joins */
    char *protocol_name; /* NULL unless a generation is running */
    char *leader_id;     /* NULL when no members */
    group_member *members;
    int32_t member_count, member_cap;
    group_pending_member *pending;
    int32_t pending_count, pending_cap;
    /* PreparingRebalance: when the join phase ends; the first rebalance of an
     * empty group is delayed by group.initial.rebalance.delay.ms, extended while
     * new members keep arriving (Kafka's InitialDelayedJoin). */
    int64_t join_deadline_us;
    int initial_join;
    int64_t join_remaining_ms;
    int new_member_added;
    group_offset *offsets;
    int32_t offset_count, offset_cap;
} group;

group *group_create(kafka_str id, int32_t offsets_partition);
void group_destroy(group *g);
const char *group_state_name(enum group_state state);

/* ---- members ----------------------------------------------------------------- */
group_member *group_member_find(group *g, kafka_str member_id);
/* Adds a member from its JoinGroup; the first member leads and fixes the protocol type. */
group_member *group_member_add(group *g, const char *member_id, kafka_str client_id,
                               kafka_str client_host, const kafka_join_group_request *req);
/* Replaces a member's protocols and timeouts from a new JoinGroup. */
void group_member_update(group_member *m, const kafka_join_group_request *req);
/* Removes a member; a removed leader passes leadership to the first member left. */
void group_member_remove(group *g, group_member *m);
/* A member as a GroupMetadataValue record stored it (coordinator failover). */
group_member *group_member_restore(group *g, const kafka_group_metadata_value_member_metadata *mm,
                                   kafka_str protocol);
int group_member_protocols_match(const group_member *m, const kafka_join_group_request *req);
const group_blob *group_member_metadata(const group_member *m, const char *protocol);
int32_t group_rebalance_timeout_ms(const group *g);
int group_all_joined(const group *g);

int group_pending_find(const group *g, kafka_str member_id);
void group_pending_add(group *g, const char *member_id, int64_t deadline_us);
void group_pending_remove(group *g, int32_t index);

/* Kafka's supportsProtocols: the protocol type matches and one of the offered
 * protocols is supported by every current member. */
int group_supports_protocols(const group *g, kafka_str protocol_type,
                             const kafka_join_group_request *req);
/* Kafka's vote: among the protocols every member supports, each member votes
 * for the first it lists; most votes wins (ties: the leader's order). */
const char *group_select_protocol(const group *g);

/* ---- offsets ------------------------------------------------------------------- */
group_offset *group_offset_find(group *g, kafka_str topic, int32_t partition);
void group_offset_put(group *g, kafka_str topic, int32_t partition, int64_t offset,
                      int32_t leader_epoch, kafka_str metadata, int64_t commit_timestamp_ms,
                      int64_t expire_timestamp_ms);
void group_offset_delete(group *g, kafka_str topic, int32_t partition);

/* Copies; NULL for a null string. */
char *group_strdup(kafka_str s);
void group_blob_set(group_blob *b, const uint8_t *bytes, int32_t len);
void group_set_str(char **field, kafka_str s);

#endif
