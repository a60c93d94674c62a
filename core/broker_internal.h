/*
 * broker_internal.h — what the broker's request handlers share.
 *
 * A connection is processed one request at a time, as Kafka's SocketServer does:
 * after a request is read, the connection is muted until its response is sent.
 * A handler either answers at once or parks the request (a Fetch waiting for
 * data); the parked request is retried whenever the partitions it waits on change
 * and when its deadline passes.  This keeps responses in request order
 * (kafka-python checks) without a reorder buffer.
 *
 * Kept values (each checked against a recomputation in the sanitizer builds, see
 * BROKER_CHECK_CACHES) and the rules that keep them:
 * - park_deadline_us: park and unpark a connection only through broker_conn_park /
 *   broker_conn_unpark; write parked_deadline_us only while it is not parked.
 * - produce_wake: whatever moves a led partition's high watermark or leadership
 *   sets it (maybe_advance_high_watermark, replication_apply).
 * - visible_seq: whatever changes what a consumer fetch of a led partition would
 *   read (high watermark, leadership, the log below the high watermark) calls
 *   broker_partition_changed; broker_partition_appended is for a leader append.
 * - topic_keys, conn_slot: only broker_topic_add, broker_topic_delete, conn_add and
 *   conn_remove change
 *   the topic and connection tables.
 */
#ifndef STREAMLAB_BROKER_INTERNAL_H
#define STREAMLAB_BROKER_INTERNAL_H

#include "arena.h"
#include "broker.h"
#include "fetch_session.h"
#include "framing.h"
#include "kafka_messages.gen.h"
#include "partition_log.h"
#include "peer_channel.h"
#include "producer_ids.h"
#include "producer_state.h"
#include "controller.h"
#include "metadata_image.h"
#include "raft.h"
#include "wire.h"

/* Caches and indexes (the topic index, the deadline parts) are checked against a
 * full recomputation in the sanitizer builds only: asserts stay on in the shipped
 * build, where the recomputation would cost what the cache saves. */
#if defined(__SANITIZE_ADDRESS__)
#define BROKER_CHECK_CACHES 1
#else
#define BROKER_CHECK_CACHES 0
#endif

#define BROKER_TOPIC_BYTES_MAX 250
#define BROKER_REPLICAS_MAX BROKER_NODES_MAX

/* What a leader knows of one follower. */
typedef struct broker_replica_state {
    int32_t node;
    int64_t log_end_offset;    /* from its last fetch; -1 unknown */
    int64_t last_caught_up_us; /* last fetch at or past our log end */
    int64_t leo_at_last_fetch; /* our log end when it last fetched */
    int64_t last_fetch_us;
} broker_replica_state;

enum broker_follower_state {
    FOLLOWER_TRUNCATING = 0, /* must ask the leader where our logs diverge */
    FOLLOWER_FETCHING,
};

typedef struct broker_partition {
    /* first, in one cache line: what every fetch, wake-up scan and produce reads */
    uint64_t change_seq; /* broker change_seq when data or the high watermark last moved */
    /* change_seq when what a consumer can fetch last changed: the high watermark
     * moved or metadata was applied (a leader append alone does not move it) */
    uint64_t visible_seq;
    int32_t index;
    int32_t leader;
    int32_t leader_epoch;
    int32_t partition_epoch;
    int hosted;  /* this broker holds a replica, and `log` is open */
    int deleted; /* its topic was deleted (broker_topic_delete): a tombstone */
    int64_t high_watermark;
    char topic[BROKER_TOPIC_BYTES_MAX];
    uint8_t topic_id[16];
    int32_t replicas[BROKER_REPLICAS_MAX];
    int32_t replica_count;
    int32_t isr[BROKER_REPLICAS_MAX];
    int32_t isr_count;
    partition_log log;
    producer_state producers; /* idempotent producers, kept on every append */
    int producers_incomplete; /* a rebuild or update failed: rebuild again */
    /* leader */
    broker_replica_state followers[BROKER_REPLICAS_MAX];
    int32_t follower_count;
    int isr_change_inflight;
    int64_t leader_epoch_start;                /* our log end when this leader epoch began */
    int32_t isr_proposed[BROKER_REPLICAS_MAX]; /* an ISR change not yet committed */
    int32_t isr_proposed_count;
    int64_t isr_retry_at_us; /* after a refused ISR change */
    /* follower */
    enum broker_follower_state follower_state;
    int32_t truncation_epoch; /* epoch asked about next (leader-epoch walk-back) */
    int fetch_inflight;       /* which request (fetcher tag) includes it, 0 none */
    int32_t fetch_from;       /* the leader that request went to */
    /* for a driver's metrics (core/broker_stats.c) */
    uint64_t bytes_out;      /* record bytes answered to consumers (not to followers) */
    uint64_t failed_fetches; /* times a fetch answered this partition with an error */
} broker_partition;

