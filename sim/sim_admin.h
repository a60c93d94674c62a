/*
 * sim_admin.h — the simulated admin client that creates a scenario's topics.
 *
 * At time zero it sends CreateTopics (v4, what the Java admin client sends to
 * Kafka 2.x brokers) for every scenario topic to a broker, which forwards it to the
 * active controller (DESIGN.md §2), and retries until each topic exists: before
 * the controller quorum has elected a leader and enough brokers have registered,
 * the answer is NOT_CONTROLLER or INVALID_REPLICATION_FACTOR.
 */
#ifndef STREAMLAB_SIM_ADMIN_H
#define STREAMLAB_SIM_ADMIN_H

#include "scenario.h"
#include "sim_client.h"

typedef struct sim_admin sim_admin;

sim_admin *sim_admin_create(const broker_env *env, int32_t node_id, const scenario *s);
void sim_admin_destroy(sim_admin *a);
/* 1 once every topic exists. */
int sim_admin_done(const sim_admin *a);

void sim_admin_on_connected(void *impl, conn_id conn);
void sim_admin_on_closed(void *impl, conn_id conn);
void sim_admin_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len);
int64_t sim_admin_next_deadline_us(const void *impl);
void sim_admin_on_timer(void *impl);

#endif
