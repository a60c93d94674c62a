/* test_metadata_image.c — every record writer's output applies back to the state it
 * describes; epochs follow PartitionChangeRecord's rules; garbage (truncations,
 * trailing bytes, bad frames, invalid values) is rejected without change; copies are
 * deep. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "kafka_messages.gen.h"
#include "metadata_image.h"
#include "wire.h"

static const uint8_t ID_A[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t ID_B[16] = {0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static metadata_image img;
static wire_writer w;

static void setup(void) {
    metadata_image_init(&img);
    wire_writer_init(&w);
}

static void teardown(void) {
    metadata_image_deinit(&img);
    wire_writer_deinit(&w);
}

TestSuite(metadata_image, .init = setup, .fini = teardown);

/* Applies the value written since `start` at the next offset. */
static int apply_from(metadata_image *m, size_t start) {
    cr_assert(!w.failed);
    return metadata_image_apply(m, m->offset + 1, w.data + start, w.len - start);
}

static void apply_ok(size_t start) {
    cr_assert_eq(apply_from(&img, start), 0);
}

static metadata_partition part(int32_t index, const int32_t *replicas, int32_t n, int32_t leader) {
    metadata_partition p;
    memset(&p, 0, sizeof p);
    p.partition = index;
    memcpy(p.replicas, replicas, (size_t)n * sizeof(int32_t));
    memcpy(p.isr, replicas, (size_t)n * sizeof(int32_t));
    p.replica_count = p.isr_count = n;
    p.leader = leader;
    return p;
}

/* Topic "alpha" (ID_A) with partitions 0 and 1 over brokers 1..3. */
static void two_partitions(void) {
    static const int32_t r0[] = {1, 2, 3}, r1[] = {2, 3, 1};
    apply_ok(metadata_record_topic(&w, "alpha", ID_A));
    metadata_partition p0 = part(0, r0, 3, 1), p1 = part(1, r1, 3, 2);
    apply_ok(metadata_record_partition(&w, ID_A, &p0));
    apply_ok(metadata_record_partition(&w, ID_A, &p1));
}

Test(metadata_image, empty_image) {
    cr_assert_eq(img.offset, -1);
    cr_assert_eq(img.topic_count, 0);
    cr_assert_null(metadata_image_topic(&img, "x", 1));
    cr_assert_null(metadata_image_broker(&img, 0));
    cr_assert_null(metadata_image_broker(&img, METADATA_BROKERS_MAX + 1));
    cr_assert_eq(metadata_image_broker(&img, 3)->id, 3);
    cr_assert_not(metadata_image_broker_alive(&img, 3));
}

Test(metadata_image, topic_and_partitions_apply_back) {
    two_partitions();
    cr_assert_eq(img.offset, 2);
    const metadata_topic *t = metadata_image_topic(&img, "alpha", 5);
    cr_assert_not_null(t);
    cr_assert_eq(t, metadata_image_topic_by_id(&img, ID_A));
    cr_assert_eq(t->partition_count, 2);
    const metadata_partition *p = metadata_image_partition(&img, "alpha", 5, 1);
    cr_assert_not_null(p);
    cr_assert_eq(p->replica_count, 3);
    cr_assert_eq(p->replicas[0], 2);
    cr_assert_eq(p->isr_count, 3);
    cr_assert_eq(p->leader, 2);
    cr_assert_eq(p->leader_epoch, 0);
    cr_assert_eq(p->partition_epoch, 0);
    cr_assert_null(metadata_image_partition(&img, "alpha", 5, 2));
    cr_assert_null(metadata_image_partition(&img, "alpha", 5, -1));
    cr_assert_null(metadata_image_topic(&img, "alph", 4), "a prefix is not the topic");
    cr_assert_null(metadata_image_topic(&img, "alphaa", 6));
    cr_assert_null(metadata_image_topic_by_id(&img, ID_B));
}

Test(metadata_image, partition_record_replaces_an_existing_index) {
    two_partitions();
    static const int32_t r[] = {3};
    metadata_partition p = part(1, r, 1, 3);
    p.leader_epoch = 7;
    p.partition_epoch = 9;
    apply_ok(metadata_record_partition(&w, ID_A, &p));
    const metadata_partition *got = metadata_image_partition(&img, "alpha", 5, 1);
    cr_assert_eq(got->leader, 3);
    cr_assert_eq(got->leader_epoch, 7);
    cr_assert_eq(got->partition_epoch, 9);
    cr_assert_eq(metadata_image_topic(&img, "alpha", 5)->partition_count, 2);
}