typedef struct broker_topic {
    char name[BROKER_TOPIC_BYTES_MAX];
    /* strlen(name), kept because every partition access looks a topic up; -1 once
     * the topic is deleted (broker_topic_delete): never found by name again. */
    int32_t name_len;
    uint8_t id[16];
    int32_t partition_count;
    int32_t replication_factor;
    broker_partition *partitions;
} broker_topic;

typedef struct broker_topic_key {
    uint64_t head_tail; /* first four bytes << 32 | last four (shorter: the bytes) */
    int32_t len;
} broker_topic_key;

typedef struct broker_request {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kafka_str client_id;
    const uint8_t *body; /* the bytes after the header, valid while the request lives */
    size_t body_len;
} broker_request;

enum broker_park_kind {
    BROKER_PARK_NONE = 0,
    BROKER_PARK_FETCH,    /* re-served when data arrives or at the deadline */
    BROKER_PARK_PRODUCE,  /* acks=all: answered when the high watermark passes */
    BROKER_PARK_COMMIT,   /* a controller answer held until its records commit */
    BROKER_PARK_FORWARD,  /* forwarded to the active controller; relayed back */
    BROKER_PARK_GROUP,    /* JoinGroup, SyncGroup or OffsetCommit: the group coordinator answers */
    BROKER_PARK_METADATA, /* Metadata creating topics: served again when the image changes */
};

/* An acks=all produce waiting for its partitions' high watermarks. */
typedef struct broker_produce_wait {
    broker_partition *partition;
    int64_t offset_needed; /* high watermark that completes it: last offset + 1 */
    int16_t *error_out;    /* the partition's error field in the prepared response */
} broker_produce_wait;

typedef struct broker_conn {
    /* first, in one cache line: what the lookups and the wake-up scans read */
    conn_id id;
    /* The request being served, while parked. */
    enum broker_park_kind parked;
    int64_t parked_deadline_us;
    /* BROKER_PARK_FETCH: retried only when one of these changed after parked_seq */
    broker_partition **parked_parts;
    int32_t parked_part_count;
    int parked_metadata; /* a metadata-log fetch: woken by the quorum's log */
    int parked_consumer; /* a consumer's fetch (it reads to the high watermark) */
    uint64_t parked_seq;
    struct kafka_fetch_request *parked_fetch; /* its decoded request, kept in `arena` */
    frame_reader reader;
    int outbound; /* we dialled it */
    int closing;
    uint8_t *parked_frame; /* owned copy of the request frame */
    size_t parked_frame_len;
    arena arena;
    /* BROKER_PARK_PRODUCE: the prepared response lives in `arena` */
    broker_request parked_request;
    void *parked_response;
    broker_produce_wait *waits;
    int32_t wait_count;
    /* BROKER_PARK_COMMIT: the encoded response, sent once the metadata log's high
     * watermark passes commit_offset.  BROKER_PARK_FORWARD: the forward's tag. */
    uint8_t *held;
    size_t held_len;
    int64_t commit_offset;
    uint64_t forward_tag;
} broker_conn;

/* Outbound channels, one per peer and purpose (a parked long-poll on one must
 * not hold up the others: the peer serves one request per connection at a time). */
enum broker_channel_kind { CHANNEL_FETCHER = 0, CHANNEL_CONTROLLER, CHANNEL_QUORUM, CHANNEL_KINDS };

