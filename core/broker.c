/*
 * broker.c — the broker state machine: connections, framing, dispatch, timers.
 *
 * Until the controller quorum lands, metadata is static: every broker derives the
 * same assignment from the configured topics (replica k of partition p is node
 * (p + k) mod N, the first replica leads at epoch 0), and each broker opens the
 * logs of the partitions it hosts from storage.
 */
#include "broker_internal.h"
#include "group_coordinator.h"
#include "kafka_errors.gen.h"
#include "offsets_topic.h"
#include "partition_metadata.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BROKER_REQUEST_BYTES_MAX_DEFAULT (100 * 1024 * 1024)

void broker_config_defaults(broker_config *cfg, int32_t node_id, int32_t node_count) {
    memset(cfg, 0, sizeof *cfg);
    assert(node_count > 0 && node_count <= BROKER_NODES_MAX);
    cfg->node_id = node_id;
    cfg->cluster_id = "streamlab-cluster";
    cfg->node_count = node_count;
    for (int32_t i = 0; i < node_count; i++) {
        cfg->nodes[i].node_id = i + 1;
        snprintf(cfg->nodes[i].host, sizeof cfg->nodes[i].host, "broker-%d", (int)(i + 1));
        cfg->nodes[i].port = 9092;
    }
    cfg->min_insync_replicas = 1;
    cfg->replica_lag_time_max_ms = 30000;
    cfg->flush_interval_ms = -1;
    cfg->offsets_topic_partitions = 50;
    cfg->group_initial_rebalance_delay_ms = 3000;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->auto_create_topics = 1;
    cfg->auto_create_wait_ms = 5000;
    cfg->default_partitions = 3;
    cfg->default_replication_factor = 3;
    cfg->segment_bytes = 1LL << 30;
    cfg->request_bytes_max = BROKER_REQUEST_BYTES_MAX_DEFAULT;
    cfg->metadata_quorum = 0;
    cfg->broker_heartbeat_interval_ms = 2000;
    cfg->broker_session_timeout_ms = 9000;
    cfg->controller_election_timeout_ms = 1000;
    cfg->controller_fetch_timeout_ms = 2000;
}

void broker_observe(broker *b, const observe_event *ev) {
    b->env.observe(b->env.ctx, ev);
}

void broker_observe_partition(broker *b, enum observe_kind kind, const broker_partition *p,
                              int32_t leader, int32_t leader_epoch, const int32_t *isr,
                              int32_t isr_count) {
    assert(kind == OBSERVE_LEADER || kind == OBSERVE_ISR);
    broker_observe(b, &(observe_event){.kind = kind,
                                       .node = b->cfg.node_id,
                                       .topic = p->topic,
                                       .partition = p->index,
                                       .leader = leader,
                                       .leader_epoch = leader_epoch,
                                       .isr = isr,
                                       .isr_count = isr_count});
}

int32_t broker_node_id(const broker *b) {
    return b->cfg.node_id;
}

/* ---- topics and partitions ---------------------------------------------------- */

/* A name's key: its first and last four bytes (overlapping below 8 bytes), or
 * its bytes when shorter than four.  Equal keys and lengths mean equal names up
 * to 8 bytes; longer names then compare their middle. */
static uint64_t topic_key(const char *name, int32_t len) {
    if (len < 4) {
        uint64_t k = 0;
        for (int32_t i = 0; i < len; i++) k = k << 8 | (uint8_t)name[i];
        return k;
    }
    uint32_t head, tail;
    memcpy(&head, name, 4);
    memcpy(&tail, name + len - 4, 4);
    return (uint64_t)head << 32 | tail;
}

#if BROKER_CHECK_CACHES
static broker_topic *topic_find_scan(broker *b, kafka_str name) {
    for (int32_t i = 0; i < b->topic_count; i++)
        if (b->topics[i].name_len == name.len &&
            (name.len == 0 || memcmp(b->topics[i].name, name.ptr, (size_t)name.len) == 0))
            return &b->topics[i];
    return NULL;
}
#endif

/* Inline in broker_partition_find, the path of every fetched or produced partition. */
static inline broker_topic *topic_find(broker *b, kafka_str name) {
    if (name.len < 0) return NULL;
    /* Every fetched or produced partition comes through here (a follower's fetch
     * names a different topic at each partition): compare keys, not names. */
    uint64_t key = topic_key(name.ptr, name.len);
    broker_topic *found = NULL;
    for (int32_t i = 0; i < b->topic_count; i++) {
        const broker_topic_key *k = &b->topic_keys[i];
        if (k->head_tail != key || k->len != name.len) continue;
        if (name.len <= 8 ||
            memcmp(b->topics[i].name + 4, name.ptr + 4, (size_t)name.len - 8) == 0) {
            found = &b->topics[i];
            break;
        }
    }
#if BROKER_CHECK_CACHES
    assert(found == topic_find_scan(b, name));
#endif
    return found;
}

broker_topic *broker_topic_find(broker *b, kafka_str name) {
    return topic_find(b, name);
}

