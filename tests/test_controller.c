/* test_controller.c — the controller's decisions: registration and heartbeats,
 * CreateTopics placement and errors, fencing on session expiry with ISR shrink and
 * re-election, offline partitions and unclean election, brokers coming back,
 * AlterPartition's checks, DeleteTopics.  After every call the records it produced
 * are applied to a separate image, as a broker applies committed records, and that
 * image must equal controller_latest. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "controller.h"
#include "kafka_errors.gen.h"
#include "kafka_messages.gen.h"
#include "metadata_image.h"

#define TIMEOUT_MS 9000
#define SEC_US 1000000

typedef struct fixture {
    controller *c;
    controller_config cfg;
    controller_records recs;
    metadata_image follower; /* what a broker applying the committed records holds */
    int64_t next_offset;
    int64_t now_us;
    int64_t epochs[METADATA_BROKERS_MAX + 1];
    arena a;
} fixture;

static fixture fx;

static void start(int unclean) {
    memset(&fx, 0, sizeof fx);
    fx.cfg.node_id = 1;
    fx.cfg.session_timeout_ms = TIMEOUT_MS;
    fx.cfg.unclean_leader_election = unclean;
    fx.cfg.default_partitions = 2;
    fx.cfg.default_replication_factor = 3;
    metadata_image_init(&fx.follower);
    controller_records_init(&fx.recs);
    arena_init(&fx.a);
    fx.c = controller_create(&fx.cfg, &fx.follower, 0);
    cr_assert_not_null(fx.c);
}

static void setup(void) {
    start(0);
}

static void teardown(void) {
    controller_destroy(fx.c);
    controller_records_deinit(&fx.recs);
    metadata_image_deinit(&fx.follower);
    arena_deinit(&fx.a);
}

TestSuite(controller, .init = setup, .fini = teardown);

/* "Commits" what the last call wrote: applies it to the follower image. */
static int32_t commit(void) {
    int32_t n = fx.recs.count;
    cr_assert_eq(fx.recs.starts[n], fx.recs.buf.len);
    for (int32_t i = 0; i < n; i++) {
        size_t s = fx.recs.starts[i], e = fx.recs.starts[i + 1];
        cr_assert_eq(
            metadata_image_apply(&fx.follower, fx.next_offset++, fx.recs.buf.data + s, e - s), 0,
            "record %d does not apply", i);
    }
    controller_records_reset(&fx.recs);
    const metadata_image *latest = controller_latest(fx.c);
    cr_assert(metadata_image_equal(&fx.follower, latest), "follower differs from latest");
    cr_assert_eq(fx.follower.offset, latest->offset);
    return n;
}

static int64_t register_broker(int32_t id) {
    kafka_broker_registration_request req;
    kafka_broker_registration_request_init(&req);
    kafka_broker_registration_request_listener l;
    kafka_broker_registration_request_listener_init(&l);
    char host[16];
    snprintf(host, sizeof host, "broker-%d", id);
    l.name = kafka_str_c("PLAINTEXT");
    l.host = kafka_str_c(host);
    l.port = (uint16_t)(9090 + id);
    req.broker_id = id;
    req.listeners = &l;
    req.listeners_count = 1;
    kafka_broker_registration_response resp;
    int64_t offset = fx.next_offset;
    controller_handle_broker_registration(fx.c, &req, &resp, &fx.recs, offset, fx.now_us);
    cr_assert_eq(resp.error_code, 0);
    cr_assert_eq(resp.broker_epoch, offset, "the epoch is the record's offset");
    commit();
    const metadata_broker *b = metadata_image_broker(&fx.follower, id);
    cr_assert(b->registered && b->fenced);
    cr_assert_str_eq(b->host, host);
    fx.epochs[id] = resp.broker_epoch;
    return resp.broker_epoch;
}

static kafka_broker_heartbeat_response heartbeat_at(int32_t id, int64_t epoch, int64_t offset) {
    kafka_broker_heartbeat_request req;
    kafka_broker_heartbeat_request_init(&req);
    req.broker_id = id;
    req.broker_epoch = epoch;
    req.current_metadata_offset = offset;
    kafka_broker_heartbeat_response resp;
    controller_handle_broker_heartbeat(fx.c, &req, &resp, &fx.recs, fx.now_us);
    commit();
    return resp;
}

/* A heartbeat from a broker that has applied everything committed so far. */
static kafka_broker_heartbeat_response heartbeat(int32_t id) {
    return heartbeat_at(id, fx.epochs[id], fx.follower.offset);
}

