/*
 * broker_partition.c — a hosted partition's log changes, in one place, so that
 * what sits beside the log follows it: every appended batch (leader or follower)
 * is observed and recorded in the idempotent-producer state, and every
 * truncation rebuilds that state from the batches that remain (a producer's
 * window may have lost batches that only the older log still names).
 */
#include "broker_internal.h"
#include "record_batch.h"

#include <assert.h>
#include <stdio.h>

void broker_partition_note_append(broker *b, broker_partition *p, const uint8_t *batch,
                                  size_t len) {
    assert(p->hosted && len >= RECORD_BATCH_HEADER_BYTES);
    producer_batch_info info = producer_batch_info_of(batch);
    if (producer_state_update(&p->producers, &info) != 0)
        p->producers_incomplete = 1; /* out of memory: rebuilt at the next truncation */
    broker_observe(b, &(observe_event){.kind = OBSERVE_APPEND,
                                       .node = b->cfg.node_id,
                                       .topic = p->topic,
                                       .partition = p->index,
                                       .leader_epoch = record_batch_partition_leader_epoch(batch),
                                       .offset = record_batch_base_offset(batch),
                                       .offset_last = record_batch_last_offset(batch),
                                       .producer_id = info.producer_id,
                                       .sequence = info.first_sequence,
                                       .count = record_batch_record_count(batch),
                                       .batch = batch,
                                       .batch_len = len});
}

int broker_partition_rebuild_producers(broker_partition *p) {
    p->producers_incomplete = producer_state_rebuild(&p->producers, &p->log) != 0;
    return p->producers_incomplete ? -1 : 0;
}

void broker_partition_observe_log_start(broker *b, const broker_partition *p) {
    broker_observe(b, &(observe_event){.kind = OBSERVE_LOG_START,
                                       .node = b->cfg.node_id,
                                       .topic = p->topic,
                                       .partition = p->index,
                                       .offset = partition_log_start_offset(&p->log)});
}

void broker_partition_restart_at(broker_partition *p, int64_t start_offset) {
    assert(p->hosted && start_offset >= 0);
    partition_log_restart_at(&p->log, start_offset);
    broker_partition_rebuild_producers(p);
}

void broker_partition_truncate(broker_partition *p, int64_t end_offset) {
    assert(p->hosted && end_offset >= 0);
    int64_t before = partition_log_end_offset(&p->log);
    int64_t start_before = partition_log_start_offset(&p->log);
    partition_log_truncate_to(&p->log, end_offset);
    if (partition_log_end_offset(&p->log) != before ||
        partition_log_start_offset(&p->log) != start_before || p->producers_incomplete)
        broker_partition_rebuild_producers(p);
}

void broker_partition_dir(const broker_partition *p, char out[BROKER_PARTITION_DIR_BYTES]) {
    snprintf(out, BROKER_PARTITION_DIR_BYTES, "%s-%d", p->topic, (int)p->index);
}

void broker_topic_delete(broker *b, broker_topic *t) {
    assert(!broker_topic_deleted(t));
    for (int32_t i = 0; i < t->partition_count; i++) {
        broker_partition *p = &t->partitions[i];
        int32_t no_isr[1] = {0};
        /* No leader any more: acks=all produces waiting here fail, followers stop
         * fetching, a coordinator on __consumer_offsets moves away. */
        replication_apply(b, p, -1, p->leader_epoch + 1, no_isr, 0, p->partition_epoch + 1);
        if (p->hosted) {
            partition_log_delete(&p->log); /* a failure leaves files, not data */
            producer_state_deinit(&p->producers);
            p->hosted = 0;
        }
        p->replica_count = 0;
        p->deleted = 1;
        broker_partition_changed(b, p); /* parked fetches look again */
    }
    t->partition_count = 0;
    t->name_len = -1;
    b->topic_keys[t - b->topics].len = -1; /* its key never matches a name again */
}
