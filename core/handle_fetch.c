/*
 * handle_fetch.c — Fetch (key 1), versions 4..11.
 *
 * Consumers read whole batches below the high watermark; the first batch is
 * returned whole even when larger than the limits (KIP-74).  A fetch exactly at
 * the log end returns nothing; OFFSET_OUT_OF_RANGE is only for offsets below the
 * log start or above the log end.  When less than min_bytes is available the
 * request parks until data arrives or max_wait_ms passes.
 *
 * Fetch sessions (KIP-227, core/fetch_session.h): a request is first resolved
 * against the session cache as Kafka's FetchManager.newContext does (sessionless,
 * full opening a session, incremental, or a session error answered at once); an
 * incremental request is then served as a fetch of every partition in its
 * session, and its response keeps only the partitions with something new.
 *
 * Rules the speed of this path rests on:
 * - Records are served as views of the log's own memory when the storage allows
 *   (the simulator's does): nothing may append to or truncate a partition log
 *   between reading it here and encoding the response.
 * - A parked fetch keeps the partitions its first pass found (parked_parts) and its
 *   decoded request in the connection's arena: broker_partition structs never move
 *   or get freed (a deleted topic's stay as tombstones, flagged `deleted`, and are
 *   looked up by name again), and c->arena is not reset while a fetch is parked.
 */
#include "broker_internal.h"
#include "kafka_errors.gen.h"
#include "record_batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef kafka_fetch_response_partition_data fetch_result;

typedef struct fetch_budget {
    size_t bytes_left; /* the request's max_bytes */
    size_t bytes_total;
    int first; /* nothing returned yet: KIP-74 applies */
} fetch_budget;

typedef struct below_hw_ctx {
    int64_t high_watermark;
    size_t bytes;
} below_hw_ctx;

static int batch_below_hw(void *arg, const uint8_t *batch, size_t len) {
    below_hw_ctx *ctx = arg;
    if (record_batch_last_offset(batch) >= ctx->high_watermark) return 1;
    ctx->bytes += len;
    return 0;
}

/* Reads from offset up to (not including) offset_end: the high watermark for
 * consumers, the log end for followers. */
static void read_partition(broker *b, broker_conn *c, broker_partition *p, int64_t offset,
                           int64_t offset_end, size_t partition_max, fetch_budget *budget,
                           fetch_result *out) {
    out->high_watermark = p->high_watermark;
    out->last_stable_offset = p->high_watermark;
    out->log_start_offset = partition_log_start_offset(&p->log);
    if (offset < out->log_start_offset || offset > partition_log_end_offset(&p->log)) {
        out->error_code = KAFKA_ERROR_OFFSET_OUT_OF_RANGE;
        return;
    }
    if (offset >= offset_end) return;
    size_t limit = partition_max < budget->bytes_left ? partition_max : budget->bytes_left;
    if (budget->first && limit == 0) limit = 1; /* KIP-74: the first batch comes whole */
    if (limit == 0) return;
    /* The log's own bytes, valid until the next call on this log.  Nothing appends
     * to or truncates a log while a fetch is served (follower bookkeeping and the
     * high watermark only set flags acted on later), and the response is encoded
     * before serve_fetch returns, so a storage that hands out views is served from
     * them; otherwise the read lands in the log's read buffer, which a second read
     * of the same partition in this request would reuse: copied. */
    const uint8_t *bytes;
    size_t len;
    if (partition_log_read_view(&p->log, offset, limit, &bytes, &len) != 0) {
        out->error_code = KAFKA_ERROR_KAFKA_STORAGE_ERROR;
        return;
    }
    below_hw_ctx hw = {.high_watermark = offset_end};
    record_batch_split(bytes, len, batch_below_hw, &hw);
    if (hw.bytes > 0) {
        if (!p->log.fs->view_file) {
            uint8_t *copy = arena_alloc_uninit(&c->arena, hw.bytes);
            if (!copy) abort();
            memcpy(copy, bytes, hw.bytes);
            bytes = copy;
        }
        out->records = (kafka_bytes){bytes, (int32_t)hw.bytes};
        budget->bytes_left -= hw.bytes < budget->bytes_left ? hw.bytes : budget->bytes_left;
        budget->bytes_total += hw.bytes;
        budget->first = 0;
    }
    (void)b;
}

