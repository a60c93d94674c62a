/*
 * group_coordinator.h — the broker's group coordinator: the groups whose
 * `__consumer_offsets` partition this broker leads, their rebalances, their
 * writes to that partition, and loading them when leadership arrives.
 *
 * Split by concern: group_coordinator.c (registry, partitions and loading,
 * writes, timers, held answers), group_rebalance.c (the join/sync state
 * machine), handle_group.c, handle_group_admin.c and handle_offsets.c (the
 * requests).  See docs/cluster.md for the design and how it differs from Kafka.
 */
#ifndef STREAMLAB_GROUP_COORDINATOR_H
#define STREAMLAB_GROUP_COORDINATOR_H

#include "broker_internal.h"
#include "group.h"
#include "offsets_topic.h"

#define GROUP_SESSION_TIMEOUT_MS_MIN 6000    /* group.min.session.timeout.ms */
#define GROUP_SESSION_TIMEOUT_MS_MAX 1800000 /* group.max.session.timeout.ms */
#define GROUP_COMMIT_TIMEOUT_MS 5000         /* offsets.commit.timeout.ms */
#define GROUP_OFFSET_METADATA_BYTES_MAX 4096 /* offset.metadata.max.bytes */
#define GROUP_LOAD_READ_BYTES_MAX (1 << 20)  /* offsets.load.buffer.size */

enum group_write_kind {
    GROUP_WRITE_OFFSETS = 1, /* an OffsetCommit: answered when durable */
    GROUP_WRITE_GENERATION,  /* the leader's SyncGroup: the generation becomes stable */
};

/* One partition of an OffsetCommit, as requested and as answered. */
typedef struct group_write_offset {
    int32_t topic_index; /* position of its topic in the request */
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp_ms;
    int64_t expire_timestamp_ms;
    int16_t error; /* set before the write (not written) or by its outcome */
} group_write_offset;

/* An append to an offsets partition waiting for the high watermark to pass it. */
typedef struct group_write {
    enum group_write_kind kind;
    int32_t partition;
    int32_t leader_epoch;
    int64_t offset_needed;
    int64_t deadline_us;
    char *group_id;
    int32_t generation;
    group_write_offset *offsets;
    int32_t offset_count;
    group_held reply; /* GROUP_WRITE_OFFSETS: the OffsetCommit to answer */
} group_write;

enum group_partition_state {
    GROUP_PARTITION_NONE = 0, /* not the leader */
    GROUP_PARTITION_LOADING,  /* leader; the log is not yet committed up to load_end_offset */
    GROUP_PARTITION_LOADED,
};

typedef struct group_partition {
    enum group_partition_state state;
    int32_t leader_epoch;
    int64_t load_end_offset; /* the log end when leadership began */
} group_partition;

typedef struct group_coordinator {
    group **groups;
    int32_t group_count, group_cap;
    group_partition *parts;
    int32_t part_count;
    group_write *writes;
    int32_t write_count, write_cap;
    conn_id *resume; /* answered connections whose queued requests are served next */
    int32_t resume_count, resume_cap;
    int32_t loading_count;
    int64_t next_deadline_us; /* never later than the earliest group deadline */
    wire_writer out;
    offsets_batch batch;
    arena scratch;
} group_coordinator;

/* ---- life cycle and driver hooks (group_coordinator.c) ---------------------------- */
group_coordinator *group_coordinator_create(void);
void group_coordinator_destroy(group_coordinator *gc);
/* p (an offsets partition) changed leader or epoch: unload, and load if we lead. */
void group_coordinator_partition_moved(broker *b, broker_partition *p);
void group_coordinator_conn_closed(broker *b, conn_id conn);
/* Loads, durable writes and resumed connections; runs at the end of every entry point. */
void group_coordinator_deferred_run(broker *b);
/* Inline: usually there is nothing to do. */
static inline void group_coordinator_deferred(broker *b, group_coordinator *gc) {
    if (gc->loading_count > 0 || gc->write_count > 0 || gc->resume_count > 0)
        group_coordinator_deferred_run(b);
}
void group_coordinator_on_timer(broker *b);
int64_t group_coordinator_next_deadline_us(const broker *b);
void group_coordinator_note_deadline(broker *b, int64_t at_us);

/* ---- lookups ------------------------------------------------------------------------ */
/* NONE when this broker coordinates group_id and has loaded it; else NOT_COORDINATOR
 * or COORDINATOR_LOAD_IN_PROGRESS.  *partition gets its offsets partition. */
int16_t group_coordinator_owns(broker *b, kafka_str group_id, int32_t *partition);
group *group_coordinator_find(broker *b, kafka_str group_id);
group *group_coordinator_add(broker *b, kafka_str group_id, int32_t partition);
/* The offsets topic as this broker knows it, creating it (static metadata) or asking
 * the controller for it (quorum) when absent; NULL while it does not exist. */
broker_topic *group_coordinator_offsets_topic(broker *b);

/* ---- held answers --------------------------------------------------------------------- */
/* Parks c until the coordinator answers; fills *held. */
void group_coordinator_park(broker *b, broker_conn *c, const broker_request *req, group_held *held);
typedef void group_encode_fn(const void *msg, wire_writer *w, int16_t version);
/* Sends a held answer (if its connection is still there) and resumes the connection. */
void group_coordinator_reply(broker *b, group_held *held, int16_t api_key, group_encode_fn *encode,
                             const void *msg);

/* ---- writes ----------------------------------------------------------------------------- */
/* Appends gc->batch to offsets partition `partition` and, on success, queues w
 * (taking ownership of its allocations) to complete when the high watermark
 * passes it.  Returns NONE or the coordinator error to answer. */
int16_t group_coordinator_write(broker *b, int32_t partition, group_write *w);
/* Answers an OffsetCommit from its write: partitions without an error of their
 * own get `error` (a coordinator error); on NONE the offsets enter the cache. */
void group_coordinator_commit_done(broker *b, group_write *w, int16_t error);
/* Kafka's mapping of a log append error to what the coordinator answers. */
int16_t group_coordinator_append_error(int16_t error);
void group_write_release(group_write *w);

/* ---- the rebalance state machine (group_rebalance.c) ------------------------------------ */
void group_prepare_rebalance(broker *b, group *g);
void group_maybe_prepare_rebalance(broker *b, group *g);
void group_try_complete_join(broker *b, group *g);
void group_join_deadline(broker *b, group *g);
void group_remove_member(broker *b, group *g, group_member *m);
void group_reply_join(broker *b, group *g, group_member *m, int16_t error);
void group_reply_sync(broker *b, group_member *m, int16_t error);
/* Writes the generation the leader's SyncGroup completed (answers come when durable). */
int16_t group_store_generation(broker *b, group *g);
void group_generation_stored(broker *b, group *g, int32_t generation, int16_t error);
void group_session_renew(broker *b, group_member *m);
/* Expires members and pending members whose session passed; 1 if any. */
void group_expire_sessions(broker *b, group *g, int64_t now_us);
/* Fills a GroupMetadataValue (arrays in `a`) for the current generation. */
void group_metadata_value(const broker *b, const group *g, kafka_group_metadata_value *v, arena *a);
/* Handles dropped with the group: answer held requests with `error`. */
void group_fail_held(broker *b, group *g, int16_t error);

#endif
