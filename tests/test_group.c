/* test_group.c — the group coordinator of one broker (static metadata, so
 * `__consumer_offsets` is created by the first FindCoordinator), driven through
 * Kafka bytes as test_broker.c does: join with MEMBER_ID_REQUIRED, leader and
 * follower SyncGroup, heartbeat errors, session expiry, LeaveGroup, inconsistent
 * protocols, the initial rebalance delay, commits and fetches with their errors,
 * and a restart that loads groups and offsets back from the log. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "fake_env.h"
#include "kafka_errors.gen.h"
#include "kafka_messages.gen.h"
#include "mem_storage.h"
#include "offsets_topic.h"
#include "prng.h"
#include "record_batch.h"
#include "wire.h"

#define GROUP "billing"
#define SESSION_MS 10000
#define REBALANCE_MS 20000
#define S_US 1000000LL

static fake_env F;
static mem_storage *MEM;
static broker *B;
static broker_config CFG;
static arena A;

static void open_broker(void) {
    B = broker_open(&F.env, &CFG);
    cr_assert_not_null(B);
}

static void setup(void) {
    MEM = mem_storage_create();
    fake_env_init(&F, MEM, 1);
    broker_config_defaults(&CFG, 1, 1);
    CFG.offsets_topic_partitions = 5;
    arena_init(&A);
    open_broker();
}

static void teardown(void) {
    broker_destroy(B);
    arena_deinit(&A);
    fake_env_deinit(&F);
    mem_storage_destroy(MEM);
}

TestSuite(group, .init = setup, .fini = teardown, .timeout = 30);

/* ---- bytes ------------------------------------------------------------------------ */

typedef void encode_fn(const void *msg, wire_writer *w, int16_t version);

/* A whole request frame in w (the caller deinits it). */
static void frame_of(wire_writer *w, int16_t key, int16_t ver, int32_t corr, encode_fn *encode,
                     const void *msg) {
    wire_writer_init(w);
    wire_put_i32(w, 0);
    kafka_request_header h;
    kafka_request_header_init(&h);
    h.request_api_key = key;
    h.request_api_version = ver;
    h.correlation_id = corr;
    h.client_id = kafka_str_c("consumer");
    kafka_request_header_encode(&h, w, kafka_request_header_version(key, ver));
    encode(msg, w, ver);
    cr_assert(!w->failed);
    wire_patch_i32(w, 0, (int32_t)(w->len - 4));
}

static wire_writer *CAPTURE; /* when set, requests are recorded instead of sent */
static int CAPTURED;

static void send_req(conn_id conn, int16_t key, int16_t ver, int32_t corr, encode_fn *encode,
                     const void *msg) {
    if (CAPTURE) {
        frame_of(&CAPTURE[CAPTURED++], key, ver, corr, encode, msg);
        return;
    }
    wire_writer w;
    frame_of(&w, key, ver, corr, encode, msg);
    broker_on_bytes(B, conn, w.data, w.len);
    wire_writer_deinit(&w);
}

/* Takes the next response on conn (correlation id checked); 0 when none yet. */
static int take(conn_id conn, int16_t key, int16_t ver, int32_t corr, wire_reader *out) {
    const uint8_t *frame;
    size_t len;
    if (!fake_take_frame(&F, conn, &frame, &len)) return 0;
    uint8_t *copy = arena_alloc(&A, len + 1);
    memcpy(copy, frame, len);
    wire_reader_init(out, copy, len);
    cr_assert_eq(wire_get_i32(out), corr, "correlation id");
    if (kafka_response_header_version(key, ver) >= 1) wire_get_uvarint(out);
    return 1;
}

