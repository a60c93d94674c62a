/*
 * broker_quorum.c — a broker's part in the controller quorum (KRaft combined mode).
 *
 * Every broker is a voter: it runs raft over the metadata log, applies committed
 * metadata records to its image and acts on them (opening partitions, becoming
 * leader or follower).  The broker that leads the quorum is the active
 * controller: it answers BrokerRegistration, BrokerHeartbeat, AlterPartition,
 * CreateTopics and DeleteTopics by appending records, and holds each answer until
 * its records are committed.  Other brokers forward CreateTopics and DeleteTopics
 * to it.  Every broker registers with the active controller and heartbeats to it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_internal.h"
#include "kafka_errors.gen.h"

#define TAG_REGISTRATION 1
#define TAG_HEARTBEAT 2
#define TAG_ALTER_PARTITION 3
#define TAG_CREATE_TOPIC 4
#define TAG_FORWARD_BASE (1ull << 32)
#define CONTROLLER_REQUEST_TIMEOUT_US 30000000
#define QUORUM_REQUEST_TIMEOUT_US 5000000
#define REGISTRATION_RETRY_US 200000
/* While fenced (registered, not yet caught up and unfenced), heartbeat again after
 * 10 ms rather than broker.heartbeat.interval.ms, as Kafka's BrokerLifecycleManager
 * does in its STARTING state: a broker with nothing to recover is unfenced at once. */
#define FENCED_HEARTBEAT_US 10000
#define REGISTRATION_VERSION 0
#define HEARTBEAT_VERSION 0
#define ALTER_PARTITION_VERSION 1
#define CREATE_TOPICS_VERSION 4
#define ISR_RETRY_US 500000

static int64_t now_us(const broker *b) {
    return broker_env_now_us(&b->env);
}

int broker_quorum_enabled(const broker *b) {
    return b->raft != NULL;
}

static peer_channel *channel_to(broker *b, enum broker_channel_kind kind, int32_t node) {
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        if (b->cfg.nodes[i].node_id == node) return &b->channels[kind][i];
    return NULL;
}

/* ---- raft's environment --------------------------------------------------------- */

static int64_t io_now_us(void *ctx) {
    broker *b = ctx;
    return broker_env_now_us(&b->env);
}

static uint64_t io_random(void *ctx) {
    broker *b = ctx;
    return b->env.random_u64(b->env.ctx);
}

static int io_send(void *ctx, int32_t node, int16_t api_key, int16_t api_version, const void *body,
                   raft_encode_fn *encode, uint64_t tag) {
    broker *b = ctx;
    peer_channel *pc = channel_to(b, CHANNEL_QUORUM, node);
    if (!pc) return -1;
    return peer_channel_send(pc, &b->env, &b->request_out, api_key, api_version, body, encode, tag,
                             1, QUORUM_REQUEST_TIMEOUT_US);
}

static void io_on_commit(void *ctx, int64_t offset, const uint8_t *value, size_t len) {
    broker *b = ctx;
    b->metadata_offset = offset;
    uint64_t hash = 1469598103934665603ull; /* FNV-1a: the checker compares nodes' records */
    for (size_t i = 0; i < len; i++) hash = (hash ^ value[i]) * 1099511628211ull;
    broker_observe(b, &(observe_event){.kind = OBSERVE_METADATA_COMMIT,
                                       .node = b->cfg.node_id,
                                       .offset = offset,
                                       .producer_id = (int64_t)hash});
    if (metadata_image_apply(&b->image, offset, value, len) != 0) return; /* not ours: skip */
    b->metadata_dirty = 1;
}

static void clear_alter(broker *b, broker_partition *p, void *arg);

/* The only place quorum_leader changes: its channel is kept beside it. */
static void quorum_leader_set(broker *b, int32_t leader) {
    b->quorum_leader = leader;
    b->controller_channel = leader >= 0 ? channel_to(b, CHANNEL_CONTROLLER, leader) : NULL;
}

static void io_on_leader_change(void *ctx, int32_t leader, int32_t epoch) {
    broker *b = ctx;
    quorum_leader_set(b, leader);
    b->quorum_epoch = epoch;
    b->image_seq++;               /* a new controller: topics waited for can be asked of it */
    b->registration_inflight = 0; /* a request to the old leader may never be answered */
    b->heartbeat_inflight = 0;
    broker_each_partition(b, clear_alter, NULL);
    if (leader == b->cfg.node_id)
        broker_observe(b, &(observe_event){.kind = OBSERVE_CONTROLLER,
                                           .node = b->cfg.node_id,
                                           .leader = leader,
                                           .leader_epoch = epoch});
}

