/*
 * replication.c — the leader's side of replication: followers, the high
 * watermark, the ISR, and acks=all produces (DESIGN.md §2, §6).
 *
 * A follower's fetch at offset X says its log matches ours below X.  The high
 * watermark is the smallest log end over the ISR (the leader included) and only
 * moves forward during a leader's tenure; an acks=all produce completes once it
 * passes the produce's last offset.  A follower that has not caught up with our
 * log end for replica_lag_time_max_ms leaves the ISR; one that catches up with the
 * high watermark rejoins — both through an ISR change the controller commits.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "broker_internal.h"
#include "group_coordinator.h"
#include "kafka_errors.gen.h"

#define ISR_CHECK_INTERVAL_US 500000

static int64_t now_us(const broker *b) {
    return broker_env_now_us(&b->env);
}

static int isr_contains(const broker_partition *p, int32_t node) {
    for (int32_t i = 0; i < p->isr_count; i++)
        if (p->isr[i] == node) return 1;
    return 0;
}

static broker_replica_state *follower_of(broker_partition *p, int32_t node) {
    for (int32_t i = 0; i < p->follower_count; i++)
        if (p->followers[i].node == node) return &p->followers[i];
    return NULL;
}

/* High watermarks are checkpointed a while after they move (Kafka: every 5 s). */
void replication_hw_moved(broker *b) {
    if (b->next_hw_checkpoint_us == INT64_MAX)
        b->next_hw_checkpoint_us = now_us(b) + BROKER_HW_CHECKPOINT_INTERVAL_US;
}

static void observe_high_watermark(broker *b, broker_partition *p) {
    broker_observe(b, &(observe_event){.kind = OBSERVE_HIGH_WATERMARK,
                                       .node = b->cfg.node_id,
                                       .topic = p->topic,
                                       .partition = p->index,
                                       .leader_epoch = p->leader_epoch,
                                       .offset = p->high_watermark});
}

/* The smallest log end over the ISR; followers we have not heard from hold it. */
/* The smallest log end over the members of `set` (followers we have not heard
 * from hold it back). */
static int64_t lowest_end(const broker *b, broker_partition *p, const int32_t *set, int32_t n,
                          int64_t hw) {
    for (int32_t i = 0; i < n; i++) {
        if (set[i] == b->cfg.node_id) continue;
        const broker_replica_state *f = follower_of(p, set[i]);
        int64_t leo = f ? f->log_end_offset : -1;
        if (leo < hw) hw = leo;
    }
    return hw;
}

/* The high watermark counts the "maximal ISR": the committed ISR and, while a
 * change is on its way to the controller, the proposed one too.  Otherwise a
 * follower added by a pending change could enter the ISR below the high
 * watermark, be elected, and lose acknowledged records (chaos seed 421). */
static void maybe_advance_high_watermark(broker *b, broker_partition *p) {
    if (p->leader != b->cfg.node_id || !p->hosted) return;
    /* Every follower fetch comes here; the candidate only falls from our log end,
     * so when that is not past the high watermark (an idle partition) there is
     * nothing to look at. */
    int64_t hw = partition_log_end_offset(&p->log);
    if (hw <= p->high_watermark) return;
    hw = lowest_end(b, p, p->isr, p->isr_count, hw);
    if (hw <= p->high_watermark) return;
    hw = lowest_end(b, p, p->isr_proposed, p->isr_proposed_count, hw);
    if (hw <= p->high_watermark) return;
    p->high_watermark = hw;
    b->produce_wake = 1;
    replication_hw_moved(b);
    observe_high_watermark(b, p);
    broker_partition_changed(b, p);
}

static void become_leader(broker *b, broker_partition *p) {
    int64_t now = now_us(b);
    if (p->leader_epoch >= 0) partition_log_assign_epoch(&p->log, p->leader_epoch);
    p->leader_epoch_start = partition_log_end_offset(&p->log);
    p->follower_count = 0;
    for (int32_t i = 0; i < p->replica_count; i++) {
        if (p->replicas[i] == b->cfg.node_id) continue;
        /* Kafka gives every follower a fresh lag window at a leader change. */
        p->followers[p->follower_count++] = (broker_replica_state){.node = p->replicas[i],
                                                                   .log_end_offset = -1,
                                                                   .last_caught_up_us = now,
                                                                   .leo_at_last_fetch = INT64_MAX};
    }
    p->isr_change_inflight = 0;
    assert(p->follower_count < BROKER_REPLICAS_MAX);
    int64_t check = now + b->cfg.replica_lag_time_max_ms * 1000 + 1;
    if (p->follower_count && check < b->next_isr_check_us) b->next_isr_check_us = check;
    maybe_advance_high_watermark(b, p);
}

static void observe_truncate(broker *b, broker_partition *p, int64_t before) {
    int64_t after = partition_log_end_offset(&p->log);
    if (after == before) return;
    broker_observe(b, &(observe_event){.kind = OBSERVE_TRUNCATE,
                                       .node = b->cfg.node_id,
                                       .topic = p->topic,
                                       .partition = p->index,
                                       .offset = after,
                                       .offset_last = before});
}