Test(metadata_image, isr_only_change_bumps_partition_epoch_only) {
    two_partitions();
    static const int32_t isr[] = {1, 3};
    apply_ok(metadata_record_partition_change(&w, ID_A, 0, isr, 2, -2));
    const metadata_partition *p = metadata_image_partition(&img, "alpha", 5, 0);
    cr_assert_eq(p->isr_count, 2);
    cr_assert_eq(p->isr[1], 3);
    cr_assert_eq(p->leader, 1);
    cr_assert_eq(p->leader_epoch, 0);
    cr_assert_eq(p->partition_epoch, 1);
    cr_assert_eq(p->replica_count, 3, "null replicas = unchanged");
}

Test(metadata_image, leader_change_bumps_both_epochs) {
    two_partitions();
    static const int32_t isr[] = {2, 3};
    apply_ok(metadata_record_partition_change(&w, ID_A, 0, isr, 2, 2));
    const metadata_partition *p = metadata_image_partition(&img, "alpha", 5, 0);
    cr_assert_eq(p->leader, 2);
    cr_assert_eq(p->leader_epoch, 1);
    cr_assert_eq(p->partition_epoch, 1);
    apply_ok(metadata_record_partition_change(&w, ID_A, 0, NULL, -1, 3));
    cr_assert_eq(p->leader, 3, "leader only: ISR unchanged");
    cr_assert_eq(p->isr_count, 2);
    cr_assert_eq(p->leader_epoch, 2);
    cr_assert_eq(p->partition_epoch, 2);
    static const int32_t last[] = {3};
    apply_ok(metadata_record_partition_change(&w, ID_A, 0, last, 1, -1));
    cr_assert_eq(p->leader, METADATA_NO_LEADER);
    cr_assert_eq(p->leader_epoch, 3, "going offline is a leader change too");
    cr_assert_eq(p->partition_epoch, 3);
}

Test(metadata_image, brokers_register_fence_unfence) {
    apply_ok(metadata_record_register_broker(&w, 2, 0, "broker-2", 9092));
    const metadata_broker *b = metadata_image_broker(&img, 2);
    cr_assert(b->registered);
    cr_assert(b->fenced, "a registration is fenced");
    cr_assert_eq(b->epoch, 0);
    cr_assert_str_eq(b->host, "broker-2");
    cr_assert_eq(b->port, 9092);
    cr_assert_not(metadata_image_broker_alive(&img, 2));
    apply_ok(metadata_record_unfence_broker(&w, 2, 0));
    cr_assert(metadata_image_broker_alive(&img, 2));
    apply_ok(metadata_record_fence_broker(&w, 2, 0));
    cr_assert_not(metadata_image_broker_alive(&img, 2));
    /* a restart: a new registration with a higher epoch replaces the old one */
    apply_ok(metadata_record_register_broker(&w, 2, 3, "b2", 9093));
    cr_assert_eq(b->epoch, 3);
    cr_assert_str_eq(b->host, "b2");
    cr_assert_eq(metadata_image_apply(&img, img.offset + 1, NULL, 0), -1, "empty value");
}

Test(metadata_image, remove_topic_keeps_creation_order) {
    static const int32_t r[] = {1};
    apply_ok(metadata_record_topic(&w, "a", ID_A));
    apply_ok(metadata_record_topic(&w, "b", ID_B));
    metadata_partition p = part(0, r, 1, 1);
    apply_ok(metadata_record_partition(&w, ID_A, &p));
    apply_ok(metadata_record_remove_topic(&w, ID_A));
    cr_assert_eq(img.topic_count, 1);
    cr_assert_str_eq(img.topics[0].name, "b");
    cr_assert_null(metadata_image_topic(&img, "a", 1));
}

/* ---- garbage ------------------------------------------------------------------------- */

/* Applying [start, w.len) must fail and leave the image equal to before, offset too. */
static void rejected(size_t start, const char *what) {
    metadata_image before;
    metadata_image_init(&before);
    metadata_image_copy(&before, &img);
    cr_assert_eq(apply_from(&img, start), -1, "%s accepted", what);
    cr_assert(metadata_image_equal(&img, &before), "%s changed the image", what);
    cr_assert_eq(img.offset, before.offset);
    metadata_image_deinit(&before);
}

static size_t frame(uint32_t type, uint32_t version) {
    size_t start = w.len;
    wire_put_uvarint(&w, 1);
    wire_put_uvarint(&w, type);
    wire_put_uvarint(&w, version);
    return start;
}

