/* test_group_cluster.c — coordinator failover in a simulated 3-broker cluster
 * (controller quorum, `__consumer_offsets` with one partition of 3 replicas):
 * a test client finds the coordinator (the topic is created on first use),
 * commits offsets, the coordinator crashes, and the new leader of the offsets
 * partition answers NOT_COORDINATOR, then COORDINATOR_LOAD_IN_PROGRESS while it
 * loads, then the committed offsets.  The client polls every live broker every
 * millisecond (requests pipelined), so the load window is seen whenever it is at
 * least that long. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "kafka_errors.gen.h"
#include "mem_storage.h"
#include "sim_client.h"
#include "world.h"

#define BROKERS 3
#define CLIENT_ID 100
#define S_US 1000000LL
#define MS_US 1000LL
#define TAG_FIND 1
#define TAG_COMMIT 2
#define TAG_FETCH_BASE 10
#define TAG_JOIN 4
#define TAG_SYNC 5
#define TAG_HEARTBEAT_BASE 20
#define ERRORS_MAX 64

typedef struct tclient {
    sim_client client;
    sim_node *node;
    int64_t tick_at_us;
    int mode; /* 0 idle, 1 find, 2 commit, 3 poll OffsetFetch, 4 join+sync, 5 poll Heartbeat */
    int inflight[BROKERS + 1];
    int16_t find_error;
    int32_t coordinator;
    int16_t commit_error;
    int commits_answered;
    /* per broker: the distinct OffsetFetch errors in order, and the offset seen */
    int16_t errors[BROKERS + 1][ERRORS_MAX];
    int64_t error_at_us[BROKERS + 1][ERRORS_MAX]; /* when each answer was first seen */
    int error_count[BROKERS + 1];
    int64_t fetched[BROKERS + 1];
    /* the member */
    char member_id[128];
    int32_t generation;
    int16_t join_error, sync_error;
    int synced;
} tclient;

static world W;
static mem_storage *STORE;
static broker *BROKER[BROKERS + 1];
static broker_config CFG[BROKERS + 1];
static tclient TC;
static int OBSERVED[OBSERVE_KIND_COUNT];

static void b_accept(void *impl, conn_id c) {
    broker_on_accept(impl, c);
}
static void b_connected(void *impl, conn_id c) {
    broker_on_connected(impl, c);
}
static void b_closed(void *impl, conn_id c) {
    broker_on_closed(impl, c);
}
static void b_bytes(void *impl, conn_id c, const uint8_t *p, size_t n) {
    broker_on_bytes(impl, c, p, n);
}
static int64_t b_deadline(const void *impl) {
    return broker_next_deadline_us(impl);
}
static void b_timer(void *impl) {
    broker_on_timer(impl);
}
static const sim_node_ops BROKER_OPS = {b_accept, b_connected, b_closed,
                                        b_bytes,  b_deadline,  b_timer};

static void on_observe(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    (void)ctx, (void)t_us, (void)seq;
    OBSERVED[ev->kind]++;
}

/* ---- the test client --------------------------------------------------------------- */

static void encode_find(const void *m, wire_writer *w, int16_t v) {
    kafka_find_coordinator_request_encode(m, w, v);
}
static void encode_commit(const void *m, wire_writer *w, int16_t v) {
    kafka_offset_commit_request_encode(m, w, v);
}
static void encode_fetch(const void *m, wire_writer *w, int16_t v) {
    kafka_offset_fetch_request_encode(m, w, v);
}

static void send_find(tclient *t) {
    kafka_find_coordinator_request req;
    kafka_find_coordinator_request_init(&req);
    req.key = kafka_str_c("g");
    if (sim_client_send(&t->client, 1, KAFKA_API_FIND_COORDINATOR, 2, &req, encode_find, TAG_FIND,
                        1) == 0)
        t->inflight[1] = 1;
}