static void io_on_log_change(void *ctx) {
    broker_metadata_log_changed(ctx);
}

int broker_quorum_open(broker *b) {
    raft_config rc = {.node_id = b->cfg.node_id,
                      .voter_count = b->cfg.node_count,
                      .election_timeout_ms = b->cfg.controller_election_timeout_ms,
                      .fetch_timeout_ms = b->cfg.controller_fetch_timeout_ms,
                      .fetch_max_wait_ms = 500,
                      .segment_bytes = 64 * 1024 * 1024,
                      .cluster_id = b->cfg.cluster_id};
    for (int32_t i = 0; i < b->cfg.node_count; i++) rc.voters[i] = b->cfg.nodes[i].node_id;
    raft_io io = {.ctx = b,
                  .now_us = io_now_us,
                  .random_u64 = io_random,
                  .send = io_send,
                  .on_commit = io_on_commit,
                  .on_leader_change = io_on_leader_change,
                  .on_log_change = io_on_log_change};
    char err[256];
    b->raft = raft_open(&rc, &io, b->env.fs, err, sizeof err);
    if (b->raft) { /* a restarted voter may know the leader from its quorum state */
        quorum_leader_set(b, raft_leader(b->raft));
        b->quorum_epoch = raft_epoch(b->raft);
    }
    b->metadata_offset = -1;
    controller_records_init(&b->recs);
    return b->raft ? 0 : -1;
}

void broker_quorum_close(broker *b) {
    if (b->ctl) controller_destroy(b->ctl);
    b->ctl = NULL;
    if (b->raft) {
        raft_destroy(b->raft);
        controller_records_deinit(&b->recs);
    }
    b->raft = NULL;
}

int32_t broker_controller_id(const broker *b) {
    if (b->raft && b->quorum_leader >= 0) return b->quorum_leader;
    for (int32_t i = 0; i < b->cfg.node_count; i++) {
        int32_t id = b->cfg.nodes[i].node_id;
        if (!b->raft || metadata_image_broker_alive(&b->image, id)) return id;
    }
    return b->cfg.nodes[0].node_id;
}

/* ---- the committed image, applied ----------------------------------------------------- */

static int same_isr(const broker_partition *bp, const metadata_partition *mp) {
    if (bp->isr_count != mp->isr_count) return 0;
    return memcmp(bp->isr, mp->isr, (size_t)mp->isr_count * sizeof *mp->isr) == 0;
}

/* Reported before any broker acts on it, so that what a new leader does (its
 * first high watermark, say) is seen under its own ISR. */
static void observe_partition(broker *b, const broker_partition *bp, const metadata_partition *mp,
                              int leader_changed) {
    if (!b->raft || !raft_is_leader(b->raft)) return; /* the controller reports it, once */
    broker_observe_partition(b, leader_changed ? OBSERVE_LEADER : OBSERVE_ISR, bp, mp->leader,
                             mp->leader_epoch, mp->isr, mp->isr_count);
}

static void sync_partition(broker *b, broker_partition *bp, const metadata_partition *mp) {
    int leader_changed = bp->leader != mp->leader || bp->leader_epoch != mp->leader_epoch;
    if (!leader_changed && same_isr(bp, mp) && bp->partition_epoch == mp->partition_epoch) return;
    memcpy(bp->replicas, mp->replicas, (size_t)mp->replica_count * sizeof *mp->replicas);
    bp->replica_count = mp->replica_count;
    if (!bp->hosted)
        for (int32_t k = 0; k < mp->replica_count; k++)
            if (mp->replicas[k] == b->cfg.node_id) broker_partition_open_log(b, bp);
    observe_partition(b, bp, mp, leader_changed);
    replication_apply(b, bp, mp->leader, mp->leader_epoch, mp->isr, mp->isr_count,
                      mp->partition_epoch);
}

static void sync_topic(broker *b, const metadata_topic *mt) {
    broker_topic *t = broker_topic_find(b, kafka_str_c(mt->name));
    if (!t) {
        t = broker_topic_add(b, mt->name, mt->id, mt->partition_count);
        if (b->raft && raft_is_leader(b->raft))
            broker_observe(b, &(observe_event){.kind = OBSERVE_TOPIC_CREATE,
                                               .node = b->cfg.node_id,
                                               .topic = t->name,
                                               .partition = mt->partition_count,
                                               .offset = mt->partition_count > 0
                                                             ? mt->partitions[0].replica_count
                                                             : 0});
    }
    int32_t n = mt->partition_count < t->partition_count ? mt->partition_count : t->partition_count;
    for (int32_t p = 0; p < n; p++) sync_partition(b, &t->partitions[p], &mt->partitions[p]);
}