#define EXPECT(conn, key, ver, corr, kind, out)                                                    \
    do {                                                                                           \
        wire_reader r_;                                                                            \
        cr_assert(take((conn), (key), (ver), (corr), &r_), "no " #kind " on conn %u",              \
                  (unsigned)(conn));                                                               \
        kafka_##kind##_init(out);                                                                  \
        cr_assert_eq(kafka_##kind##_decode((out), &r_, (ver), &A), 0);                             \
        cr_assert_eq(r_.pos, r_.len, #kind ": trailing bytes");                                    \
    } while (0)

static void expect_silence(conn_id conn) {
    cr_assert_eq(fake_pending(&F, conn), 0, "conn %u must still wait", (unsigned)conn);
}

/* Runs the broker's timers up to now + us. */
static void advance_us(int64_t us) {
    int64_t until = F.now_us + us;
    for (int i = 0; i < 100000; i++) {
        int64_t at = broker_next_deadline_us(B);
        if (at > until) break;
        if (at > F.now_us) F.now_us = at;
        broker_on_timer(B);
    }
    F.now_us = until;
    broker_on_timer(B);
}

static char *dup_str(kafka_str s) {
    char *out = arena_alloc(&A, (size_t)(s.len > 0 ? s.len : 0) + 1);
    if (s.len > 0) memcpy(out, s.ptr, (size_t)s.len);
    return out;
}

/* ---- requests ------------------------------------------------------------------------- */

static kafka_find_coordinator_response find_coordinator(conn_id conn, int16_t ver, const char *g) {
    kafka_find_coordinator_request req;
    kafka_find_coordinator_request_init(&req);
    req.key = kafka_str_c(g);
    send_req(conn, KAFKA_API_FIND_COORDINATOR, ver, 900,
             (encode_fn *)kafka_find_coordinator_request_encode, &req);
    kafka_find_coordinator_response resp;
    EXPECT(conn, KAFKA_API_FIND_COORDINATOR, ver, 900, find_coordinator_response, &resp);
    return resp;
}

static void send_join(conn_id conn, int16_t ver, int32_t corr, const char *member,
                      const char *protocol, const char *metadata) {
    kafka_join_group_request_join_group_request_protocol p[2];
    kafka_join_group_request_join_group_request_protocol_init(&p[0]);
    p[0].name = kafka_str_c(protocol);
    p[0].metadata = (kafka_bytes){(const uint8_t *)metadata, (int32_t)strlen(metadata)};
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.session_timeout_ms = SESSION_MS;
    req.rebalance_timeout_ms = REBALANCE_MS;
    req.member_id = kafka_str_c(member);
    req.protocol_type = kafka_str_c("consumer");
    req.protocols = p;
    req.protocols_count = 1;
    send_req(conn, KAFKA_API_JOIN_GROUP, ver, corr, (encode_fn *)kafka_join_group_request_encode,
             &req);
}

/* JoinGroup v5 from scratch: MEMBER_ID_REQUIRED, then the join that waits. */
static const char *join_new(conn_id conn, const char *metadata) {
    send_join(conn, 5, 1, "", "range", metadata);
    kafka_join_group_response resp;
    EXPECT(conn, KAFKA_API_JOIN_GROUP, 5, 1, join_group_response, &resp);
    cr_assert_eq(resp.error_code, KAFKA_ERROR_MEMBER_ID_REQUIRED);
    cr_assert_eq(resp.generation_id, -1);
    cr_assert(resp.member_id.len > 9 && strncmp(resp.member_id.ptr, "consumer-", 9) == 0);
    const char *id = dup_str(resp.member_id);
    send_join(conn, 5, 2, id, "range", metadata);
    return id;
}

static kafka_join_group_response joined(conn_id conn, int32_t corr) {
    kafka_join_group_response resp;
    EXPECT(conn, KAFKA_API_JOIN_GROUP, 5, corr, join_group_response, &resp);
    return resp;
}

static void send_sync(conn_id conn, int32_t corr, int32_t generation, const char *member,
                      const char *const *members, const char *const *assignments, int32_t n) {
    kafka_sync_group_request_sync_group_request_assignment as[4];
    for (int32_t i = 0; i < n; i++) {
        kafka_sync_group_request_sync_group_request_assignment_init(&as[i]);
        as[i].member_id = kafka_str_c(members[i]);
        as[i].assignment =
            (kafka_bytes){(const uint8_t *)assignments[i], (int32_t)strlen(assignments[i])};
    }
    kafka_sync_group_request req;
    kafka_sync_group_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.generation_id = generation;
    req.member_id = kafka_str_c(member);
    req.assignments = as;
    req.assignments_count = n;
    send_req(conn, KAFKA_API_SYNC_GROUP, 3, corr, (encode_fn *)kafka_sync_group_request_encode,
             &req);
}

static kafka_sync_group_response synced(conn_id conn, int32_t corr) {
    kafka_sync_group_response resp;
    EXPECT(conn, KAFKA_API_SYNC_GROUP, 3, corr, sync_group_response, &resp);
    return resp;
}

static int16_t heartbeat(conn_id conn, int32_t generation, const char *member) {
    kafka_heartbeat_request req;
    kafka_heartbeat_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.generation_id = generation;
    req.member_id = kafka_str_c(member);
    send_req(conn, KAFKA_API_HEARTBEAT, 3, 50, (encode_fn *)kafka_heartbeat_request_encode, &req);
    kafka_heartbeat_response resp;
    EXPECT(conn, KAFKA_API_HEARTBEAT, 3, 50, heartbeat_response, &resp);
    return resp.error_code;
}

static void send_commit(conn_id conn, int16_t ver, int32_t corr, int32_t generation,
                        const char *member, const char *topic, int32_t partition, int64_t offset) {
    kafka_offset_commit_request_offset_commit_request_partition p;
    kafka_offset_commit_request_offset_commit_request_partition_init(&p);
    p.partition_index = partition;
    p.committed_offset = offset;
    p.committed_leader_epoch = 3;
    p.committed_metadata = kafka_str_c("m");
    kafka_offset_commit_request_offset_commit_request_topic t;
    kafka_offset_commit_request_offset_commit_request_topic_init(&t);
    t.name = kafka_str_c(topic);
    t.partitions = &p;
    t.partitions_count = 1;
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.generation_id_or_member_epoch = generation;
    req.member_id = kafka_str_c(member);
    req.topics = &t;
    req.topics_count = 1;
    send_req(conn, KAFKA_API_OFFSET_COMMIT, ver, corr,
             (encode_fn *)kafka_offset_commit_request_encode, &req);
}

static int16_t commit(conn_id conn, int32_t generation, const char *member, const char *topic,
                      int32_t partition, int64_t offset) {
    send_commit(conn, 7, 60, generation, member, topic, partition, offset);
    kafka_offset_commit_response resp;
    EXPECT(conn, KAFKA_API_OFFSET_COMMIT, 7, 60, offset_commit_response, &resp);
    cr_assert_eq(resp.topics_count, 1);
    cr_assert(kafka_str_eq(resp.topics[0].name, topic));
    cr_assert_eq(resp.topics[0].partitions_count, 1);
    cr_assert_eq(resp.topics[0].partitions[0].partition_index, partition);
    return resp.topics[0].partitions[0].error_code;
}

/* OffsetFetch v5 of one partition; *error gets the top-level error. */
static int64_t fetch_offset(conn_id conn, const char *topic, int32_t partition, int16_t *error) {
    kafka_offset_fetch_request_offset_fetch_request_topic t;
    kafka_offset_fetch_request_offset_fetch_request_topic_init(&t);
    t.name = kafka_str_c(topic);
    t.partition_indexes = &partition;
    t.partition_indexes_count = 1;
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.topics = &t;
    req.topics_count = 1;
    send_req(conn, KAFKA_API_OFFSET_FETCH, 5, 70, (encode_fn *)kafka_offset_fetch_request_encode,
             &req);
    kafka_offset_fetch_response resp;
    EXPECT(conn, KAFKA_API_OFFSET_FETCH, 5, 70, offset_fetch_response, &resp);
    *error = resp.error_code;
    cr_assert_eq(resp.topics_count, 1);
    cr_assert_eq(resp.topics[0].partitions_count, 1);
    cr_assert_eq(resp.topics[0].partitions[0].error_code, resp.error_code);
    return resp.topics[0].partitions[0].committed_offset;
}

/* Two members through MEMBER_ID_REQUIRED, the initial delay, and SyncGroup (the
 * follower's SyncGroup arrives first and waits for the leader's). */
typedef struct two {
    const char *m1, *m2;
    int32_t generation;
} two;

static two stable_pair(void) {
    broker_on_accept(B, 1);
    broker_on_accept(B, 2);
    cr_assert_eq(find_coordinator(1, 2, GROUP).error_code, KAFKA_ERROR_NONE);
    two t;
    t.m1 = join_new(1, "sub-1");
    expect_silence(1);
    t.m2 = join_new(2, "sub-2");
    advance_us(3 * S_US); /* the delay is extended once: a member arrived during it */
    expect_silence(1);
    expect_silence(2);
    advance_us(3 * S_US);
    kafka_join_group_response j1 = joined(1, 2), j2 = joined(2, 2);
    cr_assert_eq(j1.error_code, 0);
    cr_assert_eq(j2.error_code, 0);
    cr_assert_eq(j1.generation_id, 1);
    cr_assert_eq(j2.generation_id, 1);
    cr_assert(kafka_str_eq(j1.protocol_name, "range"));
    cr_assert(kafka_str_eq(j1.leader, t.m1), "the first member leads");
    cr_assert(kafka_str_eq(j2.leader, t.m1));
    cr_assert_eq(j1.members_count, 2, "the leader sees every member");
    cr_assert_eq(j2.members_count, 0, "followers see none");
    cr_assert(j1.members[1].metadata.len == 5 &&
              memcmp(j1.members[1].metadata.ptr, "sub-2", 5) == 0);
    t.generation = j1.generation_id;
    const char *members[] = {t.m1, t.m2}, *assign[] = {"as-1", "as-2"};
    send_sync(2, 3, t.generation, t.m2, NULL, NULL, 0);
    expect_silence(2);
    cr_assert_eq(F.observed[OBSERVE_REBALANCE], 0);
    send_sync(1, 3, t.generation, t.m1, members, assign, 2);
    kafka_sync_group_response s1 = synced(1, 3), s2 = synced(2, 3);
    cr_assert_eq(s1.error_code, 0);
    cr_assert_eq(s2.error_code, 0);
    cr_assert(s1.assignment.len == 4 && memcmp(s1.assignment.ptr, "as-1", 4) == 0);
    cr_assert(s2.assignment.len == 4 && memcmp(s2.assignment.ptr, "as-2", 4) == 0);
    cr_assert_eq(F.observed[OBSERVE_REBALANCE], 1);
    return t;
}

/* ==== membership ===================================================================== */

Test(group, coordinator_is_the_offsets_partition_leader) {
    broker_on_accept(B, 1);
    cr_assert_eq(heartbeat(1, 1, "x"), KAFKA_ERROR_NOT_COORDINATOR, "no offsets topic yet");
    kafka_find_coordinator_response r = find_coordinator(1, 0, GROUP);
    cr_assert_eq(r.error_code, 0);
    cr_assert_eq(r.node_id, 1);
    cr_assert(kafka_str_eq(r.host, "broker-1"));
    cr_assert_eq(r.port, 9092);
    cr_assert_eq(offsets_topic_partition_for(kafka_str_c(GROUP), 5),
                 (offsets_topic_java_string_hash("billing", 7) & 0x7fffffff) % 5);
    cr_assert_eq(offsets_topic_java_string_hash("billing", 7), -109829509,
                 "Java's \"billing\".hashCode()");
    cr_assert_eq(offsets_topic_partition_for(kafka_str_c("polygenelubricants"), 50), 0,
                 "hashCode INT32_MIN maps to 0");
    cr_assert_eq(offsets_topic_java_string_hash("\xc3\xa9", 2), 0xe9, "UTF-16 code units");
    cr_assert_eq(offsets_topic_java_string_hash("\xf0\x9f\x98\x80", 4), 0xd83d * 31 + 0xde00,
                 "a code point above U+FFFF hashes as its surrogate pair");
    cr_assert_eq(offsets_topic_java_string_hash("\xff", 1), 0xfffd, "invalid UTF-8 is U+FFFD");
    cr_assert_eq(offsets_topic_java_string_hash("\xe2\x82", 2), 0xfffd,
                 "a truncated sequence is one replacement");
    cr_assert_eq(offsets_topic_java_string_hash("\xe2x", 2), 0xfffd * 31 + 'x');
    /* Metadata reports the internal topic */
    kafka_metadata_request_metadata_request_topic t;
    kafka_metadata_request_metadata_request_topic_init(&t);
    t.name = kafka_str_c(OFFSETS_TOPIC_NAME);
    kafka_metadata_request mreq;
    kafka_metadata_request_init(&mreq);
    mreq.topics = &t;
    mreq.topics_count = 1;
    send_req(1, KAFKA_API_METADATA, 8, 5, (encode_fn *)kafka_metadata_request_encode, &mreq);
    kafka_metadata_response m;
    EXPECT(1, KAFKA_API_METADATA, 8, 5, metadata_response, &m);
    cr_assert_eq(m.topics_count, 1);
    cr_assert_eq(m.topics[0].error_code, 0);
    cr_assert_eq(m.topics[0].is_internal, 1);
    cr_assert_eq(m.topics[0].partitions_count, 5);
}

static void count_group(void *arg, const char *group, const char *state, int32_t members) {
    int *n = arg;
    cr_assert_str_eq(group, GROUP);
    cr_assert_str_eq(state, "Stable");
    n[0] += members;
}

static void count_offset(void *arg, const char *group, const char *topic, int32_t partition,
                         int64_t offset) {
    int *n = arg;
    (void)group, (void)topic, (void)partition;
    n[1] += (int)offset;
}

Test(group, join_sync_heartbeat) {
    two t = stable_pair();
    int counts[2] = {0, 0};
    broker_each_group(B, count_group, count_offset, counts);
    cr_assert_eq(counts[0], 2, "metrics see both members");
    cr_assert_eq(heartbeat(1, t.generation, t.m1), KAFKA_ERROR_NONE);
    cr_assert_eq(heartbeat(2, t.generation, t.m2), KAFKA_ERROR_NONE);
    cr_assert_eq(heartbeat(2, t.generation - 1, t.m2), KAFKA_ERROR_ILLEGAL_GENERATION);
    cr_assert_eq(heartbeat(2, t.generation, "nobody"), KAFKA_ERROR_UNKNOWN_MEMBER_ID);
    /* DescribeGroups shows the stable generation */
    kafka_str name = kafka_str_c(GROUP);
    kafka_describe_groups_request dreq;
    kafka_describe_groups_request_init(&dreq);
    dreq.groups = &name;
    dreq.groups_count = 1;
    send_req(1, KAFKA_API_DESCRIBE_GROUPS, 4, 80, (encode_fn *)kafka_describe_groups_request_encode,
             &dreq);
    kafka_describe_groups_response d;
    EXPECT(1, KAFKA_API_DESCRIBE_GROUPS, 4, 80, describe_groups_response, &d);
    cr_assert_eq(d.groups_count, 1);
    cr_assert(kafka_str_eq(d.groups[0].group_state, "Stable"));
    cr_assert(kafka_str_eq(d.groups[0].protocol_data, "range"));
    cr_assert_eq(d.groups[0].members_count, 2);
    cr_assert(kafka_str_eq(d.groups[0].members[1].client_id, "consumer"));
    /* ListGroups names it */
    kafka_list_groups_request lreq;
    kafka_list_groups_request_init(&lreq);
    send_req(1, KAFKA_API_LIST_GROUPS, 2, 81, (encode_fn *)kafka_list_groups_request_encode, &lreq);
    kafka_list_groups_response l;
    EXPECT(1, KAFKA_API_LIST_GROUPS, 2, 81, list_groups_response, &l);
    cr_assert_eq(l.error_code, 0);
    cr_assert_eq(l.groups_count, 1);
    cr_assert(kafka_str_eq(l.groups[0].group_id, GROUP));
    cr_assert(kafka_str_eq(l.groups[0].protocol_type, "consumer"));
}

Test(group, a_new_member_rebalances_a_stable_group) {
    two t = stable_pair();
    broker_on_accept(B, 3);
    const char *m3 = join_new(3, "sub-3");
    expect_silence(3);
    cr_assert_eq(heartbeat(1, t.generation, t.m1), KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    cr_assert_eq(heartbeat(2, t.generation, t.m2), KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    send_join(1, 5, 10, t.m1, "range", "sub-1");
    expect_silence(1);
    send_join(2, 5, 10, t.m2, "range", "sub-2");
    /* every known member rejoined: the join completes without waiting */
    kafka_join_group_response j1 = joined(1, 10), j3 = joined(3, 2);
    cr_assert_eq(j1.generation_id, t.generation + 1);
    cr_assert_eq(j1.members_count, 3);
    cr_assert(kafka_str_eq(j3.member_id, m3));
    cr_assert_eq(joined(2, 10).error_code, 0);
}

Test(group, version_0_joins_without_member_id_required) {
    broker_on_accept(B, 1);
    find_coordinator(1, 0, GROUP);
    send_join(1, 0, 7, "", "range", "s");
    expect_silence(1);
    advance_us(3 * S_US);
    kafka_join_group_response j;
    EXPECT(1, KAFKA_API_JOIN_GROUP, 0, 7, join_group_response, &j);
    cr_assert_eq(j.error_code, 0);
    cr_assert_eq(j.generation_id, 1);
    cr_assert(kafka_str_eq(j.leader, dup_str(j.member_id)));
}

Test(group, inconsistent_protocols_are_refused) {
    broker_on_accept(B, 1);
    broker_on_accept(B, 2);
    find_coordinator(1, 2, GROUP);
    join_new(1, "a");
    send_join(2, 5, 1, "", "roundrobin", "b");
    kafka_join_group_response j;
    EXPECT(2, KAFKA_API_JOIN_GROUP, 5, 1, join_group_response, &j);
    cr_assert_eq(j.error_code, KAFKA_ERROR_INCONSISTENT_GROUP_PROTOCOL);
}

Test(group, session_expiry_rebalances) {
    two t = stable_pair();
    for (int i = 0; i < 3; i++) { /* only member 1 heartbeats */
        advance_us(3 * S_US);
        cr_assert_eq(heartbeat(1, t.generation, t.m1), KAFKA_ERROR_NONE, "round %d", i);
    }
    advance_us(2 * S_US); /* member 2's 10 s session ends */
    cr_assert_eq(heartbeat(1, t.generation, t.m1), KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    cr_assert_eq(heartbeat(2, t.generation, t.m2), KAFKA_ERROR_UNKNOWN_MEMBER_ID, "expired");
    send_join(1, 5, 11, t.m1, "range", "sub-1");
    kafka_join_group_response j = joined(1, 11);
    cr_assert_eq(j.generation_id, t.generation + 1);
    cr_assert_eq(j.members_count, 1);
}

Test(group, leave_group_rebalances) {
    two t = stable_pair();
    kafka_leave_group_request req;
    kafka_leave_group_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.member_id = kafka_str_c(t.m2);
    send_req(2, KAFKA_API_LEAVE_GROUP, 1, 90, (encode_fn *)kafka_leave_group_request_encode, &req);
    kafka_leave_group_response l;
    EXPECT(2, KAFKA_API_LEAVE_GROUP, 1, 90, leave_group_response, &l);
    cr_assert_eq(l.error_code, 0);
    send_req(2, KAFKA_API_LEAVE_GROUP, 1, 91, (encode_fn *)kafka_leave_group_request_encode, &req);
    EXPECT(2, KAFKA_API_LEAVE_GROUP, 1, 91, leave_group_response, &l);
    cr_assert_eq(l.error_code, KAFKA_ERROR_UNKNOWN_MEMBER_ID);
    cr_assert_eq(heartbeat(1, t.generation, t.m1), KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    send_join(1, 5, 12, t.m1, "range", "sub-1");
    cr_assert_eq(joined(1, 12).members_count, 1);
}

Test(group, a_closed_connection_forgets_its_held_join) {
    broker_on_accept(B, 1);
    find_coordinator(1, 2, GROUP);
    join_new(1, "a");
    broker_on_closed(B, 1);
    advance_us(3 * S_US); /* the join completes; its answer has nowhere to go */
    cr_assert_eq(fake_pending(&F, 1), 0);
    advance_us(SESSION_MS * 1000LL + S_US);
    broker_on_accept(B, 2);
    kafka_str name = kafka_str_c(GROUP);
    kafka_describe_groups_request dreq;
    kafka_describe_groups_request_init(&dreq);
    dreq.groups = &name;
    dreq.groups_count = 1;
    send_req(2, KAFKA_API_DESCRIBE_GROUPS, 0, 80, (encode_fn *)kafka_describe_groups_request_encode,
             &dreq);
    kafka_describe_groups_response d;
    EXPECT(2, KAFKA_API_DESCRIBE_GROUPS, 0, 80, describe_groups_response, &d);
    cr_assert(kafka_str_eq(d.groups[0].group_state, "PreparingRebalance") ||
                  kafka_str_eq(d.groups[0].group_state, "Empty"),
              "its session expired: the member is gone");
    cr_assert_eq(d.groups[0].members_count, 0);
}

/* ==== offsets ========================================================================= */

Test(group, commit_and_fetch) {
    two t = stable_pair();
    cr_assert_eq(commit(1, t.generation, t.m1, "orders", 0, 42), KAFKA_ERROR_NONE);
    cr_assert_eq(F.observed[OBSERVE_COMMIT], 1);
    cr_assert_eq(commit(1, t.generation + 1, t.m1, "orders", 0, 43),
                 KAFKA_ERROR_ILLEGAL_GENERATION);
    cr_assert_eq(commit(1, t.generation, "nobody", "orders", 0, 43), KAFKA_ERROR_UNKNOWN_MEMBER_ID);
    cr_assert_eq(commit(1, -1, "", "orders", 0, 43), KAFKA_ERROR_UNKNOWN_MEMBER_ID,
                 "a simple commit needs an empty group");
    int16_t error;
    cr_assert_eq(fetch_offset(2, "orders", 0, &error), 42);
    cr_assert_eq(error, 0);
    cr_assert_eq(fetch_offset(2, "orders", 1, &error), -1, "nothing committed there");
    cr_assert_eq(F.observed[OBSERVE_COMMIT], 1);
    /* v2+ with null topics: every offset of the group */
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c(GROUP);
    req.topics_count = -1;
    send_req(2, KAFKA_API_OFFSET_FETCH, 2, 71, (encode_fn *)kafka_offset_fetch_request_encode,
             &req);
    kafka_offset_fetch_response all;
    EXPECT(2, KAFKA_API_OFFSET_FETCH, 2, 71, offset_fetch_response, &all);
    cr_assert_eq(all.topics_count, 1);
    cr_assert_eq(all.topics[0].partitions[0].committed_offset, 42);
}

Test(group, simple_commit_to_an_unknown_group) {
    broker_on_accept(B, 1);
    find_coordinator(1, 2, GROUP);
    cr_assert_eq(commit(1, 1, "m", "orders", 2, 5), KAFKA_ERROR_ILLEGAL_GENERATION);
    cr_assert_eq(commit(1, -1, "", "orders", 2, 5), KAFKA_ERROR_NONE);
    int16_t error;
    cr_assert_eq(fetch_offset(1, "orders", 2, &error), 5);
}

Test(group, restart_loads_groups_and_offsets_from_the_log) {
    two t = stable_pair();
    cr_assert_eq(commit(1, t.generation, t.m1, "orders", 1, 77), KAFKA_ERROR_NONE);
    broker_destroy(B);
    fake_env_deinit(&F);
    int64_t now = F.now_us;
    fake_env_init(&F, MEM, 1);
    F.now_us = now;
    open_broker();
    broker_on_accept(B, 1);
    broker_on_accept(B, 2);
    find_coordinator(1, 2, GROUP);
    cr_assert_eq(F.observed[OBSERVE_OFFSET_LOAD], 1);
    int16_t error;
    cr_assert_eq(fetch_offset(1, "orders", 1, &error), 77);
    cr_assert_eq(heartbeat(1, t.generation, t.m1), KAFKA_ERROR_NONE, "members survive failover");
    cr_assert_eq(heartbeat(2, t.generation, t.m2), KAFKA_ERROR_NONE);
    send_sync(2, 20, t.generation, t.m2, NULL, NULL, 0);
    kafka_sync_group_response s = synced(2, 20);
    cr_assert(s.assignment.len == 4 && memcmp(s.assignment.ptr, "as-2", 4) == 0,
              "assignments survive failover");
}

/* ==== bad input ========================================================================= */

/* Valid frames of every group API, mutated: the broker answers or closes, never crashes. */
Test(group, mutated_frames_never_crash) {
    two t = stable_pair();
    wire_writer frames[16];
    CAPTURE = frames;
    send_join(1, 5, 1, t.m1, "range", "sub-1");
    send_join(1, 1, 1, "", "range", "x");
    send_sync(1, 1, t.generation, t.m1, (const char *[]){t.m1}, (const char *[]){"a"}, 1);
    send_commit(1, 7, 1, t.generation, t.m1, "orders", 0, 9);
    send_commit(1, 2, 1, -1, "", "orders", 0, 9);
    kafka_heartbeat_request hb;
    kafka_heartbeat_request_init(&hb);
    hb.group_id = kafka_str_c(GROUP);
    hb.member_id = kafka_str_c(t.m2);
    hb.generation_id = t.generation;
    send_req(1, KAFKA_API_HEARTBEAT, 0, 1, (encode_fn *)kafka_heartbeat_request_encode, &hb);
    kafka_leave_group_request_member_identity who;
    kafka_leave_group_request_member_identity_init(&who);
    who.member_id = kafka_str_c(t.m2);
    kafka_leave_group_request leave;
    kafka_leave_group_request_init(&leave);
    leave.group_id = kafka_str_c(GROUP);
    leave.members = &who;
    leave.members_count = 1;
    send_req(1, KAFKA_API_LEAVE_GROUP, 3, 1, (encode_fn *)kafka_leave_group_request_encode, &leave);
    kafka_str name = kafka_str_c(GROUP);
    kafka_describe_groups_request dreq;
    kafka_describe_groups_request_init(&dreq);
    dreq.groups = &name;
    dreq.groups_count = 1;
    send_req(1, KAFKA_API_DESCRIBE_GROUPS, 4, 1, (encode_fn *)kafka_describe_groups_request_encode,
             &dreq);
    kafka_offset_fetch_request freq;
    kafka_offset_fetch_request_init(&freq);
    freq.group_id = kafka_str_c(GROUP);
    freq.topics_count = -1;
    send_req(1, KAFKA_API_OFFSET_FETCH, 3, 1, (encode_fn *)kafka_offset_fetch_request_encode,
             &freq);
    kafka_find_coordinator_request fc;
    kafka_find_coordinator_request_init(&fc);
    fc.key = kafka_str_c(GROUP);
    send_req(1, KAFKA_API_FIND_COORDINATOR, 1, 1,
             (encode_fn *)kafka_find_coordinator_request_encode, &fc);
    int count = CAPTURED;
    CAPTURE = NULL;
    prng rng;
    prng_seed(&rng, 0x9a0b);
    uint8_t buf[4096];
    for (int iter = 0; iter < 3000; iter++) {
        const wire_writer *src = &frames[prng_next(&rng) % (uint64_t)count];
        size_t len = src->len;
        cr_assert_leq(len, sizeof buf);
        memcpy(buf, src->data, len);
        int mutations = 1 + (int)(prng_next(&rng) % 3);
        for (int m = 0; m < mutations && len > 12; m++) {
            size_t at = 12 + (size_t)(prng_next(&rng) % (len - 12)); /* keep the api key */
            if (prng_next(&rng) % 4 == 0)
                buf[at] = (uint8_t)(prng_next(&rng) % 2 ? 0xff : 0x00);
            else
                buf[at] ^= (uint8_t)(1u << (prng_next(&rng) % 8));
        }
        conn_id c = (conn_id)(10 + iter % 500);
        if (iter >= 500) broker_on_closed(B, c);
        broker_on_accept(B, c);
        broker_on_bytes(B, c, buf, len);
        if (iter % 100 == 0) advance_us(S_US);
    }
    for (int i = 0; i < count; i++) wire_writer_deinit(&frames[i]);
    advance_us(60 * S_US); /* the timers still run */
    cr_assert_eq(find_coordinator(2, 2, GROUP).error_code, KAFKA_ERROR_NONE, "still serving");
}

/* Writes to __consumer_offsets need min.insync.replicas like an acks=all produce:
 * below it, commits get COORDINATOR_NOT_AVAILABLE and a generation cannot become
 * stable (the SyncGroup fails and the group rebalances). */
Test(group, writes_need_min_insync_replicas) {
    broker_destroy(B);
    CFG.min_insync_replicas = 2; /* one broker: the offsets topic's ISR is 1 */
    open_broker();
    broker_on_accept(B, 1);
    find_coordinator(1, 2, GROUP);
    cr_assert_eq(commit(1, -1, "", "orders", 0, 1), KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE);
    cr_assert_eq(F.observed[OBSERVE_COMMIT], 0);
    const char *m = join_new(1, "s");
    advance_us(3 * S_US);
    kafka_join_group_response j = joined(1, 2);
    cr_assert_eq(j.error_code, 0);
    send_sync(1, 3, j.generation_id, m, (const char *[]){m}, (const char *[]){"a"}, 1);
    cr_assert_eq(synced(1, 3).error_code, KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE);
    cr_assert_eq(heartbeat(1, j.generation_id, m), KAFKA_ERROR_REBALANCE_IN_PROGRESS);
    cr_assert_eq(F.observed[OBSERVE_REBALANCE], 0);
}

/* ==== the offsets topic's records ====================================================== */

Test(group, records_round_trip_with_kafka_versions) {
    offsets_batch ob;
    offsets_batch_init(&ob);
    kafka_offset_commit_value v;
    kafka_offset_commit_value_init(&v);
    v.offset = 12;
    v.leader_epoch = 4;
    v.metadata = kafka_str_c("meta");
    v.commit_timestamp = 1700;
    v.expire_timestamp = -1;
    offsets_batch_add_offset(&ob, kafka_str_c("g"), kafka_str_c("t"), 3, &v);
    offsets_batch_add_group(&ob, kafka_str_c("g"), NULL);
    cr_assert_eq(offsets_batch_finish(&ob, 1700), 0);
    cr_assert_eq(record_batch_validate(ob.batch, ob.batch_len, NULL, 0), 0);
    record_batch_iter it;
    cr_assert_eq(record_batch_iter_init(&it, ob.batch, ob.batch_len), 0);
    record_batch_record r;
    offsets_record rec;
    cr_assert_eq(record_batch_iter_next(&it, &r), 1);
    cr_assert(r.key[0] == 0 && r.key[1] == OFFSETS_KEY_VERSION_OFFSET, "offset key version 1");
    cr_assert(r.value[0] == 0 && r.value[1] == OFFSETS_VALUE_VERSION_OFFSET, "value version 3");
    cr_assert_eq(offsets_record_decode(&r, &rec, &A), 0);
    cr_assert_eq(rec.kind, OFFSETS_RECORD_OFFSET);
    cr_assert(!rec.tombstone);
    cr_assert(kafka_str_eq(rec.offset_key.group, "g") && kafka_str_eq(rec.offset_key.topic, "t"));
    cr_assert_eq(rec.offset_key.partition, 3);
    cr_assert_eq(rec.offset_value.offset, 12);
    cr_assert_eq(rec.offset_value.leader_epoch, 4);
    cr_assert(kafka_str_eq(rec.offset_value.metadata, "meta"));
    cr_assert_eq(record_batch_iter_next(&it, &r), 1);
    cr_assert(r.key[0] == 0 && r.key[1] == OFFSETS_KEY_VERSION_GROUP, "group key version 2");
    cr_assert_eq(offsets_record_decode(&r, &rec, &A), 0);
    cr_assert_eq(rec.kind, OFFSETS_RECORD_GROUP);
    cr_assert(rec.tombstone, "a null value deletes the group");
    cr_assert_eq(record_batch_iter_next(&it, &r), 0);
    /* an unknown key version is skipped, not trusted */
    uint8_t bad_key[] = {0, 7, 0, 1, 'g'};
    record_batch_record odd = {.key = bad_key, .key_len = sizeof bad_key, .value_len = -1};
    cr_assert_eq(offsets_record_decode(&odd, &rec, &A), -1);
    offsets_batch_deinit(&ob);
}
