/*
 * raft.c — roles, the commit rule, delivery of committed records, timers.
 *
 * Roles.  A follower knows the leader of its epoch (leader >= 0) and fetches from
 * it, or is "unattached" (leader -1: it may have voted).  A follower that has had
 * no successful Fetch answer for fetch_timeout_ms, or an unattached voter after a
 * randomised election timeout in [election_timeout_ms, 2 * election_timeout_ms),
 * becomes a candidate: epoch + 1, a vote for itself, both persisted before any
 * Vote is sent.  A candidate without a majority when its own election timeout
 * expires starts again with the next epoch.  One that gets a majority becomes the
 * leader: it appends a LeaderChangeMessage control batch at its epoch (so the
 * commit rule below has a record of its own epoch to commit) and announces itself
 * with BeginQuorumEpoch until each voter answered or fetched.  A restarted leader
 * does not resume: it comes back unattached in its old epoch (its persisted vote
 * for itself keeps it from voting for anyone else in that epoch).
 *
 * Commit rule.  The leader counts a follower's log as equal to its own below the
 * Fetch offset once the fetch passed the LastFetchedEpoch check; the high
 * watermark is the largest end offset held by a majority (self included), and
 * only moves when that end is beyond the start of the leader's own epoch (Raft's
 * rule: never commit an older epoch's record by counting replicas).  Followers take
 * min(leader HW, own log end), never moving backwards.
 *
 * Durability.  A voter's log end counts (Fetch offset, Vote) only once durable: an
 * append is synced before the next Fetch, and every (re)open of the log syncs what
 * recovery kept, which may include an append whose sync failed.
 *
 * Delivery.  Records below the HW are handed to on_commit in order, control
 * batches skipped, once per raft lifetime: after raft_open the HW is 0 until a
 * Fetch answer or a won election re-establishes it, and delivery restarts at 0.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_internal.h"
#include "record_batch.h"

/* ---- small helpers -------------------------------------------------------------------- */

int64_t raft_now_us(const raft *r) {
    return r->io.now_us(r->io.ctx);
}

/* A uniform draw in [lo, lo + span) from io->random_u64 (span > 0). */
static int64_t raft_random_in(raft *r, int64_t lo, int64_t span) {
    assert(lo >= 0 && span > 0);
    uint64_t v = r->io.random_u64(r->io.ctx);
    int64_t x = lo + (int64_t)(v % (uint64_t)span);
    assert(x >= lo && x < lo + span);
    return x;
}

int64_t raft_backoff_us(raft *r) {
    int64_t span_ms = RAFT_BACKOFF_MS_MAX - RAFT_BACKOFF_MS_MIN + 1;
    return raft_random_in(r, RAFT_BACKOFF_MS_MIN * 1000, span_ms * 1000);
}

static int64_t raft_election_timeout_us(raft *r) {
    int64_t base_us = r->cfg.election_timeout_ms * 1000;
    return raft_random_in(r, base_us, base_us);
}

int32_t raft_voter_index(const raft *r, int32_t id) {
    assert(r->cfg.voter_count > 0 && r->cfg.voter_count <= RAFT_VOTERS_MAX);
    for (int32_t i = 0; i < r->cfg.voter_count; i++)
        if (r->cfg.voters[i] == id) return i;
    return -1;
}

/* A leader id from another voter's message: another voter, or -1. */
int32_t raft_sane_leader(const raft *r, int32_t id) {
    if (id < 0 || id == r->cfg.node_id || raft_voter_index(r, id) < 0) return -1;
    return id;
}

static void raft_notify_leader(raft *r) {
    if (r->notified_leader == r->leader && r->notified_epoch == r->epoch) return;
    r->notified_leader = r->leader;
    r->notified_epoch = r->epoch;
    if (r->io.on_leader_change) r->io.on_leader_change(r->io.ctx, r->leader, r->epoch);
}

static void raft_notify_log(raft *r) {
    if (r->io.on_log_change) r->io.on_log_change(r->io.ctx);
}

static void raft_resign(raft *r);