/* Topics the committed image no longer has (DeleteTopics), or whose name now
 * belongs to a new topic id, leave this broker before the image's topics sync. */
static void drop_deleted_topics(broker *b) {
    for (int32_t i = 0; i < b->topic_count; i++) {
        broker_topic *t = &b->topics[i];
        if (broker_topic_deleted(t)) continue;
        const metadata_topic *mt = metadata_image_topic(&b->image, t->name, (size_t)t->name_len);
        if (!mt || memcmp(mt->id, t->id, 16) != 0) broker_topic_delete(b, t);
    }
}

static void apply_image(broker *b) {
    if (!b->metadata_dirty) return;
    b->metadata_dirty = 0;
    drop_deleted_topics(b);
    for (int32_t i = 0; i < b->image.topic_count; i++) sync_topic(b, &b->image.topics[i]);
    b->image_seq++; /* parked Metadata requests look again */
}

/* ---- the active controller ------------------------------------------------------------ */

static void fail_commits(broker *b);

static void controller_start_stop(broker *b) {
    int leading = raft_is_leader(b->raft);
    if (!leading && b->ctl) {
        controller_destroy(b->ctl);
        b->ctl = NULL;
        fail_commits(b);
        return;
    }
    /* Decide only on a complete image: everything before our epoch is committed. */
    if (leading && !b->ctl && raft_high_watermark(b->raft) >= raft_log_end_offset(b->raft)) {
        controller_config cc = {.node_id = b->cfg.node_id,
                                .session_timeout_ms = b->cfg.broker_session_timeout_ms,
                                .unclean_leader_election = b->cfg.unclean_leader_election,
                                .default_partitions = b->cfg.default_partitions,
                                .default_replication_factor = b->cfg.default_replication_factor};
        b->ctl = controller_create(&cc, &b->image, now_us(b));
    }
}

/* Appends the records a decision made; returns the last offset or -1. */
static int64_t append_records(broker *b) {
    if (b->recs.count == 0) return -2;
    const uint8_t *values[CONTROLLER_RECORDS_MAX];
    size_t lens[CONTROLLER_RECORDS_MAX];
    for (int32_t i = 0; i < b->recs.count; i++) {
        values[i] = b->recs.buf.data + b->recs.starts[i];
        lens[i] = b->recs.starts[i + 1] - b->recs.starts[i];
    }
    return raft_append(b->raft, values, lens, b->recs.count);
}

static void controller_timer(broker *b) {
    if (!b->ctl) return;
    controller_records_reset(&b->recs);
    controller_on_timer(b->ctl, &b->recs, now_us(b));
    append_records(b);
}

/* Sends a held answer once its records are committed. */
void broker_quorum_complete_commits(broker *b) {
    if (!b->raft || !b->commit_parked) return;
    int64_t hw = raft_high_watermark(b->raft);
    int waiting = 0; /* a held answer stays after this scan */
    for (int32_t i = 0; i < b->conn_count; i++) {
        broker_conn *c = &b->conns[i];
        if (c->parked != BROKER_PARK_COMMIT) continue;
        if (c->commit_offset >= hw) {
            waiting = 1;
            continue;
        }
        b->env.send(b->env.ctx, c->id, c->held, c->held_len);
        free(c->held);
        c->held = NULL;
        broker_conn_unpark(b, c);
        broker_conn_serve_queued(b, c);
        i = -1; /* serving may have changed the table: rescan */
        waiting = 0;
    }
    b->commit_parked = waiting;
}

static void fail_commits(broker *b) {
    for (int32_t i = 0; i < b->conn_count; i++) {
        broker_conn *c = &b->conns[i];
        if (c->parked != BROKER_PARK_COMMIT) continue;
        c->closing = 1; /* the decision may never commit: the client must ask again */
        b->closing_marked = 1;
    }
}

/* ---- requests to the controller --------------------------------------------------------- */

typedef void encode_fn(const void *body, wire_writer *w, int16_t version);

