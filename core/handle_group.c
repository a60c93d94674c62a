/*
 * handle_group.c — JoinGroup (11) 0..5, SyncGroup (14) 0..3, Heartbeat (12) 0..3,
 * LeaveGroup (13) 0..3: the membership requests of Kafka's classic group
 * protocol, checked in the order Kafka's GroupCoordinator checks them.
 *
 * A JoinGroup or SyncGroup that must wait parks the connection
 * (BROKER_PARK_GROUP); the rebalance state machine (group_rebalance.c) answers
 * it later.  A request answered "at once" by the state machine is still parked
 * first and answered through the same path, so there is one way to answer.
 */
#include "group_coordinator.h"
#include "kafka_errors.gen.h"

#include <stdio.h>
#include <string.h>

#define MEMBER_ID_BYTES_MAX 320

static int64_t now_us(const broker *b) {
    return broker_env_now_us(&b->env);
}

/* Kafka's validateGroupStatus: group id, then coordinator ownership and loading. */
static int16_t group_status(broker *b, kafka_str group_id, int32_t *partition) {
    if (group_id.len <= 0) return KAFKA_ERROR_INVALID_GROUP_ID;
    return group_coordinator_owns(b, group_id, partition);
}

static void respond(broker *b, broker_conn *c, const broker_request *req, group_encode_fn *encode,
                    const void *msg) {
    broker_response_begin(b, req);
    encode(msg, &b->out, req->api_version);
    broker_response_finish(b, c);
}

/* ---- JoinGroup --------------------------------------------------------------------- */

typedef struct join_ctx {
    broker *b;
    broker_conn *c;
    const broker_request *req;
    const kafka_join_group_request *body;
    char member_id[MEMBER_ID_BYTES_MAX]; /* a new member's id, for the response */
} join_ctx;

/* Kafka: clientId + "-" + a random UUID. */
static void new_member_id(join_ctx *x) {
    uint64_t hi = x->b->env.random_u64(x->b->env.ctx), lo = x->b->env.random_u64(x->b->env.ctx);
    kafka_str cid = x->req->client_id;
    int n = cid.len > 200 ? 200 : (cid.len > 0 ? cid.len : 0);
    snprintf(x->member_id, sizeof x->member_id, "%.*s-%08x-%04x-%04x-%04x-%012llx", n,
             n ? cid.ptr : "", (unsigned)(hi >> 32), (unsigned)(hi >> 16) & 0xffff,
             (unsigned)hi & 0xffff, (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xffffffffffffULL));
}

static void held_join_superseded(broker *b, group *g, group_member *m) {
    if (m->join.conn != 0) group_reply_join(b, g, m, KAFKA_ERROR_REBALANCE_IN_PROGRESS);
}

/* The member (re)joins the rebalance: its JoinGroup waits for the others. */
static int await_join(join_ctx *x, group *g, group_member *m) {
    held_join_superseded(x->b, g, m);
    m->awaiting_join = 1;
    group_coordinator_park(x->b, x->c, x->req, &m->join);
    group_maybe_prepare_rebalance(x->b, g);
    group_try_complete_join(x->b, g);
    return 1;
}

static int add_member_and_rebalance(join_ctx *x, group *g, const char *member_id) {
    if (g->state == GROUP_PREPARING_REBALANCE && g->generation == 0) g->new_member_added = 1;
    group_member *m = group_member_add(g, member_id, x->req->client_id, kafka_str_c(""), x->body);
    group_session_renew(x->b, m);
    return await_join(x, g, m);
}

static int join_new(join_ctx *x, group *g, int16_t *error) {
    if (!group_supports_protocols(g, x->body->protocol_type, x->body)) {
        *error = KAFKA_ERROR_INCONSISTENT_GROUP_PROTOCOL;
        return 0;
    }
    new_member_id(x);
    if (x->req->api_version >= 4 && x->body->group_instance_id.len < 0) {
        int64_t deadline = now_us(x->b) + (int64_t)x->body->session_timeout_ms * 1000;
        group_pending_add(g, x->member_id, deadline);
        group_coordinator_note_deadline(x->b, deadline);
        *error = KAFKA_ERROR_MEMBER_ID_REQUIRED;
        return 0;
    }
    return add_member_and_rebalance(x, g, x->member_id);
}

/* Answers a known member at once with the current generation (Kafka's
 * doCurrentJoinGroup when nothing changed). */
static int join_current(join_ctx *x, group *g, group_member *m) {
    held_join_superseded(x->b, g, m);
    group_coordinator_park(x->b, x->c, x->req, &m->join);
    group_reply_join(x->b, g, m, KAFKA_ERROR_NONE);
    return 1;
}