static void send_commit(tclient *t) {
    kafka_offset_commit_request_offset_commit_request_partition p[2];
    for (int i = 0; i < 2; i++) {
        kafka_offset_commit_request_offset_commit_request_partition_init(&p[i]);
        p[i].partition_index = i;
        p[i].committed_offset = 40 + i;
    }
    kafka_offset_commit_request_offset_commit_request_topic topic;
    kafka_offset_commit_request_offset_commit_request_topic_init(&topic);
    topic.name = kafka_str_c("t");
    topic.partitions = p;
    topic.partitions_count = 2;
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.generation_id_or_member_epoch = -1;
    req.member_id = kafka_str_c("");
    req.topics = &topic;
    req.topics_count = 1;
    if (sim_client_send(&t->client, t->coordinator, KAFKA_API_OFFSET_COMMIT, 7, &req, encode_commit,
                        TAG_COMMIT, 1) == 0)
        t->inflight[t->coordinator] = 1;
}

static void send_fetch(tclient *t, int32_t node) {
    int32_t partition = 1;
    kafka_offset_fetch_request_offset_fetch_request_topic topic;
    kafka_offset_fetch_request_offset_fetch_request_topic_init(&topic);
    topic.name = kafka_str_c("t");
    topic.partition_indexes = &partition;
    topic.partition_indexes_count = 1;
    kafka_offset_fetch_request req;
    kafka_offset_fetch_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.topics = &topic;
    req.topics_count = 1;
    if (sim_client_send(&t->client, node, KAFKA_API_OFFSET_FETCH, 5, &req, encode_fetch,
                        TAG_FETCH_BASE + (uint64_t)node, 1) == 0)
        t->inflight[node] = 1;
}

static void encode_join(const void *m, wire_writer *w, int16_t v) {
    kafka_join_group_request_encode(m, w, v);
}
static void encode_sync(const void *m, wire_writer *w, int16_t v) {
    kafka_sync_group_request_encode(m, w, v);
}
static void encode_heartbeat(const void *m, wire_writer *w, int16_t v) {
    kafka_heartbeat_request_encode(m, w, v);
}

static void send_join(tclient *t) {
    kafka_join_group_request_join_group_request_protocol p;
    kafka_join_group_request_join_group_request_protocol_init(&p);
    p.name = kafka_str_c("range");
    p.metadata = (kafka_bytes){(const uint8_t *)"sub", 3};
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.session_timeout_ms = 45000;
    req.rebalance_timeout_ms = 60000;
    req.member_id = kafka_str_c(t->member_id);
    req.protocol_type = kafka_str_c("consumer");
    req.protocols = &p;
    req.protocols_count = 1;
    if (sim_client_send(&t->client, t->coordinator, KAFKA_API_JOIN_GROUP, 5, &req, encode_join,
                        TAG_JOIN, 1) == 0)
        t->inflight[t->coordinator] = 1;
}

static void send_sync(tclient *t) {
    kafka_sync_group_request_sync_group_request_assignment a;
    kafka_sync_group_request_sync_group_request_assignment_init(&a);
    a.member_id = kafka_str_c(t->member_id);
    a.assignment = (kafka_bytes){(const uint8_t *)"mine", 4};
    kafka_sync_group_request req;
    kafka_sync_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.generation_id = t->generation;
    req.member_id = kafka_str_c(t->member_id);
    req.assignments = &a;
    req.assignments_count = 1;
    if (sim_client_send(&t->client, t->coordinator, KAFKA_API_SYNC_GROUP, 3, &req, encode_sync,
                        TAG_SYNC, 1) == 0)
        t->inflight[t->coordinator] = 1;
}

static void send_heartbeat(tclient *t, int32_t node) {
    kafka_heartbeat_request req;
    kafka_heartbeat_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.generation_id = t->generation;
    req.member_id = kafka_str_c(t->member_id);
    if (sim_client_send(&t->client, node, KAFKA_API_HEARTBEAT, 3, &req, encode_heartbeat,
                        TAG_HEARTBEAT_BASE + (uint64_t)node, 1) == 0)
        t->inflight[node] = 1;
}

/* Records a broker's answer if it differs from the one before. */
static void note_answer(tclient *t, int32_t node, int16_t error) {
    int n = t->error_count[node];
    if ((n == 0 || t->errors[node][n - 1] != error) && n < ERRORS_MAX) {
        t->error_at_us[node][n] = W.now_us;
        t->errors[node][t->error_count[node]++] = error;
    }
}