static void three_brokers(void) {
    for (int32_t id = 1; id <= 3; id++) register_broker(id);
    for (int32_t id = 1; id <= 3; id++) {
        kafka_broker_heartbeat_response r = heartbeat(id);
        cr_assert_eq(r.error_code, 0);
        cr_assert_not(r.is_fenced);
        cr_assert(metadata_image_broker_alive(&fx.follower, id));
    }
}

static kafka_create_topics_request_creatable_topic topic_req(const char *name, int32_t partitions,
                                                             int16_t rf) {
    kafka_create_topics_request_creatable_topic t;
    kafka_create_topics_request_creatable_topic_init(&t);
    t.name = kafka_str_c(name);
    t.num_partitions = partitions;
    t.replication_factor = rf;
    return t;
}

static int16_t create_topic(const char *name, int32_t partitions, int16_t rf, uint64_t random) {
    kafka_create_topics_request req;
    kafka_create_topics_request_init(&req);
    kafka_create_topics_request_creatable_topic t = topic_req(name, partitions, rf);
    req.topics = &t;
    req.topics_count = 1;
    kafka_create_topics_response resp;
    controller_handle_create_topics(fx.c, &req, 4, &resp, &fx.recs, &fx.a, random);
    cr_assert_eq(resp.topics_count, 1);
    cr_assert(kafka_str_eq(resp.topics[0].name, name));
    wire_writer w; /* the response encodes at the version the admin client uses */
    wire_writer_init(&w);
    kafka_create_topics_response_encode(&resp, &w, 4);
    cr_assert_not(w.failed);
    wire_writer_deinit(&w);
    int32_t n = commit();
    if (resp.topics[0].error_code == 0) {
        const metadata_topic *tp = metadata_image_topic(&fx.follower, name, strlen(name));
        cr_assert_not_null(tp);
        cr_assert_eq(memcmp(tp->id, resp.topics[0].topic_id, 16), 0);
        cr_assert_eq(n, 1 + tp->partition_count);
    } else {
        cr_assert_eq(n, 0, "a rejected topic writes nothing");
    }
    return resp.topics[0].error_code;
}

static const metadata_partition *partition(const char *topic, int32_t p) {
    const metadata_partition *mp = metadata_image_partition(&fx.follower, topic, strlen(topic), p);
    cr_assert_not_null(mp);
    return mp;
}