static int join_known(join_ctx *x, group *g, int16_t *error) {
    kafka_str id = x->body->member_id;
    if (!group_supports_protocols(g, x->body->protocol_type, x->body)) {
        *error = KAFKA_ERROR_INCONSISTENT_GROUP_PROTOCOL;
        return 0;
    }
    int32_t pending = group_pending_find(g, id);
    if (pending >= 0) {
        char member_id[MEMBER_ID_BYTES_MAX];
        snprintf(member_id, sizeof member_id, "%s", g->pending[pending].member_id);
        group_pending_remove(g, pending);
        return add_member_and_rebalance(x, g, member_id);
    }
    group_member *m = group_member_find(g, id);
    if (!m || g->state == GROUP_EMPTY || g->state == GROUP_DEAD) {
        *error = KAFKA_ERROR_UNKNOWN_MEMBER_ID;
        return 0;
    }
    int leader = g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
    int same = group_member_protocols_match(m, x->body);
    if ((g->state == GROUP_COMPLETING_REBALANCE && same) ||
        (g->state == GROUP_STABLE && same && !leader))
        return join_current(x, g, m);
    group_member_update(m, x->body);
    return await_join(x, g, m);
}

static int join_group(join_ctx *x, int16_t *error) {
    const kafka_join_group_request *body = x->body;
    int32_t partition = -1;
    *error = group_status(x->b, body->group_id, &partition);
    if (*error != KAFKA_ERROR_NONE) return 0;
    if (body->session_timeout_ms < GROUP_SESSION_TIMEOUT_MS_MIN ||
        body->session_timeout_ms > GROUP_SESSION_TIMEOUT_MS_MAX) {
        *error = KAFKA_ERROR_INVALID_SESSION_TIMEOUT;
        return 0;
    }
    int new_member = body->member_id.len <= 0;
    group *g = group_coordinator_find(x->b, body->group_id);
    if (!g && !new_member) {
        *error = KAFKA_ERROR_UNKNOWN_MEMBER_ID;
        return 0;
    }
    if (!g) g = group_coordinator_add(x->b, body->group_id, partition);
    if (g->state == GROUP_DEAD) {
        *error = KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
        return 0;
    }
    return new_member ? join_new(x, g, error) : join_known(x, g, error);
}

int broker_handle_join_group(broker *b, broker_conn *c, const broker_request *req) {
    kafka_join_group_request body;
    kafka_join_group_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_join_group_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    join_ctx x = {.b = b, .c = c, .req = req, .body = &body};
    int16_t error = KAFKA_ERROR_NONE;
    if (join_group(&x, &error) == 1) return 1;
    kafka_join_group_response resp;
    kafka_join_group_response_init(&resp);
    resp.error_code = error;
    resp.generation_id = -1;
    resp.member_id = x.member_id[0] ? kafka_str_c(x.member_id) : body.member_id;
    if (resp.member_id.len < 0) resp.member_id = kafka_str_c("");
    respond(b, c, req, (group_encode_fn *)kafka_join_group_response_encode, &resp);
    return 0;
}

/* ---- SyncGroup ----------------------------------------------------------------------- */

/* The leader's assignment: members it does not name get an empty one (Kafka). */
static void take_assignment(group *g, const kafka_sync_group_request *body) {
    for (int32_t i = 0; i < g->member_count; i++)
        group_blob_set(&g->members[i].assignment, NULL, 0);
    for (int32_t i = 0; i < body->assignments_count; i++) {
        group_member *m = group_member_find(g, body->assignments[i].member_id);
        kafka_bytes a = body->assignments[i].assignment;
        if (m) group_blob_set(&m->assignment, a.ptr, a.len < 0 ? 0 : a.len);
    }
}

