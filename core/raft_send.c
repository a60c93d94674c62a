/*
 * raft_send.c — the requests raft sends (Vote, BeginQuorumEpoch, Fetch) and what
 * it does with their answers.
 *
 * The role decides which kind a voter is owed: a candidate asks each voter that
 * has not answered for its vote, a leader announces itself to each voter that has
 * not acknowledged the epoch, a follower fetches from its leader.  raft_pump sends
 * every owed request whose slot is idle and whose retry time has come; a failure
 * (send refused, no answer, an error answer) puts the slot to sleep for a random
 * 50-100 ms backoff.  A slot busy for longer than request_timeout is presumed lost
 * (its late answer then no longer matches the tag and is ignored), so a driver
 * that drops an answer costs one timeout, never liveness.
 *
 * Answers are checked against the state they were sent in (epoch, log end): an
 * answer to an older question is dropped, except for what it says about a higher
 * epoch, which any voter must adopt.
 */
#include <assert.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "raft_internal.h"

static int64_t raft_request_timeout_us(const raft *r) {
    return (r->cfg.fetch_max_wait_ms + r->cfg.fetch_timeout_ms) * 1000;
}

/* The kind of request voter i is owed in the current role, or -1. */
static int raft_owed_kind(const raft *r, int32_t i) {
    const raft_peer *p = &r->peers[i];
    if (i == r->self_index) return -1;
    if (r->role == RAFT_ROLE_CANDIDATE && p->vote_state == RAFT_VOTE_NONE) return RAFT_KIND_VOTE;
    if (r->role == RAFT_ROLE_LEADER && !p->begin_acked) return RAFT_KIND_BEGIN;
    if (r->role == RAFT_ROLE_FOLLOWER && r->leader == p->id) return RAFT_KIND_FETCH;
    return -1;
}

void raft_reset_slots(raft *r) {
    for (int32_t i = 0; i < r->cfg.voter_count; i++)
        for (int k = 0; k < RAFT_KIND_COUNT; k++) r->peers[i].slots[k].retry_at_us = 0;
    assert(r->self_index >= 0 && r->self_index < r->cfg.voter_count);
}

int64_t raft_send_deadline_us(const raft *r) {
    /* Asked after every event on the broker: the earliest request sent (its
     * timeout added once) and the retry of each voter's owed kind, if not sent. */
    int64_t d = INT64_MAX, sent_us = INT64_MAX;
    if (r->log.failed) return d; /* raft_on_timer reopens it at the election deadline */
    for (int32_t i = 0; i < r->cfg.voter_count; i++) {
        const raft_slot *slots = r->peers[i].slots;
        for (int k = 0; k < RAFT_KIND_COUNT; k++)
            if (slots[k].tag && slots[k].sent_us < sent_us) sent_us = slots[k].sent_us;
        int owed = raft_owed_kind(r, i);
        if (owed >= 0 && !slots[owed].tag && slots[owed].retry_at_us < d)
            d = slots[owed].retry_at_us;
    }
    if (sent_us != INT64_MAX && sent_us + raft_request_timeout_us(r) < d)
        d = sent_us + raft_request_timeout_us(r);
    assert(d >= 0);
    return d;
}

void raft_expire_requests(raft *r, int64_t now_us) {
    int64_t timeout_us = raft_request_timeout_us(r);
    assert(timeout_us > 0);
    for (int32_t i = 0; i < r->cfg.voter_count; i++)
        for (int k = 0; k < RAFT_KIND_COUNT; k++) {
            raft_slot *s = &r->peers[i].slots[k];
            if (s->tag == 0 || now_us < s->sent_us + timeout_us) continue;
            s->tag = 0;
            s->retry_at_us = now_us + raft_backoff_us(r);
        }
}

/* ---- encoding ------------------------------------------------------------------------ */

static void raft_encode_vote(const void *body, wire_writer *w, int16_t version) {
    kafka_vote_request_encode(body, w, version);
}

static void raft_encode_begin(const void *body, wire_writer *w, int16_t version) {
    kafka_begin_quorum_epoch_request_encode(body, w, version);
}

static void raft_encode_fetch(const void *body, wire_writer *w, int16_t version) {
    kafka_fetch_request_encode(body, w, version);
}