static int has(const int32_t *ids, int32_t n, int32_t id) {
    for (int32_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

/* Time passes with only the brokers in `beating` heartbeating, every second. */
static void pass_time(int64_t us, const int32_t *beating, int32_t n) {
    int64_t end = fx.now_us + us;
    while (fx.now_us < end) {
        fx.now_us += SEC_US;
        for (int32_t i = 0; i < n; i++) heartbeat(beating[i]);
        if (controller_next_deadline_us(fx.c) <= fx.now_us) {
            controller_on_timer(fx.c, &fx.recs, fx.now_us);
            commit();
        }
    }
}

/* ---- registration and heartbeats -------------------------------------------------------- */

Test(controller, registered_brokers_unfence_once_caught_up) {
    int64_t e1 = register_broker(1);
    kafka_broker_heartbeat_response r = heartbeat_at(1, e1, e1 - 1);
    cr_assert_eq(r.error_code, 0);
    cr_assert(r.is_fenced, "behind its own registration: stays fenced");
    cr_assert_not(r.is_caught_up);
    cr_assert_not(r.should_shut_down);
    cr_assert_not(metadata_image_broker_alive(&fx.follower, 1));
    r = heartbeat_at(1, e1, e1);
    cr_assert_not(r.is_fenced);
    cr_assert(r.is_caught_up);
    cr_assert(metadata_image_broker_alive(&fx.follower, 1));
    register_broker(2);
    register_broker(3);
    heartbeat(2);
    heartbeat(3);
    for (int32_t id = 1; id <= 3; id++) cr_assert(metadata_image_broker_alive(&fx.follower, id));
    cr_assert_eq(heartbeat(2).is_fenced, 0, "a second heartbeat changes nothing");
}

Test(controller, heartbeats_with_a_stale_or_unknown_epoch_are_refused) {
    int64_t e1 = register_broker(1);
    kafka_broker_heartbeat_response r = heartbeat_at(1, e1 + 1, 100);
    cr_assert_eq(r.error_code, KAFKA_ERROR_STALE_BROKER_EPOCH);
    cr_assert_eq(fx.recs.count, 0);
    r = heartbeat_at(2, 0, 100);
    cr_assert_eq(r.error_code, KAFKA_ERROR_STALE_BROKER_EPOCH, "never registered");
    r = heartbeat_at(99, 0, 100);
    cr_assert_eq(r.error_code, KAFKA_ERROR_STALE_BROKER_EPOCH, "id out of range");
    int64_t e1b = register_broker(1); /* a restart */
    cr_assert_gt(e1b, e1);
    r = heartbeat_at(1, e1, 100);
    cr_assert_eq(r.error_code, KAFKA_ERROR_STALE_BROKER_EPOCH, "the old incarnation");
    r = heartbeat_at(1, e1b, 100);
    cr_assert_eq(r.error_code, 0);
    cr_assert_not(r.is_fenced);
}

Test(controller, want_fence_fences_and_moves_leadership) {
    three_brokers();
    cr_assert_eq(create_topic("t", 3, 3, 0), 0);
    kafka_broker_heartbeat_request req;
    kafka_broker_heartbeat_request_init(&req);
    req.broker_id = 1;
    req.broker_epoch = fx.epochs[1];
    req.current_metadata_offset = fx.follower.offset;
    req.want_shut_down = 1;
    kafka_broker_heartbeat_response resp;
    controller_handle_broker_heartbeat(fx.c, &req, &resp, &fx.recs, fx.now_us);
    commit();
    cr_assert(resp.is_fenced);
    cr_assert(resp.should_shut_down);
    for (int32_t p = 0; p < 3; p++) {
        cr_assert_neq(partition("t", p)->leader, 1);
        cr_assert_not(has(partition("t", p)->isr, partition("t", p)->isr_count, 1));
    }
}

/* ---- CreateTopics ----------------------------------------------------------------------- */

Test(controller, create_topics_places_replicas_round_robin) {
    three_brokers();
    cr_assert_eq(create_topic("orders", 6, 3, 12345), 0);
    const metadata_topic *t = metadata_image_topic(&fx.follower, "orders", 6);
    cr_assert_eq(t->partition_count, 6);
    cr_assert_not(kafka_uuid_is_zero(t->id));
    int32_t led[4] = {0};
    int32_t first = partition("orders", 0)->replicas[0];
    for (int32_t p = 0; p < 6; p++) {
        const metadata_partition *mp = partition("orders", p);
        cr_assert_eq(mp->replica_count, 3);
        for (int32_t k = 0; k < 3; k++) {
            cr_assert(!has(mp->replicas, k, mp->replicas[k]), "distinct brokers");
            /* alive = {1,2,3}: replica k of partition p is alive[(start + p + k) % 3] */
            cr_assert_eq(mp->replicas[k], (first - 1 + p + k) % 3 + 1);
        }
        cr_assert_eq(mp->leader, mp->replicas[0], "leader = first replica");
        cr_assert_eq(mp->isr_count, 3);
        cr_assert_eq(memcmp(mp->isr, mp->replicas, sizeof(int32_t) * 3), 0, "ISR = replicas");
        cr_assert_eq(mp->leader_epoch, 0);
        cr_assert_eq(mp->partition_epoch, 0);
        led[mp->leader]++;
    }
    for (int32_t id = 1; id <= 3; id++) cr_assert_eq(led[id], 2, "leadership is spread");
    cr_assert_eq(create_topic("rf1", 4, 1, 7), 0);
    for (int32_t p = 1; p < 4; p++)
        cr_assert_eq(partition("rf1", p)->leader, partition("rf1", p - 1)->leader % 3 + 1);
}

Test(controller, create_topics_uses_defaults_for_minus_one) {
    three_brokers();
    cr_assert_eq(create_topic("d", -1, -1, 1), 0);
    cr_assert_eq(metadata_image_topic(&fx.follower, "d", 1)->partition_count, 2);
    cr_assert_eq(partition("d", 1)->replica_count, 3);
}

Test(controller, create_topics_rejects_bad_requests) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 1, 0), 0);
    cr_assert_eq(create_topic("t", 1, 1, 0), KAFKA_ERROR_TOPIC_ALREADY_EXISTS);
    cr_assert_eq(create_topic("u", 1, 4, 0), KAFKA_ERROR_INVALID_REPLICATION_FACTOR);
    cr_assert_eq(create_topic("u", 1, 0, 0), KAFKA_ERROR_INVALID_REPLICATION_FACTOR);
    cr_assert_eq(create_topic("u", 0, 1, 0), KAFKA_ERROR_INVALID_PARTITIONS);
    cr_assert_eq(create_topic("u", -5, 1, 0), KAFKA_ERROR_INVALID_PARTITIONS);
    cr_assert_eq(create_topic("u", 5000, 1, 0), KAFKA_ERROR_INVALID_PARTITIONS);
    cr_assert_eq(create_topic("a b", 1, 1, 0), KAFKA_ERROR_INVALID_TOPIC_EXCEPTION);
    cr_assert_eq(create_topic("", 1, 1, 0), KAFKA_ERROR_INVALID_TOPIC_EXCEPTION);
    cr_assert_eq(create_topic("..", 1, 1, 0), KAFKA_ERROR_INVALID_TOPIC_EXCEPTION);
    char longest[251];
    memset(longest, 'x', 250);
    longest[250] = '\0';
    cr_assert_eq(create_topic(longest, 1, 1, 0), KAFKA_ERROR_INVALID_TOPIC_EXCEPTION);
    longest[249] = '\0';
    cr_assert_eq(create_topic(longest, 1, 1, 0), 0, "249 characters are fine");
}