/* Opens the log and syncs all it holds: recovery keeps writes that were never
 * synced (the sync after an append failed, or the process died first), and the log
 * end is acknowledged in Fetch and compared in Vote as if durable.  On failure the
 * log is closed (zeroed). */
static int raft_log_open_synced(raft *r, char *err, size_t err_len) {
    partition_log_config config;
    partition_log_config_default(&config);
    if (r->cfg.segment_bytes > 0) config.segment_bytes = r->cfg.segment_bytes;
    if (partition_log_open(&r->log, r->fs, RAFT_LOG_DIR, &config, err, err_len) != 0) return -1;
    if (partition_log_sync(&r->log) == 0) return 0;
    if (err_len) snprintf(err, err_len, "raft: %s: sync after recovery failed", RAFT_LOG_DIR);
    partition_log_close(&r->log);
    return -1;
}

/* Closes and reopens the log: recovery makes memory and files agree again.  A log
 * that cannot be reopened is left zeroed and failed; raft_on_timer retries. */
static int raft_log_reopen(raft *r) {
    partition_log_close(&r->log);
    char err[128];
    if (raft_log_open_synced(r, err, sizeof err) != 0) {
        memset(&r->log, 0, sizeof r->log);
        r->log.failed = true;
        return -1;
    }
    assert(partition_log_end_offset(&r->log) >= r->high_watermark);
    return 0;
}

/* After a storage error from the log, reopen it so later calls can work; a leader
 * whose log cannot come back resigns.  Returns rc. */
int raft_log_check(raft *r, int rc) {
    if (rc == 0 || !r->log.failed) return rc;
    if (raft_log_reopen(r) != 0 && r->role == RAFT_ROLE_LEADER) raft_resign(r);
    assert(r->log.failed || r->log.segment_count > 0);
    return rc;
}

/* ---- open and destroy ----------------------------------------------------------------- */

static int raft_config_check(const raft_config *cfg, char *err, size_t err_len) {
    const char *why = NULL;
    if (cfg->voter_count < 1 || cfg->voter_count > RAFT_VOTERS_MAX)
        why = "voter count";
    else if (cfg->election_timeout_ms <= 0 || cfg->fetch_timeout_ms <= 0)
        why = "timeouts";
    else if (cfg->fetch_max_wait_ms < 0 || cfg->fetch_max_wait_ms > INT32_MAX)
        why = "max wait";
    else if (cfg->cluster_id && strlen(cfg->cluster_id) >= RAFT_CLUSTER_ID_BYTES_MAX)
        why = "cluster id too long";
    int self = 0;
    for (int32_t i = 0; !why && i < cfg->voter_count; i++) {
        self += cfg->voters[i] == cfg->node_id;
        for (int32_t j = 0; j < i; j++)
            if (cfg->voters[j] == cfg->voters[i] || cfg->voters[i] < 0) why = "voter ids";
    }
    if (!why && self != 1) why = "node_id is not a voter";
    if (why && err_len) snprintf(err, err_len, "raft config: %s", why);
    return why ? -1 : 0;
}

static void raft_init_peers(raft *r) {
    for (int32_t i = 0; i < r->cfg.voter_count; i++) {
        raft_peer *p = &r->peers[i];
        memset(p, 0, sizeof *p);
        p->id = r->cfg.voters[i];
        p->match_end = -1;
        p->high_watermark_sent = -1;
        if (p->id == r->cfg.node_id) r->self_index = i;
    }
    assert(r->peers[r->self_index].id == r->cfg.node_id);
}

static int raft_open_log(raft *r, char *err, size_t err_len) {
    if (raft_state_load(r) != 0) {
        if (err_len) snprintf(err, err_len, "raft: %s unreadable", RAFT_STATE_FILE);
        return -1;
    }
    return raft_log_open_synced(r, err, err_len);
}

