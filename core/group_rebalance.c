/*
 * group_rebalance.c — the join/sync state machine of Kafka's classic group
 * protocol (Kafka's GroupCoordinator: prepareRebalance, onCompleteJoin,
 * doSyncGroup's store callback, removeMemberAndUpdateGroup).
 *
 * A rebalance holds every member's JoinGroup until all known members have
 * rejoined (or the largest rebalance timeout passes: members that did not rejoin
 * are dropped); an empty group's first rebalance waits
 * group.initial.rebalance.delay.ms, extended while new members keep arriving.
 * Completing the join starts a new generation: the first member leads and gets
 * every member's subscription; the leader's SyncGroup carries the assignment,
 * which is written to `__consumer_offsets` and relayed to every member once
 * durable — only then is the generation Stable.
 */
#include "group_coordinator.h"
#include "kafka_errors.gen.h"

#include <assert.h>
#include <string.h>

static int64_t now_us(const broker *b) {
    return broker_env_now_us(&b->env);
}

void group_session_renew(broker *b, group_member *m) {
    m->session_deadline_us = now_us(b) + (int64_t)m->session_timeout_ms * 1000;
    group_coordinator_note_deadline(b, m->session_deadline_us);
}

/* ---- answers -------------------------------------------------------------------- */

void group_reply_join(broker *b, group *g, group_member *m, int16_t error) {
    m->awaiting_join = 0;
    if (m->join.conn == 0) return;
    kafka_join_group_response resp;
    kafka_join_group_response_init(&resp);
    resp.error_code = error;
    resp.member_id = kafka_str_c(m->member_id);
    resp.generation_id = -1;
    kafka_join_group_response_join_group_response_member *members = NULL;
    if (error == KAFKA_ERROR_NONE) {
        resp.generation_id = g->generation;
        resp.protocol_type = kafka_str_c(g->protocol_type);
        resp.protocol_name = kafka_str_c(g->protocol_name);
        resp.leader = kafka_str_c(g->leader_id);
    }
    int leader =
        error == KAFKA_ERROR_NONE && g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
    if (leader) {
        arena *a = &b->groups->scratch;
        arena_reset(a);
        members = arena_alloc(a, (size_t)(g->member_count + 1) * sizeof *members);
        for (int32_t i = 0; i < g->member_count; i++) {
            const group_member *o = &g->members[i];
            const group_blob *md = group_member_metadata(o, g->protocol_name);
            kafka_join_group_response_join_group_response_member_init(&members[i]);
            members[i].member_id = kafka_str_c(o->member_id);
            members[i].group_instance_id = kafka_str_c(o->group_instance_id);
            members[i].metadata = md ? (kafka_bytes){md->bytes, md->len} : (kafka_bytes){NULL, 0};
        }
        resp.members = members;
        resp.members_count = g->member_count;
    }
    group_coordinator_reply(b, &m->join, KAFKA_API_JOIN_GROUP,
                            (group_encode_fn *)kafka_join_group_response_encode, &resp);
}

void group_reply_sync(broker *b, group_member *m, int16_t error) {
    m->awaiting_sync = 0;
    if (m->sync.conn == 0) return;
    kafka_sync_group_response resp;
    kafka_sync_group_response_init(&resp);
    resp.error_code = error;
    resp.assignment = (kafka_bytes){NULL, 0};
    if (error == KAFKA_ERROR_NONE && m->assignment.len > 0)
        resp.assignment = (kafka_bytes){m->assignment.bytes, m->assignment.len};
    group_coordinator_reply(b, &m->sync, KAFKA_API_SYNC_GROUP,
                            (group_encode_fn *)kafka_sync_group_response_encode, &resp);
}

void group_fail_held(broker *b, group *g, int16_t error) {
    for (int32_t i = 0; i < g->member_count; i++) {
        group_member *m = &g->members[i];
        if (m->awaiting_join) group_reply_join(b, g, m, error);
        if (m->awaiting_sync) group_reply_sync(b, m, error);
    }
}

/* Kafka's resetAndPropagateAssignmentError: members waiting in SyncGroup get the
 * error and every assignment is forgotten. */
static void assignment_error(broker *b, group *g, int16_t error) {
    for (int32_t i = 0; i < g->member_count; i++) {
        group_member *m = &g->members[i];
        group_blob_set(&m->assignment, NULL, 0);
        if (m->awaiting_sync) group_reply_sync(b, m, error);
    }
}

