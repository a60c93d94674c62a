/*
 * observe.h — the state changes a broker (or a simulated client) reports.
 *
 * Every change worth seeing leaves the core through env->observe().  The same
 * stream feeds the trace writer (sim/trace.c) and the invariant checker
 * (sim/checker.c), so an untraced run is checked exactly like a traced one.
 * Pointers inside an event are valid only during the call.
 */
#ifndef STREAMLAB_OBSERVE_H
#define STREAMLAB_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

enum observe_kind {
    OBSERVE_BROKER_START = 1, /* node; offset = unused */
    OBSERVE_BROKER_STOP,      /* node; detail = "crash" | "power_off" */
    OBSERVE_APPEND,           /* node appended batch [offset, offset_last] to topic/partition;
                                 batch/batch_len = the stored RecordBatch bytes; leader_epoch */
    OBSERVE_TRUNCATE,         /* node cut topic/partition to end offset `offset` */
    OBSERVE_LOG_START,        /* node moved log start offset to `offset` (retention) */
    OBSERVE_HIGH_WATERMARK,   /* leader node's high watermark is now `offset` */
    OBSERVE_LEADER,           /* topic/partition: leader, leader_epoch, isr (committed metadata) */
    OBSERVE_ISR,              /* topic/partition: isr changed; leader, leader_epoch, isr */
    OBSERVE_CONTROLLER,       /* node became active controller of quorum epoch leader_epoch */
    OBSERVE_TOPIC_CREATE, /* topic with `partition` = partition count, `offset` = replication factor
                           */
    OBSERVE_PRODUCE_ACK,  /* client node: records [producer, sequence .. sequence+count-1]
                             acknowledged at topic/partition offset; acks in `acks` */
    OBSERVE_PRODUCE_FAIL, /* client node: those records failed; error in `error` */
    OBSERVE_CONSUME,      /* client node (group in detail): batch at topic/partition
                             consumed, offsets [offset, offset_last] */
    OBSERVE_COMMIT,       /* coordinator node: group (detail) committed `offset` for
                             topic/partition, acknowledged to the client (durable) */
    OBSERVE_REBALANCE,    /* coordinator node: group (detail) reached stable generation
                             leader_epoch with `count` members */
    OBSERVE_METADATA_COMMIT, /* node applied the committed metadata record at `offset`;
                                producer_id = a hash of its bytes */
    OBSERVE_OFFSET_LOAD,     /* coordinator node loaded group (detail)'s committed `offset`
                                for topic/partition from __consumer_offsets */
    OBSERVE_ASSIGN,          /* client node (group in detail) owns topic/partition in
                                generation leader_epoch */
    OBSERVE_REVOKE,          /* client node (group in detail) gave up every partition it
                                owned (rebalance, leave or crash) */
    OBSERVE_KIND_COUNT
};

typedef struct observe_event {
    enum observe_kind kind;
    int32_t node; /* broker id, or client id (clients are numbered from 100) */
    const char *topic;
    int32_t partition;
    int32_t leader;
    int32_t leader_epoch;
    int64_t offset;
    int64_t offset_last;
    int64_t producer_id;
    int32_t sequence;
    int32_t count;
    int16_t error;
    int16_t acks;
    const int32_t *isr;
    int32_t isr_count;
    const uint8_t *batch;
    size_t batch_len;
    const char *detail;
} observe_event;

const char *observe_kind_name(enum observe_kind kind);

#endif
