/* test_fetch_session.c — KIP-227 incremental fetch sessions (core/fetch_session.h).
 *
 * The session cache (ids, eviction) and the client's handler on their own; then one
 * broker driven through tests/fake_env.h with the handler building the requests: a
 * new session, incremental requests carrying only changed partitions, responses
 * leaving out unchanged ones, forgotten partitions, parked incremental fetches,
 * INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_ID_NOT_FOUND, a full cache, and
 * sessionless (epoch -1) fetches; last, whole simulated runs (lab, chaos) that must
 * still replicate and consume everything while followers fetch incrementally. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "broker_internal.h"
#include "checker.h"
#include "fake_env.h"
#include "fetch_session.h"
#include "kafka_errors.gen.h"
#include "kafka_messages.gen.h"
#include "record_batch.h"
#include "scenario.h"
#include "sim_run.h"
#include "trace.h"

#define S_US 1000000LL

/* ---- the cache ---------------------------------------------------------------------- */

Test(fetch_session_cache, ids_are_nonzero_distinct_and_follow_the_seed) {
    fetch_session_cache a, b, c;
    fetch_session_cache_init(&a, 100, 7);
    fetch_session_cache_init(&b, 100, 7);
    fetch_session_cache_init(&c, 100, 8);
    int32_t ids[50];
    for (int i = 0; i < 50; i++) {
        fetch_session *s = fetch_session_cache_create(&a, 0, 1, 0);
        cr_assert_not_null(s);
        cr_assert_gt(s->id, 0);
        cr_assert_eq(s->epoch, 1);
        for (int k = 0; k < i; k++) cr_assert_neq(ids[k], s->id);
        ids[i] = s->id;
        cr_assert_eq(fetch_session_cache_create(&b, 0, 1, 0)->id, s->id, "same seed, same ids");
    }
    cr_assert_neq(fetch_session_cache_create(&c, 0, 1, 0)->id, ids[0]);
    cr_assert_eq(fetch_session_cache_get(&a, ids[3])->id, ids[3]);
    fetch_session_cache_remove(&a, ids[3]);
    cr_assert_null(fetch_session_cache_get(&a, ids[3]));
    cr_assert_null(fetch_session_cache_get(&a, 0));
    fetch_session_cache_deinit(&a);
    fetch_session_cache_deinit(&b);
    fetch_session_cache_deinit(&c);
}

static fetch_session *created(fetch_session_cache *c, int privileged, int32_t size, int64_t at_us) {
    fetch_session *s = fetch_session_cache_create(c, privileged, size, at_us);
    for (int32_t i = 0; s && i < size; i++) fetch_session_set_add(&s->set, kafka_str_c("t"), i);
    return s;
}

Test(fetch_session_cache, evicts_stale_then_less_valuable_sessions) {
    fetch_session_cache c;
    fetch_session_cache_init(&c, 2, 1);
    int64_t evict = c.eviction_us;
    int32_t big = created(&c, 0, 3, 0)->id, small = created(&c, 0, 1, 0)->id;
    /* full, nothing stale or old enough: a consumer's session is declined */
    cr_assert_null(created(&c, 0, 5, S_US));
    cr_assert_eq(c.count, 2);
    /* a follower's session evicts the least valuable consumer session, then the other */
    int32_t f1 = created(&c, 1, 1, S_US)->id;
    cr_assert_null(fetch_session_cache_get(&c, small));
    cr_assert_not_null(fetch_session_cache_get(&c, big));
    cr_assert_not_null(created(&c, 1, 1, 2 * S_US));
    cr_assert_null(fetch_session_cache_get(&c, big));
    /* ... but not another follower's while it is young */
    cr_assert_null(created(&c, 1, 4, 3 * S_US));
    /* idle longer than the eviction time: evicted by anyone */
    cr_assert_not_null(created(&c, 0, 1, S_US + evict + 1));
    cr_assert_null(fetch_session_cache_get(&c, f1));
    cr_assert_eq(c.count, 2);
    fetch_session_cache_deinit(&c);
}

