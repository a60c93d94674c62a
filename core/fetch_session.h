/*
 * fetch_session.h — KIP-227 incremental fetch sessions (Fetch v7+), both sides.
 *
 * Broker side (Kafka's FetchSession and FetchSessionCache): a full fetch with
 * session_id 0 and epoch 0 opens a session holding the partitions it lists; later
 * requests (same id, the next epoch) list only partitions whose fetch position
 * changed, plus `forgotten_topics_data`, and the response lists only partitions
 * with something new: records, a changed high watermark, last stable offset or
 * log start offset, or an error.  Epoch -1 is a sessionless full fetch (librdkafka,
 * kafka-python, kafkajs).  The cache is bounded (max.incremental.fetch.session.
 * cache.slots) and evicts as Kafka does.  Session ids are drawn from a seed and a
 * counter: no global state, no rand().
 *
 * Client side (Kafka's FetchSessionHandler): the caller builds a request listing
 * every partition it wants; the handler turns it into the session's next request
 * (full first, then incremental) and reads the session fields of the response,
 * falling back to a full fetch after FETCH_SESSION_ID_NOT_FOUND (70),
 * INVALID_FETCH_SESSION_EPOCH (71) or a lost request.
 */
#ifndef STREAMLAB_FETCH_SESSION_H
#define STREAMLAB_FETCH_SESSION_H

#include <stdint.h>

#include "arena.h"
#include "kafka_messages.gen.h"

#define FETCH_SESSION_CACHE_SLOTS 1000        /* max.incremental.fetch.session.cache.slots */
#define FETCH_SESSION_EVICTION_US 120000000LL /* Kafka's fetch session eviction time, 120 s */
#define FETCH_SESSION_FIRST_EPOCH 1

/* One partition of a session: what the fetcher asked for and, on the broker, what
 * the last response told it (-1: not told yet, or told an error: send it again). */
typedef struct fetch_session_partition {
    int32_t topic; /* index into the set's topic names */
    int32_t partition;
    int32_t current_leader_epoch;
    int32_t max_bytes;
    int64_t fetch_offset;
    int64_t log_start_offset; /* the fetcher's own (a follower's log start) */
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t leader_log_start_offset;
    int seen; /* scratch while matching a request */
} fetch_session_partition;

/* Partitions kept grouped by topic, in the order they were added. */
typedef struct fetch_session_set {
    char **topics;
    int32_t *topic_lens;
    int32_t topic_count, topic_cap;
    int32_t topic_hint; /* the last topic found */
    fetch_session_partition *parts;
    int32_t count, cap;
    int32_t hint; /* just after the last lookup's match: requests repeat the order */
} fetch_session_set;

void fetch_session_set_init(fetch_session_set *s);
void fetch_session_set_deinit(fetch_session_set *s);
void fetch_session_set_clear(fetch_session_set *s);
/* The index of (topic, partition), or -1. */
int32_t fetch_session_set_find(fetch_session_set *s, kafka_str topic, int32_t partition);
/* The same in two steps, for many partitions of one topic: the topic's index (-1
 * unknown), then the partition's. */
int32_t fetch_session_set_topic_find(fetch_session_set *s, kafka_str topic);
int32_t fetch_session_set_find_in(fetch_session_set *s, int32_t topic, int32_t partition);
/* The same, trying index `at` first (a response in the set's order); topic_index,
 * when >= 0, is the set's index of `topic` (found for an earlier partition). */
int32_t fetch_session_set_find_at(fetch_session_set *s, int32_t at, kafka_str topic,
                                  int32_t topic_index, int32_t partition);
/* Adds (topic, partition) after the topic's other partitions; returns its index,
 * with nothing sent yet (-1 offsets). */
int32_t fetch_session_set_add(fetch_session_set *s, kafka_str topic, int32_t partition);
void fetch_session_set_remove(fetch_session_set *s, int32_t index);
kafka_str fetch_session_set_topic(const fetch_session_set *s, int32_t topic);

/* ---- broker side ---------------------------------------------------------------- */

typedef struct fetch_session {
    int32_t id;
    int32_t epoch;  /* the epoch the next incremental request must carry */
    int privileged; /* a follower's: may evict consumers' sessions */
    int64_t created_us;
    int64_t last_used_us;
    fetch_session_set set;
} fetch_session;

typedef struct fetch_session_cache {
    fetch_session **sessions; /* pointers stay valid while the session lives */
    int32_t *ids;             /* sessions[i]->id, side by side: looked up on every fetch */
    int32_t count, cap;
    int32_t slots;
    int64_t eviction_us;
    uint64_t seed, counter;
} fetch_session_cache;

void fetch_session_cache_init(fetch_session_cache *c, int32_t slots, uint64_t seed);
void fetch_session_cache_deinit(fetch_session_cache *c);
fetch_session *fetch_session_cache_get(fetch_session_cache *c, int32_t id);
/* A new empty session with a fresh id (epoch 1), or NULL when the cache is full and
 * no session may be evicted for one of `size` partitions. */
fetch_session *fetch_session_cache_create(fetch_session_cache *c, int privileged, int32_t size,
                                          int64_t now_us);
void fetch_session_cache_remove(fetch_session_cache *c, int32_t id);
/* Sets (or adds) the session's partitions from a request's topics. */
void fetch_session_update(fetch_session *s, const kafka_fetch_request *req);
/* Records what a response tells the fetcher about p; 1 when an incremental response
 * must list it (Kafka's CachedPartition.maybeUpdateResponseData). */
int fetch_session_partition_answered(fetch_session_partition *p,
                                     const kafka_fetch_response_partition_data *d);
/* The session's partitions as a request's topics, in arena a. */
void fetch_session_request_topics(const fetch_session *s, kafka_fetch_request *req, arena *a);
/* Kafka's FetchMetadata.nextEpoch. */
int32_t fetch_session_next_epoch(int32_t epoch);

/* ---- client side ---------------------------------------------------------------- */

typedef struct fetch_session_handler {
    int32_t session_id;    /* 0: none */
    int32_t epoch;         /* of the next (or in-flight) request: 0 full, > 0 incremental */
    fetch_session_set set; /* what the broker's session holds, as we sent it */
    arena scratch;         /* the built request's arrays, until the next build */
    uint64_t full_requests, incremental_requests;
} fetch_session_handler;

void fetch_session_handler_init(fetch_session_handler *h);
void fetch_session_handler_deinit(fetch_session_handler *h);
/* req lists every partition wanted; it becomes the session's next request (only the
 * changed partitions and the forgotten ones when incremental). */
void fetch_session_handler_build(fetch_session_handler *h, kafka_fetch_request *req);
/* 1 when the response's partitions are to be used; 0 after a session error (the
 * next request is full). */
int fetch_session_handler_response(fetch_session_handler *h, const kafka_fetch_response *resp);
/* The request got no answer (or was never sent): close the session, start a new one. */
void fetch_session_handler_failed(fetch_session_handler *h);

#endif
