/*
 * sim_consumer.h — a simulated consumer.
 *
 * It fetches its partitions with Fetch v11 (what librdkafka sends), one request
 * in flight per leader, finds its starting offsets with ListOffsets v2
 * (auto.offset.reset), and reports every batch it consumes as OBSERVE_CONSUME so
 * the checker can verify order and completeness.
 *
 * Until the group coordinator lands, a group's partitions are split among its
 * consumers by the range assignor computed locally (what the group leader will
 * compute and hand out through SyncGroup later).
 */
#ifndef STREAMLAB_SIM_CONSUMER_H
#define STREAMLAB_SIM_CONSUMER_H

#include "scenario.h"
#include "sim_client.h"

typedef struct sim_consumer sim_consumer;

typedef struct sim_consumer_stats {
    int64_t records; /* records delivered to the application */
    int64_t batches;
    int32_t partitions_assigned;
} sim_consumer_stats;

sim_consumer *sim_consumer_create(const broker_env *env, int32_t node_id,
                                  const scenario_group *group, int32_t member_index,
                                  int32_t member_count, int32_t broker_count);
void sim_consumer_destroy(sim_consumer *c);
sim_consumer_stats sim_consumer_get_stats(const sim_consumer *c);
/* The next offset this consumer will read from topic/partition, or -1 if not assigned. */
int64_t sim_consumer_position(const sim_consumer *c, const char *topic, int32_t partition);

void sim_consumer_on_connected(void *impl, conn_id conn);
void sim_consumer_on_closed(void *impl, conn_id conn);
void sim_consumer_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len);
int64_t sim_consumer_next_deadline_us(const void *impl);
void sim_consumer_on_timer(void *impl);

#endif
