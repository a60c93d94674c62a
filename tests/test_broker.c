/* test_broker.c — one broker driven through a fake environment (tests/fake_env.h):
 * requests are encoded with the generated codecs, responses decoded with them.
 * Covers ApiVersions (as librdkafka sends it, unknown versions), Metadata v0..v8,
 * Produce (acks, versions, corrupt batches), Fetch (parking, deadlines, KIP-74,
 * out of range), ListOffsets, InitProducerId and idempotent produce (retries, gaps,
 * epochs, restarts, id blocks under storage failures), response ordering, framing
 * and bad input (with a small mutation loop), and restart / power-off from the
 * same storage. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "fake_env.h"
#include "kafka_errors.gen.h"
#include "kafka_messages.gen.h"
#include "mem_storage.h"
#include "prng.h"
#include "record_batch.h"
#include "wire.h"

#define TOPIC "orders"
#define PARTITIONS 2

static fake_env F;
static mem_storage *MEM;
static broker *B;
static broker_config CFG;
static arena A; /* decoded responses live here until the test ends */
static const broker_topic_config TOPICS[] = {{TOPIC, PARTITIONS, 1}};

static void open_broker(void) {
    B = broker_open(&F.env, &CFG);
    cr_assert_not_null(B);
}

static void setup(void) {
    MEM = mem_storage_create();
    fake_env_init(&F, MEM, 1);
    broker_config_defaults(&CFG, 1, 1);
    CFG.topics = TOPICS;
    CFG.topic_count = 1;
    CFG.auto_create_topics = 0; /* unknown topics must stay unknown here */
    arena_init(&A);
    open_broker();
}

static void teardown(void) {
    broker_destroy(B);
    B = NULL;
    arena_deinit(&A);
    fake_env_deinit(&F);
    mem_storage_destroy(MEM);
}

TestSuite(broker, .init = setup, .fini = teardown, .timeout = 30);

/* ---- requests ------------------------------------------------------------------ */

static void connect_client(conn_id c) {
    broker_on_accept(B, c);
}

/* Size placeholder and request header (header version from the API table unless
 * header_version >= 0). */
static void req_begin(wire_writer *w, int16_t key, int16_t ver, int32_t corr, int header_version) {
    wire_writer_init(w);
    wire_put_i32(w, 0);
    kafka_request_header h;
    kafka_request_header_init(&h);
    h.request_api_key = key;
    h.request_api_version = ver;
    h.correlation_id = corr;
    h.client_id = kafka_str_c("test-client");
    int16_t hv =
        header_version >= 0 ? (int16_t)header_version : kafka_request_header_version(key, ver);
    kafka_request_header_encode(&h, w, hv);
}

static void req_finish(wire_writer *w) {
    cr_assert(!w->failed);
    wire_patch_i32(w, 0, (int32_t)(w->len - 4));
}

/* Encodes a whole request frame into w (caller deinits w). */
#define ENCODE(w, key, ver, corr, kind, msg)                                                       \
    do {                                                                                           \
        wire_writer *ew_ = (w);                                                                    \
        req_begin(ew_, (key), (ver), (corr), -1);                                                  \
        kafka_##kind##_encode((msg), ew_, (ver));                                                  \
        req_finish(ew_);                                                                           \
    } while (0)

#define SEND(conn, key, ver, corr, kind, msg)                                                      \
    do {                                                                                           \
        wire_writer w_;                                                                            \
        ENCODE(&w_, key, ver, corr, kind, msg);                                                    \
        broker_on_bytes(B, (conn), w_.data, w_.len);                                               \
        wire_writer_deinit(&w_);                                                                   \
    } while (0)

/* ---- responses ------------------------------------------------------------------- */

/* Takes the next response frame on conn, checks its correlation id and header, and
 * returns a reader over the body (the frame is copied into A). */
static wire_reader take_response(conn_id conn, int16_t key, int16_t ver, int32_t corr) {
    const uint8_t *frame;
    size_t len;
    cr_assert(fake_take_frame(&F, conn, &frame, &len), "no response on conn %u (api %d v%d)",
              (unsigned)conn, key, ver);
    uint8_t *copy = arena_alloc(&A, len + 1);
    memcpy(copy, frame, len);
    wire_reader r;
    wire_reader_init(&r, copy, len);
    cr_assert_eq(wire_get_i32(&r), corr, "correlation id");
    if (kafka_response_header_version(key, ver) >= 1) cr_assert_eq(wire_get_uvarint(&r), 0u);
    cr_assert(!r.failed);
    return r;
}

