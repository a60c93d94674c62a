/* test_real_properties.c — server.properties parsing: Kafka's names onto broker_config,
 * defaults, overrides, and errors that name the file and line. */
#include <criterion/criterion.h>
#include <string.h>

#include "server_properties.h"

#define GOOD                                                                                       \
    "# a comment\n"                                                                                \
    "! another\n"                                                                                  \
    "\n"                                                                                           \
    "node.id=2\n"                                                                                  \
    "process.roles=broker,controller\n"                                                            \
    "listeners=PLAINTEXT://127.0.0.1:9093\n"                                                       \
    "controller.quorum.voters=1@127.0.0.1:9092,2@127.0.0.1:9093,3@localhost:9094\n"                \
    "log.dirs=/tmp/x\n"

static int parse(server_properties *p, const char *text, char *err, size_t err_len) {
    server_properties_init(p);
    if (server_properties_parse(p, text, "server.properties", err, err_len) != 0) return -1;
    return server_properties_finish(p, err, err_len);
}

Test(real_properties, minimal_file_gets_kafka_defaults) {
    server_properties p;
    char err[512] = "";
    cr_assert_eq(parse(&p, GOOD, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.broker.node_id, 2);
    cr_assert_eq(p.broker.node_count, 3);
    cr_assert_eq(p.broker.nodes[2].node_id, 3);
    cr_assert_str_eq(p.broker.nodes[2].host, "localhost");
    cr_assert_eq(p.broker.nodes[2].port, 9094);
    cr_assert_str_eq(p.listen_host, "127.0.0.1");
    cr_assert_eq(p.listen_port, 9093);
    cr_assert_str_eq(p.log_dir, "/tmp/x");
    cr_assert_eq(p.broker.metadata_quorum, 1);
    cr_assert_eq(p.broker.min_insync_replicas, 1);
    cr_assert_eq(p.broker.flush_interval_ms, -1);
    cr_assert_eq(p.broker.retention_ms, 7LL * 24 * 3600 * 1000);
    cr_assert_eq(p.broker.retention_bytes, -1);
    cr_assert_eq(p.broker.offsets_topic_partitions, 50);
    cr_assert_eq(p.broker.auto_create_topics, 1);
    cr_assert_eq(p.broker.auto_create_wait_ms, 5000);
    cr_assert_eq(p.metrics_port, 0);
}

Test(real_properties, every_kafka_name_maps_onto_the_config) {
    server_properties p;
    char err[512] = "";
    const char *text = GOOD "min.insync.replicas = 2\n"
                            "num.partitions: 6\n"
                            "default.replication.factor=2\n"
                            "auto.create.topics.enable=false\n"
                            "socket.request.max.bytes=1048576\n"
                            "log.retention.hours=1\n"
                            "log.retention.bytes=1000000\n"
                            "log.flush.interval.ms=0\n"
                            "offsets.topic.num.partitions=3\n"
                            "replica.lag.time.max.ms=10000\n"
                            "unclean.leader.election.enable=true\n"
                            "log.segment.bytes=1048576\n"
                            "metrics.port=9404\r\n"
                            "streamlab.auto.create.wait.ms=0\n"
                            "advertised.listeners=PLAINTEXT://127.0.0.1:9093\n";
    cr_assert_eq(parse(&p, text, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.broker.min_insync_replicas, 2);
    cr_assert_eq(p.broker.default_partitions, 6);
    cr_assert_eq(p.broker.default_replication_factor, 2);
    cr_assert_eq(p.broker.auto_create_topics, 0);
    cr_assert_eq(p.broker.auto_create_wait_ms, 0);
    cr_assert_eq(p.broker.request_bytes_max, 1048576);
    cr_assert_eq(p.broker.retention_ms, 3600000);
    cr_assert_eq(p.broker.retention_bytes, 1000000);
    cr_assert_eq(p.broker.flush_interval_ms, 0);
    cr_assert_eq(p.broker.offsets_topic_partitions, 3);
    cr_assert_eq(p.broker.replica_lag_time_max_ms, 10000);
    cr_assert_eq(p.broker.unclean_leader_election, 1);
    cr_assert_eq(p.broker.segment_bytes, 1048576);
    cr_assert_eq(p.metrics_port, 9404);
}

Test(real_properties, override_replaces_a_file_value) {
    server_properties p;
    char err[512] = "";
    server_properties_init(&p);
    cr_assert_eq(server_properties_parse(&p, GOOD "log.retention.ms=5\n", "f", err, sizeof err), 0);
    cr_assert_eq(server_properties_set(&p, "log.retention.ms", "-1", "--override", err, sizeof err),
                 0);
    cr_assert_eq(server_properties_finish(&p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.broker.retention_ms, -1);
}

static void expect_error(const char *text, const char *want) {
    server_properties p;
    char err[512] = "";
    cr_assert_neq(parse(&p, text, err, sizeof err), 0, "accepted: %s", text);
    cr_assert(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
}

Test(real_properties, errors_name_the_file_and_line) {
    expect_error(GOOD "bogus.key=1\n", "server.properties:9: unknown property 'bogus.key'");
    expect_error("node.id=1\nnode.id=x\n", "server.properties:2: node.id: expected an integer");
    expect_error(GOOD "just words\n", "server.properties:9: expected key=value");
    expect_error(GOOD "min.insync.replicas=0\n", "server.properties:9: min.insync.replicas");
    expect_error(GOOD "auto.create.topics.enable=yes\n", "expected true or false");
    expect_error(GOOD "num.partitions=99999999999999999999\n", "server.properties:9");
    expect_error(GOOD "=3\n", "server.properties:9: empty key");
    expect_error(GOOD "log.dirs=/a,/b\n", "one directory expected");
    expect_error(GOOD "node.id=1 \\\n", "line continuations");
}

Test(real_properties, structured_values_are_checked) {
    expect_error("listeners=SSL://h:1\n", "server.properties:1: listeners: expected PLAINTEXT://");
    expect_error("listeners=PLAINTEXT://h:0\n", "listeners");
    expect_error("listeners=PLAINTEXT://h:1,PLAINTEXT://h:2\n", "one listener expected");
    expect_error("controller.quorum.voters=1@h:1,\n", "expected id@host:port");
    expect_error("controller.quorum.voters=1@h:1,1@h:2\n", "voter 1 listed twice");
    expect_error("controller.quorum.voters=x@h:1\n", "expected id@host:port");
    expect_error("controller.quorum.voters=1@h\n", "expected id@host:port");
    expect_error("process.roles=broker\n", "combined mode");
}

Test(real_properties, whole_file_checks) {
    expect_error("node.id=1\n", "required property 'listeners' is missing");
    expect_error(GOOD "node.id=7\n", "node.id 7 is not among controller.quorum.voters");
    expect_error(GOOD "default.replication.factor=4\n", "exceeds the 3 brokers");
    expect_error(GOOD "advertised.listeners=PLAINTEXT://10.0.0.1:9093\n", "differs from");
}

Test(real_properties, load_reports_a_missing_file) {
    server_properties p;
    char err[512] = "";
    server_properties_init(&p);
    cr_assert_neq(server_properties_load(&p, "/nonexistent/server.properties", err, sizeof err), 0);
    cr_assert(strstr(err, "/nonexistent/server.properties: cannot open") != NULL, "%s", err);
}
