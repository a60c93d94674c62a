/*
 * sim_producer.h — a simulated producer that behaves like the Java client.
 *
 * Records are generated at `rate_per_s`, keyed over `keys` keys (murmur2
 * partitioning; sticky partitioning for null keys), gathered into one batch per
 * partition for `linger_ms` or `batch_bytes`, and sent as Produce v7 — the
 * request librdkafka sends — to each partition's leader.  Retriable errors and
 * lost connections refresh metadata and retry after retry.backoff.ms until
 * `delivery_timeout_ms`; every batch ends in one delivery report, observed as
 * PRODUCE_ACK or PRODUCE_FAIL.  When `idempotent` (the default with acks=all) it
 * gets a producer id with InitProducerId and stamps id, epoch and sequence in
 * every batch, so the leader appends a retried batch only once (see
 * "idempotence" in sim_producer.c).
 */
#ifndef STREAMLAB_SIM_PRODUCER_H
#define STREAMLAB_SIM_PRODUCER_H

#include "scenario.h"
#include "sim_client.h"

typedef struct sim_producer sim_producer;

typedef struct sim_producer_stats {
    int64_t produced; /* records generated */
    int64_t acked;
    int64_t failed;
    int64_t in_flight; /* generated, not yet acked or failed */
    int64_t resets;    /* idempotence: epoch bumps and new producer ids after a sequence gap */
} sim_producer_stats;

sim_producer *sim_producer_create(const broker_env *env, int32_t node_id,
                                  const scenario_producer *cfg, int32_t broker_count,
                                  int64_t stop_at_us);
void sim_producer_destroy(sim_producer *p);
sim_producer_stats sim_producer_get_stats(const sim_producer *p);
/* Does it stamp producer id and sequences (idempotent with acks=all)? */
int sim_producer_idempotent(const sim_producer *p);
/* When the oldest record still waiting for its delivery report was produced, or
 * INT64_MAX when none waits. */
int64_t sim_producer_oldest_pending_us(const sim_producer *p);

void sim_producer_on_connected(void *impl, conn_id conn);
void sim_producer_on_closed(void *impl, conn_id conn);
void sim_producer_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len);
int64_t sim_producer_next_deadline_us(const void *impl);
void sim_producer_on_timer(void *impl);

#endif