Test(controller, create_topics_counts_only_alive_brokers) {
    three_brokers();
    int32_t beating[] = {2, 3};
    pass_time(10 * SEC_US, beating, 2);
    cr_assert_not(metadata_image_broker_alive(&fx.follower, 1));
    cr_assert_eq(create_topic("u", 1, 3, 0), KAFKA_ERROR_INVALID_REPLICATION_FACTOR);
    cr_assert_eq(create_topic("u", 4, 2, 0), 0);
    for (int32_t p = 0; p < 4; p++)
        cr_assert_not(has(partition("u", p)->replicas, 2, 1), "no replica on a fenced broker");
}

Test(controller, create_topics_duplicates_validate_only_and_several_topics) {
    three_brokers();
    kafka_create_topics_request req;
    kafka_create_topics_request_init(&req);
    kafka_create_topics_request_creatable_topic ts[3] = {topic_req("x", 1, 1), topic_req("x", 1, 1),
                                                         topic_req("y", 2, 2)};
    req.topics = ts;
    req.topics_count = 3;
    kafka_create_topics_response resp;
    controller_handle_create_topics(fx.c, &req, 4, &resp, &fx.recs, &fx.a, 9);
    cr_assert_eq(resp.topics[0].error_code, KAFKA_ERROR_INVALID_REQUEST);
    cr_assert_eq(resp.topics[1].error_code, KAFKA_ERROR_INVALID_REQUEST);
    cr_assert_eq(resp.topics[2].error_code, 0);
    cr_assert_eq(commit(), 3);
    req.topics = &ts[0];
    req.topics_count = 1;
    req.validate_only = 1;
    controller_handle_create_topics(fx.c, &req, 4, &resp, &fx.recs, &fx.a, 9);
    cr_assert_eq(resp.topics[0].error_code, 0);
    cr_assert_eq(commit(), 0, "validate_only writes nothing");
    cr_assert_null(metadata_image_topic(&fx.follower, "x", 1));
}

Test(controller, create_topics_with_explicit_assignments) {
    three_brokers();
    kafka_create_topics_request req;
    kafka_create_topics_request_init(&req);
    kafka_create_topics_request_creatable_topic t = topic_req("m", -1, -1);
    int32_t b0[] = {3, 1}, b1[] = {2, 3};
    kafka_create_topics_request_creatable_replica_assignment as[2];
    kafka_create_topics_request_creatable_replica_assignment_init(&as[0]);
    kafka_create_topics_request_creatable_replica_assignment_init(&as[1]);
    as[0].partition_index = 1, as[0].broker_ids = b1, as[0].broker_ids_count = 2;
    as[1].partition_index = 0, as[1].broker_ids = b0, as[1].broker_ids_count = 2;
    t.assignments = as;
    t.assignments_count = 2;
    req.topics = &t;
    req.topics_count = 1;
    kafka_create_topics_response resp;
    controller_handle_create_topics(fx.c, &req, 4, &resp, &fx.recs, &fx.a, 0);
    cr_assert_eq(resp.topics[0].error_code, 0);
    commit();
    cr_assert_eq(partition("m", 0)->leader, 3);
    cr_assert_eq(partition("m", 1)->replicas[1], 3);
    b1[1] = 2; /* duplicate broker */
    t.name = kafka_str_c("m2");
    controller_handle_create_topics(fx.c, &req, 4, &resp, &fx.recs, &fx.a, 0);
    cr_assert_eq(resp.topics[0].error_code, KAFKA_ERROR_INVALID_REPLICA_ASSIGNMENT);
    cr_assert_eq(commit(), 0);
}

