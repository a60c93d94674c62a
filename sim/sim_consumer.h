/*
 * sim_consumer.h — a simulated group consumer, as Java's KafkaConsumer with the
 * eager rebalance protocol behaves.
 *
 * It finds its group coordinator (FindCoordinator), joins (JoinGroup v5, with
 * the MEMBER_ID_REQUIRED round trip), computes the assignment in the client when
 * it is the leader (sim/assignor.c) and hands it out through SyncGroup v3,
 * starts each assigned partition from the group's committed offset (OffsetFetch
 * v5) or from auto.offset.reset (ListOffsets v2), fetches with Fetch v11 (what
 * librdkafka sends), heartbeats every heartbeat_interval_ms, auto-commits every
 * auto_commit_interval_ms (OffsetCommit v7) and commits synchronously before it
 * gives its partitions up in a rebalance.
 *
 * It reports OBSERVE_ASSIGN for every partition it owns after a SyncGroup
 * (count = how many it owns; one event with no topic when it owns none),
 * OBSERVE_REVOKE when it gives them up, and OBSERVE_CONSUME for every batch it
 * consumes, so the checker can verify ownership, order and completeness.
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
    int64_t joins;   /* JoinGroup requests sent */
    int64_t commits; /* OffsetCommit requests acknowledged without error */
} sim_consumer_stats;

/* member_number (from 1) names the client "GROUP-N". */
sim_consumer *sim_consumer_create(const broker_env *env, int32_t node_id,
                                  const scenario_group *group, int32_t member_number,
                                  int32_t broker_count);
void sim_consumer_destroy(sim_consumer *c);
sim_consumer_stats sim_consumer_get_stats(const sim_consumer *c);
/* The generation this consumer holds an assignment of, or -1. */
int32_t sim_consumer_generation(const sim_consumer *c);

void sim_consumer_on_connected(void *impl, conn_id conn);
void sim_consumer_on_closed(void *impl, conn_id conn);
void sim_consumer_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len);
int64_t sim_consumer_next_deadline_us(const void *impl);
void sim_consumer_on_timer(void *impl);

#endif
