/*
 * raft_handle.c — requests from other voters: Vote, BeginQuorumEpoch, and the
 * Fetch of the metadata partition.
 *
 * Vote: a lower epoch is refused; a higher one is entered first (unattached, vote
 * cleared).  The vote is granted when, in that epoch, this voter follows no known
 * leader, has not voted for anyone else, and the candidate's log is at least as up
 * to date as ours: (last epoch, log end offset) compared epoch first.  The grant
 * is persisted before the answer says so.
 *
 * BeginQuorumEpoch: a leader at an epoch >= ours is followed.
 *
 * Fetch (leader): the fetch offset X and LastFetchedEpoch E are checked against
 * our epoch cache: if our largest epoch <= E is not E, or E ends before X here,
 * the follower's log diverged and the answer is DivergingEpoch (our epoch <= E and
 * where it ends) without counting X.  Otherwise the follower holds our log below
 * X: it counts toward the high watermark and gets what follows X.
 */
#include <assert.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "raft_internal.h"
#include "record_batch.h"

static bool raft_cluster_ok(const raft *r, kafka_str cluster_id) {
    return cluster_id.len < 0 || r->cfg.cluster_id == NULL ||
           kafka_str_eq(cluster_id, r->cfg.cluster_id);
}

/* ---- Vote --------------------------------------------------------------------------- */

static const kafka_vote_request_partition_data *raft_vote_partition(const kafka_vote_request *q) {
    if (q->topics_count != 1 || q->topics[0].partitions_count != 1) return NULL;
    if (!kafka_str_eq(q->topics[0].topic_name, RAFT_METADATA_TOPIC)) return NULL;
    const kafka_vote_request_partition_data *p = &q->topics[0].partitions[0];
    return p->partition_index == 0 ? p : NULL;
}

static bool raft_log_up_to_date(const raft *r, int32_t last_epoch, int64_t end_offset) {
    int32_t own_epoch = partition_log_last_epoch(&r->log);
    if (last_epoch != own_epoch) return last_epoch > own_epoch;
    return end_offset >= partition_log_end_offset(&r->log);
}

static bool raft_grant_vote(raft *r, const kafka_vote_request_partition_data *p) {
    int32_t candidate = p->candidate_id;
    if (p->candidate_epoch != r->epoch || r->role != RAFT_ROLE_FOLLOWER || r->leader >= 0)
        return false;
    if (raft_sane_leader(r, candidate) < 0 || (r->voted_for >= 0 && r->voted_for != candidate))
        return false;
    if (r->log.failed || !raft_log_up_to_date(r, p->last_offset_epoch, p->last_offset))
        return false;
    if (r->voted_for != candidate && raft_state_save(r, r->epoch, candidate, -1) != 0) return false;
    r->voted_for = candidate;
    raft_reset_election_timer(r); /* give the candidate time to win */
    assert(r->voted_for == candidate && r->leader < 0);
    return true;
}

static int handle_vote(raft *r, const kafka_vote_request *req, kafka_vote_response *out, arena *a) {
    assert(r != NULL && req != NULL && out != NULL && a != NULL);
    kafka_vote_response_topic_data *t = arena_alloc(a, sizeof *t);
    kafka_vote_response_partition_data *o = arena_alloc(a, sizeof *o);
    const kafka_vote_request_partition_data *p = raft_vote_partition(req);
    if (!t || !o || !p || !raft_cluster_ok(r, req->cluster_id)) {
        out->error_code = !t || !o ? KAFKA_ERROR_UNKNOWN_SERVER_ERROR
                          : !p     ? KAFKA_ERROR_INVALID_REQUEST
                                   : KAFKA_ERROR_INCONSISTENT_CLUSTER_ID;
        return 0;
    }
    if (p->candidate_epoch > r->epoch) raft_become_follower(r, p->candidate_epoch, -1);
    kafka_vote_response_topic_data_init(t);
    kafka_vote_response_partition_data_init(o);
    o->vote_granted = raft_grant_vote(r, p);
    o->leader_id = r->leader;
    o->leader_epoch = r->epoch;
    t->topic_name = kafka_str_c(RAFT_METADATA_TOPIC);
    t->partitions = o;
    t->partitions_count = 1;
    out->topics = t;
    out->topics_count = 1;
    return 0;
}

/* ---- BeginQuorumEpoch --------------------------------------------------------------- */

static const kafka_begin_quorum_epoch_request_partition_data *
raft_begin_partition(const kafka_begin_quorum_epoch_request *q) {
    if (q->topics_count != 1 || q->topics[0].partitions_count != 1) return NULL;
    if (!kafka_str_eq(q->topics[0].topic_name, RAFT_METADATA_TOPIC)) return NULL;
    const kafka_begin_quorum_epoch_request_partition_data *p = &q->topics[0].partitions[0];
    return p->partition_index == 0 ? p : NULL;
}