/* ---- fencing and elections -------------------------------------------------------------- */

Test(controller, session_expiry_fences_shrinks_isr_and_reelects) {
    three_brokers();
    cr_assert_eq(create_topic("t", 3, 3, 0), 0);
    metadata_partition before[3];
    for (int32_t p = 0; p < 3; p++) before[p] = *partition("t", p);
    int64_t deadline = controller_next_deadline_us(fx.c);
    cr_assert_eq(deadline, fx.now_us + TIMEOUT_MS * 1000LL);
    controller_on_timer(fx.c, &fx.recs, deadline - 1);
    cr_assert_eq(commit(), 0, "not yet");
    int32_t beating[] = {2, 3};
    pass_time(10 * SEC_US, beating, 2);
    cr_assert_not(metadata_image_broker_alive(&fx.follower, 1));
    cr_assert(metadata_image_broker(&fx.follower, 1)->registered);
    for (int32_t p = 0; p < 3; p++) {
        const metadata_partition *mp = partition("t", p);
        cr_assert_eq(mp->isr_count, 2);
        cr_assert_not(has(mp->isr, 2, 1));
        cr_assert_eq(mp->partition_epoch, 1);
        if (before[p].leader != 1) {
            cr_assert_eq(mp->leader, before[p].leader);
            cr_assert_eq(mp->leader_epoch, 0, "an ISR shrink keeps the leader epoch");
            continue;
        }
        /* the first replica, in replica order, that is in the ISR and alive */
        int32_t expect = before[p].replicas[1];
        cr_assert_eq(mp->leader, expect);
        cr_assert_eq(mp->leader_epoch, 1);
    }
    cr_assert_gt(controller_next_deadline_us(fx.c), fx.now_us);
}

Test(controller, deadline_is_none_without_alive_brokers) {
    cr_assert_eq(controller_next_deadline_us(fx.c), INT64_MAX);
    register_broker(1);
    cr_assert_eq(controller_next_deadline_us(fx.c), INT64_MAX, "a fenced broker has no deadline");
    heartbeat(1);
    cr_assert_eq(controller_next_deadline_us(fx.c), fx.now_us + TIMEOUT_MS * 1000LL);
}

Test(controller, the_last_isr_member_dying_takes_the_partition_offline) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    int32_t order[3];
    memcpy(order, partition("t", 0)->replicas, sizeof order);
    /* replicas die one after the other, in replica order */
    int32_t beating[2] = {order[1], order[2]};
    pass_time(10 * SEC_US, beating, 2);
    cr_assert_eq(partition("t", 0)->leader, order[1]);
    pass_time(10 * SEC_US, &beating[1], 1);
    cr_assert_eq(partition("t", 0)->leader, order[2]);
    cr_assert_eq(partition("t", 0)->isr_count, 1);
    int32_t le = partition("t", 0)->leader_epoch;
    pass_time(10 * SEC_US, NULL, 0);
    const metadata_partition *mp = partition("t", 0);
    cr_assert_eq(mp->leader, METADATA_NO_LEADER);
    cr_assert_eq(mp->isr_count, 1, "the ISR is never emptied");
    cr_assert_eq(mp->isr[0], order[2], "it keeps the last member");
    cr_assert_eq(mp->leader_epoch, le + 1);

    /* a broker outside the ISR returns: a clean election must wait */
    register_broker(order[0]);
    heartbeat(order[0]);
    cr_assert_eq(partition("t", 0)->leader, METADATA_NO_LEADER);
    /* the last ISR member returns (register + caught-up heartbeat): it leads again */
    register_broker(order[2]);
    cr_assert_eq(partition("t", 0)->leader, METADATA_NO_LEADER, "fenced until caught up");
    heartbeat(order[2]);
    mp = partition("t", 0);
    cr_assert_eq(mp->leader, order[2]);
    cr_assert_eq(mp->leader_epoch, le + 2);
    cr_assert_eq(mp->isr_count, 1);
}