/* ---- the handler -------------------------------------------------------------------- */

typedef struct want {
    const char *topic;
    int32_t partition;
    int64_t offset;
} want;

/* A request wanting ws (grouped by topic, in order), in arrays owned by the caller. */
typedef struct built {
    kafka_fetch_request req;
    kafka_fetch_request_fetch_topic topics[8];
    kafka_fetch_request_fetch_partition parts[16];
} built;

static void build_wanted(built *b, const want *ws, int n) {
    kafka_fetch_request_init(&b->req);
    b->req.replica_id = -1;
    b->req.max_wait_ms = 0;
    b->req.min_bytes = 1;
    b->req.rack_id = kafka_str_c("");
    b->req.topics = b->topics;
    for (int i = 0; i < n; i++) {
        if (i == 0 || strcmp(ws[i].topic, ws[i - 1].topic) != 0) {
            kafka_fetch_request_fetch_topic *t = &b->topics[b->req.topics_count++];
            kafka_fetch_request_fetch_topic_init(t);
            t->topic = kafka_str_c(ws[i].topic);
            t->partitions = &b->parts[i];
        }
        kafka_fetch_request_fetch_partition *p = &b->parts[i];
        kafka_fetch_request_fetch_partition_init(p);
        p->partition = ws[i].partition;
        p->current_leader_epoch = -1;
        p->fetch_offset = ws[i].offset;
        p->log_start_offset = -1;
        p->partition_max_bytes = 1 << 20;
        b->topics[b->req.topics_count - 1].partitions_count++;
    }
}

static int32_t listed(const kafka_fetch_request *r) {
    int32_t n = 0;
    for (int32_t t = 0; t < r->topics_count; t++) n += r->topics[t].partitions_count;
    return n;
}

static kafka_fetch_response session_response(int16_t error, int32_t id) {
    kafka_fetch_response r;
    kafka_fetch_response_init(&r);
    r.error_code = error;
    r.session_id = id;
    return r;
}

Test(fetch_session_handler, full_then_incremental_with_changes_and_forgotten) {
    fetch_session_handler h;
    fetch_session_handler_init(&h);
    want ws[] = {{"a", 0, 10}, {"a", 1, 20}, {"b", 0, 30}};
    built b;
    build_wanted(&b, ws, 3);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_id, 0);
    cr_assert_eq(b.req.session_epoch, 0, "the first fetch opens a session");
    cr_assert_eq(listed(&b.req), 3);
    kafka_fetch_response r = session_response(0, 77);
    cr_assert_eq(fetch_session_handler_response(&h, &r), 1);

    build_wanted(&b, ws, 3); /* nothing moved: an empty incremental request */
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_id, 77);
    cr_assert_eq(b.req.session_epoch, 1);
    cr_assert_eq(listed(&b.req), 0);
    cr_assert_eq(b.req.forgotten_topics_data_count, 0);
    cr_assert_eq(fetch_session_handler_response(&h, &r), 1);

    ws[1].offset = 25; /* a/1 moved, b/0 dropped, c/4 added */
    want next[] = {{"a", 0, 10}, {"a", 1, 25}, {"c", 4, 0}};
    build_wanted(&b, next, 3);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_epoch, 2);
    cr_assert_eq(b.req.topics_count, 2);
    cr_assert(kafka_str_eq(b.req.topics[0].topic, "a"));
    cr_assert_eq(b.req.topics[0].partitions_count, 1);
    cr_assert_eq(b.req.topics[0].partitions[0].partition, 1);
    cr_assert_eq(b.req.topics[0].partitions[0].fetch_offset, 25);
    cr_assert(kafka_str_eq(b.req.topics[1].topic, "c"));
    cr_assert_eq(b.req.forgotten_topics_data_count, 1);
    cr_assert(kafka_str_eq(b.req.forgotten_topics_data[0].topic, "b"));
    cr_assert_eq(b.req.forgotten_topics_data[0].partitions_count, 1);
    cr_assert_eq(b.req.forgotten_topics_data[0].partitions[0], 0);
    cr_assert_eq(h.set.count, 3);
    fetch_session_handler_deinit(&h);
}