raft *raft_open(const raft_config *cfg, const raft_io *io, const storage *fs, char *err,
                size_t err_len) {
    assert(cfg != NULL && io != NULL && fs != NULL);
    assert(io->now_us && io->random_u64 && io->send);
    if (raft_config_check(cfg, err, err_len) != 0) return NULL;
    raft *r = calloc(1, sizeof *r);
    if (!r) {
        if (err_len) snprintf(err, err_len, "raft: out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    if (cfg->cluster_id) r->cfg.cluster_id = strcpy(r->cluster_id, cfg->cluster_id);
    r->io = *io;
    r->fs = fs;
    arena_init(&r->response_arena);
    raft_init_peers(r);
    if (raft_open_log(r, err, err_len) != 0) {
        arena_deinit(&r->response_arena);
        free(r);
        return NULL;
    }
    if (r->leader == cfg->node_id) r->leader = -1; /* a leader's tenure ends with its process */
    r->role = RAFT_ROLE_FOLLOWER;
    r->notified_leader = r->leader;
    r->notified_epoch = r->epoch;
    raft_reset_election_timer(r);
    /* A lone voter elects itself at the first timer, not inside raft_open: the
     * broker must be able to take the callbacks. */
    if (cfg->voter_count == 1) r->election_deadline_us = raft_now_us(r);
    raft_deadline_refresh(r);
    return r;
}

void raft_destroy(raft *r) {
    if (!r) return;
    assert(!r->delivering);
    partition_log_close(&r->log); /* also safe on the zeroed log of a failed reopen */
    partition_log_buf_free(&r->fetch_buf);
    partition_log_buf_free(&r->deliver_buf);
    free(r->batch_buf);
    arena_deinit(&r->response_arena);
    free(r);
}

/* ---- roles ------------------------------------------------------------------------------ */

/* Follower: fetch_timeout after the last sign of the leader; unattached or
 * candidate: a fresh randomised election timeout. */
void raft_reset_election_timer(raft *r) {
    assert(r->role != RAFT_ROLE_LEADER);
    int64_t now = raft_now_us(r);
    if (r->role == RAFT_ROLE_FOLLOWER && r->leader >= 0)
        r->election_deadline_us = now + r->cfg.fetch_timeout_ms * 1000;
    else
        r->election_deadline_us = now + raft_election_timeout_us(r);
    assert(r->election_deadline_us > now);
}

/* Enters epoch (>= ours) as a follower of leader (-1: unattached).  Persisting is
 * best effort here: forgetting a higher epoch after a crash is safe, votes are
 * persisted by their own path before they are granted. */
void raft_become_follower(raft *r, int32_t epoch, int32_t leader) {
    assert(epoch >= r->epoch && leader != r->cfg.node_id);
    assert(!(r->role == RAFT_ROLE_LEADER && epoch == r->epoch));
    int32_t voted = epoch > r->epoch ? -1 : r->voted_for;
    if (leader < 0 && epoch == r->epoch) leader = r->leader;
    bool changed = epoch != r->epoch || leader != r->leader || r->role != RAFT_ROLE_FOLLOWER;
    if (epoch != r->epoch || leader != r->leader) (void)raft_state_save(r, epoch, voted, leader);
    r->epoch = epoch;
    r->voted_for = voted;
    r->leader = leader;
    r->role = RAFT_ROLE_FOLLOWER;
    if (changed) raft_reset_slots(r);
    raft_reset_election_timer(r);
    raft_notify_leader(r);
}

bool raft_has_vote_majority(const raft *r) {
    int32_t granted = 0;
    for (int32_t i = 0; i < r->cfg.voter_count; i++)
        granted += r->peers[i].vote_state == RAFT_VOTE_GRANTED;
    assert(granted <= r->cfg.voter_count);
    return granted > r->cfg.voter_count / 2;
}

void raft_become_candidate(raft *r) {
    assert(r->role != RAFT_ROLE_LEADER && r->epoch < INT32_MAX);
    int32_t epoch = r->epoch + 1;
    if (raft_state_save(r, epoch, r->cfg.node_id, -1) != 0) {
        r->election_deadline_us = raft_now_us(r) + raft_backoff_us(r);
        return;
    }
    r->epoch = epoch;
    r->voted_for = r->cfg.node_id;
    r->leader = -1;
    r->role = RAFT_ROLE_CANDIDATE;
    raft_reset_slots(r);
    for (int32_t i = 0; i < r->cfg.voter_count; i++) r->peers[i].vote_state = RAFT_VOTE_NONE;
    r->peers[r->self_index].vote_state = RAFT_VOTE_GRANTED;
    raft_reset_election_timer(r);
    raft_notify_leader(r);
    if (raft_has_vote_majority(r)) raft_become_leader(r);
}

/* The LeaderChangeMessage control batch: key = version 0, type 2 (LEADER_CHANGE). */
static size_t raft_build_leader_change(raft *r, uint8_t *buf, size_t cap, wire_writer *w) {
    kafka_leader_change_message_voter voters[RAFT_VOTERS_MAX];
    for (int32_t i = 0; i < r->cfg.voter_count; i++) {
        kafka_leader_change_message_voter_init(&voters[i]);
        voters[i].voter_id = r->cfg.voters[i];
    }
    kafka_leader_change_message m;
    kafka_leader_change_message_init(&m);
    m.leader_id = r->cfg.node_id;
    m.voters = voters;
    m.voters_count = r->cfg.voter_count;
    m.granting_voters = voters; /* the granting set is not tracked by id order; all voters */
    m.granting_voters_count = 0;
    kafka_leader_change_message_encode(&m, w, 0);
    static const uint8_t key[4] = {0, 0, 0, 2};
    record_batch_builder_config config;
    record_batch_builder_config_default(&config);
    config.attributes = RECORD_BATCH_CONTROL_BIT;
    config.partition_leader_epoch = r->epoch;
    record_batch_builder b;
    record_batch_builder_init(&b, buf, cap, &config);
    record_batch_record_in rec = {.timestamp_ms = raft_now_us(r) / 1000,
                                  .key = key,
                                  .key_len = 4,
                                  .value = w->data,
                                  .value_len = (int32_t)w->len};
    if (w->failed || record_batch_builder_add(&b, &rec) != 0) return 0;
    return record_batch_builder_finish(&b);
}

static int raft_append_leader_change(raft *r) {
    uint8_t buf[1024];
    wire_writer w;
    wire_writer_init(&w);
    size_t len = raft_build_leader_change(r, buf, sizeof buf, &w);
    wire_writer_deinit(&w);
    if (len == 0) return -1;
    int64_t base = -1;
    int rc = partition_log_append(&r->log, buf, len, r->epoch, &base);
    if (rc == 0) rc = partition_log_sync(&r->log);
    assert(rc != 0 || base == r->epoch_start_offset);
    return raft_log_check(r, rc);
}

/* Gives up leadership without a new epoch (storage failed). */
static void raft_resign(raft *r) {
    assert(r->role == RAFT_ROLE_LEADER);
    r->role = RAFT_ROLE_FOLLOWER;
    r->leader = -1;
    raft_reset_slots(r);
    raft_reset_election_timer(r);
    raft_notify_leader(r);
}

void raft_become_leader(raft *r) {
    assert(r->role == RAFT_ROLE_CANDIDATE && raft_has_vote_majority(r));
    assert(r->voted_for == r->cfg.node_id);
    (void)raft_state_save(r, r->epoch, r->voted_for, r->cfg.node_id);
    r->role = RAFT_ROLE_LEADER;
    r->leader = r->cfg.node_id;
    r->election_deadline_us = INT64_MAX;
    r->epoch_start_offset = r->log.failed ? 0 : partition_log_end_offset(&r->log);
    raft_reset_slots(r);
    for (int32_t i = 0; i < r->cfg.voter_count; i++) {
        r->peers[i].begin_acked = i == r->self_index;
        r->peers[i].match_end = -1;
        r->peers[i].high_watermark_sent = -1;
    }
    if (r->log.failed || raft_append_leader_change(r) != 0) {
        if (r->role == RAFT_ROLE_LEADER) raft_resign(r); /* unless the log check did */
        return;
    }
    raft_notify_leader(r);
    raft_leader_update_high_watermark(r);
    raft_notify_log(r);
}

/* ---- high watermark and delivery ------------------------------------------------------ */

/* Hands every record in batch[0..len) with delivered_end <= offset < HW to on_commit. */
static void raft_deliver_batch(raft *r, const uint8_t *batch, size_t len) {
    bool control = (record_batch_attributes(batch) & RECORD_BATCH_CONTROL_BIT) != 0;
    record_batch_iter it;
    int rc = record_batch_iter_init(&it, batch, len);
    assert(rc == 0); /* the log validated it */
    record_batch_record rec;
    while (rc == 0 && record_batch_iter_next(&it, &rec) == 1 && rec.offset < r->high_watermark) {
        if (rec.offset < r->delivered_end) continue;
        r->delivered_end = rec.offset + 1;
        if (!control && r->io.on_commit)
            r->io.on_commit(r->io.ctx, rec.offset, rec.value,
                            rec.value_len < 0 ? 0 : rec.value_len);
    }
    int64_t last = record_batch_last_offset(batch);
    if (last < r->high_watermark && last >= r->delivered_end) r->delivered_end = last + 1;
}

static int raft_deliver_each(void *arg, const uint8_t *batch, size_t len) {
    raft *r = arg;
    if (record_batch_base_offset(batch) >= r->high_watermark) return 1;
    raft_deliver_batch(r, batch, len);
    return 0;
}

static void raft_deliver(raft *r) {
    if (r->delivering || r->log.failed) return;
    r->delivering = true;
    while (r->delivered_end < r->high_watermark) {
        int64_t before = r->delivered_end;
        int rc = partition_log_read(&r->log, before, RAFT_FETCH_BYTES_MAX, &r->deliver_buf);
        if (rc != 0 || r->deliver_buf.len == 0) break; /* retried when the HW next moves */
        record_batch_split(r->deliver_buf.bytes, r->deliver_buf.len, raft_deliver_each, r);
        assert(r->delivered_end > before);
    }
    r->delivering = false;
}

static void raft_set_high_watermark(raft *r, int64_t hw) {
    assert(hw > r->high_watermark);
    assert(hw <= partition_log_end_offset(&r->log));
    r->high_watermark = hw;
    raft_deliver(r);
    raft_notify_log(r);
}

static void raft_sort_desc(int64_t *v, int32_t n) {
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0 && v[j - 1] < v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

void raft_leader_update_high_watermark(raft *r) {
    assert(r->role == RAFT_ROLE_LEADER);
    int32_t n = r->cfg.voter_count;
    int64_t ends[RAFT_VOTERS_MAX] = {0};
    for (int32_t i = 0; i < n; i++)
        ends[i] = i == r->self_index ? partition_log_end_offset(&r->log) : r->peers[i].match_end;
    raft_sort_desc(ends, n);
    int64_t majority_end = ends[n / 2];
    assert(n == 1 || ends[0] >= majority_end);
    if (majority_end > r->high_watermark && majority_end > r->epoch_start_offset)
        raft_set_high_watermark(r, majority_end);
}

void raft_follower_update_high_watermark(raft *r, int64_t leader_high_watermark) {
    assert(r->role == RAFT_ROLE_FOLLOWER);
    int64_t end = partition_log_end_offset(&r->log);
    int64_t hw = leader_high_watermark < end ? leader_high_watermark : end;
    if (hw > r->high_watermark) raft_set_high_watermark(r, hw);
}

/* ---- timers ------------------------------------------------------------------------------ */

int64_t raft_deadline_compute_us(const raft *r) {
    int64_t d = r->role == RAFT_ROLE_LEADER ? INT64_MAX : r->election_deadline_us;
    int64_t s = raft_send_deadline_us(r);
    return s < d ? s : d;
}

int64_t raft_next_deadline_us(const raft *r) {
    assert(r != NULL);
#if defined(__SANITIZE_ADDRESS__) /* the sanitizer builds check every entry point refreshed it */
    assert(r->deadline_us == raft_deadline_compute_us(r));
#endif
    return r->deadline_us;
}

static void on_timer(raft *r) {
    assert(r != NULL);
    int64_t now = raft_now_us(r);
    if (r->log.failed && raft_log_reopen(r) != 0) {
        assert(r->role != RAFT_ROLE_LEADER);
        r->election_deadline_us = now + raft_backoff_us(r);
        return;
    }
    raft_expire_requests(r, now);
    if (r->role != RAFT_ROLE_LEADER && now >= r->election_deadline_us) raft_become_candidate(r);
    raft_pump(r);
    assert(raft_deadline_compute_us(r) > now);
}

void raft_on_timer(raft *r) {
    assert(r != NULL);
    on_timer(r);
    raft_deadline_refresh(r);
}

/* ---- append -------------------------------------------------------------------------------- */

static size_t raft_build_batch(raft *r, const uint8_t *const *values, const size_t *lens,
                               int32_t count) {
    int64_t ts_ms = raft_now_us(r) / 1000;
    size_t need = RECORD_BATCH_HEADER_BYTES;
    for (int32_t i = 0; i < count; i++) {
        if (lens[i] > INT32_MAX / 2) return 0;
        record_batch_record_in rec = {.timestamp_ms = ts_ms,
                                      .key_len = -1,
                                      .value = values[i],
                                      .value_len = (int32_t)lens[i]};
        need += record_batch_record_bytes(&rec, ts_ms);
        if (need > RECORD_BATCH_BYTES_MAX) return 0;
    }
    if (need > r->batch_cap) {
        uint8_t *p = realloc(r->batch_buf, need);
        if (!p) return 0;
        r->batch_buf = p;
        r->batch_cap = need;
    }
    record_batch_builder_config config;
    record_batch_builder_config_default(&config);
    config.partition_leader_epoch = r->epoch;
    record_batch_builder b;
    record_batch_builder_init(&b, r->batch_buf, r->batch_cap, &config);
    for (int32_t i = 0; i < count; i++) {
        record_batch_record_in rec = {.timestamp_ms = ts_ms,
                                      .key_len = -1,
                                      .value = values[i],
                                      .value_len = (int32_t)lens[i]};
        if (record_batch_builder_add(&b, &rec) != 0) return 0;
    }
    return record_batch_builder_finish(&b);
}

static int64_t append(raft *r, const uint8_t *const *values, const size_t *lens, int32_t count) {
    assert(count == 0 || (values != NULL && lens != NULL));
    if (r->role != RAFT_ROLE_LEADER || count == 0 || r->log.failed) return -1;
    size_t len = raft_build_batch(r, values, lens, count);
    if (len == 0) return -1;
    int64_t base = -1;
    int rc = partition_log_append(&r->log, r->batch_buf, len, r->epoch, &base);
    if (rc == 0) rc = partition_log_sync(&r->log); /* our own end counts toward the HW */
    if (raft_log_check(r, rc) != 0) return -1;
    raft_leader_update_high_watermark(r);
    raft_notify_log(r);
    return base + count - 1;
}

int64_t raft_append(raft *r, const uint8_t *const *values, const size_t *lens, int32_t count) {
    assert(r != NULL && count >= 0);
    int64_t last = append(r, values, lens, count);
    raft_deadline_refresh(r);
    return last;
}

/* ---- queries -------------------------------------------------------------------------------- */

int raft_is_leader(const raft *r) {
    return r->role == RAFT_ROLE_LEADER;
}

int32_t raft_leader(const raft *r) {
    return r->leader;
}

int32_t raft_epoch(const raft *r) {
    return r->epoch;
}

int64_t raft_high_watermark(const raft *r) {
    return r->high_watermark;
}

int64_t raft_log_end_offset(const raft *r) {
    return r->log.failed ? r->high_watermark : partition_log_end_offset(&r->log);
}

int raft_read_log(raft *r, int64_t offset, size_t bytes_max, partition_log_buf *out) {
    assert(r != NULL && out != NULL);
    int rc = partition_log_read(&r->log, offset, bytes_max, out);
    raft_deadline_refresh(r); /* a failed read may fail the log */
    return rc;
}