Test(controller, rf1_partition_goes_offline_and_comes_back) {
    three_brokers();
    cr_assert_eq(create_topic("one", 3, 1, 0), 0);
    int32_t victim = partition("one", 0)->leader;
    int32_t beating[2], n = 0;
    for (int32_t id = 1; id <= 3; id++)
        if (id != victim) beating[n++] = id;
    pass_time(10 * SEC_US, beating, 2);
    cr_assert_eq(partition("one", 0)->leader, METADATA_NO_LEADER);
    cr_assert_eq(partition("one", 0)->leader_epoch, 1);
    cr_assert_eq(partition("one", 1)->leader_epoch, 0, "other partitions untouched");
    /* the session was only expired: the same incarnation heartbeats again */
    heartbeat(victim);
    cr_assert_eq(partition("one", 0)->leader, victim);
    cr_assert_eq(partition("one", 0)->leader_epoch, 2);
}

static void restart_unclean(void) {
    teardown();
    start(1);
}

/* Replicas [a, b, c]: the leader shrinks the ISR to itself, then dies. */
static int32_t shrink_to_leader_then_kill(const char *name, int32_t *order);

Test(controller, unclean_election_picks_the_first_alive_replica) {
    restart_unclean();
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    int32_t order[3];
    shrink_to_leader_then_kill("t", order);
    const metadata_partition *mp = partition("t", 0);
    cr_assert_eq(mp->leader, order[1], "first alive replica, outside the ISR");
    cr_assert_eq(mp->isr_count, 1);
    cr_assert_eq(mp->isr[0], order[1]);
}

Test(controller, clean_election_leaves_it_offline) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    int32_t order[3];
    shrink_to_leader_then_kill("t", order);
    const metadata_partition *mp = partition("t", 0);
    cr_assert_eq(mp->leader, METADATA_NO_LEADER);
    cr_assert_eq(mp->isr[0], order[0]);
}

Test(controller, unclean_election_when_a_replica_returns) {
    restart_unclean();
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    int32_t order[3];
    memcpy(order, partition("t", 0)->replicas, sizeof order);
    pass_time(10 * SEC_US, &order[0], 1); /* the two followers die */
    pass_time(10 * SEC_US, NULL, 0);      /* then the leader */
    cr_assert_eq(partition("t", 0)->leader, METADATA_NO_LEADER);
    cr_assert_eq(partition("t", 0)->isr[0], order[0]);
    heartbeat(order[2]); /* a replica outside the ISR comes back */
    cr_assert_eq(partition("t", 0)->leader, order[2]);
    cr_assert_eq(partition("t", 0)->isr[0], order[2]);
}

Test(controller, reregistering_an_alive_broker_moves_its_leadership) {
    three_brokers();
    cr_assert_eq(create_topic("t", 3, 3, 0), 0);
    int32_t led = -1;
    for (int32_t p = 0; p < 3; p++)
        if (partition("t", p)->leader == 1) led = p;
    cr_assert_geq(led, 0);
    register_broker(1); /* restarted before its session expired */
    cr_assert_neq(partition("t", led)->leader, 1);
    cr_assert_eq(partition("t", led)->leader_epoch, 1);
    for (int32_t p = 0; p < 3; p++) cr_assert_not(has(partition("t", p)->isr, 2, 1));
}

/* ---- AlterPartition --------------------------------------------------------------------- */

typedef struct alter_call {
    int32_t broker;
    int64_t broker_epoch;
    int32_t leader_epoch;
    int32_t partition_epoch;
    int32_t isr[3];
    int32_t isr_count;
    int16_t version;
    const char *topic;
} alter_call;