/* Answers one partition; returns it when this broker leads it, else NULL.  known:
 * the partition a parked pass of this request found under this name, or NULL. */
static broker_partition *fetch_partition(broker *b, broker_conn *c, int32_t replica_id,
                                         kafka_str topic,
                                         const kafka_fetch_request_fetch_partition *in,
                                         broker_partition *known, fetch_budget *budget,
                                         fetch_result *out) {
    kafka_fetch_response_partition_data_init(out);
    out->partition_index = in->partition;
    out->high_watermark = -1;
    out->last_stable_offset = -1;
    out->log_start_offset = -1;
    out->preferred_read_replica = -1;
    out->aborted_transactions_count = 0;
    out->records = (kafka_bytes){NULL, 0};
    if (known && known->deleted) known = NULL; /* the name may now be another topic's */
#if defined(__SANITIZE_ADDRESS__) /* the sanitizer builds check the kept one is still found */
    assert(!known || known == broker_partition_find(b, topic, in->partition));
#endif
    broker_partition *p =
        known ? broker_partition_led_check(b, known, in->current_leader_epoch, &out->error_code)
              : broker_partition_led(b, topic, in->partition, in->current_leader_epoch,
                                     &out->error_code);
    if (!p) return NULL;
    size_t partition_max = in->partition_max_bytes > 0 ? (size_t)in->partition_max_bytes : 0;
    int64_t end = p->high_watermark;
    if (replica_id >= 0) { /* a follower: it reads to our log end and counts for the ISR */
        end = partition_log_end_offset(&p->log);
        if (in->fetch_offset >= 0 && in->fetch_offset <= end)
            replication_follower_fetched(b, p, replica_id, in->fetch_offset);
    }
    read_partition(b, c, p, in->fetch_offset, end, partition_max, budget, out);
    return p;
}

static int fetch_has_error(const kafka_fetch_response *resp) {
    for (int32_t t = 0; t < resp->responses_count; t++)
        for (int32_t k = 0; k < resp->responses[t].partitions_count; k++)
            if (resp->responses[t].partitions[k].error_code != KAFKA_ERROR_NONE) return 1;
    return 0;
}

/* Kafka's BrokerTopicMetrics, counted on the answer a fetch gets (not on each
 * retry of a parked one): record bytes to consumers per partition (followers'
 * bytes are replication, not BytesOut), and every partition answered with an error. */
static void count_fetch(broker *b, int32_t replica_id, const kafka_fetch_response *resp,
                        broker_partition *const *led) {
    int32_t i = 0;
    for (int32_t t = 0; t < resp->responses_count; t++)
        for (int32_t k = 0; k < resp->responses[t].partitions_count; k++, i++) {
            const fetch_result *d = &resp->responses[t].partitions[k];
            if (d->error_code != KAFKA_ERROR_NONE) {
                b->failed_fetches++;
                broker_partition *p = /* not led here: hosted, or known at all? */
                    broker_partition_find(b, resp->responses[t].topic, d->partition_index);
                if (p) p->failed_fetches++;
            } else if (replica_id < 0 && d->records.len > 0) {
                assert(led[i] != NULL);
                led[i]->bytes_out += (uint64_t)d->records.len;
            }
        }
}

/* A parked fetch keeps its decoded request; its strings still point into a frame
 * buffer that moves as more bytes arrive, so they are copied next to it. */
static kafka_str arena_str(arena *a, kafka_str s) {
    if (s.len <= 0) return s;
    char *copy = arena_alloc(a, (size_t)s.len);
    memcpy(copy, s.ptr, (size_t)s.len);
    return (kafka_str){copy, s.len};
}

static kafka_fetch_request *keep_request(broker_conn *c, const kafka_fetch_request *body) {
    kafka_fetch_request *kept = arena_alloc(&c->arena, sizeof *kept);
    *kept = *body;
    kept->cluster_id = arena_str(&c->arena, body->cluster_id);
    kept->rack_id = arena_str(&c->arena, body->rack_id);
    for (int32_t t = 0; t < kept->topics_count; t++)
        kept->topics[t].topic = arena_str(&c->arena, kept->topics[t].topic);
    return kept;
}

