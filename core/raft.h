/*
 * raft.h — the controller quorum: Raft over the metadata log, modelled on KRaft.
 *
 * Every broker is a voter (KRaft combined mode).  A voter that hears nothing from
 * a leader for fetch_timeout_ms (or, as a candidate, wins no election within a
 * randomised election timeout) bumps the epoch and asks for votes with Vote (52);
 * a voter grants at most one vote per epoch, only to a candidate whose log is at
 * least as up to date (last epoch, then last offset), and syncs its quorum state
 * before answering.  The winner announces itself with BeginQuorumEpoch (53) and
 * appends a LeaderChangeMessage control record; followers replicate the metadata
 * log by fetching it (Fetch v12, topic "__cluster_metadata", partition 0, replica
 * id set, LastFetchedEpoch), truncating when the leader answers DivergingEpoch.
 * The high watermark is the largest offset held by a majority, and only advances
 * over a record of the leader's own epoch (Raft's commit rule).  Committed records
 * are handed to the broker exactly once per raft lifetime, in order, starting from
 * the beginning of the log after a restart.
 *
 * The metadata log is a partition_log in directory "__cluster_metadata-0"; the
 * quorum state ("quorum-state": epoch, voted-for, leader) is a small text file
 * replaced atomically (write temp, sync, rename) before a vote is cast or an epoch
 * is entered.
 *
 * Sans-IO like the rest of core/: time, randomness and the network come through
 * raft_io; storage through the storage API.
 */
#ifndef STREAMLAB_RAFT_H
#define STREAMLAB_RAFT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "kafka_messages.gen.h"
#include "storage.h"
#include "wire.h"

#define RAFT_VOTERS_MAX 16
#define RAFT_METADATA_TOPIC "__cluster_metadata"
#define RAFT_FETCH_VERSION 12
#define RAFT_VOTE_VERSION 0
#define RAFT_BEGIN_QUORUM_EPOCH_VERSION 0

typedef struct raft raft;

typedef struct raft_config {
    int32_t node_id;
    int32_t voters[RAFT_VOTERS_MAX];
    int32_t voter_count;
    int64_t election_timeout_ms; /* controller.quorum.election.timeout.ms, 1000 */
    int64_t fetch_timeout_ms;    /* controller.quorum.fetch.timeout.ms, 2000 */
    int64_t fetch_max_wait_ms;   /* a follower's metadata fetch waits at most this, 500 */
    int64_t segment_bytes;       /* metadata log segment size */
    const char *cluster_id;
} raft_config;

typedef void raft_encode_fn(const void *body, wire_writer *w, int16_t version);

typedef struct raft_io {
    void *ctx;
    int64_t (*now_us)(void *ctx);
    uint64_t (*random_u64)(void *ctx);
    /* Sends a request to another voter over the broker's controller-quorum
     * channel.  Its answer arrives through raft_on_response with the same tag (or
     * with r == NULL when the request failed).  Returns 0 when sent, -1 when the
     * channel is not ready (try again later: raft must not spin on it). */
    int (*send)(void *ctx, int32_t node, int16_t api_key, int16_t api_version, const void *body,
                raft_encode_fn *encode, uint64_t tag);
    /* A committed record (the value of one record of the metadata log), in log
     * order, exactly once. Control records (LeaderChangeMessage) are not passed. */
    void (*on_commit)(void *ctx, int64_t offset, const uint8_t *value, size_t len);
    /* The known leader or epoch changed (leader -1 while none is known). */
    void (*on_leader_change)(void *ctx, int32_t leader, int32_t epoch);
    /* The log or high watermark moved: parked metadata fetches may now complete. */
    void (*on_log_change)(void *ctx);
} raft_io;

/* Caller contract, as implemented:
 *  - send encodes `body` before it returns (body lives on raft's stack);
 *  - every request raft sent must come back through raft_on_response, r == NULL
 *    on failure; one never answered frees its slot after fetch_timeout_ms +
 *    fetch_max_wait_ms;
 *  - requests go out only from raft_on_timer and raft_on_response; the handlers
 *    below may change role or deadlines, so re-read raft_next_deadline_us after
 *    any call (a changed role shows up as a deadline at or before now);
 *  - callbacks run inside raft calls (on_commit / on_log_change also inside
 *    raft_handle_fetch and raft_append); raft_append may be called from them;
 *  - raft_open calls no callback: a lone voter elects itself at the first timer.
 *
 * Opens (or recovers) the quorum state and metadata log from fs.  Committed
 * records are NOT replayed here: they are replayed as the high watermark becomes
 * known again (a restarted voter learns it from the leader or by winning). */
raft *raft_open(const raft_config *cfg, const raft_io *io, const storage *fs, char *err,
                size_t err_len);
void raft_destroy(raft *r);

/* Requests from other voters.  Each fills `out` (initialised by the caller with
 * the matching _init) and returns 0. */
int raft_handle_vote(raft *r, const kafka_vote_request *req, kafka_vote_response *out, arena *a);
int raft_handle_begin_quorum_epoch(raft *r, const kafka_begin_quorum_epoch_request *req,
                                   kafka_begin_quorum_epoch_response *out, arena *a);
/* A Fetch of the metadata partition by a voter (req->replica_id >= 0).  Returns 0
 * with `out` filled (records point into memory from `a`), or 1 when the follower
 * is up to date and the request should wait (the broker retries it after
 * on_log_change or when deadline_passed becomes true: then answer empty). */
int raft_handle_fetch(raft *r, const kafka_fetch_request *req, kafka_fetch_response *out, arena *a,
                      int deadline_passed);

/* The answer to a request raft sent (r == NULL: it failed). */
void raft_on_response(raft *rf, int32_t node, int16_t api_key, uint64_t tag, wire_reader *r);

int64_t raft_next_deadline_us(const raft *r);
void raft_on_timer(raft *r);

/* Leader only: appends records (each a metadata record value) in one batch at
 * the current epoch.  Returns the offset of the last one, or -1 when this voter
 * is not the leader or storage failed. */
int64_t raft_append(raft *r, const uint8_t *const *values, const size_t *lens, int32_t count);

int raft_is_leader(const raft *r);
int32_t raft_leader(const raft *r); /* -1 when unknown */
int32_t raft_epoch(const raft *r);
int64_t raft_high_watermark(const raft *r);
int64_t raft_log_end_offset(const raft *r);

/* Reads whole batches of the metadata log from the one holding offset (see
 * partition_log_read): for inspection and tests. */
struct partition_log_buf;
int raft_read_log(raft *r, int64_t offset, size_t bytes_max, struct partition_log_buf *out);

#endif
