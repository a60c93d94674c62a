/*
 * test_codecs.c — the Kafka codecs against bytes computed independently.
 *
 * codec_vectors.gen.h holds, for every message and every valid version, sample
 * messages (non-default values everywhere; nullable fields null; all defaults)
 * together with the bytes tools/gen_codecs.py's Python reference encoder computed
 * for them.  Each vector is encoded, decoded, re-encoded, truncated and mutated.
 * Hand-written known answers pin the layouts that clients depend on.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "kafka_errors.gen.h"
#include "kafka_messages.gen.h"
#include "wire.h"

#include "codec_vectors.gen.h"

/* A decode never needs more arena than a small multiple of its input. */
#define ARENA_BYTES_PER_INPUT_BYTE_MAX 64

static void describe(char *buf, size_t len, const codec_vector *v) {
    snprintf(buf, len, "%s v%d (%s)", codec_ops_table[v->ops].name, v->version, v->mode);
}

static void *new_message(const codec_ops *ops) {
    void *m = calloc(1, ops->size);
    cr_assert(m != NULL);
    ops->init(m);
    return m;
}

/* Decodes exactly `len` bytes from a buffer of exactly that size, so ASan sees any
 * read past the end. */
static int decode_exact(const codec_ops *ops, void *m, const uint8_t *bytes, size_t len,
                        int16_t version, arena *a, size_t *consumed) {
    uint8_t *copy = malloc(len ? len : 1);
    cr_assert(copy != NULL);
    if (len) memcpy(copy, bytes, len);
    wire_reader r;
    wire_reader_init(&r, copy, len);
    int rc = ops->decode(m, &r, version, a);
    if (consumed) *consumed = r.pos;
    cr_assert(rc == 0 || rc == -1);
    cr_assert(r.pos <= len);
    free(copy);
    return rc;
}

Test(codec_vectors, encoder_matches_reference_bytes) {
    arena a;
    arena_init(&a);
    wire_writer w;
    wire_writer_init(&w);
    char name[128];
    for (size_t i = 0; i < CODEC_VECTORS_COUNT; i++) {
        const codec_vector *v = &codec_vectors[i];
        const codec_ops *ops = &codec_ops_table[v->ops];
        void *m = new_message(ops);
        if (v->fill) v->fill(m, &a);
        wire_writer_reset(&w);
        ops->encode(m, &w, v->version);
        describe(name, sizeof name, v);
        cr_assert(!w.failed, "%s: encode failed", name);
        cr_assert_eq(w.len, v->len, "%s: encoded %zu bytes, expected %zu", name, w.len, v->len);
        cr_assert(memcmp(w.data, v->bytes, v->len) == 0, "%s: bytes differ", name);
        free(m);
        arena_reset(&a);
    }
    wire_writer_deinit(&w);
    arena_deinit(&a);
}

Test(codec_vectors, decoder_reads_reference_bytes_and_reencodes) {
    arena a;
    arena_init(&a);
    wire_writer w;
    wire_writer_init(&w);
    char name[128];
    for (size_t i = 0; i < CODEC_VECTORS_COUNT; i++) {
        const codec_vector *v = &codec_vectors[i];
        const codec_ops *ops = &codec_ops_table[v->ops];
        void *m = new_message(ops);
        size_t consumed = 0;
        describe(name, sizeof name, v);
        wire_reader r;
        wire_reader_init(&r, v->bytes, v->len);
        cr_assert_eq(ops->decode(m, &r, v->version, &a), 0, "%s: decode failed", name);
        consumed = r.pos;
        cr_assert_eq(consumed, v->len, "%s: consumed %zu of %zu", name, consumed, v->len);
        cr_assert(a.bytes_reserved <=
                      ARENA_CHUNK_BYTES_MIN + v->len * ARENA_BYTES_PER_INPUT_BYTE_MAX,
                  "%s: arena grew to %zu", name, a.bytes_reserved);
        wire_writer_reset(&w);
        ops->encode(m, &w, v->version);
        cr_assert(!w.failed && w.len == v->len && memcmp(w.data, v->bytes, v->len) == 0,
                  "%s: re-encoding differs", name);
        free(m);
        arena_reset(&a);
    }
    wire_writer_deinit(&w);
    arena_deinit(&a);
}