/* The set keeps partitions in the order they were added; a fetcher may list a
 * topic's partitions in another order (its own table's), and that is no change. */
Test(fetch_session_handler, a_topic_listed_in_another_order_is_no_change) {
    fetch_session_handler h;
    fetch_session_handler_init(&h);
    want first[] = {{"a", 2, 10}, {"b", 0, 5}};
    built b;
    build_wanted(&b, first, 2);
    fetch_session_handler_build(&h, &b.req);
    kafka_fetch_response r = session_response(0, 9);
    cr_assert_eq(fetch_session_handler_response(&h, &r), 1);
    want added[] = {{"a", 2, 10}, {"a", 1, 7}, {"b", 0, 5}}; /* a/1 joins after a/2 */
    build_wanted(&b, added, 3);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(listed(&b.req), 1);
    cr_assert_eq(fetch_session_handler_response(&h, &r), 1);

    want sorted[] = {{"a", 1, 7}, {"a", 2, 11}, {"b", 0, 5}}; /* a/2 moved */
    build_wanted(&b, sorted, 3);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.forgotten_topics_data_count, 0);
    cr_assert_eq(listed(&b.req), 1);
    cr_assert_eq(b.req.topics[0].partitions[0].partition, 2);
    cr_assert_eq(b.req.topics[0].partitions[0].fetch_offset, 11);
    cr_assert_eq(fetch_session_handler_response(&h, &r), 1);

    /* a partition listed twice (and a/2 missing) is a change of the set: a/2 forgotten */
    want twice[] = {{"a", 1, 7}, {"a", 1, 7}, {"b", 0, 6}};
    build_wanted(&b, twice, 3);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.forgotten_topics_data_count, 1);
    cr_assert_eq(b.req.forgotten_topics_data[0].partitions[0], 2);
    cr_assert_eq(listed(&b.req), 1, "only b/0 moved");
    cr_assert_eq(h.set.count, 2);
    fetch_session_handler_deinit(&h);
}

Test(fetch_session_handler, errors_and_lost_requests_fall_back_to_full) {
    fetch_session_handler h;
    fetch_session_handler_init(&h);
    want ws[] = {{"a", 0, 10}};
    built b;
    build_wanted(&b, ws, 1);
    fetch_session_handler_build(&h, &b.req);
    kafka_fetch_response ok = session_response(0, 5);
    fetch_session_handler_response(&h, &ok);
    cr_assert_eq(h.epoch, 1);

    kafka_fetch_response bad_epoch = session_response(KAFKA_ERROR_INVALID_FETCH_SESSION_EPOCH, 0);
    cr_assert_eq(fetch_session_handler_response(&h, &bad_epoch), 0);
    build_wanted(&b, ws, 1);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_id, 5, "closes the session it had");
    cr_assert_eq(b.req.session_epoch, 0);
    cr_assert_eq(listed(&b.req), 1, "and lists everything again");

    kafka_fetch_response unknown = session_response(KAFKA_ERROR_FETCH_SESSION_ID_NOT_FOUND, 0);
    cr_assert_eq(fetch_session_handler_response(&h, &unknown), 0);
    build_wanted(&b, ws, 1);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_id, 0, "an unknown session is not named again");
    cr_assert_eq(b.req.session_epoch, 0);

    kafka_fetch_response opened = session_response(0, 9);
    fetch_session_handler_response(&h, &opened);
    fetch_session_handler_failed(&h); /* the connection went */
    build_wanted(&b, ws, 1);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_id, 9);
    cr_assert_eq(b.req.session_epoch, 0);

    kafka_fetch_response declined = session_response(0, 0);
    fetch_session_handler_response(&h, &declined);
    build_wanted(&b, ws, 1);
    fetch_session_handler_build(&h, &b.req);
    cr_assert_eq(b.req.session_id, 0);
    cr_assert_eq(b.req.session_epoch, 0, "declined: asks again, listing everything");
    cr_assert_eq(listed(&b.req), 1);
    fetch_session_handler_deinit(&h);
}

