/* test_sim_consumer.c — the simulated consumer against a broker played by hand.
 *
 * One broker (node 1) is both partition leader and group coordinator.  The test
 * reads each request the consumer sends, checks it, and answers with the bytes a
 * broker would send: metadata, FindCoordinator, JoinGroup answered first with
 * MEMBER_ID_REQUIRED, then electing this consumer leader of a two-member group
 * (so it must run the range assignor and hand both assignments to SyncGroup),
 * OffsetFetch, a Fetch from the committed offset, and a heartbeat answered
 * REBALANCE_IN_PROGRESS, which must commit, revoke and rejoin. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fake_env.h"
#include "kafka_errors.gen.h"
#include "sim_consumer.h"

#define BROKER_CONN (FAKE_CONNS_MAX / 2) /* the consumer dials these, in order */
#define COORDINATOR_CONN (FAKE_CONNS_MAX / 2 + 1)

typedef struct harness {
    fake_env f;
    mem_storage *mem;
    sim_consumer *c;
    scenario_group g;
    arena a;
    int32_t assigned[8]; /* partitions in ASSIGN events */
    int32_t assign_count, revokes, assign_generation;
} harness;

static void observe(void *ctx, const observe_event *ev) {
    harness *h = ctx; /* fake_env is the first member */
    fake_observe(ctx, ev);
    if (ev->kind == OBSERVE_ASSIGN && ev->partition >= 0 && h->assign_count < 8) {
        h->assigned[h->assign_count++] = ev->partition;
        h->assign_generation = ev->leader_epoch;
    }
    if (ev->kind == OBSERVE_REVOKE) h->revokes++;
}

static void setup(harness *h) {
    memset(h, 0, sizeof *h);
    h->mem = mem_storage_create();
    fake_env_init(&h->f, h->mem, 100);
    h->f.env.observe = observe;
    arena_init(&h->a);
    snprintf(h->g.name, sizeof h->g.name, "billing");
    snprintf(h->g.topics[0], sizeof h->g.topics[0], "orders");
    h->g.topic_count = 1;
    h->g.consumers = 2;
    h->g.assignor = SCENARIO_ASSIGNOR_RANGE;
    h->g.session_timeout_ms = 45000;
    h->g.heartbeat_interval_ms = 3000;
    h->g.auto_commit_interval_ms = 5000;
    h->g.auto_offset_reset = SCENARIO_RESET_EARLIEST;
    h->c = sim_consumer_create(&h->f.env, 100, &h->g, 2, 1);
}

static void teardown(harness *h) {
    sim_consumer_destroy(h->c);
    arena_deinit(&h->a);
    fake_env_deinit(&h->f);
    mem_storage_destroy(h->mem);
}

/* The next request on conn: its header, and r positioned on its body. */
static kafka_request_header take(harness *h, conn_id conn, int16_t want_api, wire_reader *r) {
    const uint8_t *frame;
    size_t len;
    cr_assert(fake_take_frame(&h->f, conn, &frame, &len), "no request on conn %u", conn);
    wire_reader_init(r, frame, len);
    kafka_request_header hdr;
    kafka_request_header_init(&hdr);
    cr_assert_eq(kafka_request_header_decode(&hdr, r, 1, &h->a), 0);
    cr_assert_eq(hdr.request_api_key, want_api, "got api %d, wanted %d", hdr.request_api_key,
                 want_api);
    return hdr;
}

typedef void encode_fn(const void *body, wire_writer *w, int16_t version);

/* Answers request hdr on conn with body (response header v0: every version used is
 * non-flexible). */
static void answer(harness *h, conn_id conn, kafka_request_header hdr, const void *body,
                   encode_fn *encode) {
    wire_writer w;
    wire_writer_init(&w);
    wire_put_i32(&w, 0);
    wire_put_i32(&w, hdr.correlation_id);
    encode(body, &w, hdr.request_api_version);
    wire_patch_i32(&w, 0, (int32_t)(w.len - 4));
    sim_consumer_on_bytes(h->c, conn, w.data, w.len);
    wire_writer_deinit(&w);
}

#define ENCODER(name)                                                                              \
    static void enc_##name(const void *b, wire_writer *w, int16_t v) {                             \
        kafka_##name##_encode(b, w, v);                                                            \
    }
ENCODER(metadata_response)
ENCODER(find_coordinator_response)
ENCODER(join_group_response)
ENCODER(sync_group_response)
ENCODER(offset_fetch_response)
ENCODER(heartbeat_response)
ENCODER(offset_commit_response)

static void metadata(harness *h) {
    wire_reader r;
    kafka_request_header hdr = take(h, BROKER_CONN, KAFKA_API_METADATA, &r);
    kafka_metadata_response_metadata_response_partition parts[3];
    for (int32_t p = 0; p < 3; p++) {
        kafka_metadata_response_metadata_response_partition_init(&parts[p]);
        parts[p].partition_index = p;
        parts[p].leader_id = 1;
    }
    kafka_metadata_response_metadata_response_topic topic;
    kafka_metadata_response_metadata_response_topic_init(&topic);
    topic.name = kafka_str_c("orders");
    topic.partitions = parts;
    topic.partitions_count = 3;
    kafka_metadata_response resp;
    kafka_metadata_response_init(&resp);
    resp.topics = &topic;
    resp.topics_count = 1;
    resp.cluster_id = kafka_str_c("c");
    answer(h, BROKER_CONN, hdr, &resp, enc_metadata_response);
}