static int sync_group(broker *b, broker_conn *c, const broker_request *req,
                      const kafka_sync_group_request *body, int16_t *error) {
    int32_t partition;
    *error = group_status(b, body->group_id, &partition);
    if (*error != KAFKA_ERROR_NONE) return 0;
    group *g = group_coordinator_find(b, body->group_id);
    group_member *m = g ? group_member_find(g, body->member_id) : NULL;
    if (g && g->state == GROUP_DEAD)
        *error = KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    else if (!m || g->state == GROUP_EMPTY)
        *error = KAFKA_ERROR_UNKNOWN_MEMBER_ID;
    else if (body->generation_id != g->generation)
        *error = KAFKA_ERROR_ILLEGAL_GENERATION;
    else if (g->state == GROUP_PREPARING_REBALANCE)
        *error = KAFKA_ERROR_REBALANCE_IN_PROGRESS;
    if (*error != KAFKA_ERROR_NONE) return 0;
    if (m->sync.conn != 0) group_reply_sync(b, m, KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    group_coordinator_park(b, c, req, &m->sync);
    m->awaiting_sync = 1;
    if (g->state == GROUP_STABLE) {
        group_reply_sync(b, m, KAFKA_ERROR_NONE);
        group_session_renew(b, m);
        return 1;
    }
    if (!g->leader_id || strcmp(g->leader_id, m->member_id) != 0)
        return 1; /* wait for the leader */
    take_assignment(g, body);
    int16_t stored = group_store_generation(b, g);
    if (stored != KAFKA_ERROR_NONE) group_generation_stored(b, g, g->generation, stored);
    return 1;
}

int broker_handle_sync_group(broker *b, broker_conn *c, const broker_request *req) {
    kafka_sync_group_request body;
    kafka_sync_group_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_sync_group_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    int16_t error = KAFKA_ERROR_NONE;
    if (sync_group(b, c, req, &body, &error) == 1) return 1;
    kafka_sync_group_response resp;
    kafka_sync_group_response_init(&resp);
    resp.error_code = error;
    resp.assignment = (kafka_bytes){NULL, 0};
    respond(b, c, req, (group_encode_fn *)kafka_sync_group_response_encode, &resp);
    return 0;
}

/* ---- Heartbeat ------------------------------------------------------------------------- */

static int16_t heartbeat(broker *b, const kafka_heartbeat_request *body) {
    int32_t partition;
    int16_t error = group_status(b, body->group_id, &partition);
    if (error != KAFKA_ERROR_NONE) return error;
    group *g = group_coordinator_find(b, body->group_id);
    group_member *m = g ? group_member_find(g, body->member_id) : NULL;
    if (g && g->state == GROUP_DEAD) return KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    if (!m) return KAFKA_ERROR_UNKNOWN_MEMBER_ID;
    if (body->generation_id != g->generation) return KAFKA_ERROR_ILLEGAL_GENERATION;
    if (g->state == GROUP_EMPTY) return KAFKA_ERROR_UNKNOWN_MEMBER_ID;
    group_session_renew(b, m);
    return g->state == GROUP_PREPARING_REBALANCE ? KAFKA_ERROR_REBALANCE_IN_PROGRESS
                                                 : KAFKA_ERROR_NONE;
}

int broker_handle_heartbeat(broker *b, broker_conn *c, const broker_request *req) {
    kafka_heartbeat_request body;
    kafka_heartbeat_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_heartbeat_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    kafka_heartbeat_response resp;
    kafka_heartbeat_response_init(&resp);
    resp.error_code = heartbeat(b, &body);
    respond(b, c, req, (group_encode_fn *)kafka_heartbeat_response_encode, &resp);
    return 0;
}

/* ---- LeaveGroup ------------------------------------------------------------------------- */

static int16_t leave_member(broker *b, group *g, kafka_str member_id) {
    if (!g) return KAFKA_ERROR_UNKNOWN_MEMBER_ID;
    int32_t pending = group_pending_find(g, member_id);
    if (pending >= 0) {
        group_pending_remove(g, pending);
        group_try_complete_join(b, g);
        return KAFKA_ERROR_NONE;
    }
    group_member *m = group_member_find(g, member_id);
    if (!m) return KAFKA_ERROR_UNKNOWN_MEMBER_ID;
    group_remove_member(b, g, m);
    return KAFKA_ERROR_NONE;
}

int broker_handle_leave_group(broker *b, broker_conn *c, const broker_request *req) {
    kafka_leave_group_request body;
    kafka_leave_group_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_leave_group_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    kafka_leave_group_response resp;
    kafka_leave_group_response_init(&resp);
    int32_t n = req->api_version >= 3 ? (body.members_count > 0 ? body.members_count : 0) : 1;
    resp.members = arena_alloc(&c->arena, (size_t)(n + 1) * sizeof *resp.members);
    int32_t partition;
    resp.error_code = group_status(b, body.group_id, &partition);
    group *g =
        resp.error_code == KAFKA_ERROR_NONE ? group_coordinator_find(b, body.group_id) : NULL;
    if (g && g->state == GROUP_DEAD) resp.error_code = KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    for (int32_t i = 0; resp.error_code == KAFKA_ERROR_NONE && i < n; i++) {
        kafka_leave_group_response_member_response *mr = &resp.members[resp.members_count++];
        kafka_leave_group_response_member_response_init(mr);
        mr->member_id = req->api_version >= 3 ? body.members[i].member_id : body.member_id;
        mr->group_instance_id =
            req->api_version >= 3 ? body.members[i].group_instance_id : (kafka_str){NULL, -1};
        mr->error_code = leave_member(b, g, mr->member_id);
    }
    /* v0..2 answer one member: its error is the response's (Kafka's LeaveGroupResponse) */
    if (req->api_version < 3 && resp.members_count == 1)
        resp.error_code = resp.members[0].error_code;
    respond(b, c, req, (group_encode_fn *)kafka_leave_group_response_encode, &resp);
    return 0;
}