/* ---- one broker --------------------------------------------------------------------- */

#define TOPIC "orders"
#define CLIENT 7
#define OTHER 8

static fake_env F;
static mem_storage *MEM;
static broker *B;
static arena A;
static fetch_session_handler H;
static int32_t CORR, LAST_CORR[16]; /* the last request's correlation id by conn */
static const broker_topic_config TOPICS[] = {{TOPIC, 3, 1}};

static void setup(void) {
    MEM = mem_storage_create();
    fake_env_init(&F, MEM, 1);
    broker_config cfg;
    broker_config_defaults(&cfg, 1, 1);
    cfg.topics = TOPICS;
    cfg.topic_count = 1;
    cfg.auto_create_topics = 0;
    B = broker_open(&F.env, &cfg);
    cr_assert_not_null(B);
    arena_init(&A);
    fetch_session_handler_init(&H);
    broker_on_accept(B, CLIENT);
    broker_on_accept(B, OTHER);
}

static void teardown(void) {
    fetch_session_handler_deinit(&H);
    broker_destroy(B);
    arena_deinit(&A);
    fake_env_deinit(&F);
    mem_storage_destroy(MEM);
}

TestSuite(fetch_session_broker, .init = setup, .fini = teardown, .timeout = 30);

typedef void encode_fn(const void *msg, wire_writer *w, int16_t version);

static void send_request(conn_id conn, int16_t key, int16_t ver, const void *msg, encode_fn *enc) {
    wire_writer w;
    wire_writer_init(&w);
    wire_put_i32(&w, 0);
    kafka_request_header h;
    kafka_request_header_init(&h);
    h.request_api_key = key;
    h.request_api_version = ver;
    h.correlation_id = LAST_CORR[conn] = ++CORR;
    h.client_id = kafka_str_c("session-test");
    kafka_request_header_encode(&h, &w, kafka_request_header_version(key, ver));
    enc(msg, &w, ver);
    cr_assert(!w.failed);
    wire_patch_i32(&w, 0, (int32_t)(w.len - 4));
    broker_on_bytes(B, conn, w.data, w.len);
    wire_writer_deinit(&w);
}

static void encode_fetch(const void *m, wire_writer *w, int16_t v) {
    kafka_fetch_request_encode(m, w, v);
}
static void encode_produce(const void *m, wire_writer *w, int16_t v) {
    kafka_produce_request_encode(m, w, v);
}

static kafka_fetch_response decode_fetch(conn_id conn) {
    const uint8_t *frame;
    size_t len;
    cr_assert(fake_take_frame(&F, conn, &frame, &len), "no fetch response");
    uint8_t *copy = arena_alloc(&A, len);
    memcpy(copy, frame, len);
    wire_reader r;
    wire_reader_init(&r, copy, len);
    cr_assert_eq(wire_get_i32(&r), LAST_CORR[conn]);
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    cr_assert_eq(kafka_fetch_response_decode(&resp, &r, 11, &A), 0);
    cr_assert_eq(r.pos, r.len);
    return resp;
}

/* Appends n records to partition (acks=1, answered at once). */
static void produce(int32_t partition, int n) {
    uint8_t bytes[4096];
    record_batch_builder_config bc;
    record_batch_builder_config_default(&bc);
    record_batch_builder bb;
    record_batch_builder_init(&bb, bytes, sizeof bytes, &bc);
    for (int i = 0; i < n; i++) {
        record_batch_record_in rec = {.timestamp_ms = 1000 + i,
                                      .key_len = -1,
                                      .value = (const uint8_t *)"value",
                                      .value_len = 5};
        cr_assert_eq(record_batch_builder_add(&bb, &rec), 0);
    }
    size_t len = record_batch_builder_finish(&bb);
    kafka_produce_request req;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd;
    kafka_produce_request_init(&req);
    kafka_produce_request_topic_produce_data_init(&td);
    kafka_produce_request_partition_produce_data_init(&pd);
    req.acks = 1;
    req.timeout_ms = 30000;
    req.topic_data = &td;
    req.topic_data_count = 1;
    td.name = kafka_str_c(TOPIC);
    td.partition_data = &pd;
    td.partition_data_count = 1;
    pd.index = partition;
    pd.records = (kafka_bytes){bytes, (int32_t)len};
    send_request(OTHER, KAFKA_API_PRODUCE, 7, &req, encode_produce);
    const uint8_t *frame;
    size_t flen;
    cr_assert(fake_take_frame(&F, OTHER, &frame, &flen), "produce answered");
}