static int raft_send_vote(raft *r, int32_t node, uint64_t tag) {
    kafka_vote_request_partition_data part;
    kafka_vote_request_partition_data_init(&part);
    part.candidate_epoch = r->epoch;
    part.candidate_id = r->cfg.node_id;
    part.last_offset_epoch = partition_log_last_epoch(&r->log);
    part.last_offset = partition_log_end_offset(&r->log);
    kafka_vote_request_topic_data topic;
    kafka_vote_request_topic_data_init(&topic);
    topic.topic_name = kafka_str_c(RAFT_METADATA_TOPIC);
    topic.partitions = &part;
    topic.partitions_count = 1;
    kafka_vote_request req;
    kafka_vote_request_init(&req);
    req.cluster_id = kafka_str_c(r->cfg.cluster_id);
    req.voter_id = node;
    req.topics = &topic;
    req.topics_count = 1;
    assert(r->role == RAFT_ROLE_CANDIDATE && part.last_offset >= 0);
    return r->io.send(r->io.ctx, node, RAFT_API_VOTE, RAFT_VOTE_VERSION, &req, raft_encode_vote,
                      tag);
}

static int raft_send_begin(raft *r, int32_t node, uint64_t tag) {
    kafka_begin_quorum_epoch_request_partition_data part;
    kafka_begin_quorum_epoch_request_partition_data_init(&part);
    part.leader_id = r->cfg.node_id;
    part.leader_epoch = r->epoch;
    kafka_begin_quorum_epoch_request_topic_data topic;
    kafka_begin_quorum_epoch_request_topic_data_init(&topic);
    topic.topic_name = kafka_str_c(RAFT_METADATA_TOPIC);
    topic.partitions = &part;
    topic.partitions_count = 1;
    kafka_begin_quorum_epoch_request req;
    kafka_begin_quorum_epoch_request_init(&req);
    req.cluster_id = kafka_str_c(r->cfg.cluster_id);
    req.voter_id = node;
    req.topics = &topic;
    req.topics_count = 1;
    assert(r->role == RAFT_ROLE_LEADER && r->leader == r->cfg.node_id);
    return r->io.send(r->io.ctx, node, RAFT_API_BEGIN_QUORUM_EPOCH, RAFT_BEGIN_QUORUM_EPOCH_VERSION,
                      &req, raft_encode_begin, tag);
}

static int raft_send_fetch(raft *r, int32_t node, uint64_t tag) {
    kafka_fetch_request_fetch_partition part;
    kafka_fetch_request_fetch_partition_init(&part);
    part.current_leader_epoch = r->epoch;
    part.fetch_offset = partition_log_end_offset(&r->log);
    part.last_fetched_epoch = partition_log_last_epoch(&r->log);
    part.log_start_offset = partition_log_start_offset(&r->log);
    part.partition_max_bytes = RAFT_FETCH_BYTES_MAX;
    kafka_fetch_request_fetch_topic topic;
    kafka_fetch_request_fetch_topic_init(&topic);
    topic.topic = kafka_str_c(RAFT_METADATA_TOPIC);
    topic.partitions = &part;
    topic.partitions_count = 1;
    kafka_fetch_request req;
    kafka_fetch_request_init(&req);
    req.cluster_id = kafka_str_c(r->cfg.cluster_id);
    req.replica_id = r->cfg.node_id;
    req.replica_state.replica_id = r->cfg.node_id;
    req.max_wait_ms = (int32_t)r->cfg.fetch_max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = RAFT_FETCH_BYTES_MAX;
    req.topics = &topic;
    req.topics_count = 1;
    assert(r->role == RAFT_ROLE_FOLLOWER && r->leader == node);
    return r->io.send(r->io.ctx, node, RAFT_API_FETCH, RAFT_FETCH_VERSION, &req, raft_encode_fetch,
                      tag);
}

static void raft_send_one(raft *r, int32_t i, int kind, int64_t now_us) {
    raft_slot *s = &r->peers[i].slots[kind];
    assert(s->tag == 0 && kind >= 0 && kind < RAFT_KIND_COUNT);
    uint64_t tag = ++r->tag_last;
    s->tag = tag; /* before send: an answer may come back from inside it */
    s->sent_us = now_us;
    s->sent_epoch = r->epoch;
    s->sent_offset = partition_log_end_offset(&r->log);
    int32_t node = r->peers[i].id;
    int rc = kind == RAFT_KIND_VOTE    ? raft_send_vote(r, node, tag)
             : kind == RAFT_KIND_BEGIN ? raft_send_begin(r, node, tag)
                                       : raft_send_fetch(r, node, tag);
    if (rc != 0 && s->tag == tag) {
        s->tag = 0;
        s->retry_at_us = now_us + raft_backoff_us(r);
    }
}