static void on_member(tclient *t, uint64_t tag, wire_reader *r, arena *a) {
    if (tag == TAG_JOIN) {
        kafka_join_group_response resp;
        kafka_join_group_response_init(&resp);
        cr_assert_eq(kafka_join_group_response_decode(&resp, r, 5, a), 0);
        t->join_error = resp.error_code;
        snprintf(t->member_id, sizeof t->member_id, "%.*s", (int)resp.member_id.len,
                 resp.member_id.ptr);
        t->generation = resp.generation_id;
    } else if (tag == TAG_SYNC) {
        kafka_sync_group_response resp;
        kafka_sync_group_response_init(&resp);
        cr_assert_eq(kafka_sync_group_response_decode(&resp, r, 3, a), 0);
        t->sync_error = resp.error_code;
        t->synced = resp.error_code == 0 && resp.assignment.len == 4;
    } else {
        kafka_heartbeat_response resp;
        kafka_heartbeat_response_init(&resp);
        cr_assert_eq(kafka_heartbeat_response_decode(&resp, r, 3, a), 0);
        note_answer(t, (int32_t)(tag - TAG_HEARTBEAT_BASE), resp.error_code);
    }
}

static void on_fetched(tclient *t, int32_t node, wire_reader *r, arena *a) {
    kafka_offset_fetch_response resp;
    kafka_offset_fetch_response_init(&resp);
    cr_assert_eq(kafka_offset_fetch_response_decode(&resp, r, 5, a), 0);
    note_answer(t, node, resp.error_code);
    if (resp.error_code == 0) t->fetched[node] = resp.topics[0].partitions[0].committed_offset;
}

static void on_response(sim_client *c, void *owner, int32_t node, int16_t api_key,
                        int16_t api_version, uint64_t tag, wire_reader *r) {
    tclient *t = owner;
    (void)api_key, (void)api_version;
    t->inflight[node] = 0;
    if (!r) return;
    arena a;
    arena_init(&a);
    if (tag == TAG_FIND) {
        kafka_find_coordinator_response resp;
        kafka_find_coordinator_response_init(&resp);
        cr_assert_eq(kafka_find_coordinator_response_decode(&resp, r, 2, &a), 0);
        t->find_error = resp.error_code;
        if (resp.error_code == 0) t->coordinator = resp.node_id;
    } else if (tag == TAG_COMMIT) {
        kafka_offset_commit_response resp;
        kafka_offset_commit_response_init(&resp);
        cr_assert_eq(kafka_offset_commit_response_decode(&resp, r, 7, &a), 0);
        t->commit_error = resp.topics[0].partitions[0].error_code;
        t->commits_answered++;
    } else if (tag >= TAG_FETCH_BASE && tag < TAG_HEARTBEAT_BASE && tag != TAG_JOIN &&
               tag != TAG_SYNC) {
        on_fetched(t, (int32_t)(tag - TAG_FETCH_BASE), r, &a);
    } else {
        on_member(t, tag, r, &a);
    }
    arena_deinit(&a);
    (void)c;
}

static void tick(tclient *t) {
    if (t->mode == 1 && !t->inflight[1] && t->coordinator == 0) send_find(t);
    if (t->mode == 2 && !t->inflight[t->coordinator] && t->commit_error != 0) send_commit(t);
    for (int32_t n = 1; t->mode == 3 && n <= BROKERS; n++)
        if (W.nodes[n - 1]->up) send_fetch(t, n); /* pipelined: one every millisecond */
    if (t->mode == 4 && !t->inflight[t->coordinator] && t->generation <= 0) send_join(t);
    if (t->mode == 4 && !t->inflight[t->coordinator] && t->generation > 0 && !t->synced)
        send_sync(t);
    for (int32_t n = 1; t->mode == 5 && n <= BROKERS; n++)
        if (W.nodes[n - 1]->up) send_heartbeat(t, n);
}

static void c_accept(void *impl, conn_id c) {
    (void)impl, (void)c;
}
static void c_connected(void *impl, conn_id c) {
    sim_client_on_connected(&((tclient *)impl)->client, c);
}
static void c_closed(void *impl, conn_id c) {
    tclient *t = impl;
    sim_client_on_closed(&t->client, c);
}
static void c_bytes(void *impl, conn_id c, const uint8_t *p, size_t n) {
    sim_client_on_bytes(&((tclient *)impl)->client, c, p, n);
}
static int64_t c_deadline(const void *impl) {
    const tclient *t = impl;
    int64_t at = sim_client_next_deadline_us(&t->client);
    return t->tick_at_us < at ? t->tick_at_us : at;
}
static void c_timer(void *impl) {
    tclient *t = impl;
    sim_client_on_timer(&t->client);
    int64_t now = t->node->env.now_us(t->node->env.ctx);
    if (now < t->tick_at_us) return;
    t->tick_at_us = now + MS_US;
    tick(t);
}
static const sim_node_ops CLIENT_OPS = {c_accept, c_connected, c_closed,
                                        c_bytes,  c_deadline,  c_timer};

