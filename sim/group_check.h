/*
 * group_check.h — invariants 4 and 5 for one consumer group (DESIGN.md §6).
 *
 * The checker (sim/checker.c) feeds it the group's events and turns what it
 * finds into violations.  Partitions are numbered as the checker numbers them
 * (every scenario topic's partitions, in scenario order).
 *
 * Ownership (invariant 5, `partition-ownership`).  A generation's record starts
 * with the coordinator's OBSERVE_REBALANCE (generation, member count) or with
 * the first OBSERVE_ASSIGN of a newer generation.  Each member reports its
 * assignment with one OBSERVE_ASSIGN per partition (count = how many it owns;
 * one event with no partition when it owns none).  Within one generation no
 * partition may have two owners.  The generation's assignment is complete once
 * as many members as OBSERVE_REBALANCE counted have reported all of theirs; then
 * every partition of the group's topics must have exactly one owner.  A
 * generation that never completes (its coordinator died mid-way, a member
 * crashed before its SyncGroup answer) is not judged complete — the next one is.
 * A consumer that consumes a partition it does not own (after its REVOKE, or
 * before any ASSIGN) breaks the invariant too.
 *
 * Order (invariant 4, `consumer-order`).  A consumer reads each owned partition
 * in offset order without gaps, from wherever its assignment starts it (the
 * committed offset, or auto.offset.reset).  That start may lie below offsets the
 * group already consumed: the only duplicates a group may see are the
 * uncommitted tail replayed after an assignment, which a rebalance or a crash
 * always precedes.  Any other re-read or skip is a violation.
 *
 * Commits (invariant 4, `committed-offset-regression`).  A group's acknowledged
 * commit (OBSERVE_COMMIT) for a partition never goes below an earlier one, and a
 * new coordinator never loads (OBSERVE_OFFSET_LOAD) less than the last
 * acknowledged commit — that would be a lost commit — and no consumer starts a
 * newly assigned partition below it (a stale OffsetFetch answer).
 */
#ifndef STREAMLAB_GROUP_CHECK_H
#define STREAMLAB_GROUP_CHECK_H

#include <stdint.h>

typedef struct group_check group_check;

typedef struct group_finding {
    const char *invariant;
    int32_t part; /* -1: none in particular */
    int64_t offset;
    char detail[240];
} group_finding;

/* subscribed[k] != 0 when the group reads partition k. */
group_check *group_check_create(const char *group, int32_t part_count, const uint8_t *subscribed);
void group_check_destroy(group_check *g);

/* Each returns 1 and fills *f when the event breaks an invariant.  part is -1 for
 * a partition outside the scenario's topics. */
int group_check_rebalance(group_check *g, int64_t t_us, int32_t generation, int32_t members,
                          group_finding *f);
int group_check_assign(group_check *g, int32_t node, int32_t generation, int32_t part,
                       int32_t count, group_finding *f);
void group_check_revoke(group_check *g, int32_t node);
int group_check_consume(group_check *g, int32_t node, int32_t part, int64_t offset,
                        int64_t offset_last, group_finding *f);
int group_check_commit(group_check *g, int32_t part, int64_t offset, group_finding *f);
int group_check_offset_load(group_check *g, int32_t part, int64_t offset, group_finding *f);
void group_check_consumer_crash(group_check *g, int64_t t_us);

/* The last acknowledged commit for part, or -1. */
int64_t group_check_committed(const group_check *g, int32_t part);
/* Virtual ms from the last consumer crash to the next stable generation, or -1. */
int64_t group_check_recovery_ms(const group_check *g);

#endif