struct broker {
    broker_env env;
    broker_config cfg;
    broker_topic *topics; /* only ever appended to (deleted topics stay, unmapped) */
    int32_t topic_count, topic_cap;
    /* broker_topic_find's index, by topic: a name's length and first and last four
     * bytes (all of a name of up to 8 bytes), scanned before any name is read */
    struct broker_topic_key *topic_keys;
    broker_conn *conns;
    int32_t conn_count, conn_cap;
    int32_t conn_hint; /* index broker_conn_find tries first (a cache, never an order) */
    /* broker_conn_find's index: open addressing over conns by id (index into
     * conns, -1 free), conn_slots a power of two >= 2 * conn_count; kept by
     * conn_add and conn_remove, the only places the table changes */
    int32_t *conn_slot;
    int32_t conn_slots;
    conn_id *wake_ids; /* broker_wake_parked_fetches' list, kept between calls */
    int32_t wake_cap;
    int waking; /* wake_ids in use (asserted: retries never wake again) */
    /* The earliest parked_deadline_us of a parked connection (INT64_MAX: none),
     * unless park_deadline_stale.  Rule: a connection is parked and unparked only
     * through broker_conn_park / broker_conn_unpark (conn_retry_parked excepted, it
     * reports its own change), and parked_deadline_us is written only while the
     * connection is not parked (a handler sets it before it parks). */
    int64_t park_deadline_us;
    int park_deadline_stale;
    wire_writer out;
    wire_writer request_out; /* outbound requests */
    peer_channel channels[CHANNEL_KINDS][BROKER_NODES_MAX];
    int64_t next_flush_us;
    int64_t next_retention_us;
    int64_t next_isr_check_us;
    int64_t next_hw_checkpoint_us;
    int64_t fetch_retry_at_us[BROKER_NODES_MAX];
    int wake_pending;
    /* Set where a connection is marked `closing` or parked in BROKER_PARK_COMMIT, so
     * the end of every entry point scans the connection table only when it may
     * find one (cleared by the scan that finds none). */
    int closing_marked;
    int commit_parked;
    uint64_t change_seq;          /* counts partition and metadata-log changes */
    uint64_t failed_fetches;      /* fetch partitions answered with an error (all topics) */
    uint64_t metadata_change_seq; /* change_seq when the metadata log last moved */
    int fetch_pump_pending;       /* the replica fetcher may have something to send */
    /* A parked acks=all produce can complete only when a high watermark moves or a
     * leadership changes (or at its deadline, checked by the timer): set there, so
     * replication_complete_produces scans the connections only then. */
    int produce_wake;

    /* KIP-227 fetch sessions: ours as a leader (core/handle_fetch.c), and the
     * replica fetcher's, one per leader in cfg.nodes order */
    fetch_session_cache fetch_sessions;
    fetch_session_handler fetcher_sessions[BROKER_NODES_MAX];
    /* metadata: committed image, quorum, controller (when this broker leads the quorum) */
    metadata_image image;
    raft *raft;
    controller *ctl;
    controller_records recs;
    int32_t quorum_leader, quorum_epoch;
    peer_channel *controller_channel; /* CHANNEL_CONTROLLER to quorum_leader, NULL if none */
    int64_t broker_epoch;             /* -1 until registered in this life */
    int registration_inflight, heartbeat_inflight;
    int64_t next_heartbeat_us;
    uint64_t forward_tag_next;
    int metadata_dirty; /* committed records not yet acted on */
    uint64_t image_seq; /* bumped when the image or the quorum leader changes */
    uint64_t image_seq_woken;
    int64_t metadata_offset; /* offset of the last committed record delivered */
    /* replication-offset-checkpoint as read at open: "topic partition hw" lines */
    char *hw_checkpoint;
    struct group_coordinator *groups; /* core/group_coordinator.h */
    producer_ids producer_ids;        /* InitProducerId: this broker's id blocks */
};

#define BROKER_HW_CHECKPOINT_INTERVAL_US                                                           \
    5000000 /* replica.high.watermark.checkpoint.interval.ms                                       \
             */
void broker_hw_checkpoint_load(broker *b);
void broker_hw_checkpoint_write(broker *b);
int64_t broker_hw_checkpoint_get(const broker *b, const char *topic, int32_t partition);

/* Handlers: decode the body, act, and either respond (return 0) or park (return 1).
 * A malformed body returns -1: the connection is closed. */
typedef int broker_handler_fn(broker *b, broker_conn *c, const broker_request *req);

broker_handler_fn broker_handle_api_versions;
broker_handler_fn broker_handle_metadata;
broker_handler_fn broker_handle_produce;
broker_handler_fn broker_handle_fetch;
broker_handler_fn broker_handle_list_offsets;
broker_handler_fn broker_handle_find_coordinator; /* core/handle_group_admin.c */
broker_handler_fn broker_handle_describe_groups;
broker_handler_fn broker_handle_list_groups;
broker_handler_fn broker_handle_join_group; /* core/handle_group.c */
broker_handler_fn broker_handle_sync_group;
broker_handler_fn broker_handle_heartbeat;
broker_handler_fn broker_handle_leave_group;
broker_handler_fn broker_handle_offset_commit; /* core/handle_offsets.c */
broker_handler_fn broker_handle_offset_fetch;
broker_handler_fn broker_handle_init_producer_id;