void raft_pump(raft *r) {
    if (r->log.failed) return;
    int64_t now_us = raft_now_us(r);
    raft_expire_requests(r, now_us);
    for (int32_t i = 0; i < r->cfg.voter_count; i++) {
        int kind = raft_owed_kind(r, i);
        if (kind < 0) continue;
        const raft_slot *s = &r->peers[i].slots[kind];
        if (s->tag == 0 && now_us >= s->retry_at_us) raft_send_one(r, i, kind, now_us);
    }
    assert(raft_send_deadline_us(r) > now_us || r->log.failed);
}

/* ---- answers ------------------------------------------------------------------------- */

/* A higher epoch in an answer: adopt it.  Returns true when it did. */
static bool raft_adopt_epoch(raft *r, int32_t epoch, int32_t leader) {
    if (epoch <= r->epoch) return false;
    raft_become_follower(r, epoch, raft_sane_leader(r, leader));
    return true;
}

static void raft_vote_answered(raft *r, int32_t i, const raft_slot *s,
                               const kafka_vote_response *resp) {
    const kafka_vote_response_partition_data *p = &resp->topics[0].partitions[0];
    if (raft_adopt_epoch(r, p->leader_epoch, p->leader_id)) return;
    if (r->role != RAFT_ROLE_CANDIDATE || s->sent_epoch != r->epoch) return;
    if (p->leader_epoch == r->epoch && raft_sane_leader(r, p->leader_id) >= 0) {
        raft_become_follower(r, r->epoch, p->leader_id); /* someone else won this epoch */
        return;
    }
    if (resp->error_code != 0 || p->error_code != 0) {
        r->peers[i].slots[RAFT_KIND_VOTE].retry_at_us = raft_now_us(r) + raft_backoff_us(r);
        return;
    }
    r->peers[i].vote_state = p->vote_granted ? RAFT_VOTE_GRANTED : RAFT_VOTE_REJECTED;
    if (raft_has_vote_majority(r)) raft_become_leader(r);
}

static void raft_begin_answered(raft *r, int32_t i, const raft_slot *s,
                                const kafka_begin_quorum_epoch_response *resp) {
    const kafka_begin_quorum_epoch_response_partition_data *p = &resp->topics[0].partitions[0];
    if (raft_adopt_epoch(r, p->leader_epoch, p->leader_id)) return;
    if (r->role != RAFT_ROLE_LEADER || s->sent_epoch != r->epoch) return;
    if (resp->error_code == 0 && p->error_code == 0)
        r->peers[i].begin_acked = true;
    else
        r->peers[i].slots[RAFT_KIND_BEGIN].retry_at_us = raft_now_us(r) + raft_backoff_us(r);
}

/* DivergingEpoch (epoch, end): cut back to where both logs certainly agree, the
 * smaller of the leader's end and our own end for that epoch. */
static void raft_truncate_diverging(raft *r, const kafka_fetch_response_epoch_end_offset *div) {
    int64_t end = partition_log_end_offset(&r->log);
    int32_t own_epoch;
    int64_t own_end;
    partition_log_end_offset_for_epoch(&r->log, div->epoch, &own_epoch, &own_end);
    int64_t target = div->end_offset < 0 ? 0 : div->end_offset;
    if (own_end >= 0 && own_end < target) target = own_end;
    if (target > end) target = end;
    assert(target >= r->high_watermark); /* committed records are never truncated */
    if (target == end) return;
    if (raft_log_check(r, partition_log_truncate_to(&r->log, target)) == 0 && r->io.on_log_change)
        r->io.on_log_change(r->io.ctx);
}

static int raft_fetch_append(raft *r, const kafka_bytes *records) {
    if (records->len <= 0) return 0;
    int rc = partition_log_append_replica(&r->log, records->ptr, (size_t)records->len);
    if (rc == 0) rc = partition_log_sync(&r->log); /* before the next Fetch acknowledges it */
    if (rc == 0 && r->io.on_log_change) r->io.on_log_change(r->io.ctx);
    return raft_log_check(r, rc);
}