/* ---- rebalance ---------------------------------------------------------------------- */

void group_prepare_rebalance(broker *b, group *g) {
    assert(g->state != GROUP_DEAD && g->state != GROUP_PREPARING_REBALANCE);
    if (g->state == GROUP_COMPLETING_REBALANCE)
        assignment_error(b, g, KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    int64_t timeout_ms = group_rebalance_timeout_ms(g);
    int64_t delay_ms = b->cfg.group_initial_rebalance_delay_ms;
    g->initial_join = g->state == GROUP_EMPTY;
    if (g->initial_join) {
        g->join_remaining_ms = timeout_ms > delay_ms ? timeout_ms - delay_ms : 0;
        g->join_deadline_us = now_us(b) + delay_ms * 1000;
    } else {
        g->join_deadline_us = now_us(b) + timeout_ms * 1000;
    }
    g->new_member_added = 0;
    g->state = GROUP_PREPARING_REBALANCE;
    group_coordinator_note_deadline(b, g->join_deadline_us);
}

void group_maybe_prepare_rebalance(broker *b, group *g) {
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE ||
        g->state == GROUP_EMPTY)
        group_prepare_rebalance(b, g);
}

/* Records an emptied group so that a new coordinator does not restore old members. */
static void store_empty(broker *b, group *g) {
    kafka_group_metadata_value v;
    group_metadata_value(b, g, &v, &b->groups->scratch);
    offsets_batch_reset(&b->groups->batch);
    offsets_batch_add_group(&b->groups->batch, kafka_str_c(g->id), &v);
    group_coordinator_write(b, g->offsets_partition, NULL); /* Kafka only logs a failure */
}

static void complete_join(broker *b, group *g) {
    assert(g->state == GROUP_PREPARING_REBALANCE);
    for (int32_t i = g->member_count - 1; i >= 0; i--)
        if (!g->members[i].awaiting_join) group_member_remove(g, &g->members[i]);
    for (int32_t i = 0; i < g->member_count; i++) assert(g->members[i].awaiting_join);
    g->join_deadline_us = INT64_MAX;
    g->initial_join = 0;
    g->generation++;
    const char *protocol = g->member_count > 0 ? group_select_protocol(g) : NULL;
    if (g->member_count > 0 && protocol == NULL) { /* members changed protocols under us */
        for (int32_t i = 0; i < g->member_count; i++)
            group_reply_join(b, g, &g->members[i], KAFKA_ERROR_INCONSISTENT_GROUP_PROTOCOL);
        while (g->member_count > 0) group_member_remove(g, &g->members[0]);
    }
    group_set_str(&g->protocol_name, kafka_str_c(protocol));
    if (g->member_count == 0) {
        g->state = GROUP_EMPTY;
        store_empty(b, g);
        return;
    }
    g->state = GROUP_COMPLETING_REBALANCE;
    assert(g->leader_id != NULL && group_member_find(g, kafka_str_c(g->leader_id)) != NULL);
    for (int32_t i = 0; i < g->member_count; i++) {
        group_reply_join(b, g, &g->members[i], KAFKA_ERROR_NONE);
        group_session_renew(b, &g->members[i]);
    }
}

void group_try_complete_join(broker *b, group *g) {
    if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_join && group_all_joined(g))
        complete_join(b, g);
}

void group_join_deadline(broker *b, group *g) {
    assert(g->state == GROUP_PREPARING_REBALANCE);
    int64_t delay_ms = b->cfg.group_initial_rebalance_delay_ms;
    if (g->initial_join && g->new_member_added && g->join_remaining_ms > 0) {
        int64_t next_ms = delay_ms < g->join_remaining_ms ? delay_ms : g->join_remaining_ms;
        g->join_remaining_ms = g->join_remaining_ms > next_ms ? g->join_remaining_ms - next_ms : 0;
        g->new_member_added = 0;
        g->join_deadline_us = now_us(b) + next_ms * 1000;
        group_coordinator_note_deadline(b, g->join_deadline_us);
        return;
    }
    complete_join(b, g);
}