/* Response framing: begin writes the size placeholder and the response header,
 * finish patches the size and sends. */
void broker_response_begin(broker *b, const broker_request *req);
void broker_response_finish(broker *b, broker_conn *c);

broker_topic *broker_topic_find(broker *b, kafka_str name);
broker_partition *broker_partition_find(broker *b, kafka_str topic, int32_t partition);
/* The partition if this broker leads it, else NULL with the Kafka error in *error:
 * UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, or, when the request names a
 * leader epoch (>= 0) other than ours, FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH. */
broker_partition *broker_partition_led(broker *b, kafka_str topic, int32_t partition,
                                       int32_t current_leader_epoch, int16_t *error);
/* The same for a partition already found (or NULL): a broker_partition never moves
 * and is never freed while the broker lives, so a request path may keep the
 * pointer (a fetch session, a parked request) and check it again here. */
broker_partition *broker_partition_led_check(const broker *b, broker_partition *p,
                                             int32_t current_leader_epoch, int16_t *error);
void broker_observe(broker *b, const observe_event *ev);
/* Leader append of client records (core/handle_produce.c): checks min.insync.replicas
 * for acks=-1 and an idempotent producer's sequence (a retry already in the log is
 * not appended again: *base gets the original's offset), stores, reports and
 * starts replication.  *needed is the high watermark that completes an acks=all
 * request.  A Kafka error code. */
int16_t broker_partition_append(broker *b, broker_partition *p, kafka_bytes records, int16_t acks,
                                int64_t *base, int64_t *needed);
/* Adds a topic with static metadata (no controller quorum). */
void broker_topic_add_static(broker *b, const broker_topic_config *tc);
/* Reports a partition's leader (OBSERVE_LEADER) or ISR (OBSERVE_ISR) as decided. */
void broker_observe_partition(broker *b, enum observe_kind kind, const broker_partition *p,
                              int32_t leader, int32_t leader_epoch, const int32_t *isr,
                              int32_t isr_count);
/* Data arrived in p: wake parked requests that may now complete. */
void broker_partition_changed(broker *b, broker_partition *p);
/* The leader appended to p (its high watermark reported apart): wakes followers'
 * fetches, not consumers' (they read to the high watermark only). */
void broker_partition_appended(broker *b, broker_partition *p);
broker_conn *broker_conn_find(broker *b, conn_id id);
void broker_conn_serve_queued(broker *b, broker_conn *c);
void broker_metadata_log_changed(broker *b);
/* Parks c (its deadline counts for broker_next_deadline_us) / ends its park. */
void broker_conn_park(broker *b, broker_conn *c, enum broker_park_kind kind, int64_t deadline_us);
void broker_conn_unpark(broker *b, broker_conn *c);
void broker_park_fetch(broker *b, broker_conn *c, broker_partition **parts, int32_t count,
                       int metadata);
/* Parks a Metadata request until the image changes or c->parked_deadline_us. */
void broker_park_metadata(broker *b, broker_conn *c);

/* ---- replication (core/replication.c, core/replica_fetcher.c) ------------------- */
/* Applies a partition's metadata: becomes leader or follower as needed. */
void replication_apply(broker *b, broker_partition *p, int32_t leader, int32_t leader_epoch,
                       const int32_t *isr, int32_t isr_count, int32_t partition_epoch);
/* A follower fetched at fetch_offset: its log matches ours below it. */
void replication_follower_fetched(broker *b, broker_partition *p, int32_t node,
                                  int64_t fetch_offset);
/* The leader's log end moved (append): maybe the high watermark too. */
void replication_leader_appended(broker *b, broker_partition *p);
/* Completes acks=all produces whose partitions' high watermarks have passed. */
void replication_complete_produces(broker *b, int deadline_check);
/* Leader: shrinks ISRs of lagging followers. */
void replication_check_isr(broker *b);
int64_t replication_next_deadline_us(const broker *b);
/* Follower: sends what fetches and truncation requests it can. */
void replica_fetcher_pump(broker *b);
void replica_fetcher_on_response(broker *b, peer_channel *pc, int16_t api_key, uint64_t tag,
                                 wire_reader *r);