static void become_follower(broker *b, broker_partition *p) {
    p->follower_count = 0;
    p->fetch_inflight = 0;
    if (b->cfg.truncation == BROKER_TRUNCATION_HIGH_WATERMARK) {
        /* Before KIP-101: cut back to the high watermark we know, then fetch. */
        int64_t before = partition_log_end_offset(&p->log);
        if (p->high_watermark < before) broker_partition_truncate(p, p->high_watermark);
        observe_truncate(b, p, before);
        p->follower_state = FOLLOWER_FETCHING;
        return;
    }
    p->truncation_epoch = partition_log_last_epoch(&p->log);
    p->follower_state = p->truncation_epoch < 0 ? FOLLOWER_FETCHING : FOLLOWER_TRUNCATING;
}

void replication_apply(broker *b, broker_partition *p, int32_t leader, int32_t leader_epoch,
                       const int32_t *isr, int32_t isr_count, int32_t partition_epoch) {
    assert(isr_count >= 0 && isr_count <= BROKER_REPLICAS_MAX);
    int leadership_changed = leader != p->leader || leader_epoch != p->leader_epoch;
    b->produce_wake = 1;
    memcpy(p->isr, isr, (size_t)isr_count * sizeof *isr);
    p->isr_count = isr_count;
    p->partition_epoch = partition_epoch;
    p->isr_change_inflight = 0;
    p->isr_proposed_count = 0; /* committed metadata settles any proposal */
    if (!p->hosted) {
        p->leader = leader;
        p->leader_epoch = leader_epoch;
        return;
    }
    if (!leadership_changed) {
        maybe_advance_high_watermark(b, p); /* a smaller ISR may let it move */
        broker_partition_changed(b, p);
        return;
    }
    p->leader = leader;
    p->leader_epoch = leader_epoch;
    if (leader == b->cfg.node_id)
        become_leader(b, p);
    else
        become_follower(b, p);
    if (offsets_topic_is_internal(p->topic)) group_coordinator_partition_moved(b, p);
    b->fetch_pump_pending = 1;
    broker_partition_changed(b, p);
}

void replication_follower_fetched(broker *b, broker_partition *p, int32_t node,
                                  int64_t fetch_offset) {
    broker_replica_state *f = follower_of(p, node);
    if (!f || p->leader != b->cfg.node_id) return;
    int64_t leo = partition_log_end_offset(&p->log), now = now_us(b);
    assert(fetch_offset <= leo);
    /* Kafka's rule: a fetch that reaches the log end we had at the previous fetch
     * means the follower was caught up at that previous fetch. */
    if (fetch_offset >= leo)
        f->last_caught_up_us = now;
    else if (fetch_offset >= f->leo_at_last_fetch && f->last_fetch_us > f->last_caught_up_us)
        f->last_caught_up_us = f->last_fetch_us;
    f->leo_at_last_fetch = leo;
    f->last_fetch_us = now;
    f->log_end_offset = fetch_offset;
    /* KAFKA-7128: caught up with the high watermark and with this leader's epoch */
    if (!isr_contains(p, node) && fetch_offset >= p->high_watermark &&
        fetch_offset >= p->leader_epoch_start && !p->isr_change_inflight &&
        now >= p->isr_retry_at_us) {
        int32_t isr[BROKER_REPLICAS_MAX];
        memcpy(isr, p->isr, (size_t)p->isr_count * sizeof *isr);
        isr[p->isr_count] = node;
        replication_request_isr(b, p, isr, p->isr_count + 1);
    }
    maybe_advance_high_watermark(b, p);
}

void replication_leader_appended(broker *b, broker_partition *p) {
    maybe_advance_high_watermark(b, p);
    broker_partition_appended(b, p);
}

/* ---- ISR changes -------------------------------------------------------------------- */

typedef struct isr_check {
    int64_t now;
    int64_t next; /* earliest moment a follower still in an ISR could start lagging */
} isr_check;

static void shrink_lagging(broker *b, broker_partition *p, void *arg) {
    isr_check *ck = arg;
    if (!p->hosted || p->leader != b->cfg.node_id) return;
    int64_t lag_us = b->cfg.replica_lag_time_max_ms * 1000;
    int32_t isr[BROKER_REPLICAS_MAX], n = 0;
    for (int32_t i = 0; i < p->isr_count; i++) {
        const broker_replica_state *f = follower_of(p, p->isr[i]);
        int lagging = f && ck->now - f->last_caught_up_us > lag_us;
        if (!lagging) isr[n++] = p->isr[i];
        if (f && !lagging && f->last_caught_up_us + lag_us + 1 < ck->next)
            ck->next = f->last_caught_up_us + lag_us + 1;
    }
    if (p->isr_change_inflight || ck->now < p->isr_retry_at_us) {
        if (ck->now + ISR_CHECK_INTERVAL_US < ck->next) ck->next = ck->now + ISR_CHECK_INTERVAL_US;
        return;
    }
    if (n < p->isr_count) {
        replication_request_isr(b, p, isr, n);
        /* not sent (no controller reachable): look again when the retry is due */
        if (!p->isr_change_inflight && p->isr_retry_at_us > ck->now &&
            p->isr_retry_at_us < ck->next)
            ck->next = p->isr_retry_at_us;
    }
}