static kafka_alter_partition_response_partition_data alter(alter_call ac) {
    kafka_alter_partition_request_partition_data pd;
    kafka_alter_partition_request_partition_data_init(&pd);
    kafka_alter_partition_request_broker_state states[3];
    pd.partition_index = 0;
    pd.leader_epoch = ac.leader_epoch;
    pd.partition_epoch = ac.partition_epoch;
    pd.new_isr = ac.isr;
    pd.new_isr_count = ac.isr_count;
    for (int32_t i = 0; i < ac.isr_count; i++) {
        states[i].broker_id = ac.isr[i];
        states[i].broker_epoch = fx.epochs[ac.isr[i]];
    }
    pd.new_isr_with_epochs = states;
    pd.new_isr_with_epochs_count = ac.isr_count;
    kafka_alter_partition_request_topic_data td;
    kafka_alter_partition_request_topic_data_init(&td);
    td.topic_name = kafka_str_c(ac.topic ? ac.topic : "t");
    const metadata_topic *t = metadata_image_topic(&fx.follower, "t", 1);
    memcpy(td.topic_id, t->id, 16);
    td.partitions = &pd;
    td.partitions_count = 1;
    kafka_alter_partition_request req;
    kafka_alter_partition_request_init(&req);
    req.broker_id = ac.broker;
    req.broker_epoch = ac.broker_epoch ? ac.broker_epoch : fx.epochs[ac.broker];
    req.topics = &td;
    req.topics_count = 1;
    /* through the codec, as the broker would receive it */
    wire_writer w;
    wire_writer_init(&w);
    kafka_alter_partition_request_encode(&req, &w, ac.version);
    wire_reader r;
    wire_reader_init(&r, w.data, w.len);
    kafka_alter_partition_request got;
    cr_assert_eq(kafka_alter_partition_request_decode(&got, &r, ac.version, &fx.a), 0);
    kafka_alter_partition_response resp;
    controller_handle_alter_partition(fx.c, &got, ac.version, &resp, &fx.recs, &fx.a);
    wire_writer_deinit(&w);
    commit();
    if (resp.error_code != 0) {
        kafka_alter_partition_response_partition_data e;
        kafka_alter_partition_response_partition_data_init(&e);
        e.error_code = resp.error_code;
        return e;
    }
    cr_assert_eq(resp.topics_count, 1);
    cr_assert_eq(resp.topics[0].partitions_count, 1);
    return resp.topics[0].partitions[0];
}

static alter_call from_leader(const char *topic) {
    const metadata_partition *mp = partition(topic, 0);
    alter_call ac = {.broker = mp->leader,
                     .leader_epoch = mp->leader_epoch,
                     .partition_epoch = mp->partition_epoch,
                     .isr_count = mp->isr_count,
                     .version = 1,
                     .topic = topic};
    memcpy(ac.isr, mp->isr, (size_t)mp->isr_count * sizeof(int32_t));
    return ac;
}

static int32_t shrink_to_leader_then_kill(const char *name, int32_t *order) {
    memcpy(order, partition(name, 0)->replicas, 3 * sizeof(int32_t));
    alter_call ac = from_leader(name);
    ac.isr_count = 1;
    cr_assert_eq(alter(ac).error_code, 0);
    cr_assert_eq(partition(name, 0)->isr_count, 1);
    int32_t beating[] = {order[1], order[2]};
    pass_time(10 * SEC_US, beating, 2);
    return order[0];
}

Test(controller, alter_partition_from_the_leader_at_current_epochs) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    for (int16_t version = 0; version <= 3; version++) {
        alter_call ac = from_leader("t");
        ac.version = version;
        int32_t other = ac.isr[2];
        ac.isr_count = 2; /* drop the last one */
        kafka_alter_partition_response_partition_data res = alter(ac);
        cr_assert_eq(res.error_code, 0, "v%d", version);
        const metadata_partition *mp = partition("t", 0);
        cr_assert_eq(mp->isr_count, 2);
        cr_assert_eq(res.isr_count, 2);
        cr_assert_eq(res.leader_id, ac.broker);
        cr_assert_eq(res.leader_epoch, ac.leader_epoch);
        cr_assert_eq(res.partition_epoch, ac.partition_epoch + 1);
        cr_assert_eq(mp->partition_epoch, ac.partition_epoch + 1);
        cr_assert_eq(mp->leader_epoch, ac.leader_epoch);
        ac = from_leader("t");
        ac.version = version;
        ac.isr[ac.isr_count++] = other; /* and expand again */
        cr_assert_eq(alter(ac).error_code, 0);
        cr_assert_eq(partition("t", 0)->isr_count, 3);
    }
    alter_call same = from_leader("t");
    kafka_alter_partition_response_partition_data res = alter(same);
    cr_assert_eq(res.error_code, 0, "an unchanged ISR is accepted");
    cr_assert_eq(res.partition_epoch, same.partition_epoch, "and writes nothing");
}