/* Decodes a whole response body (every byte consumed) of the given kind. */
#define DECODE(conn, key, ver, corr, kind, out)                                                    \
    do {                                                                                           \
        wire_reader r_ = take_response((conn), (key), (ver), (corr));                              \
        kafka_##kind##_init(out);                                                                  \
        cr_assert_eq(kafka_##kind##_decode((out), &r_, (ver), &A), 0, #kind " v%d decodes", ver);  \
        cr_assert_eq(r_.pos, r_.len, #kind " v%d: %zu trailing bytes", ver, r_.len - r_.pos);      \
    } while (0)

static void expect_silence(conn_id conn) {
    cr_assert_eq(fake_pending(&F, conn), 0, "unexpected %zu bytes on conn %u",
                 fake_pending(&F, conn), (unsigned)conn);
}

/* ---- record batches ----------------------------------------------------------------- */

typedef struct batch {
    uint8_t bytes[8192];
    size_t len;
    int count;
} batch;

/* n records with values "<tag>-<i>" padded to value_bytes, timestamps ts, ts+1, ... */
static void make_batch(batch *bt, int n, const char *tag, int value_bytes, int64_t ts) {
    record_batch_builder_config cfg;
    record_batch_builder_config_default(&cfg);
    record_batch_builder bb;
    record_batch_builder_init(&bb, bt->bytes, sizeof bt->bytes, &cfg);
    for (int i = 0; i < n; i++) {
        char val[2048];
        memset(val, '.', sizeof val);
        int w = snprintf(val, sizeof val, "%s-%d", tag, i);
        int vlen = value_bytes > w ? value_bytes : w;
        cr_assert(vlen < (int)sizeof val);
        record_batch_record_in rec = {.timestamp_ms = ts + i,
                                      .key_len = -1,
                                      .value = (const uint8_t *)val,
                                      .value_len = vlen};
        cr_assert_eq(record_batch_builder_add(&bb, &rec), 0);
    }
    bt->len = record_batch_builder_finish(&bb);
    bt->count = n;
}

/* ---- request builders ------------------------------------------------------------- */

static void produce_msg(kafka_produce_request *req, kafka_produce_request_topic_produce_data *td,
                        kafka_produce_request_partition_produce_data *pd, const char *topic,
                        int32_t partition, const uint8_t *records, size_t len, int16_t acks) {
    kafka_produce_request_init(req);
    kafka_produce_request_topic_produce_data_init(td);
    kafka_produce_request_partition_produce_data_init(pd);
    req->acks = acks;
    req->timeout_ms = 30000;
    req->topic_data = td;
    req->topic_data_count = 1;
    td->name = kafka_str_c(topic);
    td->partition_data = pd;
    td->partition_data_count = 1;
    pd->index = partition;
    pd->records = (kafka_bytes){records, (int32_t)len};
}

static void send_produce(conn_id conn, int16_t ver, int32_t corr, const char *topic,
                         int32_t partition, const uint8_t *records, size_t len, int16_t acks) {
    kafka_produce_request req;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd;
    produce_msg(&req, &td, &pd, topic, partition, records, len, acks);
    SEND(conn, KAFKA_API_PRODUCE, ver, corr, produce_request, &req);
}

/* Decodes a produce response with one topic and one partition; returns that partition. */
static kafka_produce_response_partition_produce_response
produce_result(conn_id conn, int16_t ver, int32_t corr, const char *topic, int32_t partition) {
    kafka_produce_response resp;
    DECODE(conn, KAFKA_API_PRODUCE, ver, corr, produce_response, &resp);
    cr_assert_eq(resp.responses_count, 1);
    cr_assert(kafka_str_eq(resp.responses[0].name, topic));
    cr_assert_eq(resp.responses[0].partition_responses_count, 1);
    cr_assert_eq(resp.responses[0].partition_responses[0].index, partition);
    if (ver >= 1) cr_assert_eq(resp.throttle_time_ms, 0);
    return resp.responses[0].partition_responses[0];
}

/* Produces bt with acks=-1 (v7) on conn and returns the base offset. */
static int64_t produce_ok(conn_id conn, int32_t corr, int32_t partition, const batch *bt) {
    send_produce(conn, 7, corr, TOPIC, partition, bt->bytes, bt->len, -1);
    kafka_produce_response_partition_produce_response pr =
        produce_result(conn, 7, corr, TOPIC, partition);
    cr_assert_eq(pr.error_code, 0, "produce error %d", pr.error_code);
    return pr.base_offset;
}

typedef struct fetch_args {
    int64_t offset;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    int32_t partition_max_bytes;
    int32_t partition;
    const char *topic;
} fetch_args;

static void fetch_msg(kafka_fetch_request *req, kafka_fetch_request_fetch_topic *ft,
                      kafka_fetch_request_fetch_partition *fp, const fetch_args *a) {
    kafka_fetch_request_init(req);
    kafka_fetch_request_fetch_topic_init(ft);
    kafka_fetch_request_fetch_partition_init(fp);
    req->replica_id = -1;
    req->max_wait_ms = a->max_wait_ms;
    req->min_bytes = a->min_bytes;
    req->max_bytes = a->max_bytes ? a->max_bytes : 52428800;
    req->isolation_level = 1;
    req->session_id = 0;
    req->session_epoch = -1;
    req->topics = ft;
    req->topics_count = 1;
    req->forgotten_topics_data_count = 0;
    req->rack_id = kafka_str_c("");
    ft->topic = kafka_str_c(a->topic ? a->topic : TOPIC);
    ft->partitions = fp;
    ft->partitions_count = 1;
    fp->partition = a->partition;
    fp->current_leader_epoch = -1;
    fp->fetch_offset = a->offset;
    fp->log_start_offset = -1;
    fp->partition_max_bytes = a->partition_max_bytes ? a->partition_max_bytes : 1048576;
}

static void send_fetch(conn_id conn, int16_t ver, int32_t corr, const fetch_args *a) {
    kafka_fetch_request req;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    fetch_msg(&req, &ft, &fp, a);
    SEND(conn, KAFKA_API_FETCH, ver, corr, fetch_request, &req);
}

static kafka_fetch_response_partition_data fetch_result(conn_id conn, int16_t ver, int32_t corr) {
    kafka_fetch_response resp;
    DECODE(conn, KAFKA_API_FETCH, ver, corr, fetch_response, &resp);
    cr_assert_eq(resp.throttle_time_ms, 0);
    if (ver >= 7) {
        cr_assert_eq(resp.error_code, 0);
        cr_assert_eq(resp.session_id, 0, "fetch sessions are declined");
    }
    cr_assert_eq(resp.responses_count, 1);
    cr_assert_eq(resp.responses[0].partitions_count, 1);
    kafka_fetch_response_partition_data pd = resp.responses[0].partitions[0];
    cr_assert_eq(pd.aborted_transactions_count <= 0, 1);
    if (ver >= 11) cr_assert_eq(pd.preferred_read_replica, -1);
    return pd;
}

/* A non-waiting fetch v11 of (partition, offset) on conn. */
static kafka_fetch_response_partition_data fetch_now(conn_id conn, int32_t corr, int32_t partition,
                                                     int64_t offset) {
    fetch_args a = {.offset = offset, .partition = partition};
    send_fetch(conn, 11, corr, &a);
    return fetch_result(conn, 11, corr);
}

/* Checks that records holds exactly the given batches, stored at base offsets from
 * `base` on, under leader epoch 0, with the producer's bytes otherwise intact. */
static void expect_batches(kafka_bytes records, int64_t base, const batch *const *bts, int n) {
    size_t pos = 0;
    int64_t offset = base;
    for (int i = 0; i < n; i++) {
        const batch *bt = bts[i];
        cr_assert(records.len >= 0 && pos + bt->len <= (size_t)records.len, "batch %d missing", i);
        const uint8_t *got = records.ptr + pos;
        cr_assert_eq(record_batch_validate(got, bt->len, NULL, 0), 0, "batch %d valid", i);
        cr_assert_eq(record_batch_base_offset(got), offset, "batch %d base offset", i);
        cr_assert_eq(record_batch_partition_leader_epoch(got), 0);
        cr_assert_eq(memcmp(got + 8, bt->bytes + 8, 4), 0, "batch %d length", i);
        cr_assert_eq(memcmp(got + 16, bt->bytes + 16, bt->len - 16), 0, "batch %d body", i);
        record_batch_iter it;
        cr_assert_eq(record_batch_iter_init(&it, got, bt->len), 0);
        record_batch_record rec;
        int k = 0;
        while (record_batch_iter_next(&it, &rec) == 1) {
            cr_assert_eq(rec.offset, offset + k);
            k++;
        }
        cr_assert_eq(k, bt->count);
        pos += bt->len;
        offset += bt->count;
    }
    cr_assert_eq(pos, records.len < 0 ? 0 : (size_t)records.len, "exactly the batches, no more");
}

static int16_t find_api(const kafka_api_versions_response *r, int16_t key, int16_t *lo,
                        int16_t *hi) {
    for (int32_t i = 0; i < r->api_keys_count; i++)
        if (r->api_keys[i].api_key == key) {
            *lo = r->api_keys[i].min_version;
            *hi = r->api_keys[i].max_version;
            return 1;
        }
    return 0;
}

static void expect_advertised(const kafka_api_versions_response *r) {
    static const int16_t want[][3] = {
        {KAFKA_API_PRODUCE, 0, 7},          {KAFKA_API_FETCH, 4, 11},
        {KAFKA_API_LIST_OFFSETS, 1, 3},     {KAFKA_API_METADATA, 0, 8},
        {KAFKA_API_API_VERSIONS, 0, 3},     {KAFKA_API_OFFSET_FOR_LEADER_EPOCH, 0, 3},
        {KAFKA_API_CREATE_TOPICS, 0, 4},    {KAFKA_API_DELETE_TOPICS, 0, 3},
        {KAFKA_API_OFFSET_COMMIT, 2, 7},    {KAFKA_API_OFFSET_FETCH, 1, 5},
        {KAFKA_API_FIND_COORDINATOR, 0, 2}, {KAFKA_API_JOIN_GROUP, 0, 5},
        {KAFKA_API_HEARTBEAT, 0, 3},        {KAFKA_API_LEAVE_GROUP, 0, 3},
        {KAFKA_API_SYNC_GROUP, 0, 3},       {KAFKA_API_DESCRIBE_GROUPS, 0, 4},
        {KAFKA_API_LIST_GROUPS, 0, 2},      {KAFKA_API_INIT_PRODUCER_ID, 0, 1}};
    cr_assert_eq(r->api_keys_count, (int32_t)(sizeof want / sizeof want[0]),
                 "exactly the implemented APIs are advertised");
    for (int32_t i = 0; i < r->api_keys_count; i++) /* inter-broker APIs stay hidden */
        cr_assert(r->api_keys[i].api_key != KAFKA_API_VOTE &&
                  r->api_keys[i].api_key != KAFKA_API_BROKER_HEARTBEAT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int16_t lo = -1, hi = -1;
        cr_assert(find_api(r, want[i][0], &lo, &hi), "api %d advertised", want[i][0]);
        cr_assert_eq(lo, want[i][1], "api %d min", want[i][0]);
        cr_assert_eq(hi, want[i][2], "api %d max", want[i][0]);
    }
}

/* ApiVersions v0 on conn answers correctly: the broker is still serving. */
static void expect_serving(conn_id conn, int32_t corr) {
    kafka_api_versions_request req;
    kafka_api_versions_request_init(&req);
    SEND(conn, KAFKA_API_API_VERSIONS, 0, corr, api_versions_request, &req);
    kafka_api_versions_response resp;
    DECODE(conn, KAFKA_API_API_VERSIONS, 0, corr, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, 0);
    expect_advertised(&resp);
}

/* ==== 1. ApiVersions ================================================================== */

/* librdkafka 2.0.2's first request: ApiVersions v3, request header v2 (int16
 * client_id, then an empty tag buffer), compact software name and version. */
static const uint8_t LIBRDKAFKA_API_VERSIONS_V3[] = {
    0x00, 0x00, 0x00, 0x24,                                         /* size 36 */
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,                 /* key 18, v3, corr 1 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a', 0x00,      /* client_id, tags */
    0x0b, 'l',  'i',  'b',  'r',  'd',  'k',  'a',  'f', 'k',  'a', /* software name */
    0x06, '2',  '.',  '0',  '.',  '2',  0x00,                       /* version, tags */
};

Test(broker, api_versions_v3_as_librdkafka_sends_it) {
    cr_assert_eq(sizeof LIBRDKAFKA_API_VERSIONS_V3, 40);
    connect_client(1);
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    wire_reader r = take_response(1, KAFKA_API_API_VERSIONS, 3, 1);
    /* Header v0: the body starts right after the correlation id (error 0, then the
     * compact array of api keys) — no tag buffer in between. */
    cr_assert_geq(r.len - r.pos, 3);
    cr_assert_eq(r.data[r.pos], 0);
    cr_assert_eq(r.data[r.pos + 1], 0);
    cr_assert_eq(r.data[r.pos + 2], 18 + 1, "compact array of the 18 advertised apis");
    kafka_api_versions_response resp;
    kafka_api_versions_response_init(&resp);
    cr_assert_eq(kafka_api_versions_response_decode(&resp, &r, 3, &A), 0);
    cr_assert_eq(r.pos, r.len);
    cr_assert_eq(resp.error_code, 0);
    cr_assert_eq(resp.throttle_time_ms, 0);
    expect_advertised(&resp);
    cr_assert_eq(F.close_calls, 0);
}

Test(broker, api_versions_v0_to_v3) {
    connect_client(1);
    for (int16_t v = 0; v <= 3; v++) {
        kafka_api_versions_request req;
        kafka_api_versions_request_init(&req);
        req.client_software_name = kafka_str_c("streamlab-test");
        req.client_software_version = kafka_str_c("1.0");
        SEND(1, KAFKA_API_API_VERSIONS, v, 10 + v, api_versions_request, &req);
        kafka_api_versions_response resp;
        DECODE(1, KAFKA_API_API_VERSIONS, v, 10 + v, api_versions_response, &resp);
        cr_assert_eq(resp.error_code, 0);
        expect_advertised(&resp);
    }
    expect_silence(1);
}

Test(broker, api_versions_v3_malformed_body_is_invalid_request) {
    connect_client(1);
    wire_writer w;
    req_begin(&w, KAFKA_API_API_VERSIONS, 3, 5, -1);
    wire_put_uvarint(&w, 40); /* a compact string claiming 39 bytes, none there */
    req_finish(&w);
    broker_on_bytes(B, 1, w.data, w.len);
    wire_writer_deinit(&w);
    kafka_api_versions_response resp;
    DECODE(1, KAFKA_API_API_VERSIONS, 3, 5, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, KAFKA_ERROR_INVALID_REQUEST);
    cr_assert_eq(F.close_calls, 0);
}

Test(broker, open_reports_start_and_leadership) {
    cr_assert_eq(F.observed[OBSERVE_BROKER_START], 1);
    cr_assert_eq(F.observed[OBSERVE_LEADER], PARTITIONS);
    cr_assert_eq(broker_node_id(B), 1);
    cr_assert_eq(broker_next_deadline_us(B) > F.now_us, 1, "nothing due at start");
    broker_on_timer(B); /* an early timer call is harmless */
    cr_assert_eq(F.sends, 0);
}

/* An ApiVersions version the broker does not know: UNSUPPORTED_VERSION in the v0
 * format with the broker's range, and the connection stays open for the retry. */
static void expect_unsupported_api_versions(int16_t ver, int header_version) {
    connect_client(1);
    wire_writer w;
    req_begin(&w, KAFKA_API_API_VERSIONS, ver, 77, header_version);
    /* A future body: compact strings and tags, as a newer client would send. */
    wire_put_compact_string(&w, "future-client", 13);
    wire_put_compact_string(&w, "9.9", 3);
    wire_put_uvarint(&w, 0);
    req_finish(&w);
    broker_on_bytes(B, 1, w.data, w.len);
    wire_writer_deinit(&w);
    kafka_api_versions_response resp;
    DECODE(1, KAFKA_API_API_VERSIONS, 0, 77, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, KAFKA_ERROR_UNSUPPORTED_VERSION);
    int16_t lo, hi;
    cr_assert(find_api(&resp, KAFKA_API_API_VERSIONS, &lo, &hi));
    cr_assert_eq(lo, 0);
    cr_assert_eq(hi, 3);
    cr_assert_eq(F.close_calls, 0, "never close on an unknown ApiVersions version");
    /* The client retries with a version from the range, on the same connection. */
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    DECODE(1, KAFKA_API_API_VERSIONS, 3, 1, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, 0);
    expect_silence(1);
}

Test(broker, api_versions_unknown_version_v9) {
    expect_unsupported_api_versions(9, 2);
}

Test(broker, api_versions_unknown_version_v9_header_v1) {
    expect_unsupported_api_versions(9, 1);
}

Test(broker, api_versions_v4_is_unsupported) {
    expect_unsupported_api_versions(4, 2);
}

/* ==== 2. Metadata ===================================================================== */

static void expect_brokers(const kafka_metadata_response *m) {
    cr_assert_eq(m->brokers_count, 1);
    cr_assert_eq(m->brokers[0].node_id, 1);
    cr_assert(kafka_str_eq(m->brokers[0].host, "broker-1"));
    cr_assert_eq(m->brokers[0].port, 9092);
}

static void expect_orders(const kafka_metadata_response_metadata_response_topic *t, int16_t ver) {
    cr_assert_eq(t->error_code, 0);
    cr_assert(kafka_str_eq(t->name, TOPIC));
    cr_assert_eq(t->partitions_count, PARTITIONS);
    for (int32_t p = 0; p < PARTITIONS; p++) {
        const kafka_metadata_response_metadata_response_partition *mp = &t->partitions[p];
        cr_assert_eq(mp->error_code, 0);
        cr_assert_eq(mp->partition_index, p);
        cr_assert_eq(mp->leader_id, 1);
        if (ver >= 7) cr_assert_eq(mp->leader_epoch, 0);
        cr_assert_eq(mp->replica_nodes_count, 1);
        cr_assert_eq(mp->replica_nodes[0], 1);
        cr_assert_eq(mp->isr_nodes_count, 1);
        cr_assert_eq(mp->isr_nodes[0], 1);
    }
}

Test(broker, metadata_v0_empty_list_means_all) {
    connect_client(1);
    kafka_metadata_request req;
    kafka_metadata_request_init(&req);
    req.topics_count = 0;
    SEND(1, KAFKA_API_METADATA, 0, 5, metadata_request, &req);
    kafka_metadata_response resp;
    DECODE(1, KAFKA_API_METADATA, 0, 5, metadata_response, &resp);
    expect_brokers(&resp);
    cr_assert_eq(resp.topics_count, 1);
    expect_orders(&resp.topics[0], 0);
}

Test(broker, metadata_v1_null_means_all_and_empty_means_none) {
    connect_client(1);
    kafka_metadata_request req;
    kafka_metadata_request_init(&req);
    req.topics = NULL;
    req.topics_count = -1;
    SEND(1, KAFKA_API_METADATA, 1, 6, metadata_request, &req);
    kafka_metadata_response resp;
    DECODE(1, KAFKA_API_METADATA, 1, 6, metadata_response, &resp);
    expect_brokers(&resp);
    cr_assert_eq(resp.controller_id, 1, "controller id is never -1");
    cr_assert_eq(resp.topics_count, 1);
    expect_orders(&resp.topics[0], 1);

    req.topics_count = 0; /* v1+: an empty list asks for no topic */
    SEND(1, KAFKA_API_METADATA, 1, 7, metadata_request, &req);
    DECODE(1, KAFKA_API_METADATA, 1, 7, metadata_response, &resp);
    cr_assert_eq(resp.topics_count, 0);
    cr_assert_eq(resp.controller_id, 1);
}

static void metadata_named(int16_t ver) {
    connect_client(1);
    kafka_metadata_request_metadata_request_topic topics[2];
    kafka_metadata_request_metadata_request_topic_init(&topics[0]);
    kafka_metadata_request_metadata_request_topic_init(&topics[1]);
    topics[0].name = kafka_str_c(TOPIC);
    topics[1].name = kafka_str_c("no-such-topic");
    kafka_metadata_request req;
    kafka_metadata_request_init(&req);
    req.topics = topics;
    req.topics_count = 2;
    req.allow_auto_topic_creation = 0;
    SEND(1, KAFKA_API_METADATA, ver, 8, metadata_request, &req);
    kafka_metadata_response resp;
    DECODE(1, KAFKA_API_METADATA, ver, 8, metadata_response, &resp);
    expect_brokers(&resp);
    if (ver >= 1) cr_assert_eq(resp.controller_id, 1);
    if (ver >= 2) cr_assert(kafka_str_eq(resp.cluster_id, "streamlab-cluster"));
    cr_assert_eq(resp.topics_count, 2);
    expect_orders(&resp.topics[0], ver);
    cr_assert(kafka_str_eq(resp.topics[1].name, "no-such-topic"));
    cr_assert_eq(resp.topics[1].error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_leq(resp.topics[1].partitions_count, 0);
    expect_silence(1);
}

Test(broker, metadata_v4_named_and_unknown) {
    metadata_named(4);
}

Test(broker, metadata_v8_named_and_unknown) {
    metadata_named(8);
}

Test(broker, metadata_every_version_decodes) {
    for (int16_t v = 0; v <= 8; v++) {
        metadata_named(v);
        broker_on_closed(B, 1);
    }
}

/* ==== 3. Produce ====================================================================== */

Test(broker, produce_v7_then_fetch_v11_returns_exactly_the_records) {
    connect_client(1);
    batch b1, b2, b3;
    make_batch(&b1, 3, "a", 10, 1000);
    make_batch(&b2, 1, "b", 10, 2000);
    make_batch(&b3, 5, "c", 10, 3000);
    cr_assert_eq(produce_ok(1, 1, 0, &b1), 0);
    cr_assert_eq(produce_ok(1, 2, 0, &b2), 3);
    cr_assert_eq(produce_ok(1, 3, 0, &b3), 4);
    cr_assert_eq(F.observed[OBSERVE_APPEND], 3);

    kafka_fetch_response_partition_data pd = fetch_now(1, 4, 0, 0);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, 9);
    cr_assert_eq(pd.last_stable_offset, pd.high_watermark);
    cr_assert_eq(pd.log_start_offset, 0);
    const batch *all[] = {&b1, &b2, &b3};
    expect_batches(pd.records, 0, all, 3);

    /* From the middle of a batch: whole batches from the one holding the offset. */
    pd = fetch_now(1, 5, 0, 4);
    const batch *last[] = {&b3};
    expect_batches(pd.records, 4, last, 1);

    /* The other partition is untouched. */
    pd = fetch_now(1, 6, 1, 0);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, 0);
    cr_assert_leq(pd.records.len, 0);
    expect_silence(1);
}

Test(broker, produce_v7_response_fields) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 2, "x", 5, 1000);
    send_produce(1, 7, 42, TOPIC, 1, bt.bytes, bt.len, 1);
    kafka_produce_response_partition_produce_response pr = produce_result(1, 7, 42, TOPIC, 1);
    cr_assert_eq(pr.error_code, 0);
    cr_assert_eq(pr.base_offset, 0);
    cr_assert_eq(pr.log_append_time_ms, -1);
    cr_assert_eq(pr.log_start_offset, 0);
}