void replication_hw_moved(broker *b);
/* Sends an ISR change for p to the controller (or applies it in static mode). */
void replication_request_isr(broker *b, broker_partition *p, const int32_t *isr, int32_t isr_count);
/* Inline: the replica fetcher walks every partition at each pump, and a known fn is
 * then inlined into the loop. */
static inline void
broker_each_partition(broker *b, void (*fn)(broker *, broker_partition *, void *), void *arg) {
    for (int32_t t = 0; t < b->topic_count; t++)
        for (int32_t i = 0; i < b->topics[t].partition_count; i++)
            fn(b, &b->topics[t].partitions[i], arg);
}

broker_handler_fn broker_handle_offset_for_leader_epoch;
/* Serves a parked data fetch again from its kept request. */
int broker_fetch_resume(broker *b, broker_conn *c);

/* ---- metadata quorum (core/broker_quorum.c) --------------------------------------- */
int broker_quorum_open(broker *b);
void broker_quorum_close(broker *b);
int broker_quorum_enabled(const broker *b);
broker_handler_fn broker_handle_vote;
broker_handler_fn broker_handle_begin_quorum_epoch;
broker_handler_fn broker_handle_controller_request; /* 62, 63, 56, 19, 20 */
/* A Fetch of the metadata partition: 0 answered, 1 parked. */
int broker_quorum_fetch(broker *b, broker_conn *c, const broker_request *req,
                        const kafka_fetch_request *body);
void broker_quorum_on_response(broker *b, peer_channel *pc, int16_t api_key, uint64_t tag,
                               wire_reader *r);
/* timer: 1 when called for a deadline (runs raft and controller timers too). */
void broker_quorum_tick(broker *b, int timer);
int64_t broker_quorum_next_deadline_us(const broker *b);
void broker_quorum_complete_commits(broker *b);
/* The active controller id, or the lowest live broker while none is known. */
int32_t broker_controller_id(const broker *b);
/* Asks the controller to create a topic (auto-creation); fire and forget. */
void broker_quorum_request_topic(broker *b, kafka_str name);
/* The same with a partition count and replication factor (-1: the defaults). */
void broker_quorum_request_topic_sized(broker *b, kafka_str name, int32_t partitions,
                                       int32_t replication_factor);
/* Sends p's ISR change to the controller. */
void broker_quorum_alter_partition(broker *b, broker_partition *p, const int32_t *isr,
                                   int32_t isr_count);
int broker_partition_open_log(broker *b, broker_partition *p);
/* The partition's directory in the broker's storage: "<topic>-<partition>". */
#define BROKER_PARTITION_DIR_BYTES (BROKER_TOPIC_BYTES_MAX + 16)
void broker_partition_dir(const broker_partition *p, char out[BROKER_PARTITION_DIR_BYTES]);

/* ---- a hosted partition's log changes (core/broker_partition.c) -------------------- */
/* A batch was appended (leader or follower): observe it, keep the producer state. */
void broker_partition_note_append(broker *b, broker_partition *p, const uint8_t *batch, size_t len);
/* Replays the log's batch headers into the producer state (at open). */
int broker_partition_rebuild_producers(broker_partition *p);
/* Truncates the log (partition_log_truncate_to) and rebuilds the producer state. */
void broker_partition_truncate(broker_partition *p, int64_t end_offset);
/* Reports the log's start offset (after retention moved it, or a restart). */
void broker_partition_observe_log_start(broker *b, const broker_partition *p);
/* Empties the log and restarts it at start_offset (partition_log_restart_at). */
void broker_partition_restart_at(broker_partition *p, int64_t start_offset);
/* The topic left the committed metadata (DeleteTopics), or its name now belongs to
 * another topic id: its partitions step down, their logs and files are deleted, and
 * the slot stays as a tombstone with no partitions (parked requests may still point
 * at its partition structs; they wake and find the topic gone). */
void broker_topic_delete(broker *b, broker_topic *t);
static inline int broker_topic_deleted(const broker_topic *t) {
    return t->name_len < 0;
}
broker_topic *broker_topic_add(broker *b, const char *name, const uint8_t id[16],
                               int32_t partitions);
/* Accepts (beyond what is advertised to clients) inter-broker API versions. */
int broker_api_accepted(int16_t api_key, int16_t *min_version, int16_t *max_version);

#endif
