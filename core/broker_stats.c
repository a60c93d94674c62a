/*
 * broker_stats.c — read-only views of a broker's partitions for a driver's metrics.
 *
 * Real mode exports Kafka's replica-manager gauges (leader count, under-replicated
 * partitions, ...) from the broker's own state rather than re-deriving it from the
 * observe stream, so /metrics cannot drift from what the broker acts on.
 */
#include "broker_internal.h"

#include <assert.h>

void broker_partition_infos(const broker *b, broker_partition_fn *each, void *arg) {
    assert(b && each);
    for (int32_t t = 0; t < b->topic_count; t++)
        for (int32_t i = 0; i < b->topics[t].partition_count; i++) {
            const broker_partition *p = &b->topics[t].partitions[i];
            broker_partition_info info = {.topic = p->topic,
                                          .partition = p->index,
                                          .leader = p->leader,
                                          .replica_count = p->replica_count,
                                          .isr_count = p->isr_count,
                                          .hosted = p->hosted,
                                          .log_start_offset = -1,
                                          .log_end_offset = -1,
                                          .high_watermark = -1,
                                          .bytes_out = p->bytes_out,
                                          .failed_fetches = p->failed_fetches};
            if (p->hosted) {
                info.log_start_offset = partition_log_start_offset(&p->log);
                info.log_end_offset = partition_log_end_offset(&p->log);
                info.high_watermark = p->high_watermark;
            }
            assert(info.isr_count <= BROKER_REPLICAS_MAX);
            each(arg, &info);
        }
}

uint64_t broker_failed_fetches(const broker *b) {
    return b->failed_fetches;
}

int32_t broker_min_insync_replicas(const broker *b) {
    return b->cfg.min_insync_replicas;
}

int32_t broker_alive_count(const broker *b) {
    int32_t alive = 0;
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        alive += metadata_image_broker_alive(&b->image, b->cfg.nodes[i].node_id) ? 1 : 0;
    assert(alive <= b->cfg.node_count);
    return alive;
}
