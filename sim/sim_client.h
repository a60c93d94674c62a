/*
 * sim_client.h — the plumbing every simulated Kafka client shares.
 *
 * A client keeps one connection per node, frames requests with the Kafka
 * header, matches responses to requests by correlation id (responses on one
 * connection come back in request order), keeps a metadata cache refreshed with
 * Metadata v4 as librdkafka does, and reconnects with exponential backoff.
 * A group member also keeps a second connection to its group coordinator, as
 * the Java consumer does, so that heartbeats never wait behind a long-polling
 * fetch on the same broker.
 * Producers, consumers and the admin client build on it; they speak the same
 * bytes a real client would.
 */
#ifndef STREAMLAB_SIM_CLIENT_H
#define STREAMLAB_SIM_CLIENT_H

#include <stdint.h>

#include "arena.h"
#include "broker.h"
#include "peer_channel.h"
#include "kafka_messages.gen.h"
#include "wire.h"

#define SIM_CLIENT_BROKERS_MAX 16
#define SIM_CLIENT_INFLIGHT_MAX PEER_CHANNEL_INFLIGHT_MAX
#define SIM_CLIENT_TOPICS_MAX 16
#define SIM_CLIENT_PARTITIONS_MAX 64
#define SIM_CLIENT_REQUEST_TIMEOUT_US 30000000
#define SIM_CLIENT_METADATA_REFRESH_US 300000000 /* metadata.max.age.ms */

typedef struct sim_client sim_client;

/* Called with a response body (reader positioned after the header), or with
 * r == NULL when the request failed (connection lost or timed out). */
typedef void sim_client_response_fn(sim_client *c, void *owner, int32_t node, int16_t api_key,
                                    int16_t api_version, uint64_t tag, wire_reader *r);

typedef struct sim_client_partition {
    int32_t leader;
    int32_t leader_epoch;
} sim_client_partition;

typedef struct sim_client_topic {
    char name[128];
    int32_t partition_count; /* 0 until metadata knows it */
    int16_t error;
    sim_client_partition partitions[SIM_CLIENT_PARTITIONS_MAX];
} sim_client_topic;

struct sim_client {
    const broker_env *env;
    int32_t node_id;
    char client_id[64];
    void *owner;
    sim_client_response_fn *on_response;
    peer_channel brokers[SIM_CLIENT_BROKERS_MAX]; /* node id - 1 */
    peer_channel coordinator;                     /* valid when coordinator_node > 0 */
    int32_t coordinator_node;                     /* -1: unknown */
    int32_t broker_count;
    int32_t correlation_next;
    wire_writer out;
    arena scratch;
    /* metadata cache */
    sim_client_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t topic_count;
    int metadata_inflight;
    int metadata_wanted;
    int64_t metadata_refresh_at_us;
    int64_t metadata_retry_at_us;
    int32_t bootstrap_next;
};

void sim_client_init(sim_client *c, const broker_env *env, int32_t node_id, const char *client_id,
                     int32_t broker_count, void *owner, sim_client_response_fn *on_response);
void sim_client_deinit(sim_client *c);

/* Adds a topic to the metadata interest list; returns its index. */
int32_t sim_client_want_topic(sim_client *c, const char *topic);
/* Asks for a metadata refresh as soon as possible. */
void sim_client_refresh_metadata(sim_client *c);

/* Sends a request whose body was encoded by `encode` into the client's writer.
 * Returns 0 when sent, -1 when the broker is not connected (a connection attempt
 * starts) or its in-flight window is full. */
typedef peer_encode_fn sim_client_encode_fn;
int sim_client_send(sim_client *c, int32_t node, int16_t api_key, int16_t api_version,
                    const void *body, sim_client_encode_fn *encode, uint64_t tag,
                    int expects_response);
/* 1 when node's connection is up (starts connecting when it is not). */
int sim_client_ready_slow_(sim_client *c, int32_t node);
static inline int sim_client_ready(sim_client *c, int32_t node) {
    /* Asked for every broker at every producer pump: the common answer inline. */
    if (node >= 1 && node <= c->broker_count && c->brokers[node - 1].state == PEER_READY) return 1;
    return sim_client_ready_slow_(c, node);
}

/* The group coordinator's connection.  Setting another node (or -1) closes the
 * old connection and fails what was in flight on it (responses with r == NULL).
 * send_coordinator behaves as sim_client_send with its own timeout. */
void sim_client_set_coordinator(sim_client *c, int32_t node);
int sim_client_send_coordinator(sim_client *c, int16_t api_key, int16_t api_version,
                                const void *body, sim_client_encode_fn *encode, uint64_t tag,
                                int64_t timeout_us);
/* 1 when the coordinator connection is up (starts connecting when it is not). */
int sim_client_coordinator_ready(sim_client *c);
/* When a down coordinator connection may be dialled again (0 when it can be now). */
int64_t sim_client_coordinator_retry_us(const sim_client *c);

/* Node callbacks, forwarded by the owner. */
void sim_client_on_connected(sim_client *c, conn_id conn);
void sim_client_on_closed(sim_client *c, conn_id conn);
void sim_client_on_bytes(sim_client *c, conn_id conn, const uint8_t *bytes, size_t len);
int64_t sim_client_next_deadline_us(const sim_client *c);
void sim_client_on_timer(sim_client *c);

const sim_client_topic *sim_client_topic_get(const sim_client *c, const char *topic);

/* Java's murmur2 partitioner: (murmur2(key) & 0x7fffffff) % partitions. */
uint32_t sim_client_murmur2(const uint8_t *key, size_t len);

#endif
