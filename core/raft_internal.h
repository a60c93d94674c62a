/*
 * raft_internal.h — the raft struct and the helpers its files share.
 *
 * Files: raft.c (open, roles, the commit rule, delivery, timers, append),
 * raft_state.c (the quorum-state file), raft_handle.c (requests from other
 * voters), raft_send.c (requests raft sends and their answers).
 *
 * Outgoing requests live in slots: one per (voter, kind), so at most one Vote,
 * one BeginQuorumEpoch and one Fetch are in flight per voter.  A slot is busy
 * from send until its answer (matched by tag), a failure, or request_timeout;
 * an idle slot whose kind the role wants is sent once now >= retry_at_us.
 */
#ifndef STREAMLAB_RAFT_INTERNAL_H
#define STREAMLAB_RAFT_INTERNAL_H

#include <stdbool.h>

#include "partition_log.h"
#include "raft.h"

#define RAFT_LOG_DIR RAFT_METADATA_TOPIC "-0"
#define RAFT_STATE_FILE RAFT_LOG_DIR "/quorum-state"
#define RAFT_STATE_TMP_FILE RAFT_LOG_DIR "/quorum-state.tmp"
#define RAFT_CLUSTER_ID_BYTES_MAX 128
#define RAFT_FETCH_BYTES_MAX (1024 * 1024)
#define RAFT_BACKOFF_MS_MIN 50
#define RAFT_BACKOFF_MS_MAX 100
#define RAFT_API_FETCH 1
#define RAFT_API_VOTE 52
#define RAFT_API_BEGIN_QUORUM_EPOCH 53

enum raft_role { RAFT_ROLE_FOLLOWER = 0, RAFT_ROLE_CANDIDATE, RAFT_ROLE_LEADER };
enum raft_kind { RAFT_KIND_VOTE = 0, RAFT_KIND_BEGIN, RAFT_KIND_FETCH, RAFT_KIND_COUNT };
enum raft_vote_state { RAFT_VOTE_NONE = 0, RAFT_VOTE_GRANTED, RAFT_VOTE_REJECTED };

typedef struct raft_slot {
    uint64_t tag; /* 0: idle */
    int64_t sent_us;
    int32_t sent_epoch;
    int64_t sent_offset; /* Fetch: the log end it was sent from */
    int64_t retry_at_us; /* idle: not sent again before this */
} raft_slot;

typedef struct raft_peer {
    int32_t id;
    raft_slot slots[RAFT_KIND_COUNT];
    int vote_state;              /* candidate: this voter's answer in the current epoch */
    bool begin_acked;            /* leader: this voter knows us as leader of the epoch */
    int64_t match_end;           /* leader: its log equals ours below this; -1 unknown */
    int64_t high_watermark_sent; /* leader: the HW it was last told; -1 none */
} raft_peer;

struct raft {
    raft_config cfg; /* cfg.cluster_id points at cluster_id below (or is NULL) */
    char cluster_id[RAFT_CLUSTER_ID_BYTES_MAX];
    raft_io io;
    const storage *fs;
    partition_log log;
    /* Persisted in quorum-state (leader only in memory after a restart of the leader). */
    int32_t epoch, voted_for, leader;
    int role;
    int32_t self_index;
    raft_peer peers[RAFT_VOTERS_MAX]; /* same order as cfg.voters */
    int64_t election_deadline_us;     /* follower/candidate; INT64_MAX for the leader */
    /* raft_next_deadline_us, computed at the end of every entry point that may
     * change it (it is asked after every event on the broker, and changes only
     * when raft runs): see RAFT_ENTRY below. */
    int64_t deadline_us;
    int64_t epoch_start_offset; /* leader: offset of its LeaderChangeMessage */
    int64_t high_watermark;
    int64_t delivered_end; /* every committed record below this went to on_commit */
    bool delivering;       /* on_commit is running: nested calls do not deliver */
    int32_t notified_leader, notified_epoch;
    uint64_t tag_last;
    partition_log_buf fetch_buf;   /* leader: reads for Fetch answers */
    partition_log_buf deliver_buf; /* reads for on_commit (separate: on_commit may re-enter) */
    uint8_t *batch_buf;            /* raft_append builds its batch here */
    size_t batch_cap;
    arena response_arena; /* decoded answers, reset per answer */
};

/* raft.c */
int64_t raft_now_us(const raft *r);
int64_t raft_backoff_us(raft *r);
int32_t raft_voter_index(const raft *r, int32_t id);
int32_t raft_sane_leader(const raft *r, int32_t id);
void raft_become_follower(raft *r, int32_t epoch, int32_t leader);
void raft_become_candidate(raft *r);
void raft_become_leader(raft *r);
void raft_reset_election_timer(raft *r);
void raft_leader_update_high_watermark(raft *r);
void raft_follower_update_high_watermark(raft *r, int64_t leader_high_watermark);
int raft_log_check(raft *r, int rc);
bool raft_has_vote_majority(const raft *r);

/* raft_state.c */
int raft_state_load(raft *r);
int raft_state_save(const raft *r, int32_t epoch, int32_t voted_for, int32_t leader);

/* raft_send.c */
void raft_pump(raft *r);
int64_t raft_send_deadline_us(const raft *r);
/* The earliest of the election and request deadlines, from the state itself. */
int64_t raft_deadline_compute_us(const raft *r);
/* Every public function that may change raft's state stores the deadline before
 * it returns: it is defined as a wrapper around its static body with this. */
static inline void raft_deadline_refresh(raft *r) {
    r->deadline_us = raft_deadline_compute_us(r);
}
void raft_expire_requests(raft *r, int64_t now_us);
void raft_reset_slots(raft *r);

#endif