/* ---- fetch sessions ---------------------------------------------------------------- */

static int32_t partition_count(const kafka_fetch_request *body) {
    int32_t n = 0;
    for (int32_t t = 0; t < body->topics_count; t++) n += body->topics[t].partitions_count;
    return n;
}

/* Resolves the request's session and rewrites body for serve_fetch: session_epoch
 * -1 sessionless, 0 full (session_id the session it opened), 1 incremental (topics:
 * every partition of the session).  A session error to answer with, or NONE. */
static int16_t open_session(broker *b, broker_conn *c, kafka_fetch_request *body) {
    fetch_session_cache *cache = &b->fetch_sessions;
    int64_t now = broker_env_now_us(&b->env);
    int32_t epoch = body->session_epoch;
    if (epoch == 0 || epoch == -1) { /* full: a session it names is closed */
        fetch_session_cache_remove(cache, body->session_id);
        int32_t n = partition_count(body);
        fetch_session *s = epoch == 0 && n > 0
                               ? fetch_session_cache_create(cache, body->replica_id >= 0, n, now)
                               : NULL;
        if (s) fetch_session_update(s, body);
        body->session_id = s ? s->id : 0;
        body->session_epoch = s ? 0 : -1;
        return KAFKA_ERROR_NONE;
    }
    fetch_session *s = fetch_session_cache_get(cache, body->session_id);
    if (!s) return KAFKA_ERROR_FETCH_SESSION_ID_NOT_FOUND;
    if (s->epoch != epoch) return KAFKA_ERROR_INVALID_FETCH_SESSION_EPOCH;
    fetch_session_update(s, body);
    if (s->set.count == 0) { /* nothing left to follow: closed, answered sessionless */
        fetch_session_cache_remove(cache, s->id);
        body->session_id = 0;
        body->session_epoch = -1;
        return KAFKA_ERROR_NONE;
    }
    s->last_used_us = now;
    s->epoch = fetch_session_next_epoch(s->epoch);
    body->session_epoch = 1;
    fetch_session_request_topics(s, body, &c->arena);
    return KAFKA_ERROR_NONE;
}

static void answer_session_error(broker *b, broker_conn *c, const broker_request *req,
                                 int16_t error) {
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    resp.error_code = error;
    resp.session_id = 0;
    broker_response_begin(b, req);
    kafka_fetch_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
}

/* The session learns what the response tells each partition; an incremental
 * response keeps only the partitions with something new (led[] follows). */
static void session_answer(broker *b, const kafka_fetch_request *body, kafka_fetch_response *resp,
                           broker_partition **led) {
    fetch_session *s = fetch_session_cache_get(&b->fetch_sessions, body->session_id);
    int incremental = body->session_epoch > 0;
    if (!s) { /* evicted while the fetch was parked */
        resp->session_id = 0;
        if (incremental) {
            resp->error_code = KAFKA_ERROR_FETCH_SESSION_ID_NOT_FOUND;
            resp->responses_count = 0;
        }
        return;
    }
    resp->session_id = s->id;
    int32_t in = 0, out = 0, topics = 0;
    for (int32_t t = 0; t < resp->responses_count; t++) {
        kafka_fetch_response_fetchable_topic_response tr = resp->responses[t];
        int32_t kept = 0, topic = -1;
        for (int32_t k = 0; k < tr.partitions_count; k++, in++) {
            const fetch_result *d = &tr.partitions[k];
            /* served in the session's order: partition `in` is the session's `in`-th */
            int32_t i = fetch_session_set_find_at(&s->set, in, tr.topic, topic, d->partition_index);
            if (i >= 0) topic = s->set.parts[i].topic;
            int respond = i < 0 || fetch_session_partition_answered(&s->set.parts[i], d);
            if (incremental && !respond) continue;
            if (kept != k) tr.partitions[kept] = *d; /* else already in place */
            kept++;
            led[out++] = led[in];
        }
        tr.partitions_count = kept;
        if (kept > 0 || !incremental) resp->responses[topics++] = tr;
    }
    resp->responses_count = topics;
}