/* ---- the cluster ---------------------------------------------------------------------- */

static void start_broker(int32_t id) {
    sim_node *n = W.nodes[id - 1];
    BROKER[id] = broker_open(&n->env, &CFG[id]);
    cr_assert_not_null(BROKER[id]);
    world_node_start(&W, n, BROKER[id], &BROKER_OPS);
}

static void crash_broker(int32_t id) {
    world_node_stop(&W, W.nodes[id - 1]);
    broker_destroy(BROKER[id]);
    BROKER[id] = NULL;
}

static void setup_seed(uint64_t seed) {
    world_init(&W, seed, 1 * MS_US, 5 * MS_US, 0);
    STORE = mem_storage_create();
    W.observer = on_observe;
    for (int32_t id = 1; id <= BROKERS; id++) {
        sim_node *n = world_add_node(&W, id, SIM_NODE_BROKER, "broker");
        n->env.fs = mem_storage_view(STORE, id);
        broker_config_defaults(&CFG[id], id, BROKERS);
        CFG[id].metadata_quorum = 1;
        CFG[id].offsets_topic_partitions = 1;
        CFG[id].min_insync_replicas = 2;
    }
    for (int32_t id = 1; id <= BROKERS; id++) start_broker(id);
    memset(&TC, 0, sizeof TC);
    TC.node = world_add_node(&W, CLIENT_ID, SIM_NODE_CONSUMER, "client");
    sim_client_init(&TC.client, &TC.node->env, CLIENT_ID, "client", BROKERS, &TC, on_response);
    TC.client.metadata_wanted = 0;
    TC.commit_error = -1;
    world_node_start(&W, TC.node, &TC, &CLIENT_OPS);
}

static void setup(void) {
    const char *seed = getenv("GROUP_SEED"); /* to explore other seeds by hand */
    setup_seed(seed ? strtoull(seed, NULL, 10) : 7);
}

static void teardown(void) {
    sim_client_deinit(&TC.client);
    for (int32_t id = 1; id <= BROKERS; id++) broker_destroy(BROKER[id]);
    world_deinit(&W);
    mem_storage_destroy(STORE);
}

TestSuite(group_cluster, .init = setup, .fini = teardown, .timeout = 60);

static void run_s(double s) {
    world_run_until(&W, W.now_us + (int64_t)(s * S_US));
}

Test(group_cluster, committed_offsets_survive_coordinator_failover) {
    run_s(3);
    TC.mode = 1;
    run_s(3);
    cr_assert_eq(TC.find_error, 0, "the offsets topic exists after a while");
    cr_assert(TC.coordinator >= 1 && TC.coordinator <= BROKERS);
    TC.mode = 2;
    run_s(2);
    cr_assert_eq(TC.commit_error, 0, "committed (error %d)", TC.commit_error);
    cr_assert_eq(OBSERVED[OBSERVE_COMMIT], 2);
    int32_t old = TC.coordinator;
    int64_t crash_us = W.now_us;
    crash_broker(old);
    TC.mode = 3;
    run_s(20); /* the controller fences the dead broker after its session, then elects */
    int32_t next = 0;
    for (int32_t n = 1; n <= BROKERS; n++)
        if (n != old && TC.fetched[n] == 41) next = n;
    cr_assert(next != 0, "a surviving broker serves the committed offset");
    cr_assert_eq(broker_partition_leader(BROKER[next], "__consumer_offsets", 0), next);
    int16_t *e = TC.errors[next];
    int n = TC.error_count[next];
    cr_assert(n >= 3, "saw %d distinct answers", n);
    cr_assert_eq(e[0], KAFKA_ERROR_NOT_COORDINATOR);
    cr_assert_eq(e[n - 2], KAFKA_ERROR_COORDINATOR_LOAD_IN_PROGRESS, "loading was visible");
    cr_assert_eq(e[n - 1], KAFKA_ERROR_NONE);
    cr_assert_geq(OBSERVED[OBSERVE_OFFSET_LOAD], 2, "both offsets loaded");
    cr_log_info(
        "crash at %.3f s; broker %d: COORDINATOR_LOAD_IN_PROGRESS from %.3f s, loaded %.3f s",
        (double)crash_us / S_US, (int)next, (double)TC.error_at_us[next][n - 2] / S_US,
        (double)TC.error_at_us[next][n - 1] / S_US);
}