/* Runs when the earliest possible lag expiry comes; recomputes the next one. */
void replication_check_isr(broker *b) {
    int64_t now = now_us(b);
    if (now < b->next_isr_check_us) return;
    isr_check ck = {.now = now, .next = INT64_MAX};
    broker_each_partition(b, shrink_lagging, &ck);
    b->next_isr_check_us = ck.next;
}

int64_t replication_next_deadline_us(const broker *b) {
    return b->next_isr_check_us;
}

/* ---- acks=all ---------------------------------------------------------------------------- */

/* Resolves what it can of one parked produce; 1 when every partition is done. */
static int produce_resolve(broker *b, broker_conn *c, int deadline_passed) {
    int done = 1;
    for (int32_t i = 0; i < c->wait_count; i++) {
        broker_produce_wait *w = &c->waits[i];
        if (!w->partition) continue;
        broker_partition *p = w->partition;
        if (p->leader != b->cfg.node_id)
            *w->error_out = KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER;
        else if (p->high_watermark >= w->offset_needed)
            *w->error_out = p->isr_count < b->cfg.min_insync_replicas
                                ? KAFKA_ERROR_NOT_ENOUGH_REPLICAS_AFTER_APPEND
                                : KAFKA_ERROR_NONE;
        else if (deadline_passed)
            *w->error_out = KAFKA_ERROR_REQUEST_TIMED_OUT;
        else {
            done = 0;
            continue;
        }
        w->partition = NULL;
    }
    return done;
}

#if BROKER_CHECK_CACHES
/* produce_wake's rule: without it, no parked produce can complete. */
static int produce_any_resolvable(const broker *b) {
    for (int32_t i = 0; i < b->conn_count; i++) {
        const broker_conn *c = &b->conns[i];
        for (int32_t k = 0; c->parked == BROKER_PARK_PRODUCE && k < c->wait_count; k++) {
            const broker_partition *p = c->waits[k].partition;
            if (p &&
                (p->leader != b->cfg.node_id || p->high_watermark >= c->waits[k].offset_needed))
                return 1;
        }
    }
    return 0;
}
#endif

void replication_complete_produces(broker *b, int deadline_check) {
#if BROKER_CHECK_CACHES
    assert(deadline_check || b->produce_wake || !produce_any_resolvable(b));
#endif
    if (!deadline_check && !b->produce_wake) return;
    b->produce_wake = 0;
    conn_id ready[64];
    int32_t n = 0;
    int64_t now = now_us(b);
    for (int32_t i = 0; i < b->conn_count && n < 64; i++) {
        broker_conn *c = &b->conns[i];
        if (c->parked != BROKER_PARK_PRODUCE) continue;
        if (produce_resolve(b, c, deadline_check && now >= c->parked_deadline_us))
            ready[n++] = c->id;
    }
    if (n == 64) b->produce_wake = 1; /* the scan stopped early: the rest next time */
    for (int32_t i = 0; i < n; i++) {
        broker_conn *c = broker_conn_find(b, ready[i]);
        if (!c) continue;
        broker_response_begin(b, &c->parked_request);
        kafka_produce_response_encode(c->parked_response, &b->out, c->parked_request.api_version);
        broker_response_finish(b, c);
        broker_conn_unpark(b, c);
        c->wait_count = 0;
        broker_conn_serve_queued(b, c);
    }
}

/* ---- the ISR request ----------------------------------------------------------------------- */

void replication_request_isr(broker *b, broker_partition *p, const int32_t *isr,
                             int32_t isr_count) {
    assert(isr_count >= 1 && isr_count <= BROKER_REPLICAS_MAX);
    if (broker_quorum_enabled(b)) {
        memcpy(p->isr_proposed, isr, (size_t)isr_count * sizeof *isr);
        p->isr_proposed_count = isr_count; /* until committed metadata replaces it */
        broker_quorum_alter_partition(b, p, isr, isr_count);
        return;
    }
    /* Static metadata (no controller quorum): the leader commits its own ISR. */
    int32_t copy[BROKER_REPLICAS_MAX];
    memcpy(copy, isr, (size_t)isr_count * sizeof *isr);
    broker_observe_partition(b, OBSERVE_ISR, p, p->leader, p->leader_epoch, copy, isr_count);
    replication_apply(b, p, p->leader, p->leader_epoch, copy, isr_count, p->partition_epoch + 1);
}