static int16_t raft_accept_leader(raft *r, int32_t leader, int32_t epoch) {
    if (epoch < r->epoch) return KAFKA_ERROR_FENCED_LEADER_EPOCH;
    if (raft_sane_leader(r, leader) < 0) return KAFKA_ERROR_INVALID_REQUEST;
    if (epoch == r->epoch && r->leader >= 0 && r->leader != leader)
        return KAFKA_ERROR_FENCED_LEADER_EPOCH; /* two leaders in one epoch: refuse the second */
    raft_become_follower(r, epoch, leader);
    assert(r->leader == leader && r->epoch == epoch);
    return KAFKA_ERROR_NONE;
}

static int handle_begin_quorum_epoch(raft *r, const kafka_begin_quorum_epoch_request *req,
                                     kafka_begin_quorum_epoch_response *out, arena *a) {
    assert(r != NULL && req != NULL && out != NULL && a != NULL);
    kafka_begin_quorum_epoch_response_topic_data *t = arena_alloc(a, sizeof *t);
    kafka_begin_quorum_epoch_response_partition_data *o = arena_alloc(a, sizeof *o);
    const kafka_begin_quorum_epoch_request_partition_data *p = raft_begin_partition(req);
    if (!t || !o || !p || !raft_cluster_ok(r, req->cluster_id)) {
        out->error_code = !t || !o ? KAFKA_ERROR_UNKNOWN_SERVER_ERROR
                          : !p     ? KAFKA_ERROR_INVALID_REQUEST
                                   : KAFKA_ERROR_INCONSISTENT_CLUSTER_ID;
        return 0;
    }
    kafka_begin_quorum_epoch_response_topic_data_init(t);
    kafka_begin_quorum_epoch_response_partition_data_init(o);
    o->error_code = raft_accept_leader(r, p->leader_id, p->leader_epoch);
    o->leader_id = r->leader;
    o->leader_epoch = r->epoch;
    t->topic_name = kafka_str_c(RAFT_METADATA_TOPIC);
    t->partitions = o;
    t->partitions_count = 1;
    out->topics = t;
    out->topics_count = 1;
    return 0;
}

/* ---- Fetch ---------------------------------------------------------------------------- */

static const kafka_fetch_request_fetch_partition *
raft_fetch_partition(const kafka_fetch_request *q) {
    if (q->topics_count != 1 || q->topics[0].partitions_count != 1) return NULL;
    if (!kafka_str_eq(q->topics[0].topic, RAFT_METADATA_TOPIC)) return NULL;
    const kafka_fetch_request_fetch_partition *p = &q->topics[0].partitions[0];
    return p->partition == 0 ? p : NULL;
}

/* As Kafka validates a leader-only request's epoch. */
static int16_t raft_fetch_error(const raft *r, const kafka_fetch_request_fetch_partition *p) {
    if (p->current_leader_epoch >= 0 && p->current_leader_epoch < r->epoch)
        return KAFKA_ERROR_FENCED_LEADER_EPOCH;
    if (p->current_leader_epoch > r->epoch) return KAFKA_ERROR_UNKNOWN_LEADER_EPOCH;
    if (r->role != RAFT_ROLE_LEADER || r->log.failed) return KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER;
    if (p->last_fetched_epoch > r->epoch || p->fetch_offset < 0) return KAFKA_ERROR_INVALID_REQUEST;
    if (p->fetch_offset > partition_log_end_offset(&r->log) && p->last_fetched_epoch < 0)
        return KAFKA_ERROR_OFFSET_OUT_OF_RANGE;
    return KAFKA_ERROR_NONE;
}

/* True (with out filled) when the follower's log diverges from ours before X. */
static bool raft_fetch_diverges(const raft *r, const kafka_fetch_request_fetch_partition *p,
                                kafka_fetch_response_epoch_end_offset *out) {
    if (p->last_fetched_epoch < 0) {
        if (p->fetch_offset == 0) return false;
        out->epoch = -1, out->end_offset = 0;
        return true;
    }
    int32_t epoch;
    int64_t end;
    partition_log_end_offset_for_epoch(&r->log, p->last_fetched_epoch, &epoch, &end);
    assert(epoch >= 0 && end >= 0); /* our last epoch is ours, >= the fetched one */
    if (epoch == p->last_fetched_epoch && end >= p->fetch_offset) return false;
    out->epoch = epoch;
    out->end_offset = end;
    return true;
}