Test(group_cluster, members_keep_their_generation_across_failover) {
    run_s(3);
    TC.mode = 1;
    run_s(3);
    cr_assert_eq(TC.find_error, 0);
    TC.mode = 4;
    run_s(8); /* MEMBER_ID_REQUIRED, the 3 s initial delay, then SyncGroup */
    cr_assert_eq(TC.join_error, 0);
    cr_assert_eq(TC.generation, 1);
    cr_assert(TC.synced, "sync error %d", TC.sync_error);
    cr_assert_eq(OBSERVED[OBSERVE_REBALANCE], 1, "stable once the assignment is durable");
    int32_t old = TC.coordinator;
    crash_broker(old);
    TC.mode = 5;
    run_s(20);
    int32_t next = 0;
    for (int32_t n = 1; n <= BROKERS; n++)
        if (n != old && TC.error_count[n] > 0 && TC.errors[n][TC.error_count[n] - 1] == 0) next = n;
    cr_assert(next != 0, "a surviving broker accepts the member's heartbeats");
    int16_t *e = TC.errors[next];
    int n = TC.error_count[next];
    cr_assert_eq(e[0], KAFKA_ERROR_NOT_COORDINATOR);
    cr_assert_eq(e[n - 2], KAFKA_ERROR_COORDINATOR_LOAD_IN_PROGRESS);
    cr_assert_eq(OBSERVED[OBSERVE_REBALANCE], 1, "no rebalance: the generation was restored");
}

/* ==== a group under faults ==============================================================
 * Four test members run the classic protocol as a Java consumer does (find the
 * coordinator, join with MEMBER_ID_REQUIRED, the leader assigns six partitions
 * round robin, heartbeat every 3 s, commit the virtual time every second, rejoin on
 * REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID, rediscover on
 * coordinator errors or a lost connection) while coordinators crash and restart and
 * a member dies.  At the end every live member is in the last stable generation,
 * the assignment covers each partition exactly once, committed offsets never went
 * backwards, and every load restored at least the last acknowledged commit. */

#define MEMBERS 4
#define GROUP_PARTITIONS 6
#define MEMBER_TICK_US (100 * MS_US)

enum member_state { M_FIND = 0, M_JOIN, M_SYNC, M_STABLE };

typedef struct member {
    sim_client client;
    sim_node *node;
    int alive;
    enum member_state state;
    int inflight;
    int32_t coordinator, find_target;
    char id[128];
    int32_t generation;
    char peers[MEMBERS * 2][128]; /* the leader's view of the members */
    int peer_count;
    uint32_t owned; /* partition bit mask */
    int64_t tick_at_us, heartbeat_at_us, commit_at_us, retry_at_us;
} member;

static member M[MEMBERS];
static int32_t LAST_GENERATION = -1, LAST_GENERATION_MEMBERS;
static int64_t COMMITTED[GROUP_PARTITIONS], LOADED_BELOW_ACKED, COMMIT_REGRESSIONS;

static void on_group_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    on_observe(ctx, t_us, seq, ev);
    if (ev->kind == OBSERVE_REBALANCE) {
        LAST_GENERATION = ev->leader_epoch;
        LAST_GENERATION_MEMBERS = ev->count;
    }
    if (ev->kind == OBSERVE_COMMIT && ev->partition >= 0 && ev->partition < GROUP_PARTITIONS) {
        if (ev->offset < COMMITTED[ev->partition]) COMMIT_REGRESSIONS++;
        COMMITTED[ev->partition] = ev->offset;
    }
    if (ev->kind == OBSERVE_OFFSET_LOAD && ev->partition >= 0 && ev->partition < GROUP_PARTITIONS &&
        ev->offset < COMMITTED[ev->partition])
        LOADED_BELOW_ACKED++;
}