broker_partition *broker_partition_find(broker *b, kafka_str topic, int32_t partition) {
    broker_topic *t = topic_find(b, topic);
    if (!t || partition < 0 || partition >= t->partition_count) return NULL;
    return &t->partitions[partition];
}

broker_partition *broker_partition_led(broker *b, kafka_str topic, int32_t partition,
                                       int32_t current_leader_epoch, int16_t *error) {
    return broker_partition_led_check(b, broker_partition_find(b, topic, partition),
                                      current_leader_epoch, error);
}

broker_partition *broker_partition_led_check(const broker *b, broker_partition *p,
                                             int32_t current_leader_epoch, int16_t *error) {
    if (!p || !p->hosted)
        *error = KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (p->leader != b->cfg.node_id)
        *error = KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER;
    else if (current_leader_epoch >= 0 && current_leader_epoch < p->leader_epoch)
        *error = KAFKA_ERROR_FENCED_LEADER_EPOCH;
    else if (current_leader_epoch > p->leader_epoch)
        *error = KAFKA_ERROR_UNKNOWN_LEADER_EPOCH;
    else
        return p;
    return NULL;
}

int broker_partition_open_log(broker *b, broker_partition *p) {
    char dir[BROKER_PARTITION_DIR_BYTES], err[256];
    broker_partition_dir(p, dir);
    partition_log_config lc;
    partition_log_config_default(&lc);
    lc.segment_bytes = b->cfg.segment_bytes;
    /* __consumer_offsets is compacted in Kafka (cleanup.policy=compact), never deleted by
     * age or size: deleting it would drop groups' committed offsets.  streamlab does not
     * compact, so that log keeps everything. */
    int offsets_topic = strcmp(p->topic, OFFSETS_TOPIC_NAME) == 0;
    lc.retention_ms = offsets_topic ? -1 : b->cfg.retention_ms;
    lc.retention_bytes = offsets_topic ? -1 : b->cfg.retention_bytes;
    lc.index_interval_bytes = 512; /* small batches here: a denser index saves header scans */
    /* A directory another topic of this name left (deleted while we were down) is
     * not this topic's log. */
    enum partition_metadata_owner owner = partition_metadata_owner(b->env.fs, dir, p->topic_id);
    if (owner == PARTITION_METADATA_OTHER && storage_remove_dir(b->env.fs, dir) != 0) return -1;
    if (partition_log_open(&p->log, b->env.fs, dir, &lc, err, sizeof err) != 0) return -1;
    if (owner != PARTITION_METADATA_SAME &&
        partition_metadata_write(b->env.fs, dir, p->topic_id) != 0) {
        partition_log_close(&p->log);
        return -1;
    }
    producer_state_init(&p->producers);
    if (broker_partition_rebuild_producers(p) != 0) {
        producer_state_deinit(&p->producers);
        partition_log_close(&p->log);
        return -1;
    }
    p->hosted = 1;
    p->high_watermark = broker_hw_checkpoint_get(b, p->topic, p->index);
    if (p->high_watermark > partition_log_end_offset(&p->log))
        p->high_watermark = partition_log_end_offset(&p->log);
    return 0;
}

/* A topic with its partitions, not hosted and without a leader yet: metadata
 * (static or committed) says who holds and leads what. */