Test(broker, produce_v3_to_v6_work) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 2, "v", 5, 1000);
    for (int16_t v = 3; v <= 6; v++) {
        send_produce(1, v, v, TOPIC, 0, bt.bytes, bt.len, 1);
        kafka_produce_response_partition_produce_response pr = produce_result(1, v, v, TOPIC, 0);
        cr_assert_eq(pr.error_code, 0, "v%d", v);
        cr_assert_eq(pr.base_offset, 2 * (v - 3), "v%d", v);
    }
    cr_assert_eq(fetch_now(1, 100, 0, 0).high_watermark, 8);
}

Test(broker, produce_v0_to_v2_unsupported_per_partition) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 1, "old", 5, 1000);
    for (int16_t v = 0; v <= 2; v++) {
        send_produce(1, v, 20 + v, TOPIC, 0, bt.bytes, bt.len, 1);
        kafka_produce_response_partition_produce_response pr =
            produce_result(1, v, 20 + v, TOPIC, 0);
        cr_assert_eq(pr.error_code, KAFKA_ERROR_UNSUPPORTED_VERSION, "v%d", v);
    }
    cr_assert_eq(F.close_calls, 0);
    cr_assert_eq(fetch_now(1, 30, 0, 0).high_watermark, 0, "nothing appended");
    cr_assert_eq(F.observed[OBSERVE_APPEND], 0);
}

Test(broker, produce_acks0_no_response_but_appended) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 4, "fire-and-forget", 5, 1000);
    send_produce(1, 7, 1, TOPIC, 0, bt.bytes, bt.len, 0);
    expect_silence(1);
    /* The next response on the connection is the next request's. */
    kafka_fetch_response_partition_data pd = fetch_now(1, 2, 0, 0);
    cr_assert_eq(pd.high_watermark, 4);
    const batch *all[] = {&bt};
    expect_batches(pd.records, 0, all, 1);
    expect_silence(1);
}

/* Apache Kafka closes the connection when an acks=0 produce fails
 * (KafkaApis.handleProduceRequest: "closeConnection" when acks == 0 and any
 * partition has an error), since the client gets no response that would tell it to
 * refresh its metadata.
 * BUG (deviation from Kafka): acks=0 to an unknown partition (or, later, to a
 * non-leader) is silently dropped and the connection stays open; Produce v7
 * acks=0 topic "orders" partition 9 -> expected env close, actual nothing. */
Test(broker, produce_acks0_error_closes_connection, .disabled = true) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 1, "lost", 5, 1000);
    send_produce(1, 7, 1, TOPIC, 9, bt.bytes, bt.len, 0);
    expect_silence(1);
    cr_assert_eq(F.closes[1], 1);
}

Test(broker, produce_invalid_acks) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 1, "x", 5, 1000);
    int16_t bad[] = {2, -2, 5};
    for (int i = 0; i < 3; i++) {
        send_produce(1, 7, i, TOPIC, 0, bt.bytes, bt.len, bad[i]);
        cr_assert_eq(produce_result(1, 7, i, TOPIC, 0).error_code,
                     KAFKA_ERROR_INVALID_REQUIRED_ACKS);
    }
    cr_assert_eq(fetch_now(1, 9, 0, 0).high_watermark, 0);
}

Test(broker, produce_corrupt_batch) {
    connect_client(1);
    batch good, bad;
    make_batch(&good, 2, "good", 5, 1000);
    make_batch(&bad, 3, "bad", 20, 1000);
    cr_assert_eq(produce_ok(1, 1, 0, &good), 0);
    bad.bytes[bad.len - 5] ^= 0x40; /* inside a record value: covered by the CRC */
    send_produce(1, 7, 2, TOPIC, 0, bad.bytes, bad.len, -1);
    cr_assert_eq(produce_result(1, 7, 2, TOPIC, 0).error_code, KAFKA_ERROR_CORRUPT_MESSAGE);
    /* An attribute flip (also CRC-covered) and a wrong magic. */
    make_batch(&bad, 3, "bad", 20, 1000);
    bad.bytes[22] ^= 0x01;
    send_produce(1, 7, 3, TOPIC, 0, bad.bytes, bad.len, -1);
    cr_assert_eq(produce_result(1, 7, 3, TOPIC, 0).error_code, KAFKA_ERROR_CORRUPT_MESSAGE);
    make_batch(&bad, 3, "bad", 20, 1000);
    bad.bytes[16] = 1;
    send_produce(1, 7, 4, TOPIC, 0, bad.bytes, bad.len, -1);
    cr_assert_eq(produce_result(1, 7, 4, TOPIC, 0).error_code, KAFKA_ERROR_CORRUPT_MESSAGE);
    /* A truncated batch inside a well-formed request. */
    make_batch(&bad, 3, "bad", 20, 1000);
    send_produce(1, 7, 5, TOPIC, 0, bad.bytes, bad.len - 7, -1);
    cr_assert_eq(produce_result(1, 7, 5, TOPIC, 0).error_code, KAFKA_ERROR_CORRUPT_MESSAGE);

    kafka_fetch_response_partition_data pd = fetch_now(1, 6, 0, 0);
    cr_assert_eq(pd.high_watermark, 2, "nothing of the corrupt batches appended");
    const batch *all[] = {&good};
    expect_batches(pd.records, 0, all, 1);
    cr_assert_eq(F.close_calls, 0);
}

