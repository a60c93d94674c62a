/*
 * sim_consumer_group.c — the consumer's group membership, as Java's
 * ConsumerCoordinator runs the eager protocol.
 *
 *   coordinator unknown --FindCoordinator(key type 0)--> known
 *   UNJOINED --(owns partitions: OffsetCommit, then revoke)--> JoinGroup v5
 *     MEMBER_ID_REQUIRED: join again with the member id the broker gave
 *   JOINING --leader: run the assignor over every member's subscription--> SyncGroup v3
 *   SYNCING --assignment--> STABLE: OffsetFetch v5 for the new partitions, then
 *     Heartbeat v3 every heartbeat_interval_ms and OffsetCommit v7 every
 *     auto_commit_interval_ms.
 *
 * Errors, as the Java client treats them: REBALANCE_IN_PROGRESS rejoins (committing
 * first, the commit on revoke); UNKNOWN_MEMBER_ID forgets the member id and the
 * generation, ILLEGAL_GENERATION the generation, and the partitions are then lost
 * rather than committed; NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a broken
 * connection or a session without a successful heartbeat forget the coordinator,
 * which is looked up again after retry.backoff.ms — the partitions stay owned
 * meanwhile, as in Java.  COORDINATOR_LOAD_IN_PROGRESS retries after the backoff.
 *
 * The ConsumerProtocol payloads are written as Java writes them: an int16
 * version (1 here) followed by ConsumerProtocolSubscription/Assignment.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "assignor.h"
#include "kafka_errors.gen.h"
#include "sim_consumer_internal.h"

#define FIND_COORDINATOR_VERSION 2
#define JOIN_GROUP_VERSION 5
#define SYNC_GROUP_VERSION 3
#define HEARTBEAT_VERSION 3
#define OFFSET_COMMIT_VERSION 7
#define OFFSET_FETCH_VERSION 5
#define CONSUMER_PROTOCOL_VERSION 1
#define REBALANCE_TIMEOUT_MS 300000 /* max.poll.interval.ms */
#define REQUEST_TIMEOUT_US 30000000 /* request.timeout.ms */
#define JOIN_TIMEOUT_LAPSE_US 5000000
#define TAG_COMMIT_AUTO 1
#define TAG_COMMIT_REVOKE 2
#define GROUP_PARTITIONS_MAX (SIM_CLIENT_TOPICS_MAX * SIM_CLIENT_PARTITIONS_MAX)

static int64_t now_us(const sim_consumer *c) {
    return consumer_now_us(c);
}