Test(codec_vectors, every_valid_version_of_every_message_is_covered) {
    for (size_t o = 0; o < CODEC_OPS_COUNT; o++) {
        const codec_ops *ops = &codec_ops_table[o];
        for (int v = ops->version_min; v <= ops->version_max; v++) {
            int found = 0;
            for (size_t i = 0; i < CODEC_VECTORS_COUNT && !found; i++)
                found = codec_vectors[i].ops == (int)o && codec_vectors[i].version == v &&
                        strcmp(codec_vectors[i].mode, "sample") == 0;
            cr_assert(found, "%s v%d has no sample vector", ops->name, v);
        }
    }
    cr_assert_geq(CODEC_OPS_COUNT, 82);
}

/* The decoder reads sequentially, so a strict prefix of a valid encoding can never
 * decode: the full parse needed its last byte. */
Test(codec_vectors, every_truncation_fails_cleanly) {
    arena a;
    arena_init(&a);
    char name[128];
    for (size_t i = 0; i < CODEC_VECTORS_COUNT; i++) {
        const codec_vector *v = &codec_vectors[i];
        if (strcmp(v->mode, "default") == 0) continue;
        const codec_ops *ops = &codec_ops_table[v->ops];
        void *m = new_message(ops);
        describe(name, sizeof name, v);
        for (size_t len = 0; len < v->len; len++) {
            int rc = decode_exact(ops, m, v->bytes, len, v->version, &a, NULL);
            cr_assert_eq(rc, -1, "%s: prefix of %zu bytes decoded", name, len);
            arena_reset(&a);
        }
        free(m);
    }
    arena_deinit(&a);
}

Test(codec_vectors, mutated_bytes_never_crash) {
    static const uint8_t patterns[] = {0xff, 0x7f, 0x80, 0x00};
    arena a;
    arena_init(&a);
    uint8_t *buf = NULL;
    for (size_t i = 0; i < CODEC_VECTORS_COUNT; i++) {
        const codec_vector *v = &codec_vectors[i];
        if (strcmp(v->mode, "sample") != 0 || v->len == 0) continue;
        const codec_ops *ops = &codec_ops_table[v->ops];
        void *m = new_message(ops);
        buf = realloc(buf, v->len);
        cr_assert(buf != NULL);
        for (size_t pos = 0; pos < v->len; pos++) {
            for (size_t p = 0; p < sizeof patterns; p++) {
                memcpy(buf, v->bytes, v->len);
                buf[pos] = patterns[p];
                size_t consumed = 0;
                int rc = decode_exact(ops, m, buf, v->len, v->version, &a, &consumed);
                cr_assert(rc == -1 || consumed <= v->len);
                cr_assert(a.bytes_reserved <=
                          ARENA_CHUNK_BYTES_MIN + v->len * ARENA_BYTES_PER_INPUT_BYTE_MAX);
                arena_reset(&a);
            }
        }
        free(m);
    }
    free(buf);
    arena_deinit(&a);
}

/* ---- known answers -------------------------------------------------------- */

static const uint8_t librdkafka_api_versions_v3[] = {
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,                /* key 18, v3, correlation 1 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a',           /* client_id: int16 length */
    0x00,                                                          /* header tag buffer */
    0x0b, 'l',  'i',  'b',  'r',  'd',  'k',  'a',  'f', 'k', 'a', /* compact software name */
    0x06, '2',  '.',  '0',  '.',  '2',                             /* compact software version */
    0x00,                                                          /* body tag buffer */
};

Test(known_answers, api_versions_v3_request_as_librdkafka_sends_it) {
    arena a;
    arena_init(&a);
    wire_reader r;
    wire_reader_init(&r, librdkafka_api_versions_v3, sizeof librdkafka_api_versions_v3);
    kafka_request_header h;
    int16_t hv = kafka_request_header_version(KAFKA_API_API_VERSIONS, 3);
    cr_assert_eq(hv, 2);
    cr_assert_eq(kafka_request_header_decode(&h, &r, hv, &a), 0);
    cr_assert_eq(h.request_api_key, 18);
    cr_assert_eq(h.request_api_version, 3);
    cr_assert_eq(h.correlation_id, 1);
    cr_assert(kafka_str_eq(h.client_id, "rdkafka"));
    kafka_api_versions_request req;
    cr_assert_eq(kafka_api_versions_request_decode(&req, &r, 3, &a), 0);
    cr_assert(kafka_str_eq(req.client_software_name, "librdkafka"));
    cr_assert(kafka_str_eq(req.client_software_version, "2.0.2"));
    cr_assert_eq(r.pos, r.len);

    wire_writer w;
    wire_writer_init(&w);
    kafka_request_header_encode(&h, &w, hv);
    kafka_api_versions_request_encode(&req, &w, 3);
    cr_assert_eq(w.len, sizeof librdkafka_api_versions_v3);
    cr_assert(memcmp(w.data, librdkafka_api_versions_v3, w.len) == 0);
    wire_writer_deinit(&w);
    arena_deinit(&a);
}