Test(broker, produce_unknown_topic_or_partition) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 1, "x", 5, 1000);
    send_produce(1, 7, 1, "no-such-topic", 0, bt.bytes, bt.len, -1);
    cr_assert_eq(produce_result(1, 7, 1, "no-such-topic", 0).error_code,
                 KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    send_produce(1, 7, 2, TOPIC, PARTITIONS, bt.bytes, bt.len, -1);
    cr_assert_eq(produce_result(1, 7, 2, TOPIC, PARTITIONS).error_code,
                 KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    send_produce(1, 7, 3, TOPIC, -1, bt.bytes, bt.len, -1);
    cr_assert_eq(produce_result(1, 7, 3, TOPIC, -1).error_code,
                 KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
}

Test(broker, produce_several_topics_and_partitions_in_one_request) {
    connect_client(1);
    batch b0, b1;
    make_batch(&b0, 2, "p0", 5, 1000);
    make_batch(&b1, 3, "p1", 5, 1000);
    kafka_produce_request_partition_produce_data pds[2];
    kafka_produce_request_partition_produce_data_init(&pds[0]);
    kafka_produce_request_partition_produce_data_init(&pds[1]);
    pds[0].index = 0;
    pds[0].records = (kafka_bytes){b0.bytes, (int32_t)b0.len};
    pds[1].index = 1;
    pds[1].records = (kafka_bytes){b1.bytes, (int32_t)b1.len};
    kafka_produce_request_topic_produce_data tds[2];
    kafka_produce_request_topic_produce_data_init(&tds[0]);
    kafka_produce_request_topic_produce_data_init(&tds[1]);
    tds[0].name = kafka_str_c(TOPIC);
    tds[0].partition_data = pds;
    tds[0].partition_data_count = 2;
    tds[1].name = kafka_str_c("ghost");
    tds[1].partition_data = pds;
    tds[1].partition_data_count = 1;
    kafka_produce_request req;
    kafka_produce_request_init(&req);
    req.acks = -1;
    req.timeout_ms = 1000;
    req.topic_data = tds;
    req.topic_data_count = 2;
    SEND(1, KAFKA_API_PRODUCE, 7, 9, produce_request, &req);
    kafka_produce_response resp;
    DECODE(1, KAFKA_API_PRODUCE, 7, 9, produce_response, &resp);
    cr_assert_eq(resp.responses_count, 2);
    cr_assert_eq(resp.responses[0].partition_responses_count, 2);
    cr_assert_eq(resp.responses[0].partition_responses[0].error_code, 0);
    cr_assert_eq(resp.responses[0].partition_responses[1].error_code, 0);
    cr_assert_eq(resp.responses[1].partition_responses[0].error_code,
                 KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_eq(fetch_now(1, 10, 0, 0).high_watermark, 2);
    cr_assert_eq(fetch_now(1, 11, 1, 0).high_watermark, 3);
}

/* ==== 4. Fetch ======================================================================== */

Test(broker, fetch_at_log_end_parks_and_produce_wakes_it) {
    connect_client(1);
    connect_client(2);
    int64_t t0 = F.now_us;
    fetch_args a = {.offset = 0, .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 7, &a);
    expect_silence(1);
    cr_assert_eq(broker_next_deadline_us(B), t0 + 500 * 1000);

    F.now_us += 100 * 1000;
    batch bt;
    make_batch(&bt, 2, "wake", 5, 1000);
    cr_assert_eq(produce_ok(2, 1, 0, &bt), 0);
    kafka_fetch_response_partition_data pd = fetch_result(1, 11, 7);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, 2);
    cr_assert_eq(pd.last_stable_offset, 2);
    const batch *all[] = {&bt};
    expect_batches(pd.records, 0, all, 1);
    cr_assert_gt(broker_next_deadline_us(B), t0 + 500 * 1000, "no parked deadline left");
    /* The deadline passing later sends nothing more. */
    F.now_us = t0 + 600 * 1000;
    broker_on_timer(B);
    expect_silence(1);
    expect_silence(2);
}

Test(broker, fetch_woken_by_produce_on_other_partition_keeps_waiting) {
    connect_client(1);
    connect_client(2);
    int64_t t0 = F.now_us;
    fetch_args a = {.offset = 0, .max_wait_ms = 500, .min_bytes = 1, .partition = 1};
    send_fetch(1, 11, 7, &a);
    batch bt;
    make_batch(&bt, 2, "elsewhere", 5, 1000);
    cr_assert_eq(produce_ok(2, 1, 0, &bt), 0);
    expect_silence(1);
    cr_assert_eq(broker_next_deadline_us(B), t0 + 500 * 1000, "the deadline does not move");
    F.now_us = t0 + 500 * 1000;
    broker_on_timer(B);
    kafka_fetch_response_partition_data pd = fetch_result(1, 11, 7);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_leq(pd.records.len, 0);
}

Test(broker, fetch_parked_answers_empty_at_deadline) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 3, "x", 5, 1000);
    cr_assert_eq(produce_ok(1, 1, 0, &bt), 0);
    int64_t t0 = F.now_us;
    fetch_args a = {.offset = 3, .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 2, &a);
    expect_silence(1);
    int64_t deadline = broker_next_deadline_us(B);
    cr_assert_eq(deadline, t0 + 500 * 1000);
    F.now_us = deadline - 1;
    broker_on_timer(B);
    expect_silence(1);
    F.now_us = deadline;
    broker_on_timer(B);
    kafka_fetch_response_partition_data pd = fetch_result(1, 11, 2);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, 3);
    cr_assert_eq(pd.last_stable_offset, 3);
    cr_assert_eq(pd.log_start_offset, 0);
    cr_assert_leq(pd.records.len, 0);
    expect_silence(1);
    cr_assert_gt(broker_next_deadline_us(B), deadline);
}

Test(broker, fetch_min_bytes_waits_for_enough_then_deadline_returns_what_there_is) {
    connect_client(1);
    connect_client(2);
    batch b1;
    make_batch(&b1, 1, "small", 5, 1000);
    cr_assert_eq(produce_ok(2, 1, 0, &b1), 0);
    int64_t t0 = F.now_us;
    fetch_args a = {.offset = 0, .max_wait_ms = 300, .min_bytes = 100000};
    send_fetch(1, 11, 3, &a);
    expect_silence(1);
    cr_assert_eq(produce_ok(2, 2, 0, &b1), 1);
    expect_silence(1);
    F.now_us = t0 + 300 * 1000;
    broker_on_timer(B);
    kafka_fetch_response_partition_data pd = fetch_result(1, 11, 3);
    const batch *all[] = {&b1, &b1};
    expect_batches(pd.records, 0, all, 2);
}

/* Sums broker_partition_infos' fetch counters of partition `want` of TOPIC. */
typedef struct fetch_counts {
    int32_t want;
    uint64_t bytes_out, failed;
} fetch_counts;

static void add_fetch_counts(void *arg, const broker_partition_info *info) {
    fetch_counts *fc = arg;
    if (strcmp(info->topic, TOPIC) != 0 || info->partition != fc->want) return;
    fc->bytes_out += info->bytes_out;
    fc->failed += info->failed_fetches;
}

static fetch_counts counts_of(int32_t partition) {
    fetch_counts fc = {.want = partition};
    broker_partition_infos(B, add_fetch_counts, &fc);
    return fc;
}

/* BrokerTopicMetrics: record bytes counted once on the answer (a parked fetch that
 * is re-served does not count its retries), errors per partition and broker-wide. */