/* Connects, serves metadata and FindCoordinator; the consumer then dials the
 * coordinator and sends its first JoinGroup. */
static void up_to_join(harness *h) {
    sim_consumer_on_timer(h->c);
    sim_consumer_on_connected(h->c, BROKER_CONN);
    metadata(h);
    wire_reader r;
    kafka_request_header hdr = take(h, BROKER_CONN, KAFKA_API_FIND_COORDINATOR, &r);
    kafka_find_coordinator_request fc;
    kafka_find_coordinator_request_init(&fc);
    cr_assert_eq(kafka_find_coordinator_request_decode(&fc, &r, hdr.request_api_version, &h->a), 0);
    cr_assert(kafka_str_eq(fc.key, "billing") && fc.key_type == 0);
    kafka_find_coordinator_response resp;
    kafka_find_coordinator_response_init(&resp);
    resp.node_id = 1;
    resp.host = kafka_str_c("broker-1");
    answer(h, BROKER_CONN, hdr, &resp, enc_find_coordinator_response);
    sim_consumer_on_connected(h->c, COORDINATOR_CONN);
}

static kafka_join_group_request join_request(harness *h, kafka_request_header *hdr) {
    wire_reader r;
    *hdr = take(h, COORDINATOR_CONN, KAFKA_API_JOIN_GROUP, &r);
    cr_assert_eq(hdr->request_api_version, 5);
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    cr_assert_eq(kafka_join_group_request_decode(&req, &r, 5, &h->a), 0);
    return req;
}