Test(known_answers, api_versions_response_header_is_v0) {
    cr_assert_eq(kafka_response_header_version(KAFKA_API_API_VERSIONS, 3), 0);
    cr_assert_eq(kafka_response_header_version(KAFKA_API_METADATA, 9), 1);
    cr_assert_eq(kafka_response_header_version(KAFKA_API_METADATA, 8), 0);
    cr_assert_eq(kafka_request_header_version(KAFKA_API_PRODUCE, 7), 1);
    cr_assert_eq(kafka_request_header_version(KAFKA_API_FETCH, 12), 2);
    cr_assert_eq(kafka_request_header_version(KAFKA_API_VOTE, 0), 2);
}

Test(known_answers, metadata_v0_request) {
    static const uint8_t bytes[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
                                    'a',  0x00, 0x03, 'b',  'c',  'd'};
    arena a;
    arena_init(&a);
    wire_reader r;
    wire_reader_init(&r, bytes, sizeof bytes);
    kafka_metadata_request m;
    cr_assert_eq(kafka_metadata_request_decode(&m, &r, 0, &a), 0);
    cr_assert_eq(m.topics_count, 2);
    cr_assert(kafka_str_eq(m.topics[0].name, "a"));
    cr_assert(kafka_str_eq(m.topics[1].name, "bcd"));
    cr_assert_eq(m.allow_auto_topic_creation, 1); /* absent in v0: keeps default true */

    /* A null topic array means "all topics" from v1; in v0 it is malformed. */
    static const uint8_t null_topics[] = {0xff, 0xff, 0xff, 0xff};
    wire_reader_init(&r, null_topics, sizeof null_topics);
    cr_assert_eq(kafka_metadata_request_decode(&m, &r, 0, &a), -1);
    wire_reader_init(&r, null_topics, sizeof null_topics);
    cr_assert_eq(kafka_metadata_request_decode(&m, &r, 1, &a), 0);
    cr_assert_eq(m.topics_count, -1);
    arena_deinit(&a);
}

static const uint8_t fetch_response_v12_diverging[] = {
    0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
    0x00, 0x00,                                     /* error_code */
    0x00, 0x00, 0x00, 0x00,                         /* session_id */
    0x02,                                           /* responses: 1 topic */
    0x02, 't',                                      /* topic "t" */
    0x02,                                           /* partitions: 1 */
    0x00, 0x00, 0x00, 0x03,                         /* partition_index 3 */
    0x00, 0x00,                                     /* error_code */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* high_watermark 100 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* last_stable_offset 100 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* log_start_offset 0 */
    0x01,                                           /* aborted_transactions: empty */
    0xff, 0xff, 0xff, 0xff,                         /* preferred_read_replica -1 */
    0x00,                                           /* records: null */
    0x01,                                           /* 1 tagged field */
    0x00, 0x0d,                                     /* tag 0 (DivergingEpoch), 13 bytes */
    0x00, 0x00, 0x00, 0x05,                         /* epoch 5 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, /* end_offset 80 */
    0x00,                                           /* its tag buffer */
    0x00,                                           /* topic tag buffer */
    0x00,                                           /* top-level tag buffer */
};