Test(broker, fetch_counts_bytes_out_and_failed_fetches) {
    connect_client(1);
    connect_client(2);
    batch b1;
    make_batch(&b1, 1, "small", 5, 1000);
    cr_assert_eq(produce_ok(2, 1, 0, &b1), 0);
    fetch_args a = {.offset = 0, .max_wait_ms = 300, .min_bytes = 100000};
    send_fetch(1, 11, 3, &a);
    cr_assert_eq(produce_ok(2, 2, 0, &b1), 1); /* re-serves the parked fetch */
    cr_assert_eq(counts_of(0).bytes_out, 0, "nothing answered yet");
    F.now_us += 300 * 1000;
    broker_on_timer(B);
    cr_assert_eq(fetch_result(1, 11, 3).records.len, (int32_t)(2 * b1.len));
    cr_assert_eq(counts_of(0).bytes_out, 2 * b1.len);
    cr_assert_eq(fetch_now(1, 4, 0, 1).records.len, (int32_t)b1.len);
    cr_assert_eq(counts_of(0).bytes_out, 3 * b1.len);
    cr_assert_eq(counts_of(0).failed, 0);
    cr_assert_eq(broker_failed_fetches(B), 0);
    cr_assert_eq(fetch_now(1, 5, 0, 1000).error_code, KAFKA_ERROR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(counts_of(0).failed, 1);
    fetch_args ghost = {.offset = 0, .topic = "ghost"};
    send_fetch(1, 11, 6, &ghost);
    cr_assert_eq(fetch_result(1, 11, 6).error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_eq(broker_failed_fetches(B), 2, "unknown topics count broker-wide");
    cr_assert_eq(counts_of(0).bytes_out, 3 * b1.len);
    cr_assert_eq(counts_of(1).bytes_out + counts_of(1).failed, 0);
}

Test(broker, fetch_max_wait_zero_answers_at_once) {
    connect_client(1);
    kafka_fetch_response_partition_data pd = fetch_now(1, 1, 0, 0);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, 0);
    cr_assert_leq(pd.records.len, 0);
}

Test(broker, fetch_out_of_range) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 3, "x", 5, 1000);
    cr_assert_eq(produce_ok(1, 1, 0, &bt), 0);
    cr_assert_eq(fetch_now(1, 2, 0, 4).error_code, KAFKA_ERROR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(fetch_now(1, 3, 0, 1000).error_code, KAFKA_ERROR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(fetch_now(1, 4, 0, -1).error_code, KAFKA_ERROR_OFFSET_OUT_OF_RANGE);
    cr_assert_eq(fetch_now(1, 5, 0, 3).error_code, 0, "exactly at the log end is not out of range");
    /* Out of range answers at once even with max_wait. */
    fetch_args a = {.offset = 4, .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 6, &a);
    cr_assert_eq(fetch_result(1, 11, 6).error_code, KAFKA_ERROR_OFFSET_OUT_OF_RANGE);
}

Test(broker, fetch_unknown_topic_or_partition) {
    connect_client(1);
    fetch_args a = {.offset = 0, .topic = "ghost", .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 1, &a);
    cr_assert_eq(fetch_result(1, 11, 1).error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    fetch_args b = {.offset = 0, .partition = 9};
    send_fetch(1, 11, 2, &b);
    cr_assert_eq(fetch_result(1, 11, 2).error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
}

Test(broker, fetch_kip74_first_batch_whole) {
    connect_client(1);
    batch big, small;
    make_batch(&big, 4, "big", 1000, 1000);
    make_batch(&small, 1, "small", 5, 2000);
    cr_assert_gt(big.len, 4000);
    cr_assert_eq(produce_ok(1, 1, 0, &big), 0);
    cr_assert_eq(produce_ok(1, 2, 0, &small), 4);
    /* partition_max_bytes far below the first batch: that batch, whole, alone. */
    fetch_args a = {.offset = 0, .partition_max_bytes = 10};
    send_fetch(1, 11, 3, &a);
    kafka_fetch_response_partition_data pd = fetch_result(1, 11, 3);
    cr_assert_eq(pd.error_code, 0);
    const batch *first[] = {&big};
    expect_batches(pd.records, 0, first, 1);
    /* The same with the request's max_bytes. */
    fetch_args b = {.offset = 0, .max_bytes = 1};
    send_fetch(1, 11, 4, &b);
    pd = fetch_result(1, 11, 4);
    expect_batches(pd.records, 0, first, 1);
    /* Room for both. */
    fetch_args c = {.offset = 0, .partition_max_bytes = (int32_t)(big.len + small.len)};
    send_fetch(1, 11, 5, &c);
    pd = fetch_result(1, 11, 5);
    const batch *both[] = {&big, &small};
    expect_batches(pd.records, 0, both, 2);
}

Test(broker, fetch_every_version_4_to_11) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 2, "ver", 5, 1000);
    cr_assert_eq(produce_ok(1, 1, 0, &bt), 0);
    for (int16_t v = 4; v <= 11; v++) {
        fetch_args a = {.offset = 0};
        send_fetch(1, v, 100 + v, &a);
        kafka_fetch_response_partition_data pd = fetch_result(1, v, 100 + v);
        cr_assert_eq(pd.error_code, 0, "v%d", v);
        cr_assert_eq(pd.high_watermark, 2);
        cr_assert_eq(pd.last_stable_offset, 2);
        if (v >= 5) cr_assert_eq(pd.log_start_offset, 0);
        const batch *all[] = {&bt};
        expect_batches(pd.records, 0, all, 1);
    }
}

/* Kafka's fetch purgatory completes every waiting fetch when data arrives. */
/* BUG: broker_partition_changed (core/broker.c) collects at most 64 parked
 * connections; with 70 parked fetches, a Produce answers the first 64 at once and
 * the other 6 only at their max_wait_ms deadline (with the data then). */
Test(broker, produce_wakes_more_than_64_parked_fetches, .disabled = true) {
    enum { WAITERS = 70 };
    for (conn_id c = 1; c <= WAITERS; c++) {
        connect_client(c);
        fetch_args a = {.offset = 0, .max_wait_ms = 500, .min_bytes = 1};
        send_fetch(c, 11, 1, &a);
    }
    connect_client(WAITERS + 1);
    batch bt;
    make_batch(&bt, 1, "all", 5, 1000);
    cr_assert_eq(produce_ok(WAITERS + 1, 1, 0, &bt), 0);
    int answered = 0;
    for (conn_id c = 1; c <= WAITERS; c++) answered += fake_pending(&F, c) > 0;
    cr_assert_eq(answered, WAITERS, "only %d of %d parked fetches answered", answered, WAITERS);
}

Test(broker, closing_a_parked_connection) {
    connect_client(1);
    connect_client(2);
    fetch_args a = {.offset = 0, .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 1, &a);
    broker_on_closed(B, 1);
    cr_assert_eq(broker_next_deadline_us(B) > F.now_us + 500 * 1000, 1, "no deadline for it");
    batch bt;
    make_batch(&bt, 1, "x", 5, 1000);
    cr_assert_eq(produce_ok(2, 1, 0, &bt), 0);
    F.now_us += 10 * 1000 * 1000;
    broker_on_timer(B);
    expect_silence(1);
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    expect_silence(1); /* bytes for a connection the broker no longer has are ignored */
}

/* ==== 5. ListOffsets ================================================================== */

static kafka_list_offsets_response_list_offsets_partition_response
list_offsets(conn_id conn, int16_t ver, int32_t corr, int32_t partition, int64_t timestamp) {
    kafka_list_offsets_request_list_offsets_partition lp;
    kafka_list_offsets_request_list_offsets_partition_init(&lp);
    lp.partition_index = partition;
    lp.current_leader_epoch = -1;
    lp.timestamp = timestamp;
    kafka_list_offsets_request_list_offsets_topic lt;
    kafka_list_offsets_request_list_offsets_topic_init(&lt);
    lt.name = kafka_str_c(TOPIC);
    lt.partitions = &lp;
    lt.partitions_count = 1;
    kafka_list_offsets_request req;
    kafka_list_offsets_request_init(&req);
    req.replica_id = -1;
    req.isolation_level = 1;
    req.topics = &lt;
    req.topics_count = 1;
    SEND(conn, KAFKA_API_LIST_OFFSETS, ver, corr, list_offsets_request, &req);
    kafka_list_offsets_response resp;
    DECODE(conn, KAFKA_API_LIST_OFFSETS, ver, corr, list_offsets_response, &resp);
    cr_assert_eq(resp.topics_count, 1);
    cr_assert(kafka_str_eq(resp.topics[0].name, TOPIC));
    cr_assert_eq(resp.topics[0].partitions_count, 1);
    cr_assert_eq(resp.topics[0].partitions[0].partition_index, partition);
    return resp.topics[0].partitions[0];
}

Test(broker, list_offsets_v1_v2_v3) {
    connect_client(1);
    batch b1, b2, b3;
    make_batch(&b1, 2, "t1", 5, 1000); /* offsets 0-1, ts 1000-1001 */
    make_batch(&b2, 3, "t2", 5, 2000); /* offsets 2-4, ts 2000-2002 */
    make_batch(&b3, 1, "t3", 5, 3000); /* offset 5, ts 3000 */
    produce_ok(1, 1, 0, &b1);
    produce_ok(1, 2, 0, &b2);
    produce_ok(1, 3, 0, &b3);
    for (int16_t v = 1; v <= 3; v++) {
        kafka_list_offsets_response_list_offsets_partition_response r;
        r = list_offsets(1, v, 10 * v, 0, -2);
        cr_assert_eq(r.error_code, 0);
        cr_assert_eq(r.offset, 0, "v%d earliest", v);
        r = list_offsets(1, v, 10 * v + 1, 0, -1);
        cr_assert_eq(r.error_code, 0);
        cr_assert_eq(r.offset, 6, "v%d latest = high watermark", v);
        r = list_offsets(1, v, 10 * v + 2, 0, 1500);
        cr_assert_eq(r.offset, 2, "v%d first batch at/after 1500", v);
        cr_assert_eq(r.timestamp, 2002);
        r = list_offsets(1, v, 10 * v + 3, 0, 999);
        cr_assert_eq(r.offset, 0, "v%d before everything", v);
        r = list_offsets(1, v, 10 * v + 4, 0, 3000);
        cr_assert_eq(r.offset, 5);
        cr_assert_eq(r.timestamp, 3000);
        r = list_offsets(1, v, 10 * v + 5, 0, 3001);
        cr_assert_eq(r.error_code, 0);
        cr_assert_eq(r.offset, -1, "v%d nothing at/after 3001", v);
        cr_assert_eq(r.timestamp, -1);
        r = list_offsets(1, v, 10 * v + 6, 1, -1);
        cr_assert_eq(r.offset, 0, "empty partition");
        r = list_offsets(1, v, 10 * v + 7, 7, -1);
        cr_assert_eq(r.error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    expect_silence(1);
}

/* Kafka (UnifiedLog.fetchOffsetByTimestamp -> LogSegment.findOffsetByTimestamp)
 * answers the first *record* whose timestamp is >= the target, with that record's
 * timestamp, not the base offset of its batch.
 * BUG (deviation from Kafka, by design per handle_list_offsets.c): for a batch of
 * records with timestamps 2000,2001,2002 at offsets 2..4, ListOffsets(ts=2001)
 * answers offset 2 / timestamp 2002; Kafka answers offset 3 / timestamp 2001.  A
 * consumer seeking by time then re-reads records older than the target. */
Test(broker, list_offsets_timestamp_inside_a_batch, .disabled = true) {
    connect_client(1);
    batch b1, b2;
    make_batch(&b1, 2, "t1", 5, 1000);
    make_batch(&b2, 3, "t2", 5, 2000);
    produce_ok(1, 1, 0, &b1);
    produce_ok(1, 2, 0, &b2);
    kafka_list_offsets_response_list_offsets_partition_response r = list_offsets(1, 1, 3, 0, 2001);
    cr_assert_eq(r.offset, 3);
    cr_assert_eq(r.timestamp, 2001);
}

/* ==== 6. Ordering ===================================================================== */

static void ordering(int wake_by_produce) {
    connect_client(1);
    connect_client(2);
    int64_t t0 = F.now_us;
    wire_writer both;
    kafka_fetch_request fr;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    fetch_args a = {.offset = 0, .max_wait_ms = 500, .min_bytes = 1};
    fetch_msg(&fr, &ft, &fp, &a);
    ENCODE(&both, KAFKA_API_FETCH, 11, 100, fetch_request, &fr);
    wire_writer md;
    kafka_metadata_request mr;
    kafka_metadata_request_init(&mr);
    mr.topics_count = -1;
    ENCODE(&md, KAFKA_API_METADATA, 8, 101, metadata_request, &mr);
    wire_put_raw(&both, md.data, md.len);
    wire_writer_deinit(&md);
    broker_on_bytes(B, 1, both.data, both.len);
    wire_writer_deinit(&both);
    expect_silence(1); /* the metadata waits behind the parked fetch */
    if (wake_by_produce) {
        batch bt;
        make_batch(&bt, 1, "go", 5, 1000);
        cr_assert_eq(produce_ok(2, 1, 0, &bt), 0);
    } else {
        F.now_us = t0 + 500 * 1000;
        broker_on_timer(B);
    }
    kafka_fetch_response_partition_data pd = fetch_result(1, 11, 100);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, wake_by_produce ? 1 : 0);
    kafka_metadata_response resp;
    DECODE(1, KAFKA_API_METADATA, 8, 101, metadata_response, &resp);
    cr_assert_eq(resp.topics_count, 1);
    expect_silence(1);
}

Test(broker, responses_in_request_order_woken_by_produce) {
    ordering(1);
}

Test(broker, responses_in_request_order_woken_by_deadline) {
    ordering(0);
}

Test(broker, request_arriving_while_parked_waits_its_turn) {
    connect_client(1);
    int64_t t0 = F.now_us;
    fetch_args a = {.offset = 0, .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 1, &a);
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3 - 7);
    expect_silence(1);
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3 + sizeof LIBRDKAFKA_API_VERSIONS_V3 - 7, 7);
    expect_silence(1);
    F.now_us = t0 + 500 * 1000;
    broker_on_timer(B);
    cr_assert_eq(fetch_result(1, 11, 1).error_code, 0);
    kafka_api_versions_response resp;
    DECODE(1, KAFKA_API_API_VERSIONS, 3, 1, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, 0);
    expect_silence(1);
}