/* Holds the encoded answer in b->out until the records commit, or sends it now. */
static int answer_after_commit(broker *b, broker_conn *c, const broker_request *req,
                               const void *resp, encode_fn *encode) {
    broker_response_begin(b, req);
    encode(resp, &b->out, req->api_version);
    int64_t offset = append_records(b);
    if (offset == -2) { /* nothing to commit */
        broker_response_finish(b, c);
        return 0;
    }
    if (offset < 0) return -1; /* no longer the leader */
    wire_patch_i32(&b->out, 0, (int32_t)(b->out.len - 4));
    c->held = malloc(b->out.len);
    if (!c->held) abort();
    memcpy(c->held, b->out.data, b->out.len);
    c->held_len = b->out.len;
    c->commit_offset = offset;
    broker_conn_park(b, c, BROKER_PARK_COMMIT, INT64_MAX);
    b->commit_parked = 1;
    return 1;
}

#define ENCODER(name)                                                                              \
    static void encode_##name(const void *body, wire_writer *w, int16_t version) {                 \
        kafka_##name##_encode(body, w, version);                                                   \
    }
ENCODER(broker_registration_response)
ENCODER(broker_heartbeat_response)
ENCODER(alter_partition_response)
ENCODER(create_topics_response)
ENCODER(delete_topics_response)
ENCODER(broker_registration_request)
ENCODER(broker_heartbeat_request)
ENCODER(alter_partition_request)
ENCODER(create_topics_request)