static int64_t m_now(const member *m) {
    return m->node->env.now_us(m->node->env.ctx);
}

static void m_send(member *m, int32_t node, int16_t key, int16_t ver, const void *body,
                   sim_client_encode_fn *encode) {
    if (sim_client_send(&m->client, node, key, ver, body, encode, (uint64_t)key, 1) == 0)
        m->inflight = 1;
}

static void m_rediscover(member *m) {
    m->state = M_FIND;
    m->retry_at_us = m_now(m) + 200 * MS_US;
    m->find_target = m->find_target % BROKERS + 1;
}

static void m_send_join(member *m) {
    kafka_join_group_request_join_group_request_protocol p;
    kafka_join_group_request_join_group_request_protocol_init(&p);
    p.name = kafka_str_c("roundrobin");
    p.metadata = (kafka_bytes){(const uint8_t *)"t", 1};
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 30000;
    req.member_id = kafka_str_c(m->id);
    req.protocol_type = kafka_str_c("consumer");
    req.protocols = &p;
    req.protocols_count = 1;
    m_send(m, m->coordinator, KAFKA_API_JOIN_GROUP, 5, &req, encode_join);
}

static void m_send_sync(member *m) {
    kafka_sync_group_request_sync_group_request_assignment as[MEMBERS * 2];
    uint8_t masks[MEMBERS * 2][4];
    for (int i = 0; i < m->peer_count; i++) {
        uint32_t mask = 0;
        for (int p = i; p < GROUP_PARTITIONS; p += m->peer_count) mask |= 1u << p;
        for (int k = 0; k < 4; k++) masks[i][k] = (uint8_t)(mask >> (8 * k));
        kafka_sync_group_request_sync_group_request_assignment_init(&as[i]);
        as[i].member_id = kafka_str_c(m->peers[i]);
        as[i].assignment = (kafka_bytes){masks[i], 4};
    }
    kafka_sync_group_request req;
    kafka_sync_group_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.generation_id = m->generation;
    req.member_id = kafka_str_c(m->id);
    req.assignments = as;
    req.assignments_count = m->peer_count;
    m_send(m, m->coordinator, KAFKA_API_SYNC_GROUP, 3, &req, encode_sync);
}

static void m_send_commit(member *m) {
    kafka_offset_commit_request_offset_commit_request_partition ps[GROUP_PARTITIONS];
    int n = 0;
    for (int p = 0; p < GROUP_PARTITIONS; p++) {
        if (!(m->owned & (1u << p))) continue;
        kafka_offset_commit_request_offset_commit_request_partition_init(&ps[n]);
        ps[n].partition_index = p;
        ps[n].committed_offset = m_now(m) / MS_US; /* grows: never backwards if fenced right */
        n++;
    }
    kafka_offset_commit_request_offset_commit_request_topic topic;
    kafka_offset_commit_request_offset_commit_request_topic_init(&topic);
    topic.name = kafka_str_c("t");
    topic.partitions = ps;
    topic.partitions_count = n;
    kafka_offset_commit_request req;
    kafka_offset_commit_request_init(&req);
    req.group_id = kafka_str_c("g");
    req.generation_id_or_member_epoch = m->generation;
    req.member_id = kafka_str_c(m->id);
    req.topics = &topic;
    req.topics_count = 1;
    m_send(m, m->coordinator, KAFKA_API_OFFSET_COMMIT, 7, &req, encode_commit);
}

static void m_tick(member *m) {
    int64_t now = m_now(m);
    if (m->inflight || now < m->retry_at_us) return;
    kafka_heartbeat_request hb;
    kafka_find_coordinator_request find;
    switch (m->state) {
    case M_FIND:
        kafka_find_coordinator_request_init(&find);
        find.key = kafka_str_c("g");
        m_send(m, m->find_target, KAFKA_API_FIND_COORDINATOR, 2, &find, encode_find);
        break;
    case M_JOIN:
        m_send_join(m);
        break;
    case M_SYNC:
        m_send_sync(m);
        break;
    case M_STABLE:
        if (now >= m->heartbeat_at_us) {
            kafka_heartbeat_request_init(&hb);
            hb.group_id = kafka_str_c("g");
            hb.generation_id = m->generation;
            hb.member_id = kafka_str_c(m->id);
            m_send(m, m->coordinator, KAFKA_API_HEARTBEAT, 3, &hb, encode_heartbeat);
            m->heartbeat_at_us = now + 3 * S_US;
        } else if (now >= m->commit_at_us && m->owned) {
            m_send_commit(m);
            m->commit_at_us = now + S_US;
        }
        break;
    }
}