static int64_t POS[3];

/* The handler's next fetch of every partition at POS (max_wait_ms as given). */
static void session_fetch(int32_t max_wait_ms, built *b) {
    want ws[3];
    for (int i = 0; i < 3; i++) ws[i] = (want){TOPIC, i, POS[i]};
    build_wanted(b, ws, 3);
    b->req.max_wait_ms = max_wait_ms;
    fetch_session_handler_build(&H, &b->req);
    send_request(CLIENT, KAFKA_API_FETCH, 11, &b->req, encode_fetch);
}

static kafka_fetch_response session_answer(void) {
    kafka_fetch_response r = decode_fetch(CLIENT);
    cr_assert_eq(fetch_session_handler_response(&H, &r), r.error_code == 0);
    return r;
}

static const kafka_fetch_response_partition_data *answered(const kafka_fetch_response *r,
                                                           int32_t partition) {
    for (int32_t t = 0; t < r->responses_count; t++)
        for (int32_t k = 0; k < r->responses[t].partitions_count; k++)
            if (r->responses[t].partitions[k].partition_index == partition)
                return &r->responses[t].partitions[k];
    return NULL;
}

static int32_t answered_count(const kafka_fetch_response *r) {
    int32_t n = 0;
    for (int32_t t = 0; t < r->responses_count; t++) n += r->responses[t].partitions_count;
    return n;
}

static int32_t open_session(void) {
    built b;
    session_fetch(0, &b);
    kafka_fetch_response r = session_answer();
    cr_assert_eq(r.error_code, 0);
    cr_assert_neq(r.session_id, 0, "a new session");
    cr_assert_eq(answered_count(&r), 3, "a full response lists every partition");
    return r.session_id;
}

Test(fetch_session_broker, incremental_lists_only_what_changed) {
    int32_t id = open_session();
    produce(1, 2);
    built b;
    session_fetch(0, &b);
    cr_assert_eq(b.req.session_epoch, 1);
    cr_assert_eq(listed(&b.req), 0, "nothing moved: no partition in the request");
    kafka_fetch_response r = session_answer();
    cr_assert_eq(r.session_id, id);
    cr_assert_eq(answered_count(&r), 1, "only the partition with records");
    const kafka_fetch_response_partition_data *d = answered(&r, 1);
    cr_assert_not_null(d);
    cr_assert_eq(d->high_watermark, 2);
    cr_assert_gt(d->records.len, 0);

    POS[1] = 2; /* consumed: the position moves, the session is told */
    session_fetch(0, &b);
    cr_assert_eq(listed(&b.req), 1);
    cr_assert_eq(b.req.topics[0].partitions[0].partition, 1);
    r = session_answer();
    cr_assert_eq(r.session_id, id);
    cr_assert_eq(answered_count(&r), 0, "nothing new anywhere");

    session_fetch(0, &b); /* a sessionless fetch elsewhere still gets everything */
    session_answer();
    want all[] = {{TOPIC, 0, 0}, {TOPIC, 1, 2}, {TOPIC, 2, 0}};
    build_wanted(&b, all, 3);
    send_request(OTHER, KAFKA_API_FETCH, 11, &b.req, encode_fetch);
    r = decode_fetch(OTHER);
    cr_assert_eq(r.session_id, 0);
    cr_assert_eq(answered_count(&r), 3);
}