Test(metadata_image, every_truncation_and_trailing_byte_is_rejected) {
    two_partitions();
    apply_ok(metadata_record_register_broker(&w, 1, 5, "h", 1));
    static const int32_t isr[] = {1, 2};
    size_t starts[6];
    starts[0] = metadata_record_partition_change(&w, ID_A, 0, isr, 2, 1);
    starts[1] = metadata_record_topic(&w, "beta", ID_B);
    starts[2] = metadata_record_register_broker(&w, 3, 9, "host", 7);
    starts[3] = metadata_record_fence_broker(&w, 1, 5);
    starts[4] = metadata_record_remove_topic(&w, ID_A);
    starts[5] = w.len;
    uint8_t copy[512];
    for (int i = 0; i < 5; i++) {
        size_t len = starts[i + 1] - starts[i];
        cr_assert(len + 1 <= sizeof copy);
        memcpy(copy, w.data + starts[i], len);
        for (size_t cut = 0; cut < len; cut++) {
            metadata_image before;
            metadata_image_init(&before);
            metadata_image_copy(&before, &img);
            cr_assert_eq(metadata_image_apply(&img, 100, copy, cut), -1, "record %d cut %zu", i,
                         cut);
            cr_assert(metadata_image_equal(&img, &before));
            metadata_image_deinit(&before);
        }
        copy[len] = 0;
        cr_assert_eq(metadata_image_apply(&img, 100, copy, len + 1), -1, "trailing byte, %d", i);
        cr_assert_eq(metadata_image_apply(&img, img.offset, copy, len), -1, "old offset, %d", i);
    }
    cr_assert_eq(img.offset, 3);
}

Test(metadata_image, bad_frames_are_rejected) {
    two_partitions();
    size_t s = w.len;
    wire_put_uvarint(&w, 0); /* frame version 0 */
    wire_put_uvarint(&w, KAFKA_METADATA_REMOVE_TOPIC_RECORD);
    wire_put_uvarint(&w, 0);
    wire_put_uuid(&w, ID_A);
    wire_put_uvarint(&w, 0);
    rejected(s, "frame version 0");
    s = frame(KAFKA_METADATA_REMOVE_TOPIC_RECORD, 1); /* no such record version */
    wire_put_uuid(&w, ID_A);
    wire_put_uvarint(&w, 0);
    rejected(s, "record version 1");
    s = frame(99, 0);
    rejected(s, "unknown record type");
}

Test(metadata_image, invalid_values_are_rejected) {
    two_partitions();
    apply_ok(metadata_record_register_broker(&w, 1, 5, "h", 1));
    static const int32_t out_of_replicas[] = {1, 4}, dup[] = {1, 1}, no_leader[] = {2, 3};
    rejected(metadata_record_partition_change(&w, ID_A, 0, out_of_replicas, 2, -2),
             "ISR member not a replica");
    rejected(metadata_record_partition_change(&w, ID_A, 0, dup, 2, -2), "duplicate ISR member");
    rejected(metadata_record_partition_change(&w, ID_A, 0, no_leader, 2, -2),
             "ISR without the leader");
    rejected(metadata_record_partition_change(&w, ID_A, 0, NULL, 0, -2), "empty ISR");
    rejected(metadata_record_partition_change(&w, ID_A, 2, NULL, -1, 1), "unknown partition");
    rejected(metadata_record_partition_change(&w, ID_B, 0, NULL, -1, 1), "unknown topic");
    rejected(metadata_record_topic(&w, "alpha", ID_B), "duplicate topic name");
    rejected(metadata_record_topic(&w, "other", ID_A), "duplicate topic id");
    static const uint8_t zero[16] = {0};
    rejected(metadata_record_topic(&w, "other", zero), "zero topic id");
    rejected(metadata_record_fence_broker(&w, 1, 4), "fence at a wrong epoch");
    rejected(metadata_record_unfence_broker(&w, 2, 0), "unfence of an unregistered broker");
    rejected(metadata_record_register_broker(&w, 1, 5, "h", 1), "registration, same epoch");
    rejected(metadata_record_remove_topic(&w, ID_B), "remove of an unknown topic");

    /* values the writers refuse to produce, encoded by hand */
    kafka_partition_record pr;
    kafka_partition_record_init(&pr);
    int32_t reps[] = {1, 2}, bad[] = {0, 1, 2};
    memcpy(pr.topic_id, ID_A, 16);
    pr.replicas = reps, pr.replicas_count = 2, pr.isr = reps, pr.isr_count = 2;
    pr.leader = 1, pr.leader_epoch = 0, pr.partition_epoch = 0;
    pr.partition_id = 3;
    size_t s = frame(KAFKA_METADATA_PARTITION_RECORD, 0);
    kafka_partition_record_encode(&pr, &w, 0);
    rejected(s, "partition index leaving a gap");
    pr.partition_id = 2;
    pr.replicas = bad, pr.replicas_count = 3;
    s = frame(KAFKA_METADATA_PARTITION_RECORD, 0);
    kafka_partition_record_encode(&pr, &w, 0);
    rejected(s, "broker id 0");
    pr.replicas = reps, pr.replicas_count = 2, pr.leader_epoch = -1;
    s = frame(KAFKA_METADATA_PARTITION_RECORD, 0);
    kafka_partition_record_encode(&pr, &w, 0);
    rejected(s, "negative leader epoch");
    pr.leader_epoch = 0;
    s = frame(KAFKA_METADATA_PARTITION_RECORD, 0);
    kafka_partition_record_encode(&pr, &w, 0);
    apply_ok(s); /* and the same record, fixed, is fine */

    kafka_register_broker_record rb;
    kafka_register_broker_record_init(&rb);
    rb.broker_id = METADATA_BROKERS_MAX + 1;
    s = frame(KAFKA_METADATA_REGISTER_BROKER_RECORD, 0);
    kafka_register_broker_record_encode(&rb, &w, 0);
    rejected(s, "broker id above the maximum");

    kafka_partition_change_record pc;
    kafka_partition_change_record_init(&pc);
    memcpy(pc.topic_id, ID_A, 16);
    pc.partition_id = 0;
    pc.leader = -3;
    s = frame(KAFKA_METADATA_PARTITION_CHANGE_RECORD, 0);
    kafka_partition_change_record_encode(&pc, &w, 0);
    rejected(s, "leader -3");
}