Test(broker, pipelined_requests_all_answered_in_order) {
    connect_client(1);
    batch bt;
    make_batch(&bt, 1, "pipe", 5, 1000);
    wire_writer all;
    wire_writer_init(&all);
    for (int i = 0; i < 20; i++) {
        wire_writer w;
        if (i % 2 == 0) {
            kafka_produce_request req;
            kafka_produce_request_topic_produce_data td;
            kafka_produce_request_partition_produce_data pd;
            produce_msg(&req, &td, &pd, TOPIC, 0, bt.bytes, bt.len, 1);
            ENCODE(&w, KAFKA_API_PRODUCE, 7, i, produce_request, &req);
        } else {
            kafka_api_versions_request req;
            kafka_api_versions_request_init(&req);
            ENCODE(&w, KAFKA_API_API_VERSIONS, 3, i, api_versions_request, &req);
        }
        wire_put_raw(&all, w.data, w.len);
        wire_writer_deinit(&w);
    }
    broker_on_bytes(B, 1, all.data, all.len);
    wire_writer_deinit(&all);
    for (int i = 0; i < 20; i++) {
        if (i % 2 == 0) {
            kafka_produce_response_partition_produce_response pr =
                produce_result(1, 7, i, TOPIC, 0);
            cr_assert_eq(pr.error_code, 0);
            cr_assert_eq(pr.base_offset, i / 2);
        } else {
            kafka_api_versions_response resp;
            DECODE(1, KAFKA_API_API_VERSIONS, 3, i, api_versions_response, &resp);
            cr_assert_eq(resp.error_code, 0);
        }
    }
    expect_silence(1);
}

/* ==== 7. Framing and bad input ========================================================== */

Test(broker, request_in_one_byte_chunks) {
    connect_client(1);
    for (size_t i = 0; i < sizeof LIBRDKAFKA_API_VERSIONS_V3; i++) {
        expect_silence(1);
        broker_on_bytes(B, 1, &LIBRDKAFKA_API_VERSIONS_V3[i], 1);
    }
    kafka_api_versions_response resp;
    DECODE(1, KAFKA_API_API_VERSIONS, 3, 1, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, 0);

    batch bt;
    make_batch(&bt, 3, "chunk", 30, 1000);
    kafka_produce_request req;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd;
    produce_msg(&req, &td, &pd, TOPIC, 0, bt.bytes, bt.len, -1);
    wire_writer w;
    ENCODE(&w, KAFKA_API_PRODUCE, 7, 2, produce_request, &req);
    for (size_t i = 0; i < w.len; i++) broker_on_bytes(B, 1, &w.data[i], 1);
    wire_writer_deinit(&w);
    cr_assert_eq(produce_result(1, 7, 2, TOPIC, 0).error_code, 0);
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, 0); /* an empty read is harmless */
    kafka_fetch_response_partition_data fpd = fetch_now(1, 3, 0, 0);
    const batch *all[] = {&bt};
    expect_batches(fpd.records, 0, all, 1);
}

/* BUG: broker_on_bytes with len 0 is undefined behaviour in frame_reader_feed
 * (core/framing.c:35): memcpy(r->buf + r->len, bytes, 0) with r->buf NULL on a
 * connection that has received nothing yet (and with bytes NULL, as a driver may
 * pass for an empty read).  UBSan: "null pointer passed as argument 1/2, which is
 * declared to never be null".  Expected: an empty read does nothing. */
Test(broker, empty_read_on_fresh_connection, .disabled = true) {
    connect_client(1);
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, 0);
    broker_on_bytes(B, 1, NULL, 0);
    expect_serving(1, 1);
}

/* Feeds bytes on a fresh connection 1 and expects the broker to close it (once),
 * then checks that connection 2 is still served. */