/* Serves a decoded fetch: 0 answered, 1 parked. */
static int serve_fetch(broker *b, broker_conn *c, const broker_request *req,
                       const kafka_fetch_request *body_in, int retry) {
    const kafka_fetch_request body = *body_in;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    resp.session_id = 0;
    resp.responses_count = body.topics_count;
    /* every element below is initialised: no zeroing */
    resp.responses =
        arena_alloc_uninit(&c->arena, (size_t)(body.topics_count + 1) * sizeof *resp.responses);
    fetch_budget budget = {.bytes_left = body.max_bytes > 0 ? (size_t)body.max_bytes : 0,
                           .first = 1};
    int32_t total = partition_count(&body), n = 0;
    /* a retry: the parked pass found every partition (none failed, or it answered);
     * a topic's partitions never move, so they are not looked up by name again */
    broker_partition *const *known = retry ? c->parked_parts : NULL;
    assert(!retry || c->parked_part_count == total);
    /* led[i]: the i-th partition of the request when this broker leads it, else NULL */
    broker_partition **led = arena_alloc_uninit(&c->arena, (size_t)(total + 1) * sizeof *led);
    fetch_result *results = arena_alloc_uninit(&c->arena, (size_t)(total + 1) * sizeof *results);
    if (!resp.responses || !led || !results) abort();
    for (int32_t t = 0; t < body.topics_count; t++) {
        kafka_fetch_request_fetch_topic *ft = &body.topics[t];
        kafka_fetch_response_fetchable_topic_response *tr = &resp.responses[t];
        kafka_fetch_response_fetchable_topic_response_init(tr);
        tr->topic = ft->topic;
        tr->partitions_count = ft->partitions_count;
        tr->partitions = &results[n];
        for (int32_t k = 0; k < ft->partitions_count; k++, n++)
            led[n] = fetch_partition(b, c, body.replica_id, ft->topic, &ft->partitions[k],
                                     known ? known[n] : NULL, &budget, &tr->partitions[k]);
    }
    int64_t now = broker_env_now_us(&b->env);
    int enough = budget.bytes_total >= (size_t)(body.min_bytes > 0 ? body.min_bytes : 0);
    if (!enough && body.max_wait_ms > 0 && !fetch_has_error(&resp)) {
        if (!retry) c->parked_deadline_us = now + (int64_t)body.max_wait_ms * 1000;
        if (now < c->parked_deadline_us) {
            if (!retry) {
                c->parked_fetch = keep_request(c, body_in);
                c->parked_request = *req;
                c->parked_request.body = NULL;
            }
            /* no partition failed, so every one is led here: wait on them all */
            broker_park_fetch(b, c, led, n, 0);
            return 1;
        }
    }
    if (body.session_epoch >= 0) session_answer(b, &body, &resp, led);
    count_fetch(b, body.replica_id, &resp, led);
    broker_response_begin(b, req);
    kafka_fetch_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    c->parked_fetch = NULL;
    return 0;
}

/* Retries a parked fetch from its kept request, without decoding it again. */
int broker_fetch_resume(broker *b, broker_conn *c) {
    assert(c->parked_fetch != NULL);
    return serve_fetch(b, c, &c->parked_request, c->parked_fetch, 1);
}

int broker_handle_fetch(broker *b, broker_conn *c, const broker_request *req) {
    kafka_fetch_request body;
    kafka_fetch_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_fetch_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    if (body.topics_count == 1 && kafka_str_eq(body.topics[0].topic, RAFT_METADATA_TOPIC))
        return broker_quorum_fetch(b, c, req, &body);
    if (req->api_version > 11) return -1; /* v12 is for the metadata log only */
    c->parked_fetch = NULL;
    int16_t error = open_session(b, c, &body);
    if (error != KAFKA_ERROR_NONE) {
        answer_session_error(b, c, req, error);
        return 0;
    }
    return serve_fetch(b, c, req, &body, 0);
}