Test(known_answers, fetch_response_v12_diverging_epoch_tag) {
    arena a;
    arena_init(&a);
    wire_reader r;
    wire_reader_init(&r, fetch_response_v12_diverging, sizeof fetch_response_v12_diverging);
    kafka_fetch_response m;
    cr_assert_eq(kafka_fetch_response_decode(&m, &r, 12, &a), 0);
    cr_assert_eq(r.pos, r.len);
    cr_assert_eq(m.responses_count, 1);
    kafka_fetch_response_partition_data *p = &m.responses[0].partitions[0];
    cr_assert_eq(p->partition_index, 3);
    cr_assert_eq(p->diverging_epoch.epoch, 5);
    cr_assert_eq(p->diverging_epoch.end_offset, 80);
    cr_assert_eq(p->current_leader.leader_id, -1); /* not sent: default */
    cr_assert_eq(p->snapshot_id.end_offset, -1);
    cr_assert_eq(p->records.len, -1);

    /* Building the same response from init() and re-encoding gives the same bytes. */
    kafka_fetch_response out;
    kafka_fetch_response_init(&out);
    kafka_fetch_response_fetchable_topic_response topic;
    kafka_fetch_response_fetchable_topic_response_init(&topic);
    topic.topic = kafka_str_c("t");
    kafka_fetch_response_partition_data part;
    kafka_fetch_response_partition_data_init(&part);
    part.partition_index = 3;
    part.high_watermark = 100;
    part.last_stable_offset = 100;
    part.log_start_offset = 0;
    part.diverging_epoch.epoch = 5;
    part.diverging_epoch.end_offset = 80;
    topic.partitions = &part;
    topic.partitions_count = 1;
    out.responses = &topic;
    out.responses_count = 1;
    wire_writer w;
    wire_writer_init(&w);
    kafka_fetch_response_encode(&out, &w, 12);
    cr_assert_eq(w.len, sizeof fetch_response_v12_diverging);
    cr_assert(memcmp(w.data, fetch_response_v12_diverging, w.len) == 0);
    wire_writer_deinit(&w);
    arena_deinit(&a);
}

Test(known_answers, unknown_tags_are_skipped) {
    /* FetchRequest v12 top-level tag buffer with tag 7 (unknown) then tag 0 (ClusterId). */
    kafka_fetch_request req;
    kafka_fetch_request_init(&req);
    wire_writer w;
    wire_writer_init(&w);
    kafka_fetch_request_encode(&req, &w, 12);
    cr_assert(!w.failed && w.len > 0 && w.data[w.len - 1] == 0x00);
    w.len--; /* drop the empty tag buffer and write our own */
    static const uint8_t tags[] = {0x02, 0x07, 0x02, 0xaa, 0xbb, 0x00, 0x03, 0x03, 'c', 'i'};
    wire_put_raw(&w, tags, sizeof tags);
    arena a;
    arena_init(&a);
    wire_reader r;
    wire_reader_init(&r, w.data, w.len);
    kafka_fetch_request got;
    cr_assert_eq(kafka_fetch_request_decode(&got, &r, 12, &a), 0);
    cr_assert_eq(r.pos, r.len);
    cr_assert(kafka_str_eq(got.cluster_id, "ci"));
    wire_writer_deinit(&w);
    arena_deinit(&a);
}

/* ---- malformed input ------------------------------------------------------ */

static int decode_metadata(const uint8_t *bytes, size_t len, int16_t version, arena *a) {
    kafka_metadata_request m;
    wire_reader r;
    wire_reader_init(&r, bytes, len);
    return kafka_metadata_request_decode(&m, &r, version, a);
}

