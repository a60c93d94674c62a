/* test_assignor.c — the group leader's assignors give what Java's RangeAssignor and
 * RoundRobinAssignor give.  Expected outputs are the ones in Kafka's own javadoc
 * and in clients/src/test/.../consumer/{Range,RoundRobin}AssignorTest.java. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "assignor.h"

/* The assignment as text: "member:topic-partition ..." in topic-partition order. */
static const char *run(enum scenario_assignor kind, const assignor_member *m, int32_t mn,
                       const assignor_topic *t, int32_t tn) {
    static char out[512];
    int32_t owner[64];
    cr_assert_eq(assignor_assign(kind, m, mn, t, tn, owner), 0);
    size_t len = 0;
    out[0] = 0;
    for (int32_t k = 0, i = 0; i < tn; i++)
        for (int32_t p = 0; p < t[i].partitions; p++, k++)
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s:%s%d", len ? " " : "",
                                    owner[k] >= 0 ? m[owner[k]].member_id : "-", t[i].name, p);
    return out;
}

#define T(name, n) ((assignor_topic){name, n})
#define M(id, mask) ((assignor_member){id, mask})

Test(range, javadoc_two_consumers_two_topics_three_partitions) {
    assignor_member m[] = {M("C1", 3), M("C0", 3)}; /* given out of order on purpose */
    assignor_topic t[] = {T("t0", 3), T("t1", 3)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 2, t, 2),
                     "C0:t00 C0:t01 C1:t02 C0:t10 C0:t11 C1:t12");
}

Test(range, one_consumer_takes_everything) {
    assignor_member m[] = {M("consumer", 1)};
    assignor_topic t[] = {T("topic", 3)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 1, t, 1),
                     "consumer:topic0 consumer:topic1 consumer:topic2");
}

/* RangeAssignorTest.testMultipleConsumersMixedTopics */
Test(range, mixed_subscriptions) {
    assignor_member m[] = {M("consumer1", 1), M("consumer2", 3), M("consumer3", 1)};
    assignor_topic t[] = {T("topic1", 3), T("topic2", 2)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 3, t, 2),
                     "consumer1:topic10 consumer2:topic11 consumer3:topic12 "
                     "consumer2:topic20 consumer2:topic21");
}

/* More members than partitions: the last in member-id order get nothing. */
Test(range, more_members_than_partitions) {
    assignor_member m[] = {M("c", 1), M("a", 1), M("d", 1), M("b", 1)};
    assignor_topic t[] = {T("x", 3)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 4, t, 1), "a:x0 b:x1 c:x2");
}

/* Member ids sort as Java strings: "consumer-10" before "consumer-2". */
Test(range, member_ids_sort_lexicographically) {
    assignor_member m[] = {M("consumer-2", 1), M("consumer-10", 1)};
    assignor_topic t[] = {T("x", 3)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 2, t, 1),
                     "consumer-10:x0 consumer-10:x1 consumer-2:x2");
}

/* RoundRobinAssignorTest.testTwoConsumersTwoTopicsSixPartitions */
Test(roundrobin, two_consumers_two_topics_six_partitions) {
    assignor_member m[] = {M("consumer2", 3), M("consumer1", 3)};
    assignor_topic t[] = {T("topic1", 3), T("topic2", 3)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_ROUNDROBIN, m, 2, t, 2),
                     "consumer1:topic10 consumer2:topic11 consumer1:topic12 "
                     "consumer2:topic20 consumer1:topic21 consumer2:topic22");
}

/* The RoundRobinAssignor javadoc: C0 reads t0; C1 t0, t1; C2 t0, t1, t2; topics of
 * 1, 2 and 3 partitions -> C0 [t0p0], C1 [t1p0], C2 [t1p1, t2p0, t2p1, t2p2]. */
Test(roundrobin, javadoc_unequal_subscriptions) {
    /* topics given as t2, t0, t1 (bits 1, 2, 4): the assignor sorts them by name */
    assignor_topic t[] = {T("t2", 3), T("t0", 1), T("t1", 2)};
    assignor_member m[] = {M("C0", 2), M("C1", 6), M("C2", 7)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_ROUNDROBIN, m, 3, t, 3),
                     "C2:t20 C2:t21 C2:t22 C0:t00 C1:t10 C2:t11");
}

/* RoundRobinAssignorTest.testMultipleConsumersMixedTopics */
Test(roundrobin, mixed_subscriptions) {
    assignor_member m[] = {M("consumer1", 1), M("consumer2", 3), M("consumer3", 1)};
    assignor_topic t[] = {T("topic1", 3), T("topic2", 2)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_ROUNDROBIN, m, 3, t, 2),
                     "consumer1:topic10 consumer2:topic11 consumer3:topic12 "
                     "consumer2:topic20 consumer2:topic21");
}

Test(assignor, nobody_subscribed_and_bounds) {
    assignor_member m[] = {M("a", 1)};
    assignor_topic t[] = {T("x", 1), T("y", 2)};
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 1, t, 2), "a:x0 -:y0 -:y1");
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_ROUNDROBIN, m, 1, t, 2), "a:x0 -:y0 -:y1");
    cr_assert_str_eq(run(SCENARIO_ASSIGNOR_RANGE, m, 0, t, 2), "-:x0 -:y0 -:y1");
    int32_t owner[4];
    cr_assert_eq(assignor_assign(SCENARIO_ASSIGNOR_RANGE, m, ASSIGNOR_MEMBERS_MAX + 1, t, 2, owner),
                 -1);
    cr_assert_str_eq(assignor_name(SCENARIO_ASSIGNOR_RANGE), "range");
    cr_assert_str_eq(assignor_name(SCENARIO_ASSIGNOR_ROUNDROBIN), "roundrobin");
}
