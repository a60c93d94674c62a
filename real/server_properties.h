/*
 * server_properties.h — a Kafka-style server.properties file for streamlab-broker.
 *
 * The format is Java's properties format as Kafka uses it: one `key=value` (or
 * `key: value`) per line, `#` or `!` starts a comment line, blank lines are skipped,
 * spaces around key and value are trimmed.  Keys are Kafka's own property names
 * where Kafka has one (docs/real.md lists them); `metrics.port` is ours.  An
 * unknown key, a malformed value or a missing required key is an error whose text
 * names the file and line ("server.properties:7: unknown property 'foo'").
 *
 * Networking follows a combined-mode KRaft broker with one listener: the broker
 * listens on one address for clients and for the other brokers, and
 * `controller.quorum.voters` (`id@host:port,...`) lists every broker of the
 * cluster, this one included, at that address.  Other brokers dial the voter
 * address; clients are told the `advertised.listeners` address (the listener when
 * not set).
 */
#ifndef STREAMLAB_SERVER_PROPERTIES_H
#define STREAMLAB_SERVER_PROPERTIES_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"

#define SERVER_PATH_BYTES_MAX 1024

typedef struct server_properties {
    broker_config broker; /* nodes[] and node_count come from controller.quorum.voters */
    char listen_host[BROKER_HOST_BYTES_MAX];
    int32_t listen_port;
    char advertised_host[BROKER_HOST_BYTES_MAX]; /* empty: the listener's */
    int32_t advertised_port;
    char log_dir[SERVER_PATH_BYTES_MAX];
    int32_t metrics_port;                 /* 0: no /metrics */
    int64_t connections_max_idle_ms;      /* connections.max.idle.ms */
    int64_t socket_send_buffer_bytes_max; /* a client that reads nothing is closed past this */
    int seen_node_id, seen_listeners, seen_log_dirs, seen_voters;
} server_properties;

/* Kafka's defaults (and streamlab's for what Kafka leaves unset). */
void server_properties_init(server_properties *p);

/* Applies one property; `where` ("file:line" or "--override") prefixes errors. */
int server_properties_set(server_properties *p, const char *key, const char *value,
                          const char *where, char *err, size_t err_len);

/* Parses the text of a properties file named `file` (for error messages). */
int server_properties_parse(server_properties *p, const char *text, const char *file, char *err,
                            size_t err_len);

/* Reads and parses the file at `path`. */
int server_properties_load(server_properties *p, const char *path, char *err, size_t err_len);

/* Checks what needs the whole file (required keys, this node among the voters) and
 * fills the broker's node table; call once after the last set. */
int server_properties_finish(server_properties *p, char *err, size_t err_len);

#endif