Test(sim_consumer, joins_leads_assigns_fetches_and_rejoins) {
    harness h;
    setup(&h);
    up_to_join(&h);
    /* 1. JoinGroup without a member id: MEMBER_ID_REQUIRED hands one out. */
    kafka_request_header hdr;
    kafka_join_group_request join = join_request(&h, &hdr);
    cr_assert_eq(join.member_id.len, 0);
    cr_assert(kafka_str_eq(join.protocol_type, "consumer"));
    cr_assert_eq(join.protocols_count, 1);
    cr_assert(kafka_str_eq(join.protocols[0].name, "range"));
    cr_assert_eq(join.session_timeout_ms, 45000);
    cr_assert_eq(join.rebalance_timeout_ms, 300000);
    kafka_bytes subscription = join.protocols[0].metadata;
    kafka_join_group_response jr;
    kafka_join_group_response_init(&jr);
    jr.error_code = KAFKA_ERROR_MEMBER_ID_REQUIRED;
    jr.member_id = kafka_str_c("m-2");
    jr.generation_id = -1;
    answer(&h, COORDINATOR_CONN, hdr, &jr, enc_join_group_response);
    /* 2. Again with the id; this member leads a group of two. */
    join = join_request(&h, &hdr);
    cr_assert(kafka_str_eq(join.member_id, "m-2"));
    kafka_join_group_response_join_group_response_member members[2];
    for (int i = 0; i < 2; i++) {
        kafka_join_group_response_join_group_response_member_init(&members[i]);
        members[i].member_id = kafka_str_c(i ? "m-1" : "m-2");
        members[i].metadata = subscription; /* both subscribe to orders */
    }
    kafka_join_group_response_init(&jr);
    jr.generation_id = 4;
    jr.protocol_name = kafka_str_c("range");
    jr.leader = kafka_str_c("m-2");
    jr.member_id = kafka_str_c("m-2");
    jr.members = members;
    jr.members_count = 2;
    answer(&h, COORDINATOR_CONN, hdr, &jr, enc_join_group_response);
    /* 3. SyncGroup carries the range assignment: m-1 (first by id) 0 and 1, m-2 2. */
    wire_reader r;
    hdr = take(&h, COORDINATOR_CONN, KAFKA_API_SYNC_GROUP, &r);
    kafka_sync_group_request sync;
    kafka_sync_group_request_init(&sync);
    cr_assert_eq(kafka_sync_group_request_decode(&sync, &r, hdr.request_api_version, &h.a), 0);
    cr_assert_eq(sync.generation_id, 4);
    cr_assert_eq(sync.assignments_count, 2);
    kafka_bytes mine = {0};
    for (int i = 0; i < 2; i++) {
        wire_reader ar;
        wire_reader_init(&ar, sync.assignments[i].assignment.ptr,
                         (size_t)sync.assignments[i].assignment.len);
        cr_assert_eq(wire_get_i16(&ar), 1);
        kafka_consumer_protocol_assignment a;
        kafka_consumer_protocol_assignment_init(&a);
        cr_assert_eq(kafka_consumer_protocol_assignment_decode(&a, &ar, 1, &h.a), 0);
        cr_assert_eq(a.assigned_partitions_count, 1);
        int first = kafka_str_eq(sync.assignments[i].member_id, "m-1");
        cr_assert_eq(a.assigned_partitions[0].partitions_count, first ? 2 : 1);
        cr_assert_eq(a.assigned_partitions[0].partitions[0], first ? 0 : 2);
        if (!first) mine = sync.assignments[i].assignment;
    }
    kafka_sync_group_response sr;
    kafka_sync_group_response_init(&sr);
    sr.assignment = mine;
    answer(&h, COORDINATOR_CONN, hdr, &sr, enc_sync_group_response);
    cr_assert_eq(h.assign_count, 1);
    cr_assert_eq(h.assigned[0], 2);
    cr_assert_eq(h.assign_generation, 4);
    /* 4. OffsetFetch for orders/2; the committed offset 7 is where fetching starts. */
    hdr = take(&h, COORDINATOR_CONN, KAFKA_API_OFFSET_FETCH, &r);
    cr_assert_eq(hdr.request_api_version, 5);
    kafka_offset_fetch_response_offset_fetch_response_partition op;
    kafka_offset_fetch_response_offset_fetch_response_partition_init(&op);
    op.partition_index = 2;
    op.committed_offset = 7;
    op.metadata = kafka_str_c("");
    kafka_offset_fetch_response_offset_fetch_response_topic ot;
    kafka_offset_fetch_response_offset_fetch_response_topic_init(&ot);
    ot.name = kafka_str_c("orders");
    ot.partitions = &op;
    ot.partitions_count = 1;
    kafka_offset_fetch_response ofr;
    kafka_offset_fetch_response_init(&ofr);
    ofr.topics = &ot;
    ofr.topics_count = 1;
    answer(&h, COORDINATOR_CONN, hdr, &ofr, enc_offset_fetch_response);
    hdr = take(&h, BROKER_CONN, KAFKA_API_FETCH, &r);
    kafka_fetch_request fetch;
    kafka_fetch_request_init(&fetch);
    cr_assert_eq(kafka_fetch_request_decode(&fetch, &r, hdr.request_api_version, &h.a), 0);
    cr_assert_eq(fetch.topics_count, 1);
    cr_assert_eq(fetch.topics[0].partitions[0].partition, 2);
    cr_assert_eq(fetch.topics[0].partitions[0].fetch_offset, 7);
    /* 5. A heartbeat 3 s later hears REBALANCE_IN_PROGRESS: commit 7, revoke, rejoin. */
    h.f.now_us += 3000000;
    sim_consumer_on_timer(h.c);
    hdr = take(&h, COORDINATOR_CONN, KAFKA_API_HEARTBEAT, &r);
    kafka_heartbeat_request hb;
    kafka_heartbeat_request_init(&hb);
    cr_assert_eq(kafka_heartbeat_request_decode(&hb, &r, hdr.request_api_version, &h.a), 0);
    cr_assert_eq(hb.generation_id, 4);
    kafka_heartbeat_response hbr;
    kafka_heartbeat_response_init(&hbr);
    hbr.error_code = KAFKA_ERROR_REBALANCE_IN_PROGRESS;
    answer(&h, COORDINATOR_CONN, hdr, &hbr, enc_heartbeat_response);
    hdr = take(&h, COORDINATOR_CONN, KAFKA_API_OFFSET_COMMIT, &r);
    cr_assert_eq(hdr.request_api_version, 7);
    kafka_offset_commit_request oc;
    kafka_offset_commit_request_init(&oc);
    cr_assert_eq(kafka_offset_commit_request_decode(&oc, &r, 7, &h.a), 0);
    cr_assert_eq(oc.generation_id_or_member_epoch, 4);
    cr_assert(kafka_str_eq(oc.member_id, "m-2"));
    cr_assert_eq(oc.topics[0].partitions[0].committed_offset, 7);
    cr_assert_eq(h.revokes, 0, "revoked before the commit-on-revoke was answered");
    kafka_offset_commit_response ocr;
    kafka_offset_commit_response_init(&ocr);
    answer(&h, COORDINATOR_CONN, hdr, &ocr, enc_offset_commit_response);
    cr_assert_eq(h.revokes, 1);
    join = join_request(&h, &hdr);
    cr_assert(kafka_str_eq(join.member_id, "m-2"));
    teardown(&h);
}

/* A lost coordinator connection: the consumer keeps its partitions (as Java does)
 * and looks the coordinator up again. */
Test(sim_consumer, a_lost_coordinator_is_found_again) {
    harness h;
    setup(&h);
    up_to_join(&h);
    kafka_request_header hdr;
    join_request(&h, &hdr);
    sim_consumer_on_closed(h.c, COORDINATOR_CONN);
    h.f.now_us += 200000;
    sim_consumer_on_timer(h.c);
    metadata(&h); /* a lost connection also refreshes metadata, as the Java client does */
    wire_reader r;
    take(&h, BROKER_CONN, KAFKA_API_FIND_COORDINATOR, &r);
    cr_assert_eq(h.revokes, 0);
    teardown(&h);
}