/* What every answer's error means to a member, as the Java consumer reads it. */
static void m_on_error(member *m, int16_t error) {
    switch (error) {
    case KAFKA_ERROR_NONE:
        return;
    case KAFKA_ERROR_UNKNOWN_MEMBER_ID:
        m->id[0] = '\0';
        m->state = M_JOIN;
        return;
    case KAFKA_ERROR_REBALANCE_IN_PROGRESS:
    case KAFKA_ERROR_ILLEGAL_GENERATION:
        m->state = M_JOIN;
        return;
    default: /* NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, LOAD_IN_PROGRESS, ... */
        m_rediscover(m);
    }
}

static void m_on_join(member *m, const kafka_join_group_response *r) {
    if (r->error_code == KAFKA_ERROR_MEMBER_ID_REQUIRED) {
        snprintf(m->id, sizeof m->id, "%.*s", (int)r->member_id.len, r->member_id.ptr);
        return;
    }
    m_on_error(m, r->error_code);
    if (r->error_code != KAFKA_ERROR_NONE) return;
    m->generation = r->generation_id;
    m->peer_count = r->members_count < MEMBERS * 2 ? r->members_count : MEMBERS * 2;
    for (int i = 0; i < m->peer_count; i++)
        snprintf(m->peers[i], sizeof m->peers[i], "%.*s", (int)r->members[i].member_id.len,
                 r->members[i].member_id.ptr);
    m->owned = 0;
    m->state = M_SYNC;
}

static void m_on_sync(member *m, const kafka_sync_group_response *r) {
    m_on_error(m, r->error_code);
    if (r->error_code != KAFKA_ERROR_NONE) return;
    m->owned = 0;
    for (int k = 0; k < 4 && k < r->assignment.len; k++)
        m->owned |= (uint32_t)r->assignment.ptr[k] << (8 * k);
    m->state = M_STABLE;
    m->heartbeat_at_us = m_now(m) + 3 * S_US;
    m->commit_at_us = m_now(m) + S_US;
}

static void m_on_response(sim_client *c, void *owner, int32_t node, int16_t api_key, int16_t ver,
                          uint64_t tag, wire_reader *r) {
    member *m = owner;
    (void)c, (void)tag;
    m->inflight = 0;
    if (!r) {
        m_rediscover(m);
        return;
    }
    arena a;
    arena_init(&a);
    if (api_key == KAFKA_API_FIND_COORDINATOR) {
        kafka_find_coordinator_response resp;
        cr_assert_eq(kafka_find_coordinator_response_decode(&resp, r, ver, &a), 0);
        if (resp.error_code == 0) {
            m->coordinator = resp.node_id;
            m->state = M_JOIN;
        } else {
            m_rediscover(m);
        }
    } else if (api_key == KAFKA_API_JOIN_GROUP) {
        kafka_join_group_response resp;
        cr_assert_eq(kafka_join_group_response_decode(&resp, r, ver, &a), 0);
        m_on_join(m, &resp);
    } else if (api_key == KAFKA_API_SYNC_GROUP) {
        kafka_sync_group_response resp;
        cr_assert_eq(kafka_sync_group_response_decode(&resp, r, ver, &a), 0);
        m_on_sync(m, &resp);
    } else if (api_key == KAFKA_API_HEARTBEAT) {
        kafka_heartbeat_response resp;
        cr_assert_eq(kafka_heartbeat_response_decode(&resp, r, ver, &a), 0);
        m_on_error(m, resp.error_code);
    } else {
        kafka_offset_commit_response resp;
        cr_assert_eq(kafka_offset_commit_response_decode(&resp, r, ver, &a), 0);
        for (int32_t i = 0; i < resp.topics_count; i++)
            for (int32_t k = 0; k < resp.topics[i].partitions_count; k++)
                if (m->state == M_STABLE) m_on_error(m, resp.topics[i].partitions[k].error_code);
    }
    arena_deinit(&a);
    (void)node;
}