Test(fetch_session_broker, forgotten_partitions_are_not_answered) {
    open_session();
    built b;
    want two[] = {{TOPIC, 0, 0}, {TOPIC, 2, 0}};
    build_wanted(&b, two, 2);
    fetch_session_handler_build(&H, &b.req);
    cr_assert_eq(b.req.forgotten_topics_data_count, 1);
    send_request(CLIENT, KAFKA_API_FETCH, 11, &b.req, encode_fetch);
    session_answer();
    produce(1, 1);
    produce(2, 1);
    build_wanted(&b, two, 2);
    fetch_session_handler_build(&H, &b.req);
    send_request(CLIENT, KAFKA_API_FETCH, 11, &b.req, encode_fetch);
    kafka_fetch_response r = session_answer();
    cr_assert_eq(answered_count(&r), 1);
    cr_assert_not_null(answered(&r, 2));
    cr_assert_null(answered(&r, 1), "forgotten");
}

Test(fetch_session_broker, parked_incremental_fetch_answers_what_woke_it) {
    int32_t id = open_session();
    built b;
    session_fetch(500, &b);
    cr_assert_eq(fake_pending(&F, CLIENT), 0, "parked: nothing to send");
    produce(2, 3);
    kafka_fetch_response r = session_answer();
    cr_assert_eq(r.session_id, id);
    cr_assert_eq(answered_count(&r), 1);
    cr_assert_eq(answered(&r, 2)->high_watermark, 3);

    POS[2] = 3;
    session_fetch(500, &b); /* parks again, then the deadline passes */
    cr_assert_eq(fake_pending(&F, CLIENT), 0);
    F.now_us += 500 * 1000;
    broker_on_timer(B);
    r = session_answer();
    cr_assert_eq(r.session_id, id);
    cr_assert_eq(answered_count(&r), 0);
    session_fetch(0, &b);
    cr_assert_eq(session_answer().error_code, 0, "the epochs still agree");
}

static kafka_fetch_response raw_fetch(int32_t session_id, int32_t epoch) {
    built b;
    want one[] = {{TOPIC, 0, 0}};
    build_wanted(&b, one, 1);
    b.req.session_id = session_id;
    b.req.session_epoch = epoch;
    send_request(CLIENT, KAFKA_API_FETCH, 11, &b.req, encode_fetch);
    return decode_fetch(CLIENT);
}

Test(fetch_session_broker, wrong_epoch_and_unknown_session_are_errors) {
    int32_t id = open_session();
    kafka_fetch_response r = raw_fetch(id, 5);
    cr_assert_eq(r.error_code, KAFKA_ERROR_INVALID_FETCH_SESSION_EPOCH);
    cr_assert_eq(r.session_id, 0);
    cr_assert_eq(r.responses_count, 0);
    r = raw_fetch(id == 12345 ? 12346 : 12345, 1);
    cr_assert_eq(r.error_code, KAFKA_ERROR_FETCH_SESSION_ID_NOT_FOUND);
    cr_assert_eq(r.responses_count, 0);
    r = raw_fetch(id, 1); /* the right epoch still works */
    cr_assert_eq(r.error_code, 0);
    cr_assert_eq(r.session_id, id);

    /* the handler, told its epoch is wrong, closes the session and opens another */
    kafka_fetch_response bad = session_response(KAFKA_ERROR_INVALID_FETCH_SESSION_EPOCH, 0);
    fetch_session_handler_response(&H, &bad);
    built b;
    session_fetch(0, &b);
    cr_assert_eq(b.req.session_id, id);
    cr_assert_eq(b.req.session_epoch, 0);
    r = session_answer();
    cr_assert_neq(r.session_id, 0);
    cr_assert_neq(r.session_id, id);
    cr_assert_eq(answered_count(&r), 3);
    r = raw_fetch(id, 2);
    cr_assert_eq(r.error_code, KAFKA_ERROR_FETCH_SESSION_ID_NOT_FOUND, "the old one is closed");
}