Test(controller, alter_partition_rejections) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    alter_call good = from_leader("t");
    good.isr_count = 2;
    cr_assert_eq(alter(good).error_code, 0);
    alter_call ac = from_leader("t");
    ac.leader_epoch--;
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_FENCED_LEADER_EPOCH);
    ac = good; /* the partition epoch it was at before its own change */
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_INVALID_UPDATE_VERSION);
    ac = from_leader("t");
    ac.broker = ac.isr[1];
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER);
    ac = from_leader("t");
    ac.isr[0] = ac.isr[1];
    ac.isr_count = 1;
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_INVALID_REQUEST, "ISR without the leader");
    ac = from_leader("t");
    ac.isr[1] = 7;
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_INVALID_REQUEST, "not a replica");
    ac = from_leader("t");
    ac.broker_epoch = fx.epochs[ac.broker] + 1;
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_STALE_BROKER_EPOCH);
    ac = from_leader("t");
    ac.topic = "nope";
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    ac = from_leader("t");
    ac.partition_epoch += 5;
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_NOT_CONTROLLER, "ahead of this controller");
    cr_assert_eq(from_leader("t").partition_epoch, 1, "nothing was written");
}

Test(controller, alter_partition_refuses_fenced_replicas) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    alter_call ac = from_leader("t");
    int32_t dropped = ac.isr[2];
    ac.isr_count = 2;
    cr_assert_eq(alter(ac).error_code, 0);
    int32_t beating[] = {ac.isr[0], ac.isr[1]};
    pass_time(10 * SEC_US, beating, 2);
    cr_assert_not(metadata_image_broker_alive(&fx.follower, dropped));
    ac = from_leader("t");
    ac.isr[ac.isr_count++] = dropped;
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_INELIGIBLE_REPLICA);
    heartbeat(dropped);
    ac = from_leader("t");
    ac.isr[ac.isr_count++] = dropped;
    ac.version = 3;
    fx.epochs[dropped] += 100; /* v3 names each member's broker epoch (-1: unchecked) */
    cr_assert_eq(alter(ac).error_code, KAFKA_ERROR_INELIGIBLE_REPLICA);
    fx.epochs[dropped] -= 100;
    cr_assert_eq(alter(ac).error_code, 0);
    cr_assert_eq(partition("t", 0)->isr_count, 3);
}

/* ---- DeleteTopics ---------------------------------------------------------------------- */

Test(controller, delete_topics_removes_and_reports_unknown) {
    three_brokers();
    cr_assert_eq(create_topic("a", 1, 1, 0), 0);
    cr_assert_eq(create_topic("b", 1, 1, 0), 0);
    uint8_t old_id[16];
    memcpy(old_id, metadata_image_topic(&fx.follower, "a", 1)->id, 16);
    kafka_str names[2] = {kafka_str_c("a"), kafka_str_c("zz")};
    kafka_delete_topics_request req;
    kafka_delete_topics_request_init(&req);
    req.topic_names = names;
    req.topic_names_count = 2;
    kafka_delete_topics_response resp;
    controller_handle_delete_topics(fx.c, &req, 3, &resp, &fx.recs, &fx.a);
    cr_assert_eq(resp.responses_count, 2);
    cr_assert(kafka_str_eq(resp.responses[0].name, "a"));
    cr_assert_eq(resp.responses[0].error_code, 0);
    cr_assert_eq(resp.responses[1].error_code, KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION);
    cr_assert_eq(commit(), 1);
    cr_assert_null(metadata_image_topic(&fx.follower, "a", 1));
    cr_assert_not_null(metadata_image_topic(&fx.follower, "b", 1));
    cr_assert_eq(fx.follower.topics_removed, 1);
    cr_assert_eq(create_topic("a", 1, 1, 0), 0, "the name can be reused");
    const metadata_topic *again = metadata_image_topic(&fx.follower, "a", 1);
    cr_assert_not_null(again);
    cr_assert_neq(memcmp(again->id, old_id, 16), 0,
                  "created again after a deletion, with the same seed: a new topic id");
}

Test(controller, a_new_controller_starts_from_the_committed_image) {
    three_brokers();
    cr_assert_eq(create_topic("t", 1, 3, 0), 0);
    controller_destroy(fx.c);
    fx.now_us += 5 * SEC_US;
    fx.c = controller_create(&fx.cfg, &fx.follower, fx.now_us);
    cr_assert(metadata_image_equal(controller_latest(fx.c), &fx.follower));
    cr_assert_eq(controller_next_deadline_us(fx.c), fx.now_us + TIMEOUT_MS * 1000LL,
                 "sessions restart at creation");
    heartbeat(2);
    cr_assert_eq(commit(), 0);
}