Test(malformed, huge_counts_and_lengths_are_rejected_without_allocating) {
    arena a;
    arena_init(&a);
    static const uint8_t huge_array[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'a'};
    static const uint8_t huge_compact_array[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    static const uint8_t overlong_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t huge_string[] = {0x00, 0x00, 0x00, 0x01, 0x7f, 0xff, 'a', 'b'};
    static const uint8_t negative_string[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xfe};
    static const uint8_t negative_array[] = {0xff, 0xff, 0xff, 0xfe};
    static const uint8_t huge_compact_string[] = {0x02, 0x00, 0xff, 0xff, 0x03, 'a'};
    cr_assert_eq(decode_metadata(huge_array, sizeof huge_array, 1, &a), -1);
    cr_assert_eq(decode_metadata(huge_compact_array, sizeof huge_compact_array, 9, &a), -1);
    cr_assert_eq(decode_metadata(overlong_varint, sizeof overlong_varint, 9, &a), -1);
    cr_assert_eq(decode_metadata(huge_string, sizeof huge_string, 1, &a), -1);
    cr_assert_eq(decode_metadata(negative_string, sizeof negative_string, 1, &a), -1);
    cr_assert_eq(decode_metadata(negative_array, sizeof negative_array, 1, &a), -1);
    cr_assert_eq(decode_metadata(huge_compact_string, sizeof huge_compact_string, 9, &a), -1);
    cr_assert_leq(a.bytes_reserved, ARENA_CHUNK_BYTES_MIN);
    arena_deinit(&a);
}

Test(malformed, huge_records_length_is_rejected) {
    /* ProduceRequest v3: transactional_id null, acks, timeout, 1 topic "t", 1 partition,
     * records claiming 2 GiB. */
    static const uint8_t bytes[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30, 0x00,
                                    0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00, 0x00, 0x00,
                                    0x01, 0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff};
    arena a;
    arena_init(&a);
    wire_reader r;
    wire_reader_init(&r, bytes, sizeof bytes);
    kafka_produce_request m;
    cr_assert_eq(kafka_produce_request_decode(&m, &r, 3, &a), -1);
    cr_assert(r.failed);
    arena_deinit(&a);
}

Test(malformed, unknown_version_is_rejected) {
    arena a;
    arena_init(&a);
    static const uint8_t bytes[] = {0x00, 0x00, 0x00, 0x00};
    cr_assert_eq(decode_metadata(bytes, sizeof bytes, 13, &a), -1);
    cr_assert_eq(decode_metadata(bytes, sizeof bytes, -1, &a), -1);
    kafka_metadata_request m;
    kafka_metadata_request_init(&m);
    wire_writer w;
    wire_writer_init(&w);
    kafka_metadata_request_encode(&m, &w, 99);
    cr_assert(w.failed);
    wire_writer_deinit(&w);
    arena_deinit(&a);
}

Test(malformed, tagged_field_with_wrong_size_is_rejected) {
    uint8_t bad[sizeof fetch_response_v12_diverging];
    memcpy(bad, fetch_response_v12_diverging, sizeof bad);
    size_t at = 0;
    for (size_t i = 0; i + 1 < sizeof bad; i++)
        if (bad[i] == 0x00 && bad[i + 1] == 0x0d) at = i + 1;
    cr_assert(at != 0);
    bad[at] = 0x0c; /* body says 12 bytes but the struct needs 13 */
    arena a;
    arena_init(&a);
    wire_reader r;
    wire_reader_init(&r, bad, sizeof bad);
    kafka_fetch_response m;
    cr_assert_eq(kafka_fetch_response_decode(&m, &r, 12, &a), -1);
    arena_deinit(&a);
}

/* ---- tables, defaults, helpers ---------------------------------------------- */

Test(tables, api_table) {
    cr_assert_str_eq(kafka_api_name(KAFKA_API_PRODUCE), "Produce");
    cr_assert_str_eq(kafka_api_name(KAFKA_API_API_VERSIONS), "ApiVersions");
    cr_assert_str_eq(kafka_api_name(999), "Unknown");
    cr_assert_str_eq(kafka_api_name(-1), "Unknown");
    cr_assert_str_eq(kafka_api_name(4), "Unknown"); /* a hole in the table: LeaderAndIsr */
    cr_assert_eq(KAFKA_API_FETCH, 1);
    cr_assert_eq(KAFKA_API_OFFSET_FOR_LEADER_EPOCH, 23);
    cr_assert_eq(KAFKA_API_DESCRIBE_QUORUM, 55);
    cr_assert_eq(KAFKA_API_BROKER_HEARTBEAT, 63);
    cr_assert(kafka_api_version_valid(KAFKA_API_PRODUCE, 0));
    cr_assert(kafka_api_version_valid(KAFKA_API_PRODUCE, 11));
    cr_assert(!kafka_api_version_valid(KAFKA_API_PRODUCE, 12));
    cr_assert(!kafka_api_version_valid(KAFKA_API_PRODUCE, -1));
    cr_assert(!kafka_api_version_valid(999, 0));
    cr_assert(kafka_api_is_flexible(KAFKA_API_API_VERSIONS, 3));
    cr_assert(!kafka_api_is_flexible(KAFKA_API_API_VERSIONS, 2));
    cr_assert(!kafka_api_is_flexible(KAFKA_API_SASL_HANDSHAKE, 1));
    cr_assert(kafka_api_is_flexible(KAFKA_API_ALTER_PARTITION, 0));
    cr_assert_eq(KAFKA_METADATA_TOPIC_RECORD, 2);
    cr_assert_eq(KAFKA_METADATA_PARTITION_RECORD, 3);
}

Test(tables, error_codes) {
    cr_assert_eq(KAFKA_ERROR_NONE, 0);
    cr_assert_eq(KAFKA_ERROR_UNKNOWN_SERVER_ERROR, -1);
    cr_assert_eq(KAFKA_ERROR_OFFSET_OUT_OF_RANGE, 1);
    cr_assert_eq(KAFKA_ERROR_UNSUPPORTED_VERSION, 35);
    cr_assert_str_eq(kafka_error_name(6), "NOT_LEADER_OR_FOLLOWER");
    cr_assert_str_eq(kafka_error_name(-1), "UNKNOWN_SERVER_ERROR");
    cr_assert_str_eq(kafka_error_name(32000), "UNKNOWN");
}

Test(tables, init_sets_json_defaults) {
    kafka_fetch_response_partition_data p;
    kafka_fetch_response_partition_data_init(&p);
    cr_assert_eq(p.last_stable_offset, -1);
    cr_assert_eq(p.log_start_offset, -1);
    cr_assert_eq(p.preferred_read_replica, -1);
    cr_assert_eq(p.aborted_transactions_count, 0); /* nullable, but no "null" default */
    cr_assert_eq(p.records.len, -1);
    kafka_fetch_request f;
    kafka_fetch_request_init(&f);
    cr_assert_eq(f.replica_id, -1);
    cr_assert_eq(f.max_bytes, 0x7fffffff);
    cr_assert_eq(f.cluster_id.len, -1);
    kafka_metadata_request md;
    kafka_metadata_request_init(&md);
    cr_assert_eq(md.allow_auto_topic_creation, 1);
    kafka_produce_request pr;
    kafka_produce_request_init(&pr);
    cr_assert_eq(pr.transactional_id.len, -1);
}

Test(tables, kafka_str_helpers) {
    kafka_str n = kafka_str_c(NULL);
    kafka_str e = {NULL, 0};
    cr_assert_eq(n.len, -1);
    cr_assert(kafka_str_eq(n, NULL));
    cr_assert(!kafka_str_eq(n, ""));
    cr_assert(kafka_str_eq(e, ""));
    cr_assert(!kafka_str_eq(e, NULL));
    cr_assert(kafka_str_eq(kafka_str_c("abc"), "abc"));
    cr_assert(!kafka_str_eq(kafka_str_c("abc"), "abd"));
    cr_assert(!kafka_str_eq(kafka_str_c("abc"), "ab"));
}

/* ---- wire and arena --------------------------------------------------------- */

Test(wire, integers_are_big_endian_and_varints_round_trip) {
    wire_writer w;
    wire_writer_init(&w);
    wire_put_i16(&w, 0x0102);
    wire_put_i32(&w, -2);
    wire_put_i64(&w, 0x0102030405060708);
    wire_put_u16(&w, 0xfffe);
    wire_put_f64(&w, 1.5);
    wire_put_uvarint(&w, 300);
    wire_put_varint(&w, -3);
    wire_put_varlong(&w, INT64_MIN);
    wire_put_uvarint(&w, UINT32_MAX);
    static const uint8_t head[] = {0x01, 0x02, 0xff, 0xff, 0xff, 0xfe, 1,    2,    3,
                                   4,    5,    6,    7,    8,    0xff, 0xfe, 0x3f, 0xf8,
                                   0,    0,    0,    0,    0,    0,    0xac, 0x02, 0x05};
    cr_assert(memcmp(w.data, head, sizeof head) == 0);
    wire_reader r;
    wire_reader_init(&r, w.data, w.len);
    cr_assert_eq(wire_get_i16(&r), 0x0102);
    cr_assert_eq(wire_get_i32(&r), -2);
    cr_assert_eq(wire_get_i64(&r), 0x0102030405060708);
    cr_assert_eq(wire_get_u16(&r), 0xfffe);
    cr_assert(wire_get_f64(&r) == 1.5);
    cr_assert_eq(wire_get_uvarint(&r), 300);
    cr_assert_eq(wire_get_varint(&r), -3);
    cr_assert_eq(wire_get_varlong(&r), INT64_MIN);
    cr_assert_eq(wire_get_uvarint(&r), UINT32_MAX);
    cr_assert(!r.failed && r.pos == r.len);
    cr_assert_eq(wire_get_i8(&r), 0);
    cr_assert(r.failed);
    cr_assert_eq(wire_get_i8(&r), 0); /* sticky */
    wire_writer_deinit(&w);
}

Test(wire, sized_body_and_patch) {
    wire_writer w;
    wire_writer_init(&w);
    wire_put_i32(&w, 0);
    size_t at = wire_sized_begin(&w);
    for (int i = 0; i < 200; i++) wire_put_i8(&w, (int8_t)i);
    wire_sized_end(&w, at);
    wire_patch_i32(&w, 0, (int32_t)(w.len - 4));
    cr_assert_eq(w.len, 4 + 2 + 200);
    cr_assert_eq(w.data[4], 0xc8);
    cr_assert_eq(w.data[5], 0x01);
    cr_assert_eq(w.data[6], 0);
    cr_assert_eq(w.data[205], 199);
    wire_reader r;
    wire_reader_init(&r, w.data, w.len);
    cr_assert_eq(wire_get_i32(&r), 202);
    wire_writer_deinit(&w);
}

Test(wire, strings_and_nulls) {
    wire_writer w;
    wire_writer_init(&w);
    wire_put_string(&w, NULL, -1); /* non-nullable null: written empty */
    wire_put_nullable_string(&w, NULL, -1);
    wire_put_compact_nullable_string(&w, NULL, -1);
    wire_put_compact_string(&w, "xy", 2);
    static const uint8_t want[] = {0x00, 0x00, 0xff, 0xff, 0x00, 0x03, 'x', 'y'};
    cr_assert_eq(w.len, sizeof want);
    cr_assert(memcmp(w.data, want, sizeof want) == 0);
    wire_reader r;
    wire_reader_init(&r, w.data, w.len);
    const char *s;
    cr_assert_eq(wire_get_string(&r, &s), 0);
    cr_assert_eq(wire_get_nullable_string(&r, &s), -1);
    cr_assert(s == NULL && !r.failed);
    cr_assert_eq(wire_get_compact_nullable_string(&r, &s), -1);
    cr_assert_eq(wire_get_compact_string(&r, &s), 2);
    cr_assert(memcmp(s, "xy", 2) == 0 && !r.failed);
    wire_reader_init(&r, want + 2, 2); /* a null where none is allowed */
    wire_get_string(&r, &s);
    cr_assert(r.failed);
    char big[40000];
    memset(big, 'a', sizeof big);
    wire_writer_reset(&w);
    wire_put_string(&w, big, (int32_t)sizeof big);
    cr_assert(w.failed);
    wire_writer_deinit(&w);
}

Test(arena, alignment_zeroing_and_reset) {
    arena a;
    arena_init(&a);
    uint8_t *p = arena_alloc(&a, 3);
    uint8_t *q = arena_alloc(&a, 5);
    cr_assert(p != NULL && q != NULL);
    cr_assert_eq((uintptr_t)p % 8, 0);
    cr_assert_eq((uintptr_t)q % 8, 0);
    memset(p, 0xff, 3);
    uint8_t *big = arena_alloc(&a, 100000);
    cr_assert(big != NULL);
    for (size_t i = 0; i < 100000; i += 997) cr_assert_eq(big[i], 0);
    cr_assert_geq(a.bytes_reserved, 100000 + ARENA_CHUNK_BYTES_MIN);
    arena_reset(&a);
    cr_assert_eq(a.bytes_reserved, ARENA_CHUNK_BYTES_MIN);
    uint8_t *again = arena_alloc(&a, 3);
    cr_assert(again == p);
    cr_assert_eq(again[0], 0);
    arena_deinit(&a);
    cr_assert_eq(a.bytes_reserved, 0);
}

Test(arena, caller_buffer_is_the_first_chunk_and_never_freed) {
    _Alignas(8) uint8_t buffer[256];
    arena a;
    arena_init_buffer(&a, buffer, sizeof buffer);
    uint8_t *p = arena_alloc(&a, 16);
    cr_assert(p > buffer && p + 16 <= buffer + sizeof buffer);
    cr_assert_eq(p[0], 0);
    uint8_t *big = arena_alloc(&a, 1000); /* does not fit: a malloc'ed chunk */
    cr_assert(big != NULL && (big < buffer || big >= buffer + sizeof buffer));
    memset(big, 0xab, 1000);
    arena_reset(&a); /* frees the malloc'ed chunk, keeps the buffer */
    uint8_t *again = arena_alloc_uninit(&a, 16);
    cr_assert(again == p);
    arena_deinit(&a); /* must not free the buffer (ASan would say so) */
    cr_assert_eq(a.bytes_reserved, 0);
}
