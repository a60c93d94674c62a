/*
 * metrics.h — the broker's Prometheus metrics (names: ../shared/PROTOCOL.md).
 *
 * Counters come from the observe stream and from the loop's byte counts; gauges
 * are read from the broker itself when /metrics is scraped (broker_partition_infos),
 * so they never drift from what the broker acts on.  Names are Strimzi's, so
 * existing Kafka dashboards work:
 *   - leader/partition/under-replicated/under-min-ISR counts, log sizes: from the
 *     broker's partitions;
 *   - ISR shrinks/expands and unclean elections: from ISR and leader events, which
 *     the active controller reports (sum over brokers for the cluster's rate);
 *   - messages/bytes in and produce requests per topic: appends this broker made
 *     as leader (one produce request per topic-partition, as Kafka counts them);
 *   - bytes out: bytes sent on client connections (all topics; no topic label);
 *   - consumer-group members and lag: the groups this broker coordinates
 *     (broker_each_group), lag against the local replica's high watermark.
 */
#ifndef STREAMLAB_METRICS_H
#define STREAMLAB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"

typedef struct metrics metrics;

metrics *metrics_create(int32_t node_id);
void metrics_destroy(metrics *m);
/* The broker whose gauges are exported (NULL: counters only), and its storage. */
void metrics_set_broker(metrics *m, const broker *b, const storage *fs);

void metrics_observe(metrics *m, const observe_event *ev);
/* `client`: 1 for accepted connections, 0 for connections this broker dialled. */
void metrics_bytes_in(metrics *m, int client, size_t bytes);
void metrics_bytes_out(metrics *m, int client, size_t bytes);
void metrics_connection_opened(metrics *m, int client);
void metrics_connection_closed(metrics *m, int client);

/* The Prometheus text exposition (version 0.0.4); the caller frees it. */
char *metrics_render(metrics *m, size_t *len);

#endif