void group_remove_member(broker *b, group *g, group_member *m) {
    if (m->awaiting_join) group_reply_join(b, g, m, KAFKA_ERROR_UNKNOWN_MEMBER_ID);
    if (m->awaiting_sync) group_reply_sync(b, m, KAFKA_ERROR_UNKNOWN_MEMBER_ID);
    group_member_remove(g, m);
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
        group_maybe_prepare_rebalance(b, g);
    else if (g->state == GROUP_PREPARING_REBALANCE)
        group_try_complete_join(b, g);
}

void group_expire_sessions(broker *b, group *g, int64_t now) {
    for (int32_t i = g->pending_count - 1; i >= 0; i--)
        if (now >= g->pending[i].deadline_us) group_pending_remove(g, i);
    for (int32_t i = g->member_count - 1; i >= 0 && i < g->member_count; i--) {
        group_member *m = &g->members[i];
        if (m->awaiting_join || m->awaiting_sync || now < m->session_deadline_us) continue;
        group_remove_member(b, g, m);
    }
    if (g->state == GROUP_PREPARING_REBALANCE) group_try_complete_join(b, g);
}

/* ---- the generation, written ------------------------------------------------------------ */

void group_metadata_value(const broker *b, const group *g, kafka_group_metadata_value *v,
                          arena *a) {
    kafka_group_metadata_value_init(v);
    v->protocol_type = kafka_str_c(g->protocol_type ? g->protocol_type : "");
    v->generation = g->generation;
    v->protocol = kafka_str_c(g->protocol_name);
    v->leader = kafka_str_c(g->leader_id);
    v->current_state_timestamp = b->env.epoch_ms(b->env.ctx);
    v->members = arena_alloc(a, (size_t)(g->member_count + 1) * sizeof *v->members);
    v->members_count = g->member_count;
    for (int32_t i = 0; i < g->member_count; i++) {
        const group_member *m = &g->members[i];
        kafka_group_metadata_value_member_metadata *mm = &v->members[i];
        kafka_group_metadata_value_member_metadata_init(mm);
        const group_blob *md = group_member_metadata(m, g->protocol_name);
        mm->member_id = kafka_str_c(m->member_id);
        mm->group_instance_id = kafka_str_c(m->group_instance_id);
        mm->client_id = kafka_str_c(m->client_id);
        mm->client_host = kafka_str_c(m->client_host);
        mm->rebalance_timeout = m->rebalance_timeout_ms;
        mm->session_timeout = m->session_timeout_ms;
        mm->subscription = md ? (kafka_bytes){md->bytes, md->len} : (kafka_bytes){NULL, 0};
        mm->assignment = m->assignment.len >= 0
                             ? (kafka_bytes){m->assignment.bytes, m->assignment.len}
                             : (kafka_bytes){NULL, 0};
    }
}

int16_t group_store_generation(broker *b, group *g) {
    kafka_group_metadata_value v;
    arena_reset(&b->groups->scratch);
    group_metadata_value(b, g, &v, &b->groups->scratch);
    offsets_batch_reset(&b->groups->batch);
    offsets_batch_add_group(&b->groups->batch, kafka_str_c(g->id), &v);
    group_write w = {.kind = GROUP_WRITE_GENERATION,
                     .group_id = group_strdup(kafka_str_c(g->id)),
                     .generation = g->generation};
    int16_t error = group_coordinator_write(b, g->offsets_partition, &w);
    group_write_release(&w); /* emptied when queued */
    return error;
}

void group_generation_stored(broker *b, group *g, int32_t generation, int16_t error) {
    if (g->state != GROUP_COMPLETING_REBALANCE || g->generation != generation) return;
    if (error != KAFKA_ERROR_NONE) {
        assignment_error(b, g, error);
        group_maybe_prepare_rebalance(b, g);
        return;
    }
    g->state = GROUP_STABLE;
    assert(g->member_count > 0 && g->protocol_name != NULL);
    for (int32_t i = 0; i < g->member_count; i++) {
        group_member *m = &g->members[i];
        if (m->awaiting_sync) {
            group_reply_sync(b, m, KAFKA_ERROR_NONE);
            group_session_renew(b, m);
        }
    }
    broker_observe(b, &(observe_event){.kind = OBSERVE_REBALANCE,
                                       .node = b->cfg.node_id,
                                       .leader_epoch = g->generation,
                                       .count = g->member_count,
                                       .detail = g->id});
}