static void m_connected(void *impl, conn_id c) {
    sim_client_on_connected(&((member *)impl)->client, c);
}
static void m_closed(void *impl, conn_id c) {
    sim_client_on_closed(&((member *)impl)->client, c);
}
static void m_bytes(void *impl, conn_id c, const uint8_t *p, size_t n) {
    sim_client_on_bytes(&((member *)impl)->client, c, p, n);
}
static int64_t m_deadline(const void *impl) {
    const member *m = impl;
    int64_t at = sim_client_next_deadline_us(&m->client);
    return m->tick_at_us < at ? m->tick_at_us : at;
}
static void m_timer(void *impl) {
    member *m = impl;
    sim_client_on_timer(&m->client);
    if (m_now(m) < m->tick_at_us) return;
    m->tick_at_us = m_now(m) + MEMBER_TICK_US;
    m_tick(m);
}
static const sim_node_ops MEMBER_OPS = {c_accept, m_connected, m_closed,
                                        m_bytes,  m_deadline,  m_timer};

static void members_start(void) {
    W.observer = on_group_event;
    for (int i = 0; i < MEMBERS; i++) {
        member *m = &M[i];
        memset(m, 0, sizeof *m);
        m->node = world_add_node(&W, CLIENT_ID + 1 + i, SIM_NODE_CONSUMER, "member");
        sim_client_init(&m->client, &m->node->env, CLIENT_ID + 1 + i, "member", BROKERS, m,
                        m_on_response);
        m->client.metadata_wanted = 0;
        m->find_target = i % BROKERS + 1;
        m->alive = 1;
        world_node_start(&W, m->node, m, &MEMBER_OPS);
    }
}

static void members_stop(void) {
    for (int i = 0; i < MEMBERS; i++) sim_client_deinit(&M[i].client);
}

static int32_t offsets_leader(void) {
    for (int32_t id = 1; id <= BROKERS; id++)
        if (BROKER[id]) return broker_partition_leader(BROKER[id], "__consumer_offsets", 0);
    return -1;
}

static void group_under_faults(void) {
    members_start();
    run_s(20);
    cr_assert_geq(LAST_GENERATION, 1, "the group became stable");
    int32_t first = offsets_leader();
    crash_broker(first);
    run_s(20);
    start_broker(first);
    run_s(10);
    M[1].alive = 0;
    world_node_stop(&W, M[1].node); /* a member dies without leaving */
    run_s(10);
    int32_t second = offsets_leader();
    crash_broker(second);
    run_s(15);
    start_broker(second);
    run_s(40);
    int live = 0;
    uint32_t covered = 0;
    for (int i = 0; i < MEMBERS; i++) {
        if (!M[i].alive) continue;
        live++;
        cr_assert_eq(M[i].state, M_STABLE, "member %d state %d", i, M[i].state);
        cr_assert_eq(M[i].generation, LAST_GENERATION, "member %d in the last generation", i);
        cr_assert_eq(covered & M[i].owned, 0u, "partitions owned twice");
        covered |= M[i].owned;
    }
    cr_assert_eq(covered, (1u << GROUP_PARTITIONS) - 1, "every partition owned");
    cr_assert_eq(LAST_GENERATION_MEMBERS, live);
    cr_assert_eq(COMMIT_REGRESSIONS, 0, "committed offsets never went backwards");
    cr_assert_eq(LOADED_BELOW_ACKED, 0, "loads restore every acknowledged commit");
    cr_assert_gt(OBSERVED[OBSERVE_OFFSET_LOAD], 0);
    cr_log_info("generations %d, commits %d, loads %d", LAST_GENERATION, OBSERVED[OBSERVE_COMMIT],
                OBSERVED[OBSERVE_OFFSET_LOAD]);
    members_stop();
}

Test(group_cluster, a_group_survives_coordinator_and_member_crashes) {
    group_under_faults();
}

/* Regression: with this seed the members' first FindCoordinators reach the quorum
 * leader before its controller starts; the forwarded CreateTopics used to park for
 * ever and starve broker 1's registration behind it, so the offsets topic (3
 * replicas) could never be created. */
Test(group_cluster, early_find_coordinator_does_not_starve_registration) {
    teardown();
    setup_seed(8);
    group_under_faults();
}
