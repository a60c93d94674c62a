/*
 * broker_internal.h — what the broker's request handlers share.
 *
 * A connection is processed one request at a time, as Kafka's SocketServer does:
 * after a request is read, the connection is muted until its response is sent.
 * A handler either answers at once or parks the request (a Fetch waiting for
 * data); the parked request is retried whenever the partitions it waits on change
 * and when its deadline passes.  This keeps responses in request order
 * (kafka-python checks) without a reorder buffer.
 */
#ifndef STREAMLAB_BROKER_INTERNAL_H
#define STREAMLAB_BROKER_INTERNAL_H

#include "arena.h"
#include "broker.h"
#include "framing.h"
#include "kafka_messages.gen.h"
#include "partition_log.h"
#include "wire.h"

#define BROKER_TOPIC_BYTES_MAX 250
#define BROKER_REPLICAS_MAX BROKER_NODES_MAX

typedef struct broker_partition {
    char topic[BROKER_TOPIC_BYTES_MAX];
    int32_t index;
    int32_t leader;
    int32_t leader_epoch;
    int32_t replicas[BROKER_REPLICAS_MAX];
    int32_t replica_count;
    int32_t isr[BROKER_REPLICAS_MAX];
    int32_t isr_count;
    int64_t high_watermark;
    int hosted; /* this broker holds a replica, and `log` is open */
    partition_log log;
} broker_partition;

typedef struct broker_topic {
    char name[BROKER_TOPIC_BYTES_MAX];
    uint8_t id[16];
    int32_t partition_count;
    int32_t replication_factor;
    broker_partition *partitions;
} broker_topic;

typedef struct broker_request {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kafka_str client_id;
    const uint8_t *body; /* the bytes after the header, valid while the request lives */
    size_t body_len;
} broker_request;

enum broker_park_kind { BROKER_PARK_NONE = 0, BROKER_PARK_FETCH };

typedef struct broker_conn {
    conn_id id;
    frame_reader reader;
    int outbound; /* we dialled it */
    int closing;
    /* The request being served, while parked. */
    enum broker_park_kind parked;
    int64_t parked_deadline_us;
    uint8_t *parked_frame; /* owned copy of the request frame */
    size_t parked_frame_len;
    arena arena;
} broker_conn;

struct broker {
    broker_env env;
    broker_config cfg;
    broker_topic *topics;
    int32_t topic_count, topic_cap;
    broker_conn *conns;
    int32_t conn_count, conn_cap;
    wire_writer out;
    int64_t next_flush_us;
    int64_t next_retention_us;
};

/* Handlers: decode the body, act, and either respond (return 0) or park (return 1).
 * A malformed body returns -1: the connection is closed. */
typedef int broker_handler_fn(broker *b, broker_conn *c, const broker_request *req);

broker_handler_fn broker_handle_api_versions;
broker_handler_fn broker_handle_metadata;
broker_handler_fn broker_handle_produce;
broker_handler_fn broker_handle_fetch;
broker_handler_fn broker_handle_list_offsets;

/* Version range the broker advertises for api_key; 0 when not advertised. */
int broker_api_supported(int16_t api_key, int16_t *min_version, int16_t *max_version);

/* Response framing: begin writes the size placeholder and the response header,
 * finish patches the size and sends. */
void broker_response_begin(broker *b, const broker_request *req);
void broker_response_finish(broker *b, broker_conn *c);

broker_topic *broker_topic_find(broker *b, kafka_str name);
broker_partition *broker_partition_find(broker *b, kafka_str topic, int32_t partition);
void broker_observe(broker *b, const observe_event *ev);
/* Data arrived in p: wake parked requests that may now complete. */
void broker_partition_changed(broker *b, broker_partition *p);

#endif