static void copy_str(char *dst, size_t size, kafka_str s) {
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    if (n >= size) n = size - 1;
    if (n) memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static int metadata_ready(const sim_consumer *c) {
    for (int32_t t = 0; t < c->group.topic_count; t++)
        if (c->client.topics[t].partition_count == 0) return 0;
    return 1;
}

static void lose_coordinator(sim_consumer *c) {
    c->coordinator_lost = 1;
}

static void request_rejoin(sim_consumer *c) {
    if (c->state == MEMBER_STABLE) c->state = MEMBER_UNJOINED;
}

/* Java's resetStateAndGeneration: UNKNOWN_MEMBER_ID also forgets the member id. */
static void reset_generation(sim_consumer *c, int forget_member_id) {
    c->generation = -1;
    if (forget_member_id) c->member_id[0] = 0;
    request_rejoin(c);
}

/* Handles the errors every group API shares; 1 when it was one of them. */
static int group_error(sim_consumer *c, int16_t error) {
    switch (error) {
    case KAFKA_ERROR_NOT_COORDINATOR:
    case KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE:
        lose_coordinator(c);
        return 1;
    case KAFKA_ERROR_UNKNOWN_MEMBER_ID:
        reset_generation(c, 1);
        return 1;
    case KAFKA_ERROR_ILLEGAL_GENERATION:
        reset_generation(c, 0);
        return 1;
    case KAFKA_ERROR_REBALANCE_IN_PROGRESS:
        request_rejoin(c);
        return 1;
    default:
        return 0;
    }
}

/* ---- assignment ------------------------------------------------------------------------ */

void consumer_revoke(sim_consumer *c) {
    if (!c->owns) return;
    observe_event ev = {.kind = OBSERVE_REVOKE,
                        .node = c->node_id,
                        .partition = -1,
                        .leader_epoch = c->owned_generation,
                        .count = c->assigned_count,
                        .detail = c->group.name};
    c->env->observe(c->env->ctx, &ev);
    c->owns = 0;
    c->assigned_count = 0;
    c->assignment_epoch++;
    c->stats.partitions_assigned = 0;
}

static void observe_assign(sim_consumer *c, const char *topic, int32_t partition) {
    observe_event ev = {.kind = OBSERVE_ASSIGN,
                        .node = c->node_id,
                        .topic = topic,
                        .partition = partition,
                        .leader_epoch = c->generation,
                        .count = c->assigned_count,
                        .detail = c->group.name};
    c->env->observe(c->env->ctx, &ev);
}

static void take_assignment(sim_consumer *c, const kafka_consumer_protocol_assignment *a) {
    assert(!c->owns && c->assigned_count == 0);
    for (int32_t t = 0; t < a->assigned_partitions_count; t++) {
        const kafka_consumer_protocol_assignment_topic_partition *tp = &a->assigned_partitions[t];
        char name[sizeof c->client.topics[0].name];
        copy_str(name, sizeof name, tp->topic);
        if (!sim_client_topic_get(&c->client, name) &&
            c->client.topic_count == SIM_CLIENT_TOPICS_MAX)
            continue;
        int32_t topic = sim_client_want_topic(&c->client, name);
        for (int32_t k = 0; k < tp->partitions_count; k++) {
            if (c->assigned_count == CONSUMER_ASSIGNED_MAX) break;
            c->assigned[c->assigned_count++] = (assigned_partition){
                .topic = topic, .partition = tp->partitions[k], .state = POSITION_NEED_COMMITTED};
        }
    }
    c->owns = 1;
    c->owned_generation = c->generation;
    c->stats.partitions_assigned = c->assigned_count;
    for (int32_t i = 0; i < c->assigned_count; i++)
        observe_assign(c, c->client.topics[c->assigned[i].topic].name, c->assigned[i].partition);
    if (c->assigned_count == 0) observe_assign(c, NULL, -1); /* "I own nothing" still reports */
}

/* ---- FindCoordinator --------------------------------------------------------------------- */

static void encode_find(const void *body, wire_writer *w, int16_t version) {
    kafka_find_coordinator_request_encode(body, w, version);
}

static void send_find(sim_consumer *c) {
    int64_t now = now_us(c);
    if (c->find_inflight || now < c->find_retry_at_us) return;
    kafka_find_coordinator_request req;
    kafka_find_coordinator_request_init(&req);
    req.key = kafka_str_c(c->group.name);
    req.key_type = 0;
    int32_t n = c->client.broker_count;
    for (int32_t k = 0; k < n; k++) {
        int32_t node = (c->client.bootstrap_next + k) % n + 1;
        if (sim_client_send(&c->client, node, KAFKA_API_FIND_COORDINATOR, FIND_COORDINATOR_VERSION,
                            &req, encode_find, 0, 1) == 0) {
            c->find_inflight = 1;
            return;
        }
    }
    c->find_retry_at_us = now + CONSUMER_RETRY_BACKOFF_US;
}

static void on_find(sim_consumer *c, wire_reader *r) {
    c->find_inflight = 0;
    kafka_find_coordinator_response resp;
    kafka_find_coordinator_response_init(&resp);
    arena_reset(&c->client.scratch);
    int ok = r && kafka_find_coordinator_response_decode(&resp, r, FIND_COORDINATOR_VERSION,
                                                         &c->client.scratch) == 0;
    if (!ok || resp.error_code != KAFKA_ERROR_NONE || resp.node_id < 1 ||
        resp.node_id > c->client.broker_count) {
        c->client.bootstrap_next = (c->client.bootstrap_next + 1) % c->client.broker_count;
        c->find_retry_at_us = now_us(c) + CONSUMER_RETRY_BACKOFF_US;
        return;
    }
    sim_client_set_coordinator(&c->client, resp.node_id);
    c->heartbeat_ok_us = now_us(c);
}

/* ---- JoinGroup --------------------------------------------------------------------------- */

static void encode_join(const void *body, wire_writer *w, int16_t version) {
    kafka_join_group_request_encode(body, w, version);
}

static void send_join(sim_consumer *c) {
    assert(!c->owns);
    kafka_str topics[SIM_CLIENT_TOPICS_MAX];
    kafka_consumer_protocol_subscription sub;
    kafka_consumer_protocol_subscription_init(&sub);
    for (int32_t t = 0; t < c->group.topic_count; t++) topics[t] = kafka_str_c(c->group.topics[t]);
    sub.topics = topics;
    sub.topics_count = c->group.topic_count;
    sub.user_data = (kafka_bytes){NULL, -1};
    sub.owned_partitions_count = 0; /* eager: everything was revoked before joining */
    wire_writer meta;
    wire_writer_init(&meta);
    wire_put_i16(&meta, CONSUMER_PROTOCOL_VERSION);
    kafka_consumer_protocol_subscription_encode(&sub, &meta, CONSUMER_PROTOCOL_VERSION);
    assert(!meta.failed);
    kafka_join_group_request_join_group_request_protocol proto;
    kafka_join_group_request_join_group_request_protocol_init(&proto);
    proto.name = kafka_str_c(assignor_name(c->group.assignor));
    proto.metadata = (kafka_bytes){meta.data, (int32_t)meta.len};
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c(c->group.name);
    req.session_timeout_ms = (int32_t)c->group.session_timeout_ms;
    req.rebalance_timeout_ms = REBALANCE_TIMEOUT_MS;
    req.member_id = kafka_str_c(c->member_id);
    req.group_instance_id = kafka_str_c(NULL);
    req.protocol_type = kafka_str_c("consumer");
    req.protocols = &proto;
    req.protocols_count = 1;
    int64_t timeout_us = (int64_t)REBALANCE_TIMEOUT_MS * 1000 + JOIN_TIMEOUT_LAPSE_US;
    if (sim_client_send_coordinator(&c->client, KAFKA_API_JOIN_GROUP, JOIN_GROUP_VERSION, &req,
                                    encode_join, 0, timeout_us) == 0) {
        c->state = MEMBER_JOINING;
        c->stats.joins++;
    }
    wire_writer_deinit(&meta);
}

static void encode_sync(const void *body, wire_writer *w, int16_t version) {
    kafka_sync_group_request_encode(body, w, version);
}

/* The members' subscriptions as assignor input, over the leader's own topics (the
 * simulated groups subscribe alike; a topic only another member reads is left out). */
static int32_t read_members(sim_consumer *c, const kafka_join_group_response *resp,
                            assignor_member *m) {
    int32_t n = 0;
    for (int32_t i = 0; i < resp->members_count && n < ASSIGNOR_MEMBERS_MAX; i++) {
        const kafka_join_group_response_join_group_response_member *jm = &resp->members[i];
        char *id = arena_alloc(&c->client.scratch,
                               (size_t)(jm->member_id.len > 0 ? jm->member_id.len : 0) + 1);
        copy_str(id, (size_t)(jm->member_id.len > 0 ? jm->member_id.len : 0) + 1, jm->member_id);
        m[n] = (assignor_member){id, 0};
        wire_reader r;
        wire_reader_init(&r, jm->metadata.ptr, jm->metadata.len > 0 ? (size_t)jm->metadata.len : 0);
        int16_t version = wire_get_i16(&r);
        kafka_consumer_protocol_subscription sub;
        kafka_consumer_protocol_subscription_init(&sub);
        if (!r.failed && version >= 0 &&
            kafka_consumer_protocol_subscription_decode(&sub, &r, version > 3 ? 3 : version,
                                                        &c->client.scratch) == 0)
            for (int32_t k = 0; k < sub.topics_count; k++)
                for (int32_t t = 0; t < c->client.topic_count; t++)
                    if (kafka_str_eq(sub.topics[k], c->client.topics[t].name))
                        m[n].topics_mask |= 1ull << t;
        n++;
    }
    return n;
}

/* One member's ConsumerProtocolAssignment, appended to out. */
static void write_assignment(const sim_consumer *c, const int32_t *owner, int32_t member,
                             wire_writer *out) {
    kafka_consumer_protocol_assignment_topic_partition tps[SIM_CLIENT_TOPICS_MAX];
    int32_t parts[GROUP_PARTITIONS_MAX];
    int32_t tn = 0, pn = 0;
    for (int32_t t = 0, base = 0; t < c->client.topic_count; t++) {
        int32_t first = pn;
        for (int32_t p = 0; p < c->snapshot_partitions[t]; p++)
            if (owner[base + p] == member) parts[pn++] = p;
        base += c->snapshot_partitions[t];
        if (pn == first) continue;
        kafka_consumer_protocol_assignment_topic_partition_init(&tps[tn]);
        tps[tn].topic = kafka_str_c(c->client.topics[t].name);
        tps[tn].partitions = &parts[first];
        tps[tn].partitions_count = pn - first;
        tn++;
    }
    kafka_consumer_protocol_assignment a;
    kafka_consumer_protocol_assignment_init(&a);
    a.assigned_partitions = tps;
    a.assigned_partitions_count = tn;
    a.user_data = (kafka_bytes){NULL, -1};
    wire_put_i16(out, CONSUMER_PROTOCOL_VERSION);
    kafka_consumer_protocol_assignment_encode(&a, out, CONSUMER_PROTOCOL_VERSION);
}

/* The leader computes every member's assignment; the others send none. */
static void send_sync(sim_consumer *c, const kafka_join_group_response *resp) {
    kafka_sync_group_request req;
    kafka_sync_group_request_init(&req);
    req.group_id = kafka_str_c(c->group.name);
    req.generation_id = c->generation;
    req.member_id = kafka_str_c(c->member_id);
    req.group_instance_id = kafka_str_c(NULL);
    wire_writer bytes;
    wire_writer_init(&bytes);
    if (c->leader) {
        assignor_member *members =
            arena_alloc(&c->client.scratch, (size_t)ASSIGNOR_MEMBERS_MAX * sizeof *members);
        int32_t n = read_members(c, resp, members);
        assignor_topic topics[SIM_CLIENT_TOPICS_MAX];
        for (int32_t t = 0; t < c->client.topic_count; t++) {
            c->snapshot_partitions[t] = c->client.topics[t].partition_count;
            topics[t] = (assignor_topic){c->client.topics[t].name, c->snapshot_partitions[t]};
        }
        static_assert(SIM_CLIENT_TOPICS_MAX <= ASSIGNOR_TOPICS_MAX, "topic masks fit");
        int32_t owner[GROUP_PARTITIONS_MAX];
        int rc =
            assignor_assign(c->group.assignor, members, n, topics, c->client.topic_count, owner);
        assert(rc == 0);
        size_t *ends = arena_alloc(&c->client.scratch, (size_t)(n + 1) * sizeof *ends);
        for (int32_t i = 0; i < n; i++) {
            write_assignment(c, owner, i, &bytes);
            ends[i] = bytes.len;
        }
        assert(!bytes.failed);
        req.assignments =
            arena_alloc(&c->client.scratch, (size_t)(n + 1) * sizeof *req.assignments);
        for (int32_t i = 0; i < n; i++) {
            size_t start = i ? ends[i - 1] : 0;
            kafka_sync_group_request_sync_group_request_assignment_init(&req.assignments[i]);
            req.assignments[i].member_id = kafka_str_c(members[i].member_id);
            req.assignments[i].assignment =
                (kafka_bytes){bytes.data + start, (int32_t)(ends[i] - start)};
        }
        req.assignments_count = n;
    }
    if (sim_client_send_coordinator(&c->client, KAFKA_API_SYNC_GROUP, SYNC_GROUP_VERSION, &req,
                                    encode_sync, 0, REQUEST_TIMEOUT_US) == 0)
        c->state = MEMBER_SYNCING;
    wire_writer_deinit(&bytes);
}

static void on_join(sim_consumer *c, wire_reader *r) {
    if (c->state != MEMBER_JOINING) return;
    c->state = MEMBER_UNJOINED;
    if (!r) {
        lose_coordinator(c);
        return;
    }
    kafka_join_group_response resp;
    kafka_join_group_response_init(&resp);
    arena_reset(&c->client.scratch);
    int64_t now = now_us(c);
    if (kafka_join_group_response_decode(&resp, r, JOIN_GROUP_VERSION, &c->client.scratch) != 0) {
        c->join_retry_at_us = now + CONSUMER_RETRY_BACKOFF_US;
        return;
    }
    if (resp.error_code == KAFKA_ERROR_MEMBER_ID_REQUIRED) {
        copy_str(c->member_id, sizeof c->member_id, resp.member_id);
        c->join_retry_at_us = now; /* join again at once, now with an id */
        return;
    }
    if (resp.error_code != KAFKA_ERROR_NONE) {
        if (!group_error(c, resp.error_code) ||
            resp.error_code == KAFKA_ERROR_REBALANCE_IN_PROGRESS)
            c->join_retry_at_us = now + CONSUMER_RETRY_BACKOFF_US;
        return;
    }
    c->generation = resp.generation_id;
    copy_str(c->member_id, sizeof c->member_id, resp.member_id);
    c->leader = kafka_str_eq(resp.leader, c->member_id);
    send_sync(c, &resp);
}

static void on_sync(sim_consumer *c, wire_reader *r) {
    if (c->state != MEMBER_SYNCING) return;
    c->state = MEMBER_UNJOINED;
    if (!r) {
        lose_coordinator(c);
        return;
    }
    kafka_sync_group_response resp;
    kafka_sync_group_response_init(&resp);
    arena_reset(&c->client.scratch);
    int64_t now = now_us(c);
    if (kafka_sync_group_response_decode(&resp, r, SYNC_GROUP_VERSION, &c->client.scratch) != 0 ||
        (resp.error_code != KAFKA_ERROR_NONE && !group_error(c, resp.error_code))) {
        c->join_retry_at_us = now + CONSUMER_RETRY_BACKOFF_US;
        return;
    }
    if (resp.error_code != KAFKA_ERROR_NONE) return;
    kafka_consumer_protocol_assignment a;
    kafka_consumer_protocol_assignment_init(&a);
    wire_reader ar;
    wire_reader_init(&ar, resp.assignment.ptr,
                     resp.assignment.len > 0 ? (size_t)resp.assignment.len : 0);
    int16_t version = resp.assignment.len > 0 ? wire_get_i16(&ar) : 0;
    if (resp.assignment.len > 0 &&
        (ar.failed || version < 0 ||
         kafka_consumer_protocol_assignment_decode(&a, &ar, version > 3 ? 3 : version,
                                                   &c->client.scratch) != 0)) {
        c->join_retry_at_us = now + CONSUMER_RETRY_BACKOFF_US; /* unreadable: join again */
        return;
    }
    take_assignment(c, &a);
    c->state = MEMBER_STABLE;
    c->heartbeat_at_us = now + c->group.heartbeat_interval_ms * 1000;
    c->heartbeat_ok_us = now;
    c->commit_at_us = now + c->group.auto_commit_interval_ms * 1000;
}

/* ---- Heartbeat ---------------------------------------------------------------------------- */

static void encode_heartbeat(const void *body, wire_writer *w, int16_t version) {
    kafka_heartbeat_request_encode(body, w, version);
}

static void send_heartbeat(sim_consumer *c, int64_t now) {
    kafka_heartbeat_request req;
    kafka_heartbeat_request_init(&req);
    req.group_id = kafka_str_c(c->group.name);
    req.generation_id = c->generation;
    req.member_id = kafka_str_c(c->member_id);
    req.group_instance_id = kafka_str_c(NULL);
    if (sim_client_send_coordinator(&c->client, KAFKA_API_HEARTBEAT, HEARTBEAT_VERSION, &req,
                                    encode_heartbeat, 0, REQUEST_TIMEOUT_US) != 0)
        return;
    c->heartbeat_inflight = 1;
    c->heartbeat_at_us = now + c->group.heartbeat_interval_ms * 1000;
}

static void on_heartbeat(sim_consumer *c, wire_reader *r) {
    c->heartbeat_inflight = 0;
    kafka_heartbeat_response resp;
    kafka_heartbeat_response_init(&resp);
    if (!r ||
        kafka_heartbeat_response_decode(&resp, r, HEARTBEAT_VERSION, &c->client.scratch) != 0) {
        lose_coordinator(c);
        return;
    }
    if (resp.error_code == KAFKA_ERROR_NONE || resp.error_code == KAFKA_ERROR_REBALANCE_IN_PROGRESS)
        c->heartbeat_ok_us = now_us(c);
    if (c->state == MEMBER_STABLE) group_error(c, resp.error_code);
}

/* ---- OffsetCommit ------------------------------------------------------------------------- */

static void encode_commit(const void *body, wire_writer *w, int16_t version) {
    kafka_offset_commit_request_encode(body, w, version);
}

/* Commits every valid position; 0 when sent. */
static int send_commit(sim_consumer *c, uint64_t tag) {
    kafka_offset_commit_request_offset_commit_request_partition parts[CONSUMER_ASSIGNED_MAX];
    kafka_offset_commit_request_offset_commit_request_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t n = 0, tn = 0;
    for (int32_t t = 0; t < c->client.topic_count; t++) {
        partition_pick p;
        consumer_pick(c, -1, POSITION_VALID, INT64_MAX, t, &p);
        if (p.count == 0) continue;
        for (int32_t k = 0; k < p.count; k++) {
            kafka_offset_commit_request_offset_commit_request_partition *cp = &parts[n + k];
            kafka_offset_commit_request_offset_commit_request_partition_init(cp);
            cp->partition_index = c->assigned[p.index[k]].partition;
            cp->committed_offset = c->assigned[p.index[k]].position;
            cp->committed_leader_epoch = -1;
            cp->committed_metadata = kafka_str_c("");
        }
        kafka_offset_commit_request_offset_commit_request_topic_init(&topics[tn]);
        topics[tn].name = kafka_str_c(c->client.topics[t].name);
        topics[tn].partitions = &parts[n];
        topics[tn].partitions_count = p.count;
        tn++;
        n += p.count;
    }
    if (tn == 0) return -1;
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c(c->group.name);
    req.generation_id_or_member_epoch = c->generation;
    req.member_id = kafka_str_c(c->member_id);
    req.group_instance_id = kafka_str_c(NULL);
    req.topics = topics;
    req.topics_count = tn;
    return sim_client_send_coordinator(&c->client, KAFKA_API_OFFSET_COMMIT, OFFSET_COMMIT_VERSION,
                                       &req, encode_commit, tag, REQUEST_TIMEOUT_US);
}

static void on_commit(sim_consumer *c, uint64_t tag, wire_reader *r) {
    if (tag == TAG_COMMIT_AUTO) c->commit_inflight = 0;
    kafka_offset_commit_response resp;
    kafka_offset_commit_response_init(&resp);
    arena_reset(&c->client.scratch);
    if (!r || kafka_offset_commit_response_decode(&resp, r, OFFSET_COMMIT_VERSION,
                                                  &c->client.scratch) != 0)
        lose_coordinator(c);
    int16_t error = KAFKA_ERROR_NONE;
    for (int32_t t = 0; r && t < resp.topics_count; t++)
        for (int32_t k = 0; k < resp.topics[t].partitions_count; k++)
            if (resp.topics[t].partitions[k].error_code != KAFKA_ERROR_NONE)
                error = resp.topics[t].partitions[k].error_code;
    if (r && error == KAFKA_ERROR_NONE) c->stats.commits++;
    if (error != KAFKA_ERROR_NONE) group_error(c, error);
    if (tag == TAG_COMMIT_REVOKE && c->state == MEMBER_REVOKING) {
        consumer_revoke(c); /* committed or not, the rebalance goes on */
        c->state = MEMBER_UNJOINED;
    }
}

/* ---- OffsetFetch -------------------------------------------------------------------------- */

static void encode_offset_fetch(const void *body, wire_writer *w, int16_t version) {
    kafka_offset_fetch_request_encode(body, w, version);
}

static void send_offset_fetch(sim_consumer *c, int64_t now) {
    kafka_offset_fetch_request_offset_fetch_request_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t parts[CONSUMER_ASSIGNED_MAX];
    int32_t n = 0, tn = 0;
    for (int32_t t = 0; t < c->client.topic_count; t++) {
        partition_pick p;
        consumer_pick(c, -1, POSITION_NEED_COMMITTED, now, t, &p);
        if (p.count == 0) continue;
        for (int32_t k = 0; k < p.count; k++) parts[n + k] = c->assigned[p.index[k]].partition;
        kafka_offset_fetch_request_offset_fetch_request_topic_init(&topics[tn]);
        topics[tn].name = kafka_str_c(c->client.topics[t].name);
        topics[tn].partition_indexes = &parts[n];
        topics[tn].partition_indexes_count = p.count;
        tn++;
        n += p.count;
    }
    if (tn == 0) return;
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c(c->group.name);
    req.topics = topics;
    req.topics_count = tn;
    if (sim_client_send_coordinator(&c->client, KAFKA_API_OFFSET_FETCH, OFFSET_FETCH_VERSION, &req,
                                    encode_offset_fetch, 0, REQUEST_TIMEOUT_US) != 0)
        return;
    c->offsets_inflight = 1;
    for (int32_t i = 0; i < c->assigned_count; i++)
        if (c->assigned[i].state == POSITION_NEED_COMMITTED && c->assigned[i].retry_at_us <= now)
            c->assigned[i].state = POSITION_FETCHING_COMMITTED;
}

static void on_offset_fetch(sim_consumer *c, wire_reader *r) {
    c->offsets_inflight = 0;
    kafka_offset_fetch_response resp;
    kafka_offset_fetch_response_init(&resp);
    arena_reset(&c->client.scratch);
    int ok = r && kafka_offset_fetch_response_decode(&resp, r, OFFSET_FETCH_VERSION,
                                                     &c->client.scratch) == 0;
    if (!ok || resp.error_code == KAFKA_ERROR_NOT_COORDINATOR ||
        resp.error_code == KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE)
        lose_coordinator(c);
    for (int32_t t = 0; ok && resp.error_code == KAFKA_ERROR_NONE && t < resp.topics_count; t++)
        for (int32_t k = 0; k < resp.topics[t].partitions_count; k++) {
            const kafka_offset_fetch_response_offset_fetch_response_partition *p =
                &resp.topics[t].partitions[k];
            assigned_partition *a =
                consumer_find_assigned(c, resp.topics[t].name, p->partition_index);
            if (!a || a->state != POSITION_FETCHING_COMMITTED || p->error_code != KAFKA_ERROR_NONE)
                continue;
            a->position = p->committed_offset;
            a->state = p->committed_offset >= 0 ? POSITION_VALID : POSITION_UNKNOWN;
        }
    int64_t retry = now_us(c) + CONSUMER_RETRY_BACKOFF_US;
    for (int32_t i = 0; i < c->assigned_count; i++) /* unanswered (or loading): ask again */
        if (c->assigned[i].state == POSITION_FETCHING_COMMITTED) {
            c->assigned[i].state = POSITION_NEED_COMMITTED;
            c->assigned[i].retry_at_us = retry;
        }
}

/* ---- driving ------------------------------------------------------------------------------- */

int consumer_group_on_response(sim_consumer *c, int16_t api_key, uint64_t tag, wire_reader *r) {
    switch (api_key) {
    case KAFKA_API_FIND_COORDINATOR:
        on_find(c, r);
        return 1;
    case KAFKA_API_JOIN_GROUP:
        on_join(c, r);
        return 1;
    case KAFKA_API_SYNC_GROUP:
        on_sync(c, r);
        return 1;
    case KAFKA_API_HEARTBEAT:
        on_heartbeat(c, r);
        return 1;
    case KAFKA_API_OFFSET_COMMIT:
        on_commit(c, tag, r);
        return 1;
    case KAFKA_API_OFFSET_FETCH:
        on_offset_fetch(c, r);
        return 1;
    default:
        return 0;
    }
}

void consumer_group_coordinator_closed(sim_consumer *c) {
    lose_coordinator(c);
}

/* Before rejoining: commit what was consumed (when the generation is still good),
 * then give the partitions up. */
static void rejoin(sim_consumer *c) {
    if (!sim_client_coordinator_ready(&c->client)) return; /* connecting: wait for it */
    if (c->owns && c->generation >= 0 && send_commit(c, TAG_COMMIT_REVOKE) == 0) {
        c->state = MEMBER_REVOKING;
        return;
    }
    consumer_revoke(c);
    send_join(c);
}

static void stable_step(sim_consumer *c, int64_t now) {
    if (c->leader)
        for (int32_t t = 0; t < c->client.topic_count; t++)
            if (c->client.topics[t].partition_count != c->snapshot_partitions[t]) {
                c->state = MEMBER_UNJOINED; /* the leader saw the partitions change */
                return;
            }
    if (now - c->heartbeat_ok_us > c->group.session_timeout_ms * 1000) {
        lose_coordinator(c); /* Java: session timeout expired without a heartbeat */
        c->heartbeat_ok_us = now;
        return;
    }
    if (!c->heartbeat_inflight && now >= c->heartbeat_at_us) send_heartbeat(c, now);
    if (!c->commit_inflight && now >= c->commit_at_us) {
        if (send_commit(c, TAG_COMMIT_AUTO) == 0) c->commit_inflight = 1;
        c->commit_at_us = now + c->group.auto_commit_interval_ms * 1000;
    }
    if (!c->offsets_inflight) send_offset_fetch(c, now);
}

void consumer_group_step(sim_consumer *c) {
    int64_t now = now_us(c);
    if (c->coordinator_lost) {
        sim_client_set_coordinator(&c->client, -1); /* fails what is in flight there */
        c->coordinator_lost = 0;
        c->find_retry_at_us = now + CONSUMER_RETRY_BACKOFF_US;
    }
    if (c->client.coordinator_node <= 0) {
        send_find(c);
        return;
    }
    if (c->state == MEMBER_UNJOINED && now >= c->join_retry_at_us && metadata_ready(c)) rejoin(c);
    if (c->state == MEMBER_STABLE) stable_step(c, now);
}

static void earliest(int64_t *at, int64_t t, int64_t now) {
    if (t > now && t < *at) *at = t;
}

int64_t consumer_group_deadline_us(const sim_consumer *c) {
    int64_t now = now_us(c), at = INT64_MAX;
    if (c->client.coordinator_node <= 0) {
        if (!c->find_inflight) earliest(&at, c->find_retry_at_us, now);
        return at;
    }
    earliest(&at, sim_client_coordinator_retry_us(&c->client), now);
    if (c->state == MEMBER_UNJOINED) earliest(&at, c->join_retry_at_us, now);
    if (c->state != MEMBER_STABLE) return at;
    if (!c->heartbeat_inflight) earliest(&at, c->heartbeat_at_us, now);
    earliest(&at, c->heartbeat_ok_us + c->group.session_timeout_ms * 1000 + 1, now);
    if (!c->commit_inflight) earliest(&at, c->commit_at_us, now);
    for (int32_t i = 0; i < c->assigned_count; i++)
        if (c->assigned[i].state == POSITION_NEED_COMMITTED)
            earliest(&at, c->assigned[i].retry_at_us, now);
    return at;
}