broker_topic *broker_topic_add(broker *b, const char *name, const uint8_t id[16],
                               int32_t partitions) {
    assert(partitions >= 0);
    if (b->topic_count == b->topic_cap) {
        b->topic_cap = b->topic_cap ? b->topic_cap * 2 : 8;
        b->topics = realloc(b->topics, (size_t)b->topic_cap * sizeof *b->topics);
        b->topic_keys = realloc(b->topic_keys, (size_t)b->topic_cap * sizeof *b->topic_keys);
        if (!b->topics || !b->topic_keys) abort();
    }
    broker_topic *t = &b->topics[b->topic_count++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->name_len = (int32_t)strlen(t->name);
    b->topic_keys[b->topic_count - 1] =
        (broker_topic_key){.head_tail = topic_key(t->name, t->name_len), .len = t->name_len};
    memcpy(t->id, id, 16);
    t->partition_count = partitions;
    t->partitions = calloc((size_t)(partitions ? partitions : 1), sizeof *t->partitions);
    if (!t->partitions) abort();
    for (int32_t p = 0; p < partitions; p++) {
        broker_partition *bp = &t->partitions[p];
        snprintf(bp->topic, sizeof bp->topic, "%s", name);
        memcpy(bp->topic_id, id, 16);
        bp->index = p;
        bp->leader = -1;
        bp->leader_epoch = -1;
        bp->partition_epoch = -1;
    }
    return t;
}

/* Static metadata: replica k of partition p is node (p + k) mod N, the first
 * replica leads at epoch 0 and every replica starts in sync. */
void broker_topic_add_static(broker *b, const broker_topic_config *tc) {
    uint8_t id[16] = {0};
    for (size_t i = 0; tc->name[i] && i < 16; i++) id[i] = (uint8_t)tc->name[i];
    id[15] |= 1; /* never the zero uuid */
    broker_topic *t = broker_topic_add(b, tc->name, id, tc->partitions);
    t->replication_factor = tc->replication_factor;
    int32_t n = b->cfg.node_count;
    for (int32_t p = 0; p < tc->partitions; p++) {
        broker_partition *bp = &t->partitions[p];
        bp->replica_count = tc->replication_factor;
        for (int32_t k = 0; k < tc->replication_factor; k++)
            bp->replicas[k] = b->cfg.nodes[(p + k) % n].node_id;
        for (int32_t k = 0; k < tc->replication_factor; k++)
            if (bp->replicas[k] == b->cfg.node_id) broker_partition_open_log(b, bp);
        replication_apply(b, bp, bp->replicas[0], 0, bp->replicas, tc->replication_factor, 0);
    }
}

/* ---- life cycle ------------------------------------------------------------------ */

broker *broker_open(const broker_env *env, const broker_config *cfg) {
    assert(env && cfg && env->fs);
    assert(cfg->node_count > 0 && cfg->node_count <= BROKER_NODES_MAX);
    broker *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->env = *env;
    b->cfg = *cfg;
    b->cfg.topics = NULL; /* not owned: applied below */
    b->cfg.topic_count = 0;
    b->groups = group_coordinator_create();
    /* session ids differ between brokers and between lives of one broker */
    fetch_session_cache_init(&b->fetch_sessions, FETCH_SESSION_CACHE_SLOTS,
                             (uint64_t)cfg->node_id << 48 ^ (uint64_t)broker_env_now_us(env));
    for (int32_t i = 0; i < cfg->node_count; i++)
        fetch_session_handler_init(&b->fetcher_sessions[i]);
    wire_writer_init(&b->out);
    wire_writer_init(&b->request_out);
    static const char *const channel_names[CHANNEL_KINDS] = {"fetcher", "controller", "quorum"};
    for (int k = 0; k < CHANNEL_KINDS; k++)
        for (int32_t i = 0; i < cfg->node_count; i++) {
            char client_id[48];
            snprintf(client_id, sizeof client_id, "broker-%d-%s", (int)cfg->node_id,
                     channel_names[k]);
            peer_channel_init(&b->channels[k][i], cfg->nodes[i].node_id, client_id, 2);
        }
    broker_hw_checkpoint_load(b);
    metadata_image_init(&b->image);
    b->quorum_leader = -1;
    b->broker_epoch = -1;
    b->park_deadline_us = INT64_MAX;
    if (cfg->metadata_quorum) {
        if (broker_quorum_open(b) != 0) {
            broker_destroy(b);
            return NULL;
        }
    } else {
        for (int32_t i = 0; i < cfg->topic_count; i++) broker_topic_add_static(b, &cfg->topics[i]);
    }
    int64_t now = broker_env_now_us(env);
    b->next_flush_us = cfg->flush_interval_ms > 0 ? now + cfg->flush_interval_ms * 1000 : INT64_MAX;
    b->next_retention_us = now + 300LL * 1000 * 1000; /* log.retention.check.interval.ms */
    b->next_isr_check_us = INT64_MAX;     /* armed when this broker leads with followers */
    b->next_hw_checkpoint_us = INT64_MAX; /* armed when a high watermark moves */
    broker_observe(b, &(observe_event){.kind = OBSERVE_BROKER_START, .node = cfg->node_id});
    for (int32_t i = 0; i < b->topic_count; i++)
        for (int32_t p = 0; p < b->topics[i].partition_count; p++) {
            broker_partition *bp = &b->topics[i].partitions[p];
            if (bp->leader != cfg->node_id) continue;
            broker_observe_partition(b, OBSERVE_LEADER, bp, bp->leader, bp->leader_epoch, bp->isr,
                                     bp->isr_count);
        }
    return b;
}

static void conn_release(broker_conn *c) {
    frame_reader_deinit(&c->reader);
    arena_deinit(&c->arena);
    free(c->parked_frame);
    c->parked_frame = NULL;
    free(c->held); /* a controller answer whose client went away */
    c->held = NULL;
}

void broker_destroy(broker *b) {
    if (!b) return;
    broker_quorum_close(b);
    metadata_image_deinit(&b->image);
    for (int32_t i = 0; i < b->topic_count; i++) {
        for (int32_t p = 0; p < b->topics[i].partition_count; p++)
            if (b->topics[i].partitions[p].hosted) {
                partition_log_close(&b->topics[i].partitions[p].log);
                producer_state_deinit(&b->topics[i].partitions[p].producers);
            }
        free(b->topics[i].partitions);
    }
    free(b->topics);
    free(b->topic_keys);
    for (int32_t i = 0; i < b->conn_count; i++) conn_release(&b->conns[i]);
    free(b->conns);
    free(b->conn_slot);
    free(b->wake_ids);
    for (int k = 0; k < CHANNEL_KINDS; k++)
        for (int32_t i = 0; i < b->cfg.node_count; i++) peer_channel_deinit(&b->channels[k][i]);
    wire_writer_deinit(&b->out);
    wire_writer_deinit(&b->request_out);
    free(b->hw_checkpoint);
    fetch_session_cache_deinit(&b->fetch_sessions);
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        fetch_session_handler_deinit(&b->fetcher_sessions[i]);
    group_coordinator_destroy(b->groups);
    free(b);
}

/* ---- connections ------------------------------------------------------------------ */

static uint32_t conn_home(const broker *b, conn_id id) {
    return (id * 2654435761u) & (uint32_t)(b->conn_slots - 1);
}

/* The slot holding id's index, or the free slot where it would go. */
static uint32_t conn_slot_of(const broker *b, conn_id id) {
    uint32_t mask = (uint32_t)b->conn_slots - 1, s = conn_home(b, id);
    while (b->conn_slot[s] >= 0 && b->conns[b->conn_slot[s]].id != id) s = (s + 1) & mask;
    return s;
}

static void conn_index_rebuild(broker *b, int32_t slots) {
    free(b->conn_slot);
    b->conn_slot = malloc((size_t)slots * sizeof *b->conn_slot);
    if (!b->conn_slot) abort();
    b->conn_slots = slots;
    for (int32_t s = 0; s < slots; s++) b->conn_slot[s] = -1;
    for (int32_t i = 0; i < b->conn_count; i++) b->conn_slot[conn_slot_of(b, b->conns[i].id)] = i;
}

/* Removes id from the index (backward-shift deletion keeps probe runs whole). */
static void conn_index_delete(broker *b, conn_id id) {
    uint32_t mask = (uint32_t)b->conn_slots - 1, hole = conn_slot_of(b, id);
    assert(b->conn_slot[hole] >= 0);
    for (uint32_t s = (hole + 1) & mask; b->conn_slot[s] >= 0; s = (s + 1) & mask) {
        uint32_t home = conn_home(b, b->conns[b->conn_slot[s]].id);
        /* movable into the hole when its home is not cyclically in (hole, s] */
        int stays = hole <= s ? (home > hole && home <= s) : (home > hole || home <= s);
        if (stays) continue;
        b->conn_slot[hole] = b->conn_slot[s];
        hole = s;
    }
    b->conn_slot[hole] = -1;
}

broker_conn *broker_conn_find(broker *b, conn_id id) {
    /* Looked up after every request served, usually the one found last time. */
    if (b->conn_hint < b->conn_count && b->conns[b->conn_hint].id == id)
        return &b->conns[b->conn_hint];
    broker_conn *found = NULL;
    if (b->conn_slots) {
        int32_t i = b->conn_slot[conn_slot_of(b, id)];
        if (i >= 0) {
            b->conn_hint = i;
            found = &b->conns[i];
        }
    }
#if BROKER_CHECK_CACHES
    broker_conn *scanned = NULL;
    for (int32_t i = 0; i < b->conn_count && !scanned; i++)
        if (b->conns[i].id == id) scanned = &b->conns[i];
    assert(found == scanned);
#endif
    return found;
}

static broker_conn *conn_add(broker *b, conn_id id, int outbound) {
    assert(broker_conn_find(b, id) == NULL);
    if (b->conn_count == b->conn_cap) {
        b->conn_cap = b->conn_cap ? b->conn_cap * 2 : 16;
        b->conns = realloc(b->conns, (size_t)b->conn_cap * sizeof *b->conns);
        if (!b->conns) abort();
    }
    broker_conn *c = &b->conns[b->conn_count++];
    memset(c, 0, sizeof *c);
    c->id = id;
    if (2 * b->conn_count > b->conn_slots)
        conn_index_rebuild(b, b->conn_slots ? 2 * b->conn_slots : 32);
    else
        b->conn_slot[conn_slot_of(b, id)] = b->conn_count - 1;
    c->outbound = outbound;
    frame_reader_init(&c->reader, b->cfg.request_bytes_max);
    arena_init(&c->arena);
    return c;
}

static void conn_remove(broker *b, broker_conn *c) {
    if (c->parked == BROKER_PARK_GROUP) group_coordinator_conn_closed(b, c->id);
    broker_conn_unpark(b, c);
    conn_release(c);
    conn_index_delete(b, c->id);
    int32_t at = (int32_t)(c - b->conns), last = --b->conn_count;
    if (at != last) {
        *c = b->conns[last];
        b->conn_slot[conn_slot_of(b, c->id)] = at;
    }
}

void broker_on_accept(broker *b, conn_id conn) {
    conn_add(b, conn, 0);
}

static void broker_wake_parked_fetches(broker *b);
static void broker_wake_parked_metadata(broker *b);

static peer_channel *channel_of(broker *b, conn_id conn) {
    for (int k = 0; k < CHANNEL_KINDS; k++)
        for (int32_t i = 0; i < b->cfg.node_count; i++)
            if (peer_channel_owns(&b->channels[k][i], conn)) return &b->channels[k][i];
    return NULL;
}

static void on_channel_response(void *ctx, peer_channel *pc, int16_t api_key, int16_t api_version,
                                uint64_t tag, wire_reader *r) {
    broker *b = ctx;
    (void)api_version;
    for (int32_t i = 0; i < b->cfg.node_count; i++) {
        if (pc == &b->channels[CHANNEL_FETCHER][i])
            replica_fetcher_on_response(b, pc, api_key, tag, r);
        if (pc == &b->channels[CHANNEL_QUORUM][i] && b->raft)
            raft_on_response(b->raft, pc->node, api_key, tag, r);
        if (pc == &b->channels[CHANNEL_CONTROLLER][i])
            broker_quorum_on_response(b, pc, api_key, tag, r);
    }
}

/* Work that must not run inside a request handler (it may answer other
 * connections and reorder the connection table) runs here, at the end of every
 * entry point. */
static void conn_close(broker *b, broker_conn *c);
static int64_t park_deadline_compute_us(const broker *b);

static void close_marked(broker *b) {
    if (!b->closing_marked) return;
    b->closing_marked = 0;
    for (int32_t i = 0; i < b->conn_count; i++)
        if (b->conns[i].closing) {
            conn_close(b, &b->conns[i]);
            i = -1;
        }
}

static void run_deferred(broker *b) {
    broker_quorum_tick(b, 0);
    group_coordinator_deferred(b,
                               b->groups); /* a follower's fetch may finish a load without waking */
    broker_wake_parked_metadata(b);
    for (int round = 0; b->wake_pending && round < 16; round++) {
        b->wake_pending = 0;
        broker_wake_parked_fetches(b);
        replication_complete_produces(b, 0);
        if (b->commit_parked) broker_quorum_complete_commits(b);
        group_coordinator_deferred(b, b->groups);
    }
    if (b->fetch_pump_pending) {
        b->fetch_pump_pending = 0;
        replica_fetcher_pump(b);
    }
    close_marked(b);
    if (b->park_deadline_stale) {
        b->park_deadline_us = park_deadline_compute_us(b);
        b->park_deadline_stale = 0;
    }
}

void broker_on_connected(broker *b, conn_id conn) {
    peer_channel *pc = channel_of(b, conn);
    if (pc) peer_channel_on_connected(pc);
    b->fetch_pump_pending = 1;
    run_deferred(b);
}

void broker_on_closed(broker *b, conn_id conn) {
    broker_conn *c = broker_conn_find(b, conn);
    if (c) conn_remove(b, c);
    peer_channel *pc = channel_of(b, conn);
    if (pc) peer_channel_on_closed(pc, &b->env, on_channel_response, b);
    b->fetch_pump_pending = 1;
    run_deferred(b);
}

static void conn_close(broker *b, broker_conn *c) {
    b->env.close(b->env.ctx, c->id);
    conn_remove(b, c);
}

/* ---- requests ------------------------------------------------------------------------ */

static int parse_request(const uint8_t *frame, size_t len, broker_request *req, arena *a) {
    if (len < 8) return -1;
    wire_reader r = {.data = frame, .len = len};
    req->api_key = wire_get_i16(&r);
    req->api_version = wire_get_i16(&r);
    req->correlation_id = wire_get_i32(&r);
    req->client_id = (kafka_str){NULL, -1};
    int16_t hv = kafka_api_version_valid(req->api_key, req->api_version)
                     ? kafka_request_header_version(req->api_key, req->api_version)
                     : 1;
    r.pos = 0;
    kafka_request_header h;
    kafka_request_header_init(&h);
    if (kafka_request_header_decode(&h, &r, hv, a) != 0) {
        /* An unknown ApiVersions version may carry a header we cannot read: the
         * correlation id is all we need to answer it. */
        if (req->api_key != KAFKA_API_API_VERSIONS) return -1;
        r.pos = len;
    } else {
        req->client_id = h.client_id;
    }
    req->body = frame + r.pos;
    req->body_len = len - r.pos;
    return 0;
}

static broker_handler_fn *handler_for(int16_t api_key) {
    switch (api_key) {
    case KAFKA_API_API_VERSIONS:
        return broker_handle_api_versions;
    case KAFKA_API_METADATA:
        return broker_handle_metadata;
    case KAFKA_API_PRODUCE:
        return broker_handle_produce;
    case KAFKA_API_FETCH:
        return broker_handle_fetch;
    case KAFKA_API_LIST_OFFSETS:
        return broker_handle_list_offsets;
    case KAFKA_API_OFFSET_FOR_LEADER_EPOCH:
        return broker_handle_offset_for_leader_epoch;
    case KAFKA_API_FIND_COORDINATOR:
        return broker_handle_find_coordinator;
    case KAFKA_API_JOIN_GROUP:
        return broker_handle_join_group;
    case KAFKA_API_SYNC_GROUP:
        return broker_handle_sync_group;
    case KAFKA_API_HEARTBEAT:
        return broker_handle_heartbeat;
    case KAFKA_API_LEAVE_GROUP:
        return broker_handle_leave_group;
    case KAFKA_API_OFFSET_COMMIT:
        return broker_handle_offset_commit;
    case KAFKA_API_OFFSET_FETCH:
        return broker_handle_offset_fetch;
    case KAFKA_API_DESCRIBE_GROUPS:
        return broker_handle_describe_groups;
    case KAFKA_API_LIST_GROUPS:
        return broker_handle_list_groups;
    case KAFKA_API_INIT_PRODUCER_ID:
        return broker_handle_init_producer_id;
    case KAFKA_API_VOTE:
        return broker_handle_vote;
    case KAFKA_API_BEGIN_QUORUM_EPOCH:
        return broker_handle_begin_quorum_epoch;
    case KAFKA_API_BROKER_REGISTRATION:
    case KAFKA_API_BROKER_HEARTBEAT:
    case KAFKA_API_ALTER_PARTITION:
    case KAFKA_API_CREATE_TOPICS:
    case KAFKA_API_DELETE_TOPICS:
        return broker_handle_controller_request;
    default:
        return NULL;
    }
}

/* Serves one request frame: 0 answered, 1 parked, -1 close the connection. */
static int serve_frame(broker *b, broker_conn *c, const uint8_t *frame, size_t len) {
    broker_request req;
    arena_reset(&c->arena);
    if (parse_request(frame, len, &req, &c->arena) != 0) return -1;
    int16_t lo, hi;
    int supported = broker_api_accepted(req.api_key, &lo, &hi);
    if (req.api_key == KAFKA_API_API_VERSIONS)
        return broker_handle_api_versions(b, c, &req); /* answers unknown versions itself */
    broker_handler_fn *handler = handler_for(req.api_key);
    if (!supported || !handler || req.api_version < lo || req.api_version > hi) return -1;
    return handler(b, c, &req);
}

static void park_copy(broker_conn *c, const uint8_t *frame, size_t len) {
    if (c->parked_frame == frame) return; /* re-parked from its own copy */
    free(c->parked_frame);
    c->parked_frame = malloc(len);
    if (!c->parked_frame) abort();
    memcpy(c->parked_frame, frame, len);
    c->parked_frame_len = len;
}

/* Reads and serves frames until the connection parks, runs dry or fails. */
static void conn_pump(broker *b, broker_conn *c) {
    conn_id id = c->id;
    while (c->parked == BROKER_PARK_NONE) {
        const uint8_t *frame = NULL;
        size_t len = 0;
        enum frame_result fr = frame_reader_next(&c->reader, &frame, &len);
        if (fr == FRAME_NONE) return;
        int rc = fr == FRAME_READY ? serve_frame(b, c, frame, len) : -1;
        c = broker_conn_find(b, id); /* handlers may grow the connection table */
        if (!c) return;
        if (rc < 0) {
            conn_close(b, c);
            return;
        }
        /* A data fetch keeps its decoded request (parked_fetch) and never reads the
         * frame again; a metadata-log fetch or a Metadata request is served again
         * from a copy. */
        if (rc == 1 && ((c->parked == BROKER_PARK_FETCH && !c->parked_fetch) ||
                        c->parked == BROKER_PARK_METADATA))
            park_copy(c, frame, len);
    }
}

void broker_on_bytes(broker *b, conn_id conn, const uint8_t *bytes, size_t len) {
    broker_conn *c = broker_conn_find(b, conn);
    if (c) {
        frame_reader_feed_lent(&c->reader, bytes, len); /* read in place: no copy */
        conn_pump(b, c);
        c = broker_conn_find(b, conn);
        if (c) frame_reader_keep(&c->reader); /* what is left outlives bytes */
    } else {
        peer_channel *pc = channel_of(b, conn);
        if (pc) peer_channel_on_bytes(pc, &b->env, bytes, len, on_channel_response, b);
    }
    run_deferred(b);
}

void broker_conn_serve_queued(broker *b, broker_conn *c) {
    conn_pump(b, c);
}

/* The park deadline minimum after one connection's deadline went from before_us
 * to after_us (INT64_MAX: not parked). */
static void park_deadline_moved(broker *b, int64_t before_us, int64_t after_us) {
    if (after_us < b->park_deadline_us)
        b->park_deadline_us = after_us;
    else if (after_us > before_us && before_us == b->park_deadline_us)
        b->park_deadline_stale = 1; /* it held the minimum: look again */
}

void broker_conn_park(broker *b, broker_conn *c, enum broker_park_kind kind, int64_t deadline_us) {
    assert(kind != BROKER_PARK_NONE);
    int64_t before = c->parked ? c->parked_deadline_us : INT64_MAX;
    c->parked = kind;
    c->parked_deadline_us = deadline_us;
    park_deadline_moved(b, before, deadline_us);
}

void broker_conn_unpark(broker *b, broker_conn *c) {
    if (c->parked) park_deadline_moved(b, c->parked_deadline_us, INT64_MAX);
    c->parked = BROKER_PARK_NONE;
}

static int64_t park_deadline_compute_us(const broker *b) {
    int64_t at = INT64_MAX;
    for (int32_t i = 0; i < b->conn_count; i++)
        if (b->conns[i].parked && b->conns[i].parked_deadline_us < at)
            at = b->conns[i].parked_deadline_us;
    return at;
}

/* Retries a parked request; when it completes, serves what queued up behind it. */
static void conn_retry_parked(broker *b, broker_conn *c) {
    conn_id id = c->id;
    /* Unparked without a report: a fetch usually parks again with the same
     * deadline, and the change is reported once, below. */
    int64_t before = c->parked_deadline_us;
    c->parked = BROKER_PARK_NONE;
    /* A data fetch resumes from its kept request (its arena is still live); a
     * metadata-log fetch is served again from the frame copy. */
    int rc = c->parked_fetch ? broker_fetch_resume(b, c)
                             : serve_frame(b, c, c->parked_frame, c->parked_frame_len);
    c = broker_conn_find(b, id);
    park_deadline_moved(b, before, c && c->parked ? c->parked_deadline_us : INT64_MAX);
    if (!c) return;
    if (rc < 0) {
        conn_close(b, c);
        return;
    }
    if (rc == 1) return;
    free(c->parked_frame);
    c->parked_frame = NULL;
    conn_pump(b, c);
}

void broker_partition_changed(broker *b, broker_partition *p) {
    p->change_seq = p->visible_seq = ++b->change_seq;
    b->wake_pending = 1; /* acted on at the end of the current entry point */
}

void broker_partition_appended(broker *b, broker_partition *p) {
    p->change_seq = ++b->change_seq;
    b->wake_pending = 1;
}

void broker_metadata_log_changed(broker *b) {
    b->metadata_change_seq = ++b->change_seq;
    b->wake_pending = 1;
}

/* Parks a fetch until one of its partitions (or the metadata log) changes. */
void broker_park_fetch(broker *b, broker_conn *c, broker_partition **parts, int32_t count,
                       int metadata) {
    broker_conn_park(b, c, BROKER_PARK_FETCH, c->parked_deadline_us);
    c->parked_parts = parts;
    c->parked_part_count = count;
    c->parked_metadata = metadata;
    c->parked_consumer = !metadata && c->parked_fetch && c->parked_fetch->replica_id < 0;
    c->parked_seq = b->change_seq;
}

/* A consumer's fetch retried without a visible change would find the same bytes
 * below the same high watermarks and park again, with no effect: it is retried
 * only after one (or once its deadline has passed, as before, so that what
 * answers it at that moment does not change).  A follower's fetch counts for the
 * ISR each time it is served: it is retried on any change, as before. */
static int parked_fetch_woken(const broker *b, const broker_conn *c, int64_t now) {
    if (c->parked_metadata) return b->metadata_change_seq > c->parked_seq;
    if (c->parked_consumer && now < c->parked_deadline_us) {
        for (int32_t i = 0; i < c->parked_part_count; i++)
            if (c->parked_parts[i]->visible_seq > c->parked_seq) return 1;
        return 0;
    }
    for (int32_t i = 0; i < c->parked_part_count; i++)
        if (c->parked_parts[i]->change_seq > c->parked_seq) return 1;
    return 0;
}

void broker_park_metadata(broker *b, broker_conn *c) {
    broker_conn_park(b, c, BROKER_PARK_METADATA, c->parked_deadline_us);
    c->parked_seq = b->image_seq;
}

/* Serves again every Metadata request parked before the image last changed. */
static void broker_wake_parked_metadata(broker *b) {
    if (b->image_seq == b->image_seq_woken) return;
    b->image_seq_woken = b->image_seq;
    for (int32_t i = 0; i < b->conn_count; i++)
        if (b->conns[i].parked == BROKER_PARK_METADATA && b->conns[i].parked_seq < b->image_seq) {
            conn_retry_parked(b, &b->conns[i]);
            i = -1; /* the table may have changed: rescan */
        }
}

static void broker_wake_parked_fetches(broker *b) {
    /* Retrying may close connections and reorder the table: work from ids, listed
     * in one pass (the list is the broker's, sized to the table; retries do not
     * come back here). */
    if (b->wake_cap < b->conn_count) {
        b->wake_cap = b->conn_cap;
        b->wake_ids = realloc(b->wake_ids, (size_t)b->wake_cap * sizeof *b->wake_ids);
        if (!b->wake_ids) abort();
    }
    int32_t n = 0;
    int64_t now = broker_env_now_us(&b->env);
    for (int32_t i = 0; i < b->conn_count; i++)
        if (b->conns[i].parked == BROKER_PARK_FETCH && parked_fetch_woken(b, &b->conns[i], now))
            b->wake_ids[n++] = b->conns[i].id;
    assert(!b->waking);
    b->waking = 1;
    for (int32_t i = 0; i < n; i++) {
        broker_conn *c = broker_conn_find(b, b->wake_ids[i]);
        if (c && c->parked == BROKER_PARK_FETCH) conn_retry_parked(b, c);
    }
    b->waking = 0;
}

/* ---- responses ------------------------------------------------------------------------ */

void broker_response_begin(broker *b, const broker_request *req) {
    wire_writer_reset(&b->out);
    wire_put_i32(&b->out, 0); /* size, patched in finish */
    wire_put_i32(&b->out, req->correlation_id);
    if (req->api_key != KAFKA_API_API_VERSIONS &&
        kafka_api_version_valid(req->api_key, req->api_version) &&
        kafka_response_header_version(req->api_key, req->api_version) >= 1)
        wire_put_uvarint(&b->out, 0); /* empty tag buffer */
}

void broker_response_finish(broker *b, broker_conn *c) {
    assert(b->out.len >= 8);
    wire_patch_i32(&b->out, 0, (int32_t)(b->out.len - 4));
    b->env.send(b->env.ctx, c->id, b->out.data, b->out.len);
}

/* ---- timers ------------------------------------------------------------------------ */

static int64_t min64(int64_t a, int64_t x) {
    return x < a ? x : a;
}

int64_t broker_next_deadline_us(const broker *b) {
    int64_t now = broker_env_now_us(&b->env);
    int64_t at = min64(b->next_flush_us, b->next_retention_us);
    at = min64(at, b->next_hw_checkpoint_us);
    at = min64(at, replication_next_deadline_us(b));
    at = min64(at, broker_quorum_next_deadline_us(b));
    at = min64(at, group_coordinator_next_deadline_us(b));
    if (b->park_deadline_stale)
        at = min64(at, park_deadline_compute_us(b));
    else
        at = min64(at, b->park_deadline_us);
#if BROKER_CHECK_CACHES
    assert(b->park_deadline_stale || b->park_deadline_us == park_deadline_compute_us(b));
#endif
    _Static_assert(CHANNEL_KINDS == 3, "one line per channel kind below");
    for (int32_t i = 0; i < b->cfg.node_count; i++) {
        const peer_channel *pc = &b->channels[CHANNEL_FETCHER][i];
        at = min64(at, peer_channel_next_deadline_us(pc));
        at = min64(at, peer_channel_next_deadline_us(&b->channels[CHANNEL_CONTROLLER][i]));
        at = min64(at, peer_channel_next_deadline_us(&b->channels[CHANNEL_QUORUM][i]));
        if (b->fetch_retry_at_us[i] > now) at = min64(at, b->fetch_retry_at_us[i]);
        if (pc->state == PEER_DOWN && pc->retry_at_us > now) at = min64(at, pc->retry_at_us);
    }
    return at;
}

static void flush_all(broker *b) {
    for (int32_t i = 0; i < b->topic_count; i++)
        for (int32_t p = 0; p < b->topics[i].partition_count; p++)
            if (b->topics[i].partitions[p].hosted)
                partition_log_sync(&b->topics[i].partitions[p].log);
}

static void apply_retention(broker *b) {
    int64_t now_ms = b->env.epoch_ms(b->env.ctx);
    for (int32_t i = 0; i < b->topic_count; i++)
        for (int32_t p = 0; p < b->topics[i].partition_count; p++) {
            broker_partition *bp = &b->topics[i].partitions[p];
            if (!bp->hosted) continue;
            int64_t before = partition_log_start_offset(&bp->log);
            partition_log_apply_retention(&bp->log, now_ms);
            if (partition_log_start_offset(&bp->log) != before)
                broker_partition_observe_log_start(b, bp);
        }
}

void broker_on_timer(broker *b) {
    int64_t now = broker_env_now_us(&b->env);
    if (now >= b->next_flush_us) {
        flush_all(b);
        b->next_flush_us = now + b->cfg.flush_interval_ms * 1000;
    }
    if (now >= b->next_retention_us) {
        apply_retention(b);
        b->next_retention_us = now + 300LL * 1000 * 1000;
    }
    if (now >= b->next_hw_checkpoint_us) {
        broker_hw_checkpoint_write(b);
        b->next_hw_checkpoint_us = INT64_MAX;
    }
    for (int32_t i = 0; i < b->conn_count; i++)
        if ((b->conns[i].parked == BROKER_PARK_FETCH ||
             b->conns[i].parked == BROKER_PARK_METADATA) &&
            b->conns[i].parked_deadline_us <= now) {
            conn_retry_parked(b, &b->conns[i]);
            i = -1; /* the table may have changed: rescan */
        }
    replication_complete_produces(b, 1);
    for (int k = 0; k < CHANNEL_KINDS; k++)
        for (int32_t i = 0; i < b->cfg.node_count; i++)
            peer_channel_on_timer(&b->channels[k][i], &b->env, on_channel_response, b);
    replication_check_isr(b);
    group_coordinator_on_timer(b);
    b->fetch_pump_pending = 1; /* a fetch retry may be due */
    broker_quorum_tick(b, 1);
    run_deferred(b);
}

int32_t broker_active_controller(const broker *b) {
    if (b->raft) return raft_is_leader(b->raft) ? b->cfg.node_id : b->quorum_leader;
    return broker_controller_id(b);
}

int32_t broker_partition_leader(const broker *b, const char *topic, int32_t partition) {
    broker_partition *p = broker_partition_find((broker *)b, kafka_str_c(topic), partition);
    return p ? p->leader : -1;
}
