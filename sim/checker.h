/*
 * checker.h — the online invariant checker (DESIGN.md §6).
 *
 * It watches the same observe stream as the trace writer, so untraced runs are
 * checked too.  It keeps, per partition, which record (producer, partition,
 * sequence) each broker holds at each offset, which of them were acknowledged
 * with acks=all, and what every consumer has seen; a violation is recorded with
 * its virtual time, place, the setting that allowed it and the faults before it.
 *
 * Checked now: acked-write-lost (an acknowledged record overwritten or cut from
 * the leader's log), high-watermark-regression (within one leader epoch),
 * duplicate-append (a record of an idempotent producer at two offsets of a
 * leader's log; for other producers such duplicates are counted, not
 * violations), and per consumer group (sim/group_check.h) consumer-order,
 * partition-ownership and committed-offset-regression.  It also counts, per
 * group, records consumed, distinct records and duplicates for the summary.
 */
#ifndef STREAMLAB_CHECKER_H
#define STREAMLAB_CHECKER_H

#include <stdint.h>

#include "observe.h"
#include "scenario.h"

#define CHECKER_VIOLATIONS_MAX 64
#define CHECKER_FAULTS_KEPT 8

typedef struct checker_violation {
    int64_t t_us;
    char invariant[40];
    char topic[SCENARIO_NAME_BYTES_MAX];
    int32_t partition;
    int64_t offset;
    char allowed_by[40]; /* "" = null: a bug */
    char detail[256];
    char faults[CHECKER_FAULTS_KEPT][64];
    int32_t fault_count;
} checker_violation;

typedef struct checker_group_stats {
    int64_t records;
    int64_t unique;
    int64_t duplicates;
    int64_t rebalances;  /* stable generations (OBSERVE_REBALANCE) */
    int64_t lag;         /* sum over the group's partitions of high watermark minus the last
                            acknowledged commit (0 when none) */
    int64_t recovery_ms; /* last consumer crash to the next stable generation; -1 if none */
} checker_group_stats;

typedef struct checker checker;

checker *checker_create(const scenario *s);
void checker_destroy(checker *c);
void checker_observe(checker *c, int64_t t_us, const observe_event *ev);
/* Declares a producer (its node id, the producer field of its record values). */
void checker_add_producer(checker *c, int32_t node, int idempotent);
/* Records of that producer a leader appended a second time (retries). */
int64_t checker_producer_duplicates(const checker *c, int32_t node);
/* A fault was applied (kept to explain later violations). */
void checker_note_fault(checker *c, int64_t t_us, const char *what);
/* A consumer of group crashed (starts the recovery_ms clock). */
void checker_note_consumer_crash(checker *c, int64_t t_us, const char *group);
/* End of run: final checks. */
void checker_finish(checker *c, int64_t t_us);

/* Invariant 7, at the end of a run whose faults healed at least liveness_s before
 * it: every ISR full and every group caught up with the high watermark of a few
 * seconds earlier.  The caller checks its producers and reports through
 * checker_report. */
void checker_check_liveness(checker *c, int64_t end_us);
void checker_report(checker *c, int64_t t_us, const char *invariant, const char *detail);

int32_t checker_violation_count(const checker *c);
const checker_violation *checker_violation_get(const checker *c, int32_t i);
/* Violations found beyond CHECKER_VIOLATIONS_MAX are counted, not kept. */
int64_t checker_violations_total(const checker *c);
checker_group_stats checker_group(const checker *c, const char *group);
/* Acknowledged records below what the group has consumed that it never saw
 * (records above its position are lag): `expired` when retention deleted them
 * before the group read them (below the leader's log start; a consumer then resets
 * by auto_offset_reset), else `missing`. */
typedef struct checker_unread {
    int64_t missing;
    int64_t expired;
} checker_unread;
checker_unread checker_group_unread(const checker *c, const char *group);
/* The last high watermark reported for topic/partition (0 before any). */
int64_t checker_high_watermark(const checker *c, const char *topic, int32_t partition);

#endif