static int raft_fetch_records(raft *r, const kafka_fetch_request_fetch_partition *p,
                              kafka_fetch_response_partition_data *o, arena *a) {
    size_t bytes_max = RAFT_FETCH_BYTES_MAX;
    if (p->partition_max_bytes > 0 && (size_t)p->partition_max_bytes < bytes_max)
        bytes_max = (size_t)p->partition_max_bytes;
    int rc = partition_log_read(&r->log, p->fetch_offset, bytes_max, &r->fetch_buf);
    if (raft_log_check(r, rc) != 0) return KAFKA_ERROR_KAFKA_STORAGE_ERROR;
    uint8_t *bytes = arena_alloc(a, r->fetch_buf.len + 1);
    if (!bytes) return KAFKA_ERROR_UNKNOWN_SERVER_ERROR;
    memcpy(bytes, r->fetch_buf.bytes, r->fetch_buf.len);
    o->records.ptr = bytes;
    o->records.len = (int32_t)r->fetch_buf.len;
    assert(o->records.len >= 0 && r->fetch_buf.len <= bytes_max + RECORD_BATCH_BYTES_MAX);
    return KAFKA_ERROR_NONE;
}

/* Fills o for a consistent fetch; 1 when it should wait for new data instead. */
static int raft_fetch_serve(raft *r, const kafka_fetch_request *req,
                            const kafka_fetch_request_fetch_partition *p,
                            kafka_fetch_response_partition_data *o, arena *a, int deadline_passed) {
    int32_t i = raft_voter_index(r, req->replica_id);
    raft_peer *peer = i >= 0 && i != r->self_index ? &r->peers[i] : NULL;
    if (peer) {
        peer->begin_acked = true; /* it fetches at our epoch: it knows us */
        peer->match_end = p->fetch_offset;
        raft_leader_update_high_watermark(r);
        if (r->role != RAFT_ROLE_LEADER) return 0; /* a callback made us step down */
    }
    o->high_watermark = r->high_watermark;
    bool news = peer != NULL && peer->high_watermark_sent != r->high_watermark;
    if (p->fetch_offset == partition_log_end_offset(&r->log) && !news && !deadline_passed) return 1;
    o->error_code = (int16_t)raft_fetch_records(r, p, o, a);
    if (peer && o->error_code == 0) peer->high_watermark_sent = r->high_watermark;
    return 0;
}

static kafka_fetch_response_partition_data *raft_fetch_answer(kafka_fetch_response *out, arena *a) {
    kafka_fetch_response_fetchable_topic_response *t = arena_alloc(a, sizeof *t);
    kafka_fetch_response_partition_data *o = arena_alloc(a, sizeof *o);
    if (!t || !o) return NULL;
    kafka_fetch_response_fetchable_topic_response_init(t);
    kafka_fetch_response_partition_data_init(o);
    t->topic = kafka_str_c(RAFT_METADATA_TOPIC);
    t->partitions = o;
    t->partitions_count = 1;
    out->responses = t;
    out->responses_count = 1;
    return o;
}

static int handle_fetch(raft *r, const kafka_fetch_request *req, kafka_fetch_response *out,
                        arena *a, int deadline_passed) {
    assert(r != NULL && req != NULL && out != NULL && a != NULL);
    const kafka_fetch_request_fetch_partition *p = raft_fetch_partition(req);
    kafka_fetch_response_partition_data *o = raft_fetch_answer(out, a);
    if (!o || !p || !raft_cluster_ok(r, req->cluster_id)) {
        out->error_code = !o   ? KAFKA_ERROR_UNKNOWN_SERVER_ERROR
                          : !p ? KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION
                               : KAFKA_ERROR_INCONSISTENT_CLUSTER_ID;
        return 0;
    }
    o->current_leader.leader_id = r->leader;
    o->current_leader.leader_epoch = r->epoch;
    o->high_watermark = r->high_watermark;
    o->error_code = raft_fetch_error(r, p);
    if (o->error_code != 0) return 0;
    o->log_start_offset = partition_log_start_offset(&r->log);
    if (raft_fetch_diverges(r, p, &o->diverging_epoch)) return 0;
    int rc = raft_fetch_serve(r, req, p, o, a, deadline_passed);
    o->current_leader.leader_id = r->leader;
    o->current_leader.leader_epoch = r->epoch;
    assert(rc == 0 || rc == 1);
    return rc;
}

/* ---- entry points: each stores the deadline it may have moved ------------------------- */

int raft_handle_vote(raft *r, const kafka_vote_request *req, kafka_vote_response *out, arena *a) {
    int rc = handle_vote(r, req, out, a);
    raft_deadline_refresh(r);
    return rc;
}

int raft_handle_begin_quorum_epoch(raft *r, const kafka_begin_quorum_epoch_request *req,
                                   kafka_begin_quorum_epoch_response *out, arena *a) {
    int rc = handle_begin_quorum_epoch(r, req, out, a);
    raft_deadline_refresh(r);
    return rc;
}

int raft_handle_fetch(raft *r, const kafka_fetch_request *req, kafka_fetch_response *out, arena *a,
                      int deadline_passed) {
    int rc = handle_fetch(r, req, out, a, deadline_passed);
    raft_deadline_refresh(r);
    return rc;
}