Test(metadata_image, other_record_types_are_accepted_and_ignored) {
    two_partitions();
    metadata_image before;
    metadata_image_init(&before);
    metadata_image_copy(&before, &img);
    kafka_no_op_record nop;
    kafka_no_op_record_init(&nop);
    size_t s = frame(KAFKA_METADATA_NO_OP_RECORD, 0);
    kafka_no_op_record_encode(&nop, &w, 0);
    apply_ok(s);
    cr_assert(metadata_image_equal(&img, &before));
    cr_assert_eq(img.offset, before.offset + 1);
    metadata_image_deinit(&before);
}

Test(metadata_image, registration_change_and_unregister) {
    apply_ok(metadata_record_register_broker(&w, 4, 2, "h", 1));
    kafka_broker_registration_change_record rc;
    kafka_broker_registration_change_record_init(&rc);
    rc.broker_id = 4, rc.broker_epoch = 2, rc.fenced = -1;
    size_t s = frame(KAFKA_METADATA_BROKER_REGISTRATION_CHANGE_RECORD, 0);
    kafka_broker_registration_change_record_encode(&rc, &w, 0);
    apply_ok(s);
    cr_assert(metadata_image_broker_alive(&img, 4));
    kafka_unregister_broker_record ur;
    kafka_unregister_broker_record_init(&ur);
    ur.broker_id = 4, ur.broker_epoch = 2;
    s = frame(KAFKA_METADATA_UNREGISTER_BROKER_RECORD, 0);
    kafka_unregister_broker_record_encode(&ur, &w, 0);
    apply_ok(s);
    cr_assert_not(metadata_image_broker(&img, 4)->registered);
}

Test(metadata_image, copy_is_deep) {
    two_partitions();
    apply_ok(metadata_record_register_broker(&w, 1, 3, "h", 1));
    metadata_image dst;
    metadata_image_init(&dst);
    metadata_image_copy(&dst, &img);
    metadata_image_copy(&dst, &img); /* a second copy frees the first */
    cr_assert(metadata_image_equal(&dst, &img));
    cr_assert_eq(dst.offset, img.offset);
    cr_assert_neq(dst.topics, img.topics);
    cr_assert_neq(dst.topics[0].partitions, img.topics[0].partitions);
    static const int32_t isr[] = {1};
    apply_ok(metadata_record_partition_change(&w, ID_A, 0, isr, 1, -2));
    apply_ok(metadata_record_topic(&w, "beta", ID_B));
    cr_assert_not(metadata_image_equal(&dst, &img));
    cr_assert_eq(dst.topic_count, 1);
    cr_assert_eq(metadata_image_partition(&dst, "alpha", 5, 0)->isr_count, 3);
    metadata_image_deinit(&img);
    metadata_image_init(&img);
    cr_assert_eq(metadata_image_partition(&dst, "alpha", 5, 1)->leader, 2, "survives the source");
    metadata_image_deinit(&dst);
}

Test(metadata_image, many_topics_grow_and_look_up) {
    char name[32];
    uint8_t id[16] = {1};
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "topic-%d", i);
        id[1] = (uint8_t)i, id[2] = (uint8_t)(i >> 8);
        apply_ok(metadata_record_topic(&w, name, id));
    }
    cr_assert_eq(img.topic_count, 300);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "topic-%d", i);
        const metadata_topic *t = metadata_image_topic(&img, name, strlen(name));
        cr_assert_not_null(t);
        cr_assert_eq(t->id[1], (uint8_t)i);
    }
}
