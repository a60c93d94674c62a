/*
 * assignor.h — the partition assignors a group leader runs in the client.
 *
 * Kafka's broker never decides who reads what: the member the coordinator elects
 * leader computes the assignment from every member's subscription and its own
 * metadata, and the coordinator relays it (SyncGroup).  These are Java's two
 * classic eager assignors, output for output:
 *
 *   range       (RangeAssignor) per topic, the subscribed members sorted by member
 *               id each take a contiguous range; the first n % m get one extra.
 *   roundrobin  (RoundRobinAssignor) every subscribed topic-partition, sorted by
 *               topic name then partition, dealt in turn to the members sorted by
 *               member id, skipping members not subscribed to that topic.
 *
 * Member ids compare as Java's String.compareTo does for ASCII (strcmp).
 */
#ifndef STREAMLAB_ASSIGNOR_H
#define STREAMLAB_ASSIGNOR_H

#include <stdint.h>

#include "scenario.h"

#define ASSIGNOR_MEMBERS_MAX 1024
#define ASSIGNOR_TOPICS_MAX 64

typedef struct assignor_member {
    const char *member_id;
    uint64_t topics_mask; /* bit t: subscribed to topics[t] */
} assignor_member;

typedef struct assignor_topic {
    const char *name;
    int32_t partitions;
} assignor_topic;

/* Fills owner[] with a member index (or -1: nobody subscribes) for every
 * topic-partition, in topic order then partition order: topic t's partition p is
 * owner[sum of partitions of topics before t + p].  Returns 0, or -1 when the
 * counts exceed the bounds above. */
int assignor_assign(enum scenario_assignor kind, const assignor_member *members,
                    int32_t member_count, const assignor_topic *topics, int32_t topic_count,
                    int32_t *owner);

/* The protocol name a member offers in JoinGroup: "range" or "roundrobin". */
const char *assignor_name(enum scenario_assignor kind);

#endif