static int handle_registration(broker *b, broker_conn *c, const broker_request *req,
                               wire_reader *r) {
    kafka_broker_registration_request body;
    if (kafka_broker_registration_request_decode(&body, r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_broker_registration_response resp;
    kafka_broker_registration_response_init(&resp);
    controller_records_reset(&b->recs);
    if (!b->ctl)
        resp.error_code = KAFKA_ERROR_NOT_CONTROLLER;
    else
        controller_handle_broker_registration(b->ctl, &body, &resp, &b->recs,
                                              raft_log_end_offset(b->raft), now_us(b));
    return answer_after_commit(b, c, req, &resp, encode_broker_registration_response);
}

static int handle_heartbeat(broker *b, broker_conn *c, const broker_request *req, wire_reader *r) {
    kafka_broker_heartbeat_request body;
    if (kafka_broker_heartbeat_request_decode(&body, r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_broker_heartbeat_response resp;
    kafka_broker_heartbeat_response_init(&resp);
    controller_records_reset(&b->recs);
    if (!b->ctl)
        resp.error_code = KAFKA_ERROR_NOT_CONTROLLER;
    else
        controller_handle_broker_heartbeat(b->ctl, &body, &resp, &b->recs, now_us(b));
    return answer_after_commit(b, c, req, &resp, encode_broker_heartbeat_response);
}

static int handle_alter_partition(broker *b, broker_conn *c, const broker_request *req,
                                  wire_reader *r) {
    kafka_alter_partition_request body;
    if (kafka_alter_partition_request_decode(&body, r, req->api_version, &c->arena) != 0) return -1;
    kafka_alter_partition_response resp;
    kafka_alter_partition_response_init(&resp);
    controller_records_reset(&b->recs);
    if (!b->ctl)
        resp.error_code = KAFKA_ERROR_NOT_CONTROLLER;
    else
        controller_handle_alter_partition(b->ctl, &body, req->api_version, &resp, &b->recs,
                                          &c->arena);
    return answer_after_commit(b, c, req, &resp, encode_alter_partition_response);
}

/* Replica placement and topic ids follow from the topic names alone, so a
 * scenario's layout does not move when unrelated behaviour changes the run. */
static uint64_t placement_seed(const kafka_create_topics_request *req) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t t = 0; t < req->topics_count; t++)
        for (int32_t i = 0; i < req->topics[t].name.len; i++)
            h = (h ^ (uint8_t)req->topics[t].name.ptr[i]) * 1099511628211ull;
    return h;
}

static int handle_topics(broker *b, broker_conn *c, const broker_request *req, wire_reader *r) {
    controller_records_reset(&b->recs);
    if (req->api_key == KAFKA_API_CREATE_TOPICS) {
        kafka_create_topics_request body;
        if (kafka_create_topics_request_decode(&body, r, req->api_version, &c->arena) != 0)
            return -1;
        kafka_create_topics_response resp;
        kafka_create_topics_response_init(&resp);
        controller_handle_create_topics(b->ctl, &body, req->api_version, &resp, &b->recs, &c->arena,
                                        placement_seed(&body));
        return answer_after_commit(b, c, req, &resp, encode_create_topics_response);
    }
    kafka_delete_topics_request body;
    if (kafka_delete_topics_request_decode(&body, r, req->api_version, &c->arena) != 0) return -1;
    kafka_delete_topics_response resp;
    kafka_delete_topics_response_init(&resp);
    controller_handle_delete_topics(b->ctl, &body, req->api_version, &resp, &b->recs, &c->arena);
    return answer_after_commit(b, c, req, &resp, encode_delete_topics_response);
}

/* ---- forwarding ----------------------------------------------------------------------------- */

typedef struct raw_body {
    const uint8_t *bytes;
    size_t len;
} raw_body;

static void encode_raw(const void *body, wire_writer *w, int16_t version) {
    const raw_body *raw = body;
    (void)version;
    wire_put_raw(w, raw->bytes, raw->len);
}

/* CreateTopics / DeleteTopics reached a broker that is not the controller. */
static int forward(broker *b, broker_conn *c, const broker_request *req) {
    /* We lead the quorum but our controller has not started (its image is not yet
     * complete): forwarding would dial ourselves and park the request for ever,
     * and with it everything queued behind on that connection (a peer's broker
     * registration, say).  Close instead: the client retries. */
    if (b->quorum_leader == b->cfg.node_id) return -1;
    peer_channel *pc = b->controller_channel;
    uint64_t tag = TAG_FORWARD_BASE + ++b->forward_tag_next;
    raw_body raw = {req->body, req->body_len};
    if (!pc || peer_channel_send(pc, &b->env, &b->request_out, req->api_key, req->api_version, &raw,
                                 encode_raw, tag, 1, CONTROLLER_REQUEST_TIMEOUT_US) != 0)
        return -1; /* no controller reachable now: the client retries */
    broker_conn_park(b, c, BROKER_PARK_FORWARD, INT64_MAX);
    c->parked_request = *req;
    c->parked_request.body = NULL;
    c->forward_tag = tag;
    return 1;
}

static void relay(broker *b, uint64_t tag, wire_reader *r) {
    for (int32_t i = 0; i < b->conn_count; i++) {
        broker_conn *c = &b->conns[i];
        if (c->parked != BROKER_PARK_FORWARD || c->forward_tag != tag) continue;
        broker_conn_unpark(b, c);
        if (!r) {
            c->closing = 1;
            b->closing_marked = 1;
            return;
        }
        broker_response_begin(b, &c->parked_request);
        wire_put_raw(&b->out, r->data + r->pos, r->len - r->pos);
        broker_response_finish(b, c);
        broker_conn_serve_queued(b, c);
        return;
    }
}

int broker_handle_controller_request(broker *b, broker_conn *c, const broker_request *req) {
    if (!b->raft) return -1;
    wire_reader r = {.data = req->body, .len = req->body_len};
    switch (req->api_key) {
    case KAFKA_API_BROKER_REGISTRATION:
        return handle_registration(b, c, req, &r);
    case KAFKA_API_BROKER_HEARTBEAT:
        return handle_heartbeat(b, c, req, &r);
    case KAFKA_API_ALTER_PARTITION:
        return handle_alter_partition(b, c, req, &r);
    default:
        return b->ctl ? handle_topics(b, c, req, &r) : forward(b, c, req);
    }
}

/* ---- raft's own requests -------------------------------------------------------------------- */

int broker_handle_vote(broker *b, broker_conn *c, const broker_request *req) {
    kafka_vote_request body;
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (!b->raft || kafka_vote_request_decode(&body, &r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_vote_response resp;
    kafka_vote_response_init(&resp);
    raft_handle_vote(b->raft, &body, &resp, &c->arena);
    broker_response_begin(b, req);
    kafka_vote_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}

int broker_handle_begin_quorum_epoch(broker *b, broker_conn *c, const broker_request *req) {
    kafka_begin_quorum_epoch_request body;
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (!b->raft ||
        kafka_begin_quorum_epoch_request_decode(&body, &r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_begin_quorum_epoch_response resp;
    kafka_begin_quorum_epoch_response_init(&resp);
    raft_handle_begin_quorum_epoch(b->raft, &body, &resp, &c->arena);
    broker_response_begin(b, req);
    kafka_begin_quorum_epoch_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}

int broker_quorum_fetch(broker *b, broker_conn *c, const broker_request *req,
                        const kafka_fetch_request *body) {
    if (!b->raft) return -1;
    int retry = c->parked_frame != NULL;
    int64_t now = now_us(b);
    if (!retry)
        c->parked_deadline_us =
            now + (int64_t)(body->max_wait_ms > 0 ? body->max_wait_ms : 0) * 1000;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    if (raft_handle_fetch(b->raft, body, &resp, &c->arena, now >= c->parked_deadline_us) == 1) {
        broker_park_fetch(b, c, NULL, 0, 1);
        return 1;
    }
    broker_response_begin(b, req);
    kafka_fetch_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}

/* ---- this broker as a client of the controller ---------------------------------------------- */

/* The request this broker registers with (incarnation drawn per life). */
static void fill_registration(broker *b, kafka_broker_registration_request *req,
                              kafka_broker_registration_request_listener *listener) {
    const broker_node_address *self = NULL;
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        if (b->cfg.nodes[i].node_id == b->cfg.node_id) self = &b->cfg.nodes[i];
    assert(self);
    kafka_broker_registration_request_listener_init(listener);
    listener->name = kafka_str_c("PLAINTEXT");
    listener->host = kafka_str_c(self->host);
    listener->port = (uint16_t)self->port;
    kafka_broker_registration_request_init(req);
    req->broker_id = b->cfg.node_id;
    req->cluster_id = kafka_str_c(b->cfg.cluster_id);
    for (int i = 0; i < 16; i += 8) {
        uint64_t v = b->env.random_u64(b->env.ctx);
        memcpy(req->incarnation_id + i, &v, 8);
    }
    req->listeners = listener;
    req->listeners_count = 1;
}

static void fill_heartbeat(broker *b, kafka_broker_heartbeat_request *req) {
    kafka_broker_heartbeat_request_init(req);
    req->broker_id = b->cfg.node_id;
    req->broker_epoch = b->broker_epoch;
    req->current_metadata_offset = b->metadata_offset;
}

static void registered(broker *b, int16_t error, int64_t epoch) {
    b->registration_inflight = 0;
    if (error == KAFKA_ERROR_NONE) {
        b->broker_epoch = epoch;
        b->next_heartbeat_us = now_us(b);
    } else {
        b->next_heartbeat_us = now_us(b) + REGISTRATION_RETRY_US;
    }
}

static void heartbeat_answered(broker *b, int16_t error, int fenced) {
    b->heartbeat_inflight = 0;
    if (error == KAFKA_ERROR_STALE_BROKER_EPOCH || error == KAFKA_ERROR_BROKER_ID_NOT_REGISTERED)
        b->broker_epoch = -1; /* register again */
    else if (error == KAFKA_ERROR_NONE && fenced &&
             b->next_heartbeat_us > now_us(b) + FENCED_HEARTBEAT_US)
        b->next_heartbeat_us = now_us(b) + FENCED_HEARTBEAT_US;
}

/* The active controller's own broker talks to it directly: a connection to
 * oneself has the same id at both ends in the simulator. */
static void lifecycle_local(broker *b) {
    if (!b->ctl || now_us(b) < b->next_heartbeat_us) return;
    controller_records_reset(&b->recs);
    if (b->broker_epoch < 0) {
        kafka_broker_registration_request req;
        kafka_broker_registration_request_listener listener;
        fill_registration(b, &req, &listener);
        kafka_broker_registration_response resp;
        kafka_broker_registration_response_init(&resp);
        controller_handle_broker_registration(b->ctl, &req, &resp, &b->recs,
                                              raft_log_end_offset(b->raft), now_us(b));
        append_records(b);
        registered(b, resp.error_code, resp.broker_epoch);
        return;
    }
    kafka_broker_heartbeat_request req;
    fill_heartbeat(b, &req);
    kafka_broker_heartbeat_response resp;
    kafka_broker_heartbeat_response_init(&resp);
    controller_handle_broker_heartbeat(b->ctl, &req, &resp, &b->recs, now_us(b));
    append_records(b);
    b->next_heartbeat_us = now_us(b) + b->cfg.broker_heartbeat_interval_ms * 1000;
    heartbeat_answered(b, resp.error_code, resp.is_fenced);
}

static void lifecycle(broker *b) {
    if (b->quorum_leader < 0) return;
    if (b->quorum_leader == b->cfg.node_id) {
        lifecycle_local(b);
        return;
    }
    peer_channel *pc = b->controller_channel;
    if (!pc || !peer_channel_ready(pc, &b->env) || !peer_channel_can_send(pc)) return;
    int64_t now = now_us(b);
    if (now < b->next_heartbeat_us) return;
    if (b->broker_epoch < 0 && !b->registration_inflight) {
        kafka_broker_registration_request req;
        kafka_broker_registration_request_listener listener;
        fill_registration(b, &req, &listener);
        if (peer_channel_send(pc, &b->env, &b->request_out, KAFKA_API_BROKER_REGISTRATION,
                              REGISTRATION_VERSION, &req, encode_broker_registration_request,
                              TAG_REGISTRATION, 1, CONTROLLER_REQUEST_TIMEOUT_US) == 0)
            b->registration_inflight = 1;
    } else if (b->broker_epoch >= 0 && !b->heartbeat_inflight) {
        kafka_broker_heartbeat_request req;
        fill_heartbeat(b, &req);
        if (peer_channel_send(pc, &b->env, &b->request_out, KAFKA_API_BROKER_HEARTBEAT,
                              HEARTBEAT_VERSION, &req, encode_broker_heartbeat_request,
                              TAG_HEARTBEAT, 1, CONTROLLER_REQUEST_TIMEOUT_US) == 0) {
            b->heartbeat_inflight = 1;
            b->next_heartbeat_us = now + b->cfg.broker_heartbeat_interval_ms * 1000;
        }
    }
}

void broker_quorum_request_topic(broker *b, kafka_str name) {
    broker_quorum_request_topic_sized(b, name, -1, -1);
}

void broker_quorum_request_topic_sized(broker *b, kafka_str name, int32_t partitions,
                                       int32_t replication_factor) {
    if (!b->raft || b->quorum_leader < 0 || name.len <= 0) return;
    peer_channel *pc = b->quorum_leader == b->cfg.node_id ? NULL : b->controller_channel;
    kafka_create_topics_request_creatable_topic topic;
    kafka_create_topics_request_creatable_topic_init(&topic);
    topic.name = name;
    topic.num_partitions = partitions;
    topic.replication_factor = (int16_t)replication_factor;
    kafka_create_topics_request req;
    kafka_create_topics_request_init(&req);
    req.topics = &topic;
    req.topics_count = 1;
    req.timeout_ms = 30000;
    if (b->ctl) { /* we are the controller */
        kafka_create_topics_response resp;
        arena a;
        arena_init(&a);
        controller_records_reset(&b->recs);
        controller_handle_create_topics(b->ctl, &req, CREATE_TOPICS_VERSION, &resp, &b->recs, &a,
                                        placement_seed(&req));
        append_records(b);
        arena_deinit(&a);
    } else if (pc && peer_channel_ready(pc, &b->env))
        peer_channel_send(pc, &b->env, &b->request_out, KAFKA_API_CREATE_TOPICS,
                          CREATE_TOPICS_VERSION, &req, encode_create_topics_request,
                          TAG_CREATE_TOPIC, 1, CONTROLLER_REQUEST_TIMEOUT_US);
}

/* One partition's ISR change, as the leader asks for it. */
typedef struct alter_request {
    kafka_alter_partition_request_partition_data part;
    kafka_alter_partition_request_topic_data topic;
    kafka_alter_partition_request req;
} alter_request;

static void fill_alter(const broker *b, const broker_partition *p, const int32_t *isr,
                       int32_t isr_count, alter_request *a) {
    kafka_alter_partition_request_partition_data_init(&a->part);
    a->part.partition_index = p->index;
    a->part.leader_epoch = p->leader_epoch;
    a->part.new_isr = (int32_t *)isr;
    a->part.new_isr_count = isr_count;
    a->part.partition_epoch = p->partition_epoch;
    kafka_alter_partition_request_topic_data_init(&a->topic);
    a->topic.topic_name = kafka_str_c(p->topic);
    a->topic.partitions = &a->part;
    a->topic.partitions_count = 1;
    kafka_alter_partition_request_init(&a->req);
    a->req.broker_id = b->cfg.node_id;
    a->req.broker_epoch = b->broker_epoch;
    a->req.topics = &a->topic;
    a->req.topics_count = 1;
}

static void alter_partition_local(broker *b, broker_partition *p, const alter_request *ar) {
    if (!b->ctl) return;
    kafka_alter_partition_response resp;
    arena a;
    arena_init(&a);
    controller_records_reset(&b->recs);
    controller_handle_alter_partition(b->ctl, &ar->req, ALTER_PARTITION_VERSION, &resp, &b->recs,
                                      &a);
    append_records(b);
    /* Asked again after a pause unless the change commits first (a controller that
     * loses its leadership may never commit it). */
    p->isr_retry_at_us = now_us(b) + ISR_RETRY_US;
    arena_deinit(&a);
}

void broker_quorum_alter_partition(broker *b, broker_partition *p, const int32_t *isr,
                                   int32_t isr_count) {
    alter_request ar;
    fill_alter(b, p, isr, isr_count, &ar);
    if (b->quorum_leader == b->cfg.node_id) {
        alter_partition_local(b, p, &ar);
        return;
    }
    peer_channel *pc = b->controller_channel;
    if (pc && peer_channel_ready(pc, &b->env) &&
        peer_channel_send(pc, &b->env, &b->request_out, KAFKA_API_ALTER_PARTITION,
                          ALTER_PARTITION_VERSION, &ar.req, encode_alter_partition_request,
                          TAG_ALTER_PARTITION, 1, CONTROLLER_REQUEST_TIMEOUT_US) == 0)
        p->isr_change_inflight = 1;
    else /* metadata frozen, or still connecting: ask again shortly */
        p->isr_retry_at_us = now_us(b) + ISR_RETRY_US;
}

/* ---- answers from the controller ---------------------------------------------------------------
 */

static void on_registration(broker *b, wire_reader *r) {
    kafka_broker_registration_response resp;
    arena a;
    arena_init(&a);
    if (r && kafka_broker_registration_response_decode(&resp, r, REGISTRATION_VERSION, &a) == 0)
        registered(b, resp.error_code, resp.broker_epoch);
    else
        registered(b, KAFKA_ERROR_NETWORK_EXCEPTION, -1);
    arena_deinit(&a);
}

static void on_heartbeat(broker *b, wire_reader *r) {
    kafka_broker_heartbeat_response resp;
    arena a;
    arena_init(&a);
    int ok = r && kafka_broker_heartbeat_response_decode(&resp, r, HEARTBEAT_VERSION, &a) == 0;
    heartbeat_answered(b, ok ? resp.error_code : KAFKA_ERROR_NETWORK_EXCEPTION,
                       ok && resp.is_fenced);
    arena_deinit(&a);
}

static void clear_alter(broker *b, broker_partition *p, void *arg) {
    (void)arg;
    if (!p->isr_change_inflight) return;
    p->isr_change_inflight = 0; /* the committed metadata, not the answer, says what holds */
    p->isr_retry_at_us = now_us(b) + ISR_RETRY_US; /* a refused change is not asked for at once */
}

void broker_quorum_on_response(broker *b, peer_channel *pc, int16_t api_key, uint64_t tag,
                               wire_reader *r) {
    (void)pc;
    (void)api_key;
    if (tag >= TAG_FORWARD_BASE)
        relay(b, tag, r);
    else if (tag == TAG_REGISTRATION)
        on_registration(b, r);
    else if (tag == TAG_HEARTBEAT)
        on_heartbeat(b, r);
    else if (tag == TAG_ALTER_PARTITION)
        broker_each_partition(b, clear_alter, NULL);
}

/* ---- time -------------------------------------------------------------------------------------
 */

void broker_quorum_tick(broker *b, int timer) {
    if (!b->raft) return;
    if (timer) raft_on_timer(b->raft);
    apply_image(b);
    controller_start_stop(b);
    if (timer) controller_timer(b);
    lifecycle(b);
    if (b->commit_parked) broker_quorum_complete_commits(b);
}

int64_t broker_quorum_next_deadline_us(const broker *b) {
    if (!b->raft) return INT64_MAX;
    int64_t at = raft_next_deadline_us(b->raft);
    if (b->ctl) {
        int64_t c = controller_next_deadline_us(b->ctl);
        if (c < at) at = c;
    }
    int waiting = b->broker_epoch < 0 ? b->registration_inflight : b->heartbeat_inflight;
    const peer_channel *pc = b->controller_channel;
    if (!pc || waiting || pc->state == PEER_CONNECTING)
        return at; /* an answer or a
                      connection wakes us */
    int64_t next = b->next_heartbeat_us;
    if (pc->state == PEER_DOWN && pc->retry_at_us > next) next = pc->retry_at_us;
    if (pc->state == PEER_READY && pc->inflight_count >= pc->inflight_max) return at;
    int64_t now = now_us(b);
    if (next <= now) next = now + 1000; /* could not send just now: look again shortly */
    return next < at ? next : at;
}