Test(fetch_session_broker, sessionless_and_old_versions_get_session_zero) {
    kafka_fetch_response r = raw_fetch(0, -1);
    cr_assert_eq(r.error_code, 0);
    cr_assert_eq(r.session_id, 0);
    cr_assert_eq(answered_count(&r), 1);
    cr_assert_eq(B->fetch_sessions.count, 0, "no session kept");
    int32_t id = open_session();
    r = raw_fetch(id, -1); /* FINAL_EPOCH closes it */
    cr_assert_eq(r.session_id, 0);
    cr_assert_eq(B->fetch_sessions.count, 0);
}

Test(fetch_session_broker, a_full_cache_declines_new_sessions) {
    B->fetch_sessions.slots = 1;
    open_session();
    fetch_session_handler other;
    fetch_session_handler_init(&other);
    built b;
    want one[] = {{TOPIC, 0, 0}};
    build_wanted(&b, one, 1);
    fetch_session_handler_build(&other, &b.req);
    cr_assert_eq(b.req.session_epoch, 0);
    send_request(OTHER, KAFKA_API_FETCH, 11, &b.req, encode_fetch);
    kafka_fetch_response r = decode_fetch(OTHER);
    cr_assert_eq(r.error_code, 0);
    cr_assert_eq(r.session_id, 0, "declined, answered in full");
    cr_assert_eq(answered_count(&r), 1);
    cr_assert_eq(fetch_session_handler_response(&other, &r), 1);
    cr_assert_eq(other.epoch, 0, "asks again next time");
    fetch_session_handler_deinit(&other);
}

/* ---- whole runs --------------------------------------------------------------------- */

typedef struct link_sizes {
    uint32_t largest[4][4];
    int64_t smaller, total;
} link_sizes;

/* Follower fetches (Fetch v11 between brokers) by size, per link. */
static void on_message(void *ctx, const trace_message *m) {
    link_sizes *l = ctx;
    if (m->api_key != KAFKA_API_FETCH || m->api_version != 11 || m->is_response) return;
    if (m->src < 1 || m->src > 3 || m->dst < 1 || m->dst > 3) return;
    uint32_t *big = &l->largest[m->src][m->dst];
    if (m->size_bytes > *big) *big = m->size_bytes;
    l->smaller += m->size_bytes < *big;
    l->total++;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void run_scenario(const char *path, uint64_t seed, int64_t until_us) {
    static scenario s;
    char err[512];
    cr_assert_eq(scenario_load(&s, path, read_text(path), NULL, 0, err, sizeof err), 0, "%s", err);
    sim_run_options o = {.seed = seed ? seed : s.seed,
                         .end_us = until_us > 0 ? until_us : s.duration_us,
                         .trace_path = NULL,
                         .overrides_json = "[]",
                         .until_us_override = until_us > 0 ? until_us : -1};
    sim_run *r = sim_run_create(&s, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    link_sizes sizes;
    memset(&sizes, 0, sizeof sizes);
    sim_run_watch(r, NULL, on_message, &sizes);
    cr_assert_eq(sim_run_finish(r, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(checker_violations_total(sim_run_checker(r)), 0, "%s seed %llu: violations", path,
                 (unsigned long long)o.seed);
    char *text = sim_run_summary_text(r, 0);
    for (const char *m = strstr(text, "missing "); m; m = strstr(m + 1, "missing "))
        cr_assert_eq(atoi(m + 8), 0, "%s: records missing: %s", path, text);
    free(text);
    /* A full fetch lists every partition a follower follows; incremental ones
     * only those whose log end moved: most are smaller than the largest. */
    cr_assert_gt(sizes.total, 100);
    cr_assert_gt(sizes.smaller * 2, sizes.total, "%lld of %lld follower fetches smaller",
                 (long long)sizes.smaller, (long long)sizes.total);
    sim_run_destroy(r);
}

Test(fetch_session_cluster, lab_replicates_and_consumes_everything, .timeout = 120) {
    run_scenario("scenarios/lab.json", 0, 120 * S_US);
}

Test(fetch_session_cluster, chaos_replicates_and_consumes_everything, .timeout = 120) {
    run_scenario("scenarios/chaos.json", 3, 0);
}