static void expect_closed_after(const uint8_t *bytes, size_t len) {
    connect_client(1);
    connect_client(2);
    broker_on_bytes(B, 1, bytes, len);
    cr_assert_eq(F.closes[1], 1, "connection closed once (got %d)", F.closes[1]);
    expect_silence(1);
    /* Further bytes, and the driver's on_closed, are harmless. */
    broker_on_bytes(B, 1, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    broker_on_closed(B, 1);
    expect_silence(1);
    cr_assert_eq(F.closes[1], 1);
    expect_serving(2, 500);
    broker_on_bytes(B, 2, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    kafka_api_versions_response resp;
    DECODE(2, KAFKA_API_API_VERSIONS, 3, 1, api_versions_response, &resp);
    cr_assert_eq(resp.error_code, 0);
    cr_assert_eq(F.close_calls, 1);
}

Test(broker, garbage_http_closes) {
    const char *http = "GET / HTTP/1.1\r\nHost: broker-1\r\n\r\n";
    expect_closed_after((const uint8_t *)http, strlen(http));
}

Test(broker, garbage_random_frame_closes) {
    uint8_t buf[4 + 64];
    prng rng;
    prng_seed(&rng, 12345);
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)prng_next(&rng);
    buf[0] = 0, buf[1] = 0, buf[2] = 0, buf[3] = 64; /* a well-sized frame of noise */
    buf[4] = 0x7f;                                   /* an api key that exists nowhere */
    expect_closed_after(buf, sizeof buf);
}

Test(broker, frame_above_request_bytes_max_closes) {
    int32_t size = CFG.request_bytes_max + 1;
    uint8_t hdr[4] = {(uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8),
                      (uint8_t)size};
    expect_closed_after(hdr, sizeof hdr);
}

Test(broker, frame_above_small_request_bytes_max_closes) {
    broker_destroy(B);
    CFG.request_bytes_max = 64;
    open_broker();
    /* The librdkafka request (36 bytes) still fits ... */
    connect_client(3);
    broker_on_bytes(B, 3, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    kafka_api_versions_response resp;
    DECODE(3, KAFKA_API_API_VERSIONS, 3, 1, api_versions_response, &resp);
    /* ... a 65-byte frame does not, even before its body arrives. */
    uint8_t hdr[4] = {0, 0, 0, 65};
    expect_closed_after(hdr, sizeof hdr);
}

Test(broker, negative_frame_size_closes) {
    uint8_t hdr[8] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0};
    expect_closed_after(hdr, sizeof hdr);
}

Test(broker, frame_shorter_than_header_closes) {
    uint8_t f[4 + 5] = {0, 0, 0, 5, 0x00, 0x03, 0x00, 0x01, 0x00}; /* Metadata v1, cut */
    expect_closed_after(f, sizeof f);
}

Test(broker, empty_frame_closes) {
    uint8_t f[4] = {0, 0, 0, 0};
    expect_closed_after(f, sizeof f);
}

Test(broker, header_cut_inside_client_id_closes) {
    /* Metadata v1, correlation id, then a client_id claiming 20 bytes with 2 there. */
    uint8_t f[] = {0, 0, 0, 12, 0x00, 0x03, 0x00, 0x01, 0, 0, 0, 9, 0x00, 0x14, 'a', 'b'};
    expect_closed_after(f, sizeof f);
}

/* Apache Kafka closes the connection on an unknown api key: the request header
 * cannot be parsed (ApiKeys.forId throws), SocketServer logs and closes. */
Test(broker, unknown_api_key_closes) {
    wire_writer w;
    req_begin(&w, 999, 0, 3, 1);
    wire_put_i32(&w, 0);
    req_finish(&w);
    expect_closed_after(w.data, w.len);
    wire_writer_deinit(&w);
}

/* A known but unadvertised api (OffsetCommit, not implemented yet) closes too. */
Test(broker, unadvertised_api_closes) {
    wire_writer w;
    req_begin(&w, KAFKA_API_OFFSET_COMMIT, 7, 3, 1);
    wire_put_i32(&w, 0);
    req_finish(&w);
    expect_closed_after(w.data, w.len);
    wire_writer_deinit(&w);
}

/* Kafka closes on a version it does not support (except ApiVersions). */
Test(broker, fetch_v3_closes) {
    fetch_args a = {.offset = 0};
    kafka_fetch_request fr;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    fetch_msg(&fr, &ft, &fp, &a);
    wire_writer w;
    ENCODE(&w, KAFKA_API_FETCH, 3, 4, fetch_request, &fr);
    expect_closed_after(w.data, w.len);
    wire_writer_deinit(&w);
}

Test(broker, versions_above_advertised_close) {
    kafka_metadata_request mr;
    kafka_metadata_request_init(&mr);
    wire_writer w;
    ENCODE(&w, KAFKA_API_METADATA, 9, 4, metadata_request, &mr);
    expect_closed_after(w.data, w.len);
    wire_writer_deinit(&w);
}

Test(broker, truncated_produce_body_closes) {
    batch bt;
    make_batch(&bt, 3, "cut", 30, 1000);
    kafka_produce_request req;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd;
    produce_msg(&req, &td, &pd, TOPIC, 0, bt.bytes, bt.len, -1);
    wire_writer w;
    ENCODE(&w, KAFKA_API_PRODUCE, 7, 5, produce_request, &req);
    w.len -= 10; /* the records field claims 10 bytes more than the frame holds */
    wire_patch_i32(&w, 0, (int32_t)(w.len - 4));
    expect_closed_after(w.data, w.len);
    wire_writer_deinit(&w);
    cr_assert_eq(F.observed[OBSERVE_APPEND], 0);
    cr_assert_eq(fetch_now(2, 900, 0, 0).high_watermark, 0, "nothing appended");
}

Test(broker, bad_frame_after_good_ones_answers_the_good_ones_first) {
    connect_client(1);
    wire_writer all;
    wire_writer_init(&all);
    wire_put_raw(&all, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    uint8_t bad[] = {0, 0, 0, 8, 0x03, 0xe7, 0, 0, 0, 0, 0, 2}; /* api 999 */
    wire_put_raw(&all, bad, sizeof bad);
    wire_put_raw(&all, LIBRDKAFKA_API_VERSIONS_V3, sizeof LIBRDKAFKA_API_VERSIONS_V3);
    broker_on_bytes(B, 1, all.data, all.len);
    wire_writer_deinit(&all);
    kafka_api_versions_response resp;
    DECODE(1, KAFKA_API_API_VERSIONS, 3, 1, api_versions_response, &resp);
    cr_assert_eq(F.closes[1], 1);
    expect_silence(1); /* nothing after the bad frame */
}

/* Valid frames of every api and several versions, for the mutation loop. */
typedef struct frame_set {
    wire_writer frames[16];
    int count;
} frame_set;

static wire_writer *next_frame(frame_set *s) {
    cr_assert_lt(s->count, 16);
    return &s->frames[s->count++];
}

static void frame_set_build(frame_set *s, const batch *bt) {
    s->count = 0;
    kafka_api_versions_request av;
    kafka_api_versions_request_init(&av);
    av.client_software_name = kafka_str_c("fuzz");
    av.client_software_version = kafka_str_c("1");
    ENCODE(next_frame(s), KAFKA_API_API_VERSIONS, 0, 1, api_versions_request, &av);
    ENCODE(next_frame(s), KAFKA_API_API_VERSIONS, 3, 1, api_versions_request, &av);
    kafka_metadata_request_metadata_request_topic mt;
    kafka_metadata_request_metadata_request_topic_init(&mt);
    mt.name = kafka_str_c(TOPIC);
    kafka_metadata_request mr;
    kafka_metadata_request_init(&mr);
    mr.topics = &mt;
    mr.topics_count = 1;
    ENCODE(next_frame(s), KAFKA_API_METADATA, 0, 1, metadata_request, &mr);
    ENCODE(next_frame(s), KAFKA_API_METADATA, 4, 1, metadata_request, &mr);
    ENCODE(next_frame(s), KAFKA_API_METADATA, 8, 1, metadata_request, &mr);
    kafka_produce_request pr;
    kafka_produce_request_topic_produce_data td;
    kafka_produce_request_partition_produce_data pd;
    produce_msg(&pr, &td, &pd, TOPIC, 0, bt->bytes, bt->len, -1);
    ENCODE(next_frame(s), KAFKA_API_PRODUCE, 3, 1, produce_request, &pr);
    ENCODE(next_frame(s), KAFKA_API_PRODUCE, 7, 1, produce_request, &pr);
    pr.acks = 0;
    ENCODE(next_frame(s), KAFKA_API_PRODUCE, 7, 1, produce_request, &pr);
    kafka_fetch_request fr;
    kafka_fetch_request_fetch_topic ft;
    kafka_fetch_request_fetch_partition fp;
    fetch_args fa = {.offset = 0, .max_wait_ms = 0};
    fetch_msg(&fr, &ft, &fp, &fa);
    ENCODE(next_frame(s), KAFKA_API_FETCH, 4, 1, fetch_request, &fr);
    ENCODE(next_frame(s), KAFKA_API_FETCH, 11, 1, fetch_request, &fr);
    fr.max_wait_ms = 50;
    fr.min_bytes = 1;
    fp.fetch_offset = 1;
    ENCODE(next_frame(s), KAFKA_API_FETCH, 11, 1, fetch_request, &fr);
    kafka_list_offsets_request_list_offsets_partition lp;
    kafka_list_offsets_request_list_offsets_partition_init(&lp);
    lp.timestamp = 1000;
    kafka_list_offsets_request_list_offsets_topic lt;
    kafka_list_offsets_request_list_offsets_topic_init(&lt);
    lt.name = kafka_str_c(TOPIC);
    lt.partitions = &lp;
    lt.partitions_count = 1;
    kafka_list_offsets_request lr;
    kafka_list_offsets_request_init(&lr);
    lr.replica_id = -1;
    lr.topics = &lt;
    lr.topics_count = 1;
    ENCODE(next_frame(s), KAFKA_API_LIST_OFFSETS, 1, 1, list_offsets_request, &lr);
    ENCODE(next_frame(s), KAFKA_API_LIST_OFFSETS, 3, 1, list_offsets_request, &lr);
}

Test(broker, mutated_frames_never_crash) {
    batch bt;
    make_batch(&bt, 3, "fuzz", 20, 1000);
    frame_set s;
    frame_set_build(&s, &bt);
    prng rng;
    prng_seed(&rng, 0x5eed);
    uint8_t buf[16384];
    conn_id next = 1;
    int closed = 0, answered = 0;
    for (int iter = 0; iter < 2000; iter++) {
        const wire_writer *src = &s.frames[prng_next(&rng) % (uint64_t)s.count];
        size_t len = src->len;
        cr_assert_leq(len, sizeof buf);
        memcpy(buf, src->data, len);
        int mutations = 1 + (int)(prng_next(&rng) % 4);
        for (int m = 0; m < mutations; m++) {
            uint64_t kind = prng_next(&rng) % 10;
            size_t at = 4 + (size_t)(prng_next(&rng) % (len - 4));
            if (kind < 5) {
                buf[at] ^= (uint8_t)(1u << (prng_next(&rng) % 8));
            } else if (kind < 7) {
                buf[at] = (uint8_t)prng_next(&rng);
            } else if (kind < 8) {
                static const uint8_t extremes[] = {0x00, 0x7f, 0x80, 0xff};
                buf[at] = extremes[prng_next(&rng) % 4];
            } else if (kind < 9) {
                len = at; /* truncate the frame (size patched below) */
            } else {
                size_t extra = (size_t)(prng_next(&rng) % 16); /* trailing junk */
                for (size_t k = 0; k < extra && len < sizeof buf; k++)
                    buf[len++] = (uint8_t)prng_next(&rng);
            }
            if (len <= 4) break;
        }
        if (prng_next(&rng) % 8 != 0) { /* mostly keep the size right */
            uint32_t size = (uint32_t)(len - 4);
            buf[0] = (uint8_t)(size >> 24), buf[1] = (uint8_t)(size >> 16);
            buf[2] = (uint8_t)(size >> 8), buf[3] = (uint8_t)size;
        }
        conn_id c = next++;
        if (next >= FAKE_CONNS_MAX / 2) next = 1;
        F.out[c].len = F.out[c].pos = 0;
        int closes_before = F.closes[c];
        connect_client(c);
        /* Deliver in random chunks. */
        size_t pos = 0;
        while (pos < len) {
            size_t n = 1 + (size_t)(prng_next(&rng) % (len - pos));
            broker_on_bytes(B, c, buf + pos, n);
            pos += n;
        }
        if (prng_next(&rng) % 4 == 0) {
            F.now_us += 60 * 1000;
            broker_on_timer(B);
        }
        closed += F.closes[c] != closes_before;
        answered += fake_pending(&F, c) > 0;
        broker_on_closed(B, c);
    }
    cr_assert_gt(closed, 0);
    cr_assert_gt(answered, 0);
    for (int i = 0; i < s.count; i++) wire_writer_deinit(&s.frames[i]);
    /* Still serving, and the log reads back as valid batches. */
    conn_id c = FAKE_CONNS_MAX / 2 - 1;
    F.out[c].len = F.out[c].pos = 0;
    connect_client(c);
    expect_serving(c, 1);
    kafka_fetch_response_partition_data pd = fetch_now(c, 2, 0, 0);
    cr_assert_eq(pd.error_code, 0);
    size_t covered = 0;
    while (pd.records.len > 0 && covered < (size_t)pd.records.len) {
        const uint8_t *b = pd.records.ptr + covered;
        size_t blen = record_batch_total_bytes(b);
        cr_assert_eq(record_batch_validate(b, blen, NULL, 0), 0);
        covered += blen;
    }
}

/* ==== 8. Restart and power-off ========================================================== */

Test(broker, restart_keeps_the_log) {
    connect_client(1);
    batch b1, b2;
    make_batch(&b1, 3, "r1", 50, 1000);
    make_batch(&b2, 2, "r2", 50, 2000);
    cr_assert_eq(produce_ok(1, 1, 0, &b1), 0);
    cr_assert_eq(produce_ok(1, 2, 0, &b2), 3);
    cr_assert_eq(produce_ok(1, 3, 1, &b2), 0);
    fetch_args a = {.offset = 5, .max_wait_ms = 500, .min_bytes = 1};
    send_fetch(1, 11, 4, &a); /* parked when the crash comes: nothing leaks */
    expect_silence(1);
    broker_destroy(B); /* a crash: the struct is gone, storage stays */
    B = NULL;
    open_broker();
    connect_client(2);
    kafka_fetch_response_partition_data pd = fetch_now(2, 1, 0, 0);
    cr_assert_eq(pd.error_code, 0);
    cr_assert_eq(pd.high_watermark, 5);
    const batch *all[] = {&b1, &b2};
    expect_batches(pd.records, 0, all, 2);
    pd = fetch_now(2, 2, 1, 0);
    cr_assert_eq(pd.high_watermark, 2);
    cr_assert_eq(list_offsets(2, 2, 3, 0, -1).offset, 5, "log end preserved");
    cr_assert_eq(produce_ok(2, 4, 0, &b1), 5, "appends continue at the old end");
}

/* With flush_interval_ms -1 nothing is synced: a power-off loses the unsynced data
 * (possibly keeping a torn tail), and the broker reopens on what is left. */
Test(broker, power_off_loses_unsynced_and_reopens_cleanly) {
    for (uint64_t seed = 0; seed < 24; seed++) {
        broker_destroy(B);
        fake_env_deinit(&F);
        mem_storage_destroy(MEM);
        MEM = mem_storage_create();
        fake_env_init(&F, MEM, 1);
        cr_assert_eq(CFG.flush_interval_ms, -1);
        open_broker();
        connect_client(1);
        batch bt;
        for (int i = 0; i < 4; i++) {
            make_batch(&bt, 2, "p", 100, 1000 + i);
            produce_ok(1, i, 0, &bt);
        }
        broker_destroy(B);
        B = NULL;
        mem_storage_power_off(MEM, 1, seed * 7919);
        open_broker();
        connect_client(2);
        kafka_fetch_response_partition_data pd = fetch_now(2, 1, 0, 0);
        cr_assert_eq(pd.error_code, 0);
        int64_t end = pd.high_watermark;
        cr_assert(end >= 0 && end <= 8 && end % 2 == 0, "seed %llu: end %lld",
                  (unsigned long long)seed, (long long)end);
        /* Whatever survived is whole, valid batches from offset 0. */
        size_t covered = 0;
        int64_t next = 0;
        while (pd.records.len > 0 && covered < (size_t)pd.records.len) {
            const uint8_t *b = pd.records.ptr + covered;
            size_t blen = record_batch_total_bytes(b);
            cr_assert_eq(record_batch_validate(b, blen, NULL, 0), 0);
            cr_assert_eq(record_batch_base_offset(b), next);
            next = record_batch_last_offset(b) + 1;
            covered += blen;
        }
        cr_assert_eq(next, end);
        make_batch(&bt, 1, "after", 5, 5000);
        cr_assert_eq(produce_ok(2, 9, 0, &bt), end, "seed %llu", (unsigned long long)seed);
        pd = fetch_now(2, 10, 0, end);
        const batch *one[] = {&bt};
        expect_batches(pd.records, end, one, 1);
    }
}

/* flush_interval_ms 0 syncs every append: a power-off loses nothing. */
Test(broker, power_off_with_sync_on_every_append_loses_nothing) {
    broker_destroy(B);
    CFG.flush_interval_ms = 0;
    open_broker();
    connect_client(1);
    batch b1, b2;
    make_batch(&b1, 2, "s1", 40, 1000);
    make_batch(&b2, 3, "s2", 40, 2000);
    produce_ok(1, 1, 0, &b1);
    produce_ok(1, 2, 0, &b2);
    broker_destroy(B);
    B = NULL;
    mem_storage_power_off(MEM, 1, 12345);
    open_broker();
    connect_client(2);
    kafka_fetch_response_partition_data pd = fetch_now(2, 1, 0, 0);
    const batch *all[] = {&b1, &b2};
    expect_batches(pd.records, 0, all, 2);
}

/* With a flush interval the timer syncs: what was produced before the flush
 * deadline survives a power-off. */
Test(broker, power_off_after_timer_flush_keeps_flushed_data) {
    broker_destroy(B);
    CFG.flush_interval_ms = 1000;
    open_broker();
    int64_t t0 = F.now_us;
    cr_assert_eq(broker_next_deadline_us(B), t0 + 1000 * 1000);
    connect_client(1);
    batch b1;
    make_batch(&b1, 2, "f1", 40, 1000);
    produce_ok(1, 1, 0, &b1);
    F.now_us = broker_next_deadline_us(B);
    broker_on_timer(B);
    broker_destroy(B);
    B = NULL;
    mem_storage_power_off(MEM, 1, 99);
    open_broker();
    connect_client(2);
    kafka_fetch_response_partition_data pd = fetch_now(2, 1, 0, 0);
    const batch *all[] = {&b1};
    expect_batches(pd.records, 0, all, 1);
}

/* ---- idempotent producers ------------------------------------------------------------ */

/* InitProducerId (transactional id null) on conn; returns the producer id. */
static int64_t init_producer_id(conn_id conn, int16_t ver, int32_t corr) {
    kafka_init_producer_id_request req;
    kafka_init_producer_id_request_init(&req);
    req.transactional_id = kafka_str_c(NULL);
    req.transaction_timeout_ms = 60000;
    SEND(conn, KAFKA_API_INIT_PRODUCER_ID, ver, corr, init_producer_id_request, &req);
    kafka_init_producer_id_response resp;
    DECODE(conn, KAFKA_API_INIT_PRODUCER_ID, ver, corr, init_producer_id_response, &resp);
    cr_assert_eq(resp.error_code, 0, "InitProducerId v%d error %d", ver, resp.error_code);
    cr_assert_eq(resp.producer_epoch, 0, "epochs start at 0");
    cr_assert_geq(resp.producer_id, 0);
    return resp.producer_id;
}

/* make_batch, stamped as an idempotent producer stamps it. */
static void make_idempotent(batch *bt, int n, const char *tag, int64_t pid, int16_t epoch,
                            int32_t sequence) {
    make_batch(bt, n, tag, 10, 1000);
    record_batch_set_producer(bt->bytes, bt->len, pid, epoch, sequence);
    cr_assert_eq(record_batch_validate(bt->bytes, bt->len, NULL, 0), 0, "CRC recomputed");
}

static kafka_produce_response_partition_produce_response produce_any(int32_t corr,
                                                                     const batch *bt) {
    send_produce(1, 7, corr, TOPIC, 0, bt->bytes, bt->len, -1);
    return produce_result(1, 7, corr, TOPIC, 0);
}

Test(broker, init_producer_id_v0_v1_gives_distinct_ids) {
    connect_client(1);
    int64_t a = init_producer_id(1, 0, 1), b = init_producer_id(1, 1, 2);
    cr_assert_neq(a, b);
    cr_assert_eq(a >> 40, 1, "from broker 1's range");
}

Test(broker, init_producer_id_with_transactional_id_is_refused) {
    connect_client(1);
    kafka_init_producer_id_request req;
    kafka_init_producer_id_request_init(&req);
    req.transactional_id = kafka_str_c("tx");
    SEND(1, KAFKA_API_INIT_PRODUCER_ID, 1, 1, init_producer_id_request, &req);
    kafka_init_producer_id_response resp;
    DECODE(1, KAFKA_API_INIT_PRODUCER_ID, 1, 1, init_producer_id_response, &resp);
    cr_assert_eq(resp.error_code, KAFKA_ERROR_INVALID_REQUEST);
    cr_assert_eq(resp.producer_id, -1);
}

Test(broker, idempotent_retry_gets_the_same_offset_and_one_copy) {
    connect_client(1);
    int64_t pid = init_producer_id(1, 1, 1);
    batch b1, b2;
    make_idempotent(&b1, 3, "a", pid, 0, 0);
    make_idempotent(&b2, 2, "b", pid, 0, 3);
    cr_assert_eq(produce_ok(1, 2, 0, &b1), 0);
    cr_assert_eq(produce_ok(1, 3, 0, &b2), 3);
    cr_assert_eq(produce_ok(1, 4, 0, &b1), 0, "a retry of b1: its original offset");
    cr_assert_eq(produce_ok(1, 5, 0, &b2), 3, "a retry of b2: its original offset");
    cr_assert_eq(F.observed[OBSERVE_APPEND], 2, "nothing appended twice");
    kafka_fetch_response_partition_data pd = fetch_now(1, 6, 0, 0);
    cr_assert_eq(pd.high_watermark, 5);
    const batch *all[] = {&b1, &b2};
    expect_batches(pd.records, 0, all, 2);
}

Test(broker, idempotent_gap_stale_epoch_and_new_epoch) {
    connect_client(1);
    int64_t pid = init_producer_id(1, 1, 1);
    batch b;
    make_idempotent(&b, 2, "a", pid, 0, 0);
    cr_assert_eq(produce_ok(1, 2, 0, &b), 0);
    make_idempotent(&b, 2, "gap", pid, 0, 5);
    cr_assert_eq(produce_any(3, &b).error_code, KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    make_idempotent(&b, 2, "bumped", pid, 1, 3);
    cr_assert_eq(produce_any(4, &b).error_code, KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                 "a new epoch starts at sequence 0");
    make_idempotent(&b, 2, "bumped", pid, 1, 0);
    cr_assert_eq(produce_ok(1, 5, 0, &b), 2);
    make_idempotent(&b, 1, "stale", pid, 0, 2);
    kafka_produce_response_partition_produce_response pr = produce_any(6, &b);
    cr_assert_eq(pr.error_code, KAFKA_ERROR_INVALID_PRODUCER_EPOCH);
    cr_assert_eq(pr.base_offset, -1);
    cr_assert_eq(F.observed[OBSERVE_APPEND], 2);
}

Test(broker, idempotent_state_and_ids_survive_a_restart) {
    connect_client(1);
    int64_t pid = init_producer_id(1, 1, 1);
    batch b1, b2;
    make_idempotent(&b1, 3, "a", pid, 0, 0);
    make_idempotent(&b2, 3, "b", pid, 0, 3);
    cr_assert_eq(produce_ok(1, 2, 0, &b1), 0);
    cr_assert_eq(produce_ok(1, 3, 0, &b2), 3);
    broker_destroy(B); /* a crash: only storage stays */
    open_broker();
    connect_client(2);
    send_produce(2, 7, 1, TOPIC, 0, b2.bytes, b2.len, -1);
    kafka_produce_response_partition_produce_response pr = produce_result(2, 7, 1, TOPIC, 0);
    cr_assert_eq(pr.error_code, 0);
    cr_assert_eq(pr.base_offset, 3, "deduplicated after the restart: state rebuilt from the log");
    cr_assert_eq(fetch_now(2, 2, 0, 0).high_watermark, 6, "one copy");
    int64_t last = pid;
    for (int i = 0; i < 3; i++) {
        int64_t id = init_producer_id(2, 1, 10 + i);
        cr_assert_gt(id, last, "ids are never handed out twice");
        last = id;
    }
    broker_destroy(B); /* a power-off loses unsynced writes, never the id block */
    mem_storage_power_off(MEM, 1, 12345);
    open_broker();
    connect_client(3);
    cr_assert_gt(init_producer_id(3, 0, 1), last);
}

/* Each storage operation of a block reservation failing in turn: the request is
 * answered COORDINATOR_NOT_AVAILABLE (retriable) and no id is ever handed out twice,
 * even across a power-off right after. */
Test(broker, init_producer_id_storage_failures_never_repeat_an_id) {
    connect_client(1);
    int64_t seen[64];
    int n = 0, refused = 0;
    for (int64_t fail_at = 0; fail_at < 8; fail_at++) {
        broker_destroy(B); /* a fresh life: the next id reserves a block */
        open_broker();
        connect_client(1);
        mem_storage_fail_after(MEM, 1, fail_at);
        kafka_init_producer_id_request req;
        kafka_init_producer_id_request_init(&req);
        req.transactional_id = kafka_str_c(NULL);
        SEND(1, KAFKA_API_INIT_PRODUCER_ID, 1, 1, init_producer_id_request, &req);
        kafka_init_producer_id_response resp;
        DECODE(1, KAFKA_API_INIT_PRODUCER_ID, 1, 1, init_producer_id_response, &resp);
        mem_storage_fail_after(MEM, 1, -1);
        if (resp.error_code == KAFKA_ERROR_NONE) {
            seen[n++] = resp.producer_id;
        } else {
            cr_assert_eq(resp.error_code, KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE);
            refused++;
        }
        seen[n++] = init_producer_id(1, 1, 2);
        broker_destroy(B);
        mem_storage_power_off(MEM, 1, (uint64_t)fail_at * 31);
        open_broker();
        connect_client(1);
        seen[n++] = init_producer_id(1, 0, 3);
    }
    cr_assert_geq(refused, 4, "the failures hit the reservation");
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) cr_assert_neq(seen[i], seen[j], "ids %d and %d", i, j);
}