static void raft_fetch_answered(raft *r, int32_t i, const raft_slot *s,
                                const kafka_fetch_response *resp) {
    const kafka_fetch_response_partition_data *p = &resp->responses[0].partitions[0];
    if (raft_adopt_epoch(r, p->current_leader.leader_epoch, p->current_leader.leader_id)) return;
    raft_slot *slot = &r->peers[i].slots[RAFT_KIND_FETCH];
    if (r->role != RAFT_ROLE_FOLLOWER || r->leader != r->peers[i].id || s->sent_epoch != r->epoch ||
        s->sent_offset != partition_log_end_offset(&r->log))
        return; /* an answer to an older question; the pump asks again */
    if (resp->error_code != 0 || p->error_code != 0) {
        slot->retry_at_us = raft_now_us(r) + raft_backoff_us(r);
        return;
    }
    raft_reset_election_timer(r); /* the leader is alive */
    if (p->diverging_epoch.epoch >= 0 || p->diverging_epoch.end_offset >= 0) {
        raft_truncate_diverging(r, &p->diverging_epoch);
        return;
    }
    if (raft_fetch_append(r, &p->records) != 0) {
        slot->retry_at_us = raft_now_us(r) + raft_backoff_us(r);
        return;
    }
    raft_follower_update_high_watermark(r, p->high_watermark);
}

static int raft_kind_of(int16_t api_key) {
    if (api_key == RAFT_API_VOTE) return RAFT_KIND_VOTE;
    if (api_key == RAFT_API_BEGIN_QUORUM_EPOCH) return RAFT_KIND_BEGIN;
    if (api_key == RAFT_API_FETCH) return RAFT_KIND_FETCH;
    return -1;
}

/* Decodes an answer of kind into the matching struct in u; 0 when it is usable
 * (well formed, exactly one topic with one partition). */
typedef union raft_answer {
    kafka_vote_response vote;
    kafka_begin_quorum_epoch_response begin;
    kafka_fetch_response fetch;
} raft_answer;

static int raft_decode_answer(raft *r, int kind, wire_reader *rd, raft_answer *u) {
    arena *a = &r->response_arena;
    bool ok;
    if (kind == RAFT_KIND_VOTE) {
        ok = kafka_vote_response_decode(&u->vote, rd, RAFT_VOTE_VERSION, a) == 0 &&
             u->vote.topics_count == 1 && u->vote.topics[0].partitions_count == 1;
    } else if (kind == RAFT_KIND_BEGIN) {
        int16_t v = RAFT_BEGIN_QUORUM_EPOCH_VERSION;
        ok = kafka_begin_quorum_epoch_response_decode(&u->begin, rd, v, a) == 0 &&
             u->begin.topics_count == 1 && u->begin.topics[0].partitions_count == 1;
    } else {
        assert(kind == RAFT_KIND_FETCH);
        ok = kafka_fetch_response_decode(&u->fetch, rd, RAFT_FETCH_VERSION, a) == 0 &&
             u->fetch.responses_count == 1 && u->fetch.responses[0].partitions_count == 1;
    }
    return ok ? 0 : -1;
}

static void on_response(raft *rf, int32_t node, int16_t api_key, uint64_t tag, wire_reader *r) {
    int32_t i = raft_voter_index(rf, node);
    int kind = raft_kind_of(api_key);
    if (i < 0 || i == rf->self_index || kind < 0 || tag == 0) return;
    raft_slot *slot = &rf->peers[i].slots[kind];
    if (slot->tag != tag) return; /* timed out earlier, or not ours */
    raft_slot sent = *slot;
    slot->tag = 0;
    arena_reset(&rf->response_arena);
    raft_answer u;
    if (r == NULL || rf->log.failed || raft_decode_answer(rf, kind, r, &u) != 0) {
        slot->retry_at_us = raft_now_us(rf) + raft_backoff_us(rf);
    } else if (kind == RAFT_KIND_VOTE) {
        raft_vote_answered(rf, i, &sent, &u.vote);
    } else if (kind == RAFT_KIND_BEGIN) {
        raft_begin_answered(rf, i, &sent, &u.begin);
    } else {
        raft_fetch_answered(rf, i, &sent, &u.fetch);
    }
    raft_pump(rf);
}

void raft_on_response(raft *rf, int32_t node, int16_t api_key, uint64_t tag, wire_reader *r) {
    assert(rf != NULL);
    on_response(rf, node, api_key, tag, r);
    raft_deadline_refresh(rf);
}
