/*
 * test_scenario.c — the scenario loader: the shipped scenarios, defaults, every
 * kind of validation error (exact field, file name in the message), --set
 * overrides, time conversion, and the effective-JSON round trip.
 *
 * Test JSON is written with single quotes for readability; q() turns them into
 * double quotes (no test text needs an apostrophe).
 */
#include "scenario.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ERR_BYTES 512
#define TEXT_BYTES 8192

static const char *q(char *buf, const char *text) {
    size_t n = strlen(text);
    cr_assert(n < TEXT_BYTES);
    for (size_t i = 0; i <= n; i++) buf[i] = text[i] == '\'' ? '"' : text[i];
    return buf;
}

static int load_q(scenario *s, const char *text, const scenario_override *o, int n, char *err) {
    char buf[TEXT_BYTES];
    return scenario_load(s, "t.json", q(buf, text), o, n, err, ERR_BYTES);
}

/* Loads text; the load must fail with "t.json: FIELD: " and contain what. */
static void expect_error(const char *text, const char *field, const char *what) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES], prefix[256];
    int rc = load_q(s, text, NULL, 0, err);
    snprintf(prefix, sizeof prefix, "t.json: %s: ", field);
    cr_expect_eq(rc, -1, "loaded, but expected an error at %s: %s", field, text);
    cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "want prefix [%s], got [%s]", prefix, err);
    cr_expect(strstr(err, what) != NULL, "want [%s] in [%s]", what, err);
    cr_expect(strchr(err, '\n') == NULL, "error is not one line: [%s]", err);
    scenario_free(s);
    free(s);
}

static void expect_ok(const char *text) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_expect_eq(load_q(s, text, NULL, 0, err), 0, "%s -> %s", text, err);
    scenario_free(s);
    free(s);
}

#define MIN "'name': 't', 'duration_s': 120"
#define ORDERS "'topics': [{'name': 'orders'}]"
#define SHOP "'producers': [{'name': 'shop', 'topic': 'orders'}]"
#define BILLING "'groups': [{'name': 'billing', 'topics': ['orders'], 'consumers': 2}]"

Test(scenario, lab_loads) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(scenario_load(s, "scenarios/lab.json", NULL, NULL, 0, err, sizeof err), 0, "%s",
                 err);
    cr_expect_str_eq(s->name, "lab");
    cr_expect_str_eq(s->path, "scenarios/lab.json");
    cr_expect(strlen(s->description) > 0);
    cr_expect(strstr(s->source_json, "\"lab\"") != NULL);
    cr_expect_eq(s->seed, 1);
    cr_expect_eq(s->duration_us, 120000000);
    cr_expect_eq(s->liveness_us, 30000000);
    cr_expect_eq(s->cluster.brokers, 3);
    cr_expect_eq(s->cluster.min_insync_replicas, 2);
    cr_expect_eq(s->cluster.replica_lag_time_max_ms, 10000);
    cr_expect_eq(s->cluster.offsets_topic_partitions, 3);
    cr_assert_eq(s->topic_count, 3);
    cr_assert_eq(s->producer_count, 3);
    cr_assert_eq(s->group_count, 3);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "topic-%d", i + 1);
        cr_expect_str_eq(s->topics[i].name, name);
        cr_expect_eq(s->topics[i].partitions, 3);
        cr_expect_eq(s->topics[i].replication_factor, 3);
        cr_expect_str_eq(s->producers[i].topic, name);
        cr_expect_eq(s->producers[i].rate_per_s, 100);
        cr_expect_eq(s->producers[i].value_bytes, 100);
        cr_expect_eq(s->producers[i].keys, 100);
        cr_expect_eq(s->producers[i].acks, SCENARIO_ACKS_ALL);
        cr_expect_eq(s->producers[i].idempotent, 1);
        cr_expect_eq(s->groups[i].topic_count, 1);
        cr_expect_str_eq(s->groups[i].topics[0], name);
        cr_expect_eq(s->groups[i].consumers, i + 1);
        cr_expect_eq(s->groups[i].assignor, SCENARIO_ASSIGNOR_RANGE);
        cr_expect_eq(s->groups[i].auto_offset_reset, SCENARIO_RESET_EARLIEST);
    }
    cr_expect_str_eq(s->producers[1].name, "producer-2");
    cr_expect_str_eq(s->groups[2].name, "group-3");
    cr_assert_eq(s->fault_count, 2);
    cr_expect_eq(s->faults[0].kind, SCENARIO_FAULT_CRASH);
    cr_expect_eq(s->faults[0].at_us, 30000000);
    cr_expect_eq(s->faults[0].target.kind, SCENARIO_TARGET_BROKER);
    cr_expect_eq(s->faults[0].target.broker, 2);
    cr_expect_eq(s->faults[1].kind, SCENARIO_FAULT_RESTART);
    cr_expect_eq(s->faults[1].at_us, 90000000);
    cr_expect_eq(s->faults[1].target.broker, 2);
    cr_expect_eq(s->chaos.enabled, 0);
    cr_expect_eq(s->not_simulated_count, 0);
    scenario_free(s);
    free(s);
}

static void check_example_faults(const scenario *s) {
    const scenario_fault *f = s->faults;
    cr_assert_eq(s->fault_count, 13);
    cr_expect_eq(f[0].kind, SCENARIO_FAULT_CRASH);
    cr_expect_eq(f[0].target.kind, SCENARIO_TARGET_LEADER);
    cr_expect_str_eq(f[0].target.topic, "orders");
    cr_expect_eq(f[0].target.partition, 0);
    cr_expect_eq(f[1].target.kind, SCENARIO_TARGET_CRASHED);
    cr_expect_eq(f[2].kind, SCENARIO_FAULT_SPLIT);
    cr_expect_eq(f[2].split_side[1], 1);
    cr_expect_eq(f[2].split_side[2], 2);
    cr_expect_eq(f[2].split_side[3], 2);
    cr_expect_eq(f[3].heal_all, 1);
    cr_expect_eq(f[4].kind, SCENARIO_FAULT_ISOLATE);
    cr_expect_eq(f[4].target.kind, SCENARIO_TARGET_CONTROLLER);
    cr_expect_eq(f[5].kind, SCENARIO_FAULT_CUT);
    cr_expect(f[5].link[0] == 1 && f[5].link[1] == 2);
    cr_expect(f[6].heal_all == 0 && f[6].link[0] == 1 && f[6].link[1] == 2);
    cr_expect_eq(f[7].kind, SCENARIO_FAULT_SLOW);
    cr_expect(f[7].link[0] == 2 && f[7].link[1] == 3);
    cr_expect(f[7].slow_latency_ms_min == 80 && f[7].slow_latency_ms_max == 120);
    cr_expect_eq(f[9].kind, SCENARIO_FAULT_POWER_OFF);
    cr_expect_eq(f[9].target.broker, 3);
    cr_expect_eq(f[10].target.kind, SCENARIO_TARGET_BROKER);
    cr_expect_eq(f[11].kind, SCENARIO_FAULT_CRASH_CONSUMER);
    cr_expect_str_eq(f[11].group, "billing");
    cr_expect_eq(f[11].consumer, 2);
    cr_expect_eq(f[12].kind, SCENARIO_FAULT_ADD_CONSUMER);
    cr_expect_str_eq(f[12].group, "billing");
    cr_expect_eq(f[12].at_us, 80000000);
}

Test(scenario, example_loads) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(scenario_load(s, "scenarios/example.json", NULL, NULL, 0, err, sizeof err), 0,
                 "%s", err);
    cr_expect_str_eq(s->name, "example");
    cr_expect_eq(s->duration_us, 130000000);
    cr_expect_eq(s->cluster.flush_interval_ms, -1);
    cr_expect_eq(s->cluster.retention_ms, -1);
    cr_expect_eq(s->cluster.retention_bytes, -1);
    cr_expect_eq(s->network.drop_rate_ppm, 0);
    cr_expect_str_eq(s->producers[0].name, "shop");
    cr_expect_eq(s->groups[0].consumers, 2);
    check_example_faults(s);
    cr_expect_eq(s->chaos.enabled, 1);
    cr_expect_eq(s->chaos.from_us, 10000000);
    cr_expect_eq(s->chaos.until_us, 100000000);
    cr_expect(s->chaos.crash_every_ms_min == 5000 && s->chaos.crash_every_ms_max == 20000);
    cr_expect(s->chaos.split_every_ms_min == 5000 && s->chaos.split_every_ms_max == 20000);
    cr_expect(s->chaos.down_ms_min == 1000 && s->chaos.down_ms_max == 10000);
    cr_expect(s->chaos.power_off_every_ms_min == 0 && s->chaos.power_off_every_ms_max == 0);
    scenario_free(s);
    free(s);
}

Test(scenario, defaults_of_a_minimal_scenario) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(load_q(s, "{" MIN ", " ORDERS ", " SHOP ", " BILLING "}", NULL, 0, err), 0, "%s",
                 err);
    const scenario_cluster *k = &s->cluster;
    cr_expect_eq(s->seed, 1);
    cr_expect_eq(s->liveness_us, 30000000);
    cr_expect_str_eq(s->description, "");
    cr_expect_str_eq(s->path, "t.json");
    cr_expect(k->brokers == 3 && k->min_insync_replicas == 1);
    cr_expect_eq(k->replica_lag_time_max_ms, 30000);
    cr_expect(k->unclean_leader_election == 0 && k->truncation == SCENARIO_TRUNCATION_LEADER_EPOCH);
    cr_expect_eq(k->flush_interval_ms, -1);
    cr_expect_eq(k->offsets_topic_partitions, 50);
    cr_expect_eq(k->retention_ms, 604800000);
    cr_expect_eq(k->retention_bytes, -1);
    cr_expect_eq(k->segment_bytes, 1LL << 30);
    cr_expect(k->auto_create_topics == 1 && k->default_partitions == 3);
    cr_expect_eq(k->default_replication_factor, 3);
    cr_expect(s->network.latency_ms_min == 1 && s->network.latency_ms_max == 5);
    cr_expect_eq(s->network.drop_rate_ppm, 0);
    cr_expect(s->topics[0].partitions == 3 && s->topics[0].replication_factor == 3);
    const scenario_producer *p = &s->producers[0];
    cr_expect(p->acks == SCENARIO_ACKS_ALL && p->idempotent == 1 && p->linger_ms == 5);
    cr_expect(p->batch_bytes == 16384 && p->delivery_timeout_ms == 120000);
    cr_expect(p->keys == 0 && p->value_bytes == 100 && p->rate_per_s == 100);
    const scenario_group *g = &s->groups[0];
    cr_expect(g->session_timeout_ms == 45000 && g->heartbeat_interval_ms == 3000);
    cr_expect(g->auto_commit_interval_ms == 5000 && g->assignor == SCENARIO_ASSIGNOR_RANGE);
    cr_expect_eq(g->auto_offset_reset, SCENARIO_RESET_LATEST);
    cr_expect(s->fault_count == 0 && s->chaos.enabled == 0);
    scenario_free(s);
    free(s);
}

Test(scenario, topics_may_be_empty_and_default_rf_follows_small_clusters) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(load_q(s, "{" MIN ", 'cluster': {'brokers': 1}, " ORDERS "}", NULL, 0, err), 0,
                 "%s", err);
    cr_expect_eq(s->cluster.default_replication_factor, 1);
    cr_expect_eq(s->topics[0].replication_factor, 1);
    scenario_free(s);
    cr_assert_eq(load_q(s, "{" MIN ", 'topics': []}", NULL, 0, err), 0, "%s", err);
    cr_expect_eq(s->topic_count, 0);
    scenario_free(s);
    free(s);
}

Test(scenario, required_keys_and_types) {
    expect_error("{'duration_s': 10, 'topics': []}", "name",
                 "expected a string of 1..63 bytes (got missing)");
    expect_error("{'name': 't', 'topics': []}", "duration_s", "(got missing)");
    expect_error("{" MIN "}", "topics", "expected an array (got missing)");
    expect_error("{" MIN ", 'topics': {}}", "topics", "expected an array (got {})");
    expect_error("[1, 2]", "(top level)", "expected an object");
    expect_error("{'name': 't', 'duration_s': 0, 'topics': []}", "duration_s", "> 0");
    expect_error("{'name': 't', 'duration_s': -5, 'topics': []}", "duration_s", "(got -5)");
    expect_error("{" MIN ", 'seed': -1, 'topics': []}", "seed", "integer >= 0 (got -1)");
    expect_error("{" MIN ", 'description': 5, 'topics': []}", "description", "a string (got 5)");
    expect_error("{" MIN ", 'cluster': {'brokers': '3'}, 'topics': []}", "cluster.brokers",
                 "expected an integer in 1..9 (got \"3\")");
    expect_error("{" MIN ", 'cluster': {'brokers': 2.5}, 'topics': []}", "cluster.brokers",
                 "(got 2.5)");
    expect_error("{" MIN ", 'cluster': {'auto_create_topics': 1}, 'topics': []}",
                 "cluster.auto_create_topics", "true or false (got 1)");
    expect_error("{" MIN ", 'cluster': [], 'topics': []}", "cluster", "an object (got [])");
    expect_error("{" MIN ", 'name': 'u', 'topics': []}", "name", "each key once");
}

Test(scenario, unknown_keys_name_the_field_and_known_keys) {
    expect_error("{" MIN ", 'colour': 'red', 'topics': []}", "colour",
                 "expected a known key: name, description, seed");
    expect_error("{" MIN ", 'topics': [{'name': 'a', 'partitons': 3}]}", "topics[0].partitons",
                 "name, partitions, replication_factor (got an unknown key)");
    expect_error("{" MIN ", 'cluster': {'broker': 3}, 'topics': []}", "cluster.broker",
                 "expected a known key");
    expect_error("{" MIN ", " ORDERS ", 'faults': [{'at_s': 1, 'explode': 1}]}",
                 "faults[0].explode", "expected a known key");
    expect_error(
        "{" MIN ", " ORDERS
        ", 'faults': [{'at_s': 1, 'slow': {'link': [1, 2], 'latency_ms': [1, 2], 'x': 1}}]}",
        "faults[0].slow.x", "link, latency_ms");
    expect_error("{" MIN ", 'topics': [], 'chaos': {'until_s': 10, 'when': 1}}", "chaos.when",
                 "from_s, until_s");
}

Test(scenario, cluster_limits) {
    expect_error("{" MIN ", 'cluster': {'brokers': 0}, 'topics': []}", "cluster.brokers",
                 "1..9 (got 0)");
    expect_error("{" MIN ", 'cluster': {'brokers': 10}, 'topics': []}", "cluster.brokers",
                 "1..9 (got 10)");
    expect_error("{" MIN ", 'cluster': {'min_insync_replicas': 4}, 'topics': []}",
                 "cluster.min_insync_replicas", "1..3, at most cluster.brokers (got 4)");
    expect_error("{" MIN ", 'cluster': {'default_replication_factor': 5}, 'topics': []}",
                 "cluster.default_replication_factor", "1..3, at most cluster.brokers (got 5)");
    expect_error("{" MIN ", 'cluster': {'truncation': 'none'}, 'topics': []}", "cluster.truncation",
                 "one of \"leader-epoch\", \"epoch-single\", \"high-watermark\" (got \"none\")");
    expect_error("{" MIN ", 'cluster': {'flush_interval_ms': -2}, 'topics': []}",
                 "cluster.flush_interval_ms", "null or an integer >= 0 (got -2)");
    expect_error("{" MIN ", 'cluster': {'retention_ms': 'forever'}, 'topics': []}",
                 "cluster.retention_ms", "null or an integer >= 1");
    expect_error("{" MIN ", 'cluster': {'segment_bytes': 100}, 'topics': []}",
                 "cluster.segment_bytes", "integer in 1024..2147483647 (got 100)");
    expect_error("{" MIN ", 'cluster': {'replica_lag_time_max_ms': 0}, 'topics': []}",
                 "cluster.replica_lag_time_max_ms", "integer >= 1 (got 0)");
}

Test(scenario, network_limits) {
    expect_error("{" MIN ", 'network': {'latency_ms': [5, 1]}, 'topics': []}", "network.latency_ms",
                 "min <= max (got [5,1])");
    expect_error("{" MIN ", 'network': {'latency_ms': [1]}, 'topics': []}", "network.latency_ms",
                 "[min, max]");
    expect_error("{" MIN ", 'network': {'drop_rate': 1.5}, 'topics': []}", "network.drop_rate",
                 "a number in 0..1 (got 1.5)");
    expect_error("{" MIN ", 'network': {'drop_rate': -0.1}, 'topics': []}", "network.drop_rate",
                 "(got -0.1)");
}

Test(scenario, topics_producers_groups) {
    expect_error("{" MIN ", 'topics': [{'name': 'a'}, {'name': 'b', 'replication_factor': 4}]}",
                 "topics[1].replication_factor", "1..3, at most cluster.brokers (got 4)");
    expect_error("{" MIN ", 'topics': [{'name': 'a', 'partitions': 0}]}", "topics[0].partitions",
                 "(got 0)");
    expect_error("{" MIN ", 'topics': [{'partitions': 1}]}", "topics[0].name", "(got missing)");
    expect_error("{" MIN ", 'topics': [{'name': 'a'}, {'name': 'a'}]}", "topics[1].name",
                 "unique name (got \"a\", as topics[0])");
    expect_error("{" MIN ", 'topics': [{'name': "
                 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}]}",
                 "topics[0].name", "1..63 bytes");
    expect_ok("{" MIN ", 'topics': [{'name': "
              "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}]}");
    expect_error("{" MIN ", " ORDERS ", 'producers': [{'name': 'p', 'topic': 'nope'}]}",
                 "producers[0].topic", "an existing topic (got \"nope\")");
    expect_error("{" MIN ", " ORDERS
                 ", 'producers': [{'name': 'p', 'topic': 'orders', 'rate_per_s': -1}]}",
                 "producers[0].rate_per_s", "(got -1)");
    expect_error(
        "{" MIN ", " ORDERS
        ", 'producers': [{'name': 'p', 'topic': 'orders'}, {'name': 'p', 'topic': 'orders'}]}",
        "producers[1].name", "unique name");
    expect_error("{" MIN ", " ORDERS
                 ", 'producers': [{'name': 'p', 'topic': 'orders', 'acks': 2}]}",
                 "producers[0].acks", "\"all\", -1, 0 or 1 (got 2)");
    expect_error(
        "{" MIN ", " ORDERS
        ", 'producers': [{'name': 'p', 'topic': 'orders', 'acks': 1, 'idempotent': true}]}",
        "producers[0].idempotent", "false when acks is not \"all\"");
    expect_error("{" MIN ", " ORDERS ", 'groups': [{'name': 'g', 'topics': ['orders', 'x']}]}",
                 "groups[0].topics[1]", "an existing topic (got \"x\")");
    expect_error("{" MIN ", " ORDERS ", 'groups': [{'name': 'g', 'topics': []}]}",
                 "groups[0].topics", "an array of 1..16 topic names");
    expect_error(
        "{" MIN ", " ORDERS
        ", 'groups': [{'name': 'g', 'topics': ['orders']}, {'name': 'g', 'topics': ['orders']}]}",
        "groups[1].name", "unique name");
    expect_error("{" MIN ", " ORDERS
                 ", 'groups': [{'name': 'g', 'topics': ['orders'], 'assignor': 'sticky'}]}",
                 "groups[0].assignor", "one of \"range\", \"roundrobin\"");
    expect_error(
        "{" MIN ", " ORDERS
        ", 'groups': [{'name': 'g', 'topics': ['orders'], 'heartbeat_interval_ms': 50000}]}",
        "groups[0].heartbeat_interval_ms", "less than session_timeout_ms 45000");
    expect_error("{" MIN ", " ORDERS
                 ", 'groups': [{'name': 'g', 'topics': ['orders'], 'auto_offset_reset': 'none'}]}",
                 "groups[0].auto_offset_reset", "\"latest\", \"earliest\"");
}

Test(scenario, acks_spellings) {
    static const char *const spellings[] = {"'all'", "-1", "0", "1", "'0'", "'1'", "'-1'"};
    static const int values[] = {-1, -1, 0, 1, 0, 1, -1};
    for (int i = 0; i < 7; i++) {
        scenario *s = calloc(1, sizeof *s);
        char text[512], err[ERR_BYTES];
        snprintf(text, sizeof text,
                 "{" MIN ", " ORDERS
                 ", 'producers': [{'name': 'p', 'topic': 'orders', 'acks': %s}]}",
                 spellings[i]);
        cr_assert_eq(load_q(s, text, NULL, 0, err), 0, "%s", err);
        cr_expect_eq(s->producers[0].acks, values[i], "%s", spellings[i]);
        cr_expect_eq(s->producers[0].idempotent, values[i] == -1, "%s", spellings[i]);
        scenario_free(s);
        free(s);
    }
}

static void too_many(const char *key, const char *entry, int n, const char *what) {
    static char text[65536];
    size_t used = (size_t)snprintf(text, sizeof text, "{" MIN ", 'cluster': {'brokers': 3}, ");
    if (strcmp(key, "topics") != 0)
        used += (size_t)snprintf(text + used, sizeof text - used, ORDERS ", ");
    used += (size_t)snprintf(text + used, sizeof text - used, "'%s': [", key);
    for (int i = 0; i < n; i++) {
        used += (size_t)snprintf(text + used, sizeof text - used, "%s", i ? "," : "");
        used += (size_t)snprintf(text + used, sizeof text - used, entry, i);
    }
    snprintf(text + used, sizeof text - used, "]}");
    for (char *p = text; *p; p++) *p = *p == '\'' ? '"' : *p;
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_expect_eq(scenario_load(s, "t.json", text, NULL, 0, err, sizeof err), -1, "%s", key);
    cr_expect(strstr(err, what) != NULL, "want [%s] in [%s]", what, err);
    scenario_free(s);
    free(s);
}

Test(scenario, too_many_entries) {
    too_many("topics", "{'name': 't%d'}", SCENARIO_TOPICS_MAX + 1,
             "t.json: topics: expected at most 64 entries (got 65)");
    too_many("producers", "{'name': 'p%d', 'topic': 'orders'}", SCENARIO_PRODUCERS_MAX + 1,
             "t.json: producers: expected at most 64 entries (got 65)");
    too_many("groups", "{'name': 'g%d', 'topics': ['orders']}", SCENARIO_GROUPS_MAX + 1,
             "t.json: groups: expected at most 32 entries (got 33)");
    too_many("faults", "{'at_s': %d, 'heal': true}", SCENARIO_FAULTS_MAX + 1,
             "t.json: faults: expected at most 256 entries (got 257)");
}

#define FAULTS(list) "{" MIN ", " ORDERS ", " BILLING ", 'faults': [" list "]}"

Test(scenario, fault_targets) {
    expect_error(FAULTS("{'at_s': 1, 'crash': 7}"), "faults[0].crash",
                 "a broker id in 1..3, \"controller\", \"leader:TOPIC/P\" or "
                 "\"coordinator:GROUP\" (existing) (got 7)");
    expect_error(FAULTS("{'at_s': 1, 'crash': 0}"), "faults[0].crash", "(got 0)");
    expect_error(FAULTS("{'at_s': 1, 'crash': 'crashed'}"), "faults[0].crash", "(got \"crashed\")");
    expect_ok(FAULTS("{'at_s': 1, 'crash': 1}, {'at_s': 2, 'restart': 'crashed'}"));
    expect_error(FAULTS("{'at_s': 1, 'power_off': 'leader:orders/3'}"), "faults[0].power_off",
                 "(got \"leader:orders/3\")");
    expect_error(FAULTS("{'at_s': 1, 'isolate': 'leader:nope/0'}"), "faults[0].isolate",
                 "(got \"leader:nope/0\")");
    expect_error(FAULTS("{'at_s': 1, 'crash': 'leader:orders/'}"), "faults[0].crash", "leader:");
    expect_ok(FAULTS("{'at_s': 1, 'isolate': 'leader:orders/2'}"));
    expect_error(FAULTS("{'at_s': 1, 'restart': 'everyone'}"), "faults[0].restart",
                 "\"controller\", \"crashed\", ");
    expect_error(FAULTS("{'at_s': 1, 'crash': 'coordinator:payroll'}"), "faults[0].crash",
                 "coordinator:GROUP");
}

/* "coordinator:GROUP" is the leader of __consumer_offsets partition
 * kafka_abs(java_string_hash(GROUP)) % offsets_topic_partitions: "billing".hashCode() is
 * -109829509, so partition 9 of the default 50, and 1 of 3. */
Test(scenario, coordinator_target) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    const char *text = "{" MIN ", " ORDERS ", " BILLING ", 'faults': [{'at_s': 1, 'crash': "
                       "'coordinator:billing'}]}";
    cr_assert_eq(load_q(s, text, NULL, 0, err), 0, "%s", err);
    cr_assert_eq(s->faults[0].target.kind, SCENARIO_TARGET_COORDINATOR);
    cr_assert_str_eq(s->faults[0].target.topic, "__consumer_offsets");
    cr_assert_str_eq(s->faults[0].target.group, "billing");
    cr_assert_eq(s->faults[0].target.partition, 9);
    char *eff = scenario_effective_json(s);
    cr_assert(strstr(eff, "\"coordinator:billing\""), "%s", eff);
    free(eff);
    scenario_free(s);
    scenario_override set = {"cluster.offsets_topic_partitions", "3"};
    cr_assert_eq(load_q(s, text, &set, 1, err), 0, "%s", err);
    cr_assert_eq(s->faults[0].target.partition, 1);
    scenario_free(s);
    free(s);
}

Test(scenario, fault_shapes) {
    expect_error(FAULTS("{'at_s': 1, 'split': [[1], [1, 2]]}"), "faults[0].split", "each id once");
    expect_error(FAULTS("{'at_s': 1, 'split': [[1], [4]]}"), "faults[0].split", "1..3");
    expect_error(FAULTS("{'at_s': 1, 'split': [[1], []]}"), "faults[0].split", "sides");
    expect_error(FAULTS("{'at_s': 1, 'cut': [1, 1]}"), "faults[0].cut", "a != b (got [1,1])");
    expect_error(FAULTS("{'at_s': 1, 'cut': [1, 9]}"), "faults[0].cut", "pair");
    expect_error(FAULTS("{'at_s': 1, 'heal': false}"), "faults[0].heal", "true or a link [a, b]");
    expect_error(FAULTS("{'at_s': 1, 'heal': [2, 4]}"), "faults[0].heal", "(got [2,4])");
    expect_error(FAULTS("{'at_s': 1, 'slow': {'link': [1, 2], 'latency_ms': [9, 3]}}"),
                 "faults[0].slow.latency_ms", "min <= max");
    expect_error(FAULTS("{'at_s': 1, 'slow': {'link': [1, 5], 'latency_ms': [1, 3]}}"),
                 "faults[0].slow.link", "(got [1,5])");
    expect_error(FAULTS("{'at_s': 1, 'slow': 5}"), "faults[0].slow", "an object");
    expect_error(FAULTS("{'at_s': 1, 'crash': 1, 'restart': 1}"), "faults[0]",
                 "expected exactly one of crash, restart");
    expect_error(FAULTS("{'at_s': 1}"), "faults[0]", "(got 0)");
    expect_error(FAULTS("{'crash': 1}"), "faults[0].at_s", "(got missing)");
    expect_error(FAULTS("{'at_s': 121, 'crash': 1}"), "faults[0].at_s", "0..duration_s (120)");
    expect_error(FAULTS("{'at_s': -1, 'crash': 1}"), "faults[0].at_s", "(got -1)");
    expect_error(FAULTS("3"), "faults[0]", "an object (got 3)");
}

Test(scenario, consumer_faults) {
    expect_error(FAULTS("{'at_s': 1, 'crash_consumer': 'payroll/1'}"), "faults[0].crash_consumer",
                 "of an existing group (got \"payroll/1\")");
    expect_error(FAULTS("{'at_s': 1, 'add_consumer': 'payroll'}"), "faults[0].add_consumer",
                 "an existing group (got \"payroll\")");
    expect_error(FAULTS("{'at_s': 1, 'crash_consumer': 'billing/3'}"), "faults[0].crash_consumer",
                 "1..2 for group \"billing\"");
    expect_error(FAULTS("{'at_s': 1, 'crash_consumer': 'billing/0'}"), "faults[0].crash_consumer",
                 "(got \"billing/0\")");
    expect_error(FAULTS("{'at_s': 1, 'crash_consumer': 'billing'}"), "faults[0].crash_consumer",
                 "GROUP/N");
    expect_ok(FAULTS(
        "{'at_s': 1, 'add_consumer': 'billing'}, {'at_s': 2, 'crash_consumer': 'billing/3'}"));
    expect_error(
        FAULTS(
            "{'at_s': 1, 'crash_consumer': 'billing/3'}, {'at_s': 2, 'add_consumer': 'billing'}"),
        "faults[0].crash_consumer", "1..2");
}

Test(scenario, faults_out_of_order) {
    expect_error(FAULTS("{'at_s': 50, 'crash': 1}, {'at_s': 40, 'restart': 1}"), "faults[1].at_s",
                 "faults in time order, at or after faults[0].at_s = 50 (got 40)");
    expect_ok(FAULTS("{'at_s': 40, 'crash': 1}, {'at_s': 40, 'restart': 1}"));
}

Test(scenario, fractional_times_are_exact_microseconds) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(load_q(s,
                        "{'name': 't', 'duration_s': 100.1, 'liveness_s': 0.3, " ORDERS ", "
                        "'faults': [{'at_s': 0.000001, 'crash': 1}, {'at_s': 0.1, 'restart': 1}, "
                        "{'at_s': 30.5, 'crash': 2}, {'at_s': 33.333333, 'restart': 2}]}",
                        NULL, 0, err),
                 0, "%s", err);
    cr_expect_eq(s->duration_us, 100100000);
    cr_expect_eq(s->liveness_us, 300000);
    cr_expect_eq(s->faults[0].at_us, 1);
    cr_expect_eq(s->faults[1].at_us, 100000);
    cr_expect_eq(s->faults[2].at_us, 30500000);
    cr_expect_eq(s->faults[3].at_us, 33333333);
    scenario_free(s);
    free(s);
}

Test(scenario, drop_rate_parts_per_million) {
    static const char *const rates[] = {"0", "0.001", "0.3", "0.0000015", "1"};
    static const uint32_t ppm[] = {0, 1000, 300000, 2, 1000000};
    for (int i = 0; i < 5; i++) {
        scenario *s = calloc(1, sizeof *s);
        char text[256], err[ERR_BYTES];
        snprintf(text, sizeof text, "{" MIN ", 'topics': [], 'network': {'drop_rate': %s}}",
                 rates[i]);
        cr_assert_eq(load_q(s, text, NULL, 0, err), 0, "%s", err);
        cr_expect_eq(s->network.drop_rate_ppm, ppm[i], "%s -> %u", rates[i],
                     s->network.drop_rate_ppm);
        scenario_free(s);
        free(s);
    }
}

Test(scenario, chaos) {
    expect_error("{'name': 't', 'duration_s': 120, 'topics': [], 'chaos': {'until_s': 100}}",
                 "duration_s", "at least chaos.until_s + liveness_s = 130");
    expect_error("{" MIN ", 'topics': [], 'chaos': {'from_s': 50, 'until_s': 40}}", "chaos.until_s",
                 "at or after chaos.from_s");
    expect_error("{" MIN ", 'topics': [], 'chaos': {'until_s': 60, 'crash_every_s': [20, 5]}}",
                 "chaos.crash_every_s", "min <= max");
    expect_error("{" MIN ", 'topics': [], 'chaos': {'until_s': 60, 'split_every_s': [0, 5]}}",
                 "chaos.split_every_s", "0 < min <= max (got [0,5])");
    expect_error("{" MIN ", 'topics': [], 'chaos': {'from_s': 1}}", "chaos.until_s",
                 "(got missing)");
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(load_q(s,
                        "{" MIN ", 'topics': [], 'chaos': {'until_s': 60, "
                        "'power_off_every_s': [2.5, 7], 'down_s': [0.5, 1]}}",
                        NULL, 0, err),
                 0, "%s", err);
    cr_expect(s->chaos.enabled && s->chaos.from_us == 0 && s->chaos.until_us == 60000000);
    cr_expect(s->chaos.crash_every_ms_min == 0 && s->chaos.split_every_ms_max == 0);
    cr_expect(s->chaos.power_off_every_ms_min == 2500 && s->chaos.power_off_every_ms_max == 7000);
    cr_expect(s->chaos.down_ms_min == 500 && s->chaos.down_ms_max == 1000);
    scenario_free(s);
    cr_assert_eq(load_q(s, "{" MIN ", 'topics': [], 'chaos': null}", NULL, 0, err), 0, "%s", err);
    cr_expect_eq(s->chaos.enabled, 0);
    scenario_free(s);
    free(s);
}

Test(scenario, syntax_errors_name_the_line) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    const char *text = "{\n  \"name\": \"t\",\n  \"duration_s\": ,\n  \"topics\": []\n}\n";
    cr_expect_eq(scenario_load(s, "bad.json", text, NULL, 0, err, sizeof err), -1);
    cr_expect(strncmp(err, "bad.json: line 3, column", 24) == 0, "%s", err);
    cr_expect(strstr(err, "expected valid JSON") != NULL, "%s", err);
    cr_expect_eq(scenario_load(s, "bad.json", "{\"name\": \"t\"", NULL, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "bad.json: line 1") != NULL, "%s", err);
    cr_expect_eq(scenario_load(s, "bad.json", "{} trailing", NULL, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "(got a syntax error at \"trailing\")") != NULL, "%s", err);
    scenario_free(s);
    free(s);
}

Test(scenario, files) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES], path[] = "/tmp/test_scenario_XXXXXX";
    cr_expect_eq(scenario_load(s, "/nonexistent/x.json", NULL, NULL, 0, err, sizeof err), -1);
    cr_expect_str_eq(err, "/nonexistent/x.json: file: expected a readable file (got No such file "
                          "or directory)");
    cr_expect_eq(scenario_load(s, "/tmp", NULL, NULL, 0, err, sizeof err), -1);
    cr_expect(strncmp(err, "/tmp: file: expected a readable file", 36) == 0, "%s", err);
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *text = "{\"name\": \"f\", \"duration_s\": 5, \"topics\": [], \"colour\": 1}";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_expect_eq(scenario_load(s, path, NULL, NULL, 0, err, sizeof err), -1);
    cr_expect(strncmp(err, path, strlen(path)) == 0 && strstr(err, ": colour: ") != NULL, "%s",
              err);
    scenario_override o = {"colour", "null"};
    cr_expect_eq(scenario_load(s, path, NULL, &o, 1, err, sizeof err), -1);
    unlink(path);
    cr_expect(s->source_json == NULL && s->description == NULL);
    free(s);
}

Test(scenario, source_json_is_kept) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    const char *text = "{\"name\": \"k\", \"duration_s\": 5, \"topics\": []}";
    cr_assert_eq(scenario_load(s, NULL, text, NULL, 0, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(s->source_json, text);
    cr_expect_str_eq(s->path, "<text>");
    scenario_free(s);
    free(s);
}

static int load_lab(scenario *s, const scenario_override *o, int n, char *err) {
    return scenario_load(s, "scenarios/lab.json", NULL, o, n, err, ERR_BYTES);
}

Test(scenario, overrides) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    const scenario_override o[] = {
        {"cluster.truncation", "high-watermark"},
        {"seed", "42"},
        {"duration_s", "150.5"},
        {"network.drop_rate", "0.25"},
        {"network.latency_ms", "[2, 9]"},
        {"producers.0.rate_per_s", "7"},
        {"producers.producer-2.linger_ms", "12"},
        {"groups.group-2.consumers", "5"},
        {"cluster.unclean_leader_election", "true"},
        {"cluster.flush_interval_ms", "0"},
        {"chaos.until_s", "90"},
        {"faults.1.restart", "\"crashed\""},
    };
    cr_assert_eq(load_lab(s, o, 12, err), 0, "%s", err);
    cr_expect_eq(s->cluster.truncation, SCENARIO_TRUNCATION_HIGH_WATERMARK);
    cr_expect_eq(s->seed, 42);
    cr_expect_eq(s->duration_us, 150500000);
    cr_expect_eq(s->network.drop_rate_ppm, 250000);
    cr_expect(s->network.latency_ms_min == 2 && s->network.latency_ms_max == 9);
    cr_expect_eq(s->producers[0].rate_per_s, 7);
    cr_expect_eq(s->producers[1].linger_ms, 12);
    cr_expect_eq(s->producers[2].rate_per_s, 100);
    cr_expect_eq(s->groups[1].consumers, 5);
    cr_expect_eq(s->cluster.unclean_leader_election, 1);
    cr_expect_eq(s->cluster.flush_interval_ms, 0);
    cr_expect(s->chaos.enabled && s->chaos.until_us == 90000000);
    cr_expect_eq(s->faults[1].target.kind, SCENARIO_TARGET_CRASHED);
    /* The source text stays as read; overrides live in the tree only. */
    cr_expect(strstr(s->source_json, "high-watermark") == NULL);
    scenario_free(s);
    free(s);
}

Test(scenario, overrides_create_missing_objects) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    const scenario_override o[] = {{"cluster.min_insync_replicas", "2"},
                                   {"network.drop_rate", "0.5"}};
    cr_assert_eq(load_q(s, "{" MIN ", 'topics': []}", o, 2, err), 0, "%s", err);
    cr_expect_eq(s->cluster.min_insync_replicas, 2);
    cr_expect_eq(s->network.drop_rate_ppm, 500000);
    scenario_free(s);
    const scenario_override c = {"chaos.until_s", "60"};
    cr_assert_eq(load_q(s, "{" MIN ", 'topics': [], 'chaos': null}", &c, 1, err), 0, "%s", err);
    cr_expect(s->chaos.enabled && s->chaos.until_us == 60000000);
    scenario_free(s);
    free(s);
}

static void expect_override_error(const char *key, const char *value, const char *want) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    scenario_override o = {key, value};
    cr_expect_eq(load_lab(s, &o, 1, err), -1, "--set %s=%s loaded", key, value);
    cr_expect(strstr(err, want) != NULL, "want [%s] in [%s]", want, err);
    cr_expect(strncmp(err, "scenarios/lab.json: ", 20) == 0, "%s", err);
    scenario_free(s);
    free(s);
}

Test(scenario, override_errors) {
    expect_override_error("cluster.foo", "1", "--set cluster.foo: expected a known key: ");
    expect_override_error("cluster.foo", "1", "(got \"foo\")");
    expect_override_error("colour", "red", "--set colour: expected a known key");
    expect_override_error("producers.nope.acks", "1",
                          "--set producers.nope.acks: expected an "
                          "element index or name (got \"nope\")");
    expect_override_error("producers.7.acks", "1", "--set producers.7.acks");
    expect_override_error("producers.0.colour", "1", "--set producers.0.colour: expected a known");
    expect_override_error("seed.x", "1", "--set seed.x: expected nothing after a value");
    expect_override_error("producers.0", "{}", "--set producers.0: expected a key");
    /* Overrides are validated like the file. */
    expect_override_error("cluster.brokers", "12",
                          "scenarios/lab.json: cluster.brokers: "
                          "expected an integer in 1..9 (got 12)");
    expect_override_error("seed", "null", "seed: expected an integer >= 0 (got null)");
    expect_override_error("cluster.truncation", "safe", "cluster.truncation: expected one of");
    expect_override_error("producers.producer-1.acks", "0", "producers[0].idempotent");
    expect_override_error("faults.0.crash", "7", "faults[0].crash: expected a broker id");
}

Test(scenario, override_parse) {
    char arg[] = "cluster.truncation=leader-epoch", bad[] = "novalue", empty[] = "=x";
    char eq[] = "description=a=b";
    scenario_override o;
    cr_assert_eq(scenario_override_parse(arg, &o), 0);
    cr_expect_str_eq(o.key, "cluster.truncation");
    cr_expect_str_eq(o.value, "leader-epoch");
    cr_expect_eq(scenario_override_parse(bad, &o), -1);
    cr_expect_eq(scenario_override_parse(empty, &o), -1);
    cr_assert_eq(scenario_override_parse(eq, &o), 0);
    cr_expect_str_eq(o.value, "a=b");
}

static char *effective_of(const char *path, const char *text) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(scenario_load(s, path, text, NULL, 0, err, sizeof err), 0, "%s", err);
    char *json = scenario_effective_json(s);
    cr_assert(json != NULL);
    scenario_free(s);
    free(s);
    return json;
}

Test(scenario, effective_json_round_trips) {
    static const char *const paths[] = {"scenarios/example.json", "scenarios/lab.json"};
    for (int i = 0; i < 2; i++) {
        char *first = effective_of(paths[i], NULL);
        char *second = effective_of("effective.json", first);
        cr_expect_str_eq(second, first);
        free(first);
        free(second);
    }
    char *json = effective_of("scenarios/example.json", NULL);
    cr_expect(strstr(json, "\"crash\":\t\"leader:orders/0\"") != NULL, "%s", json);
    cr_expect(strstr(json, "\"crash_consumer\":\t\"billing/2\"") != NULL, "%s", json);
    cr_expect(strstr(json, "\"power_off_every_s\":\tnull") != NULL, "%s", json);
    free(json);
}

Test(scenario, effective_json_fills_defaults_and_fractions) {
    char buf[TEXT_BYTES];
    char *json =
        effective_of("t.json", q(buf, "{'name': 'm', 'duration_s': 90.25, 'topics': [], "
                                      "'faults': [{'at_s': 30.5, 'split': [[2], [1, 3]]}]}"));
    cr_expect(strstr(json, "\"min_insync_replicas\":\t1") != NULL, "%s", json);
    cr_expect(strstr(json, "\"retention_ms\":\t604800000") != NULL, "%s", json);
    cr_expect(strstr(json, "\"retention_bytes\":\tnull") != NULL, "%s", json);
    cr_expect(strstr(json, "\"segment_bytes\":\t1073741824") != NULL, "%s", json);
    cr_expect(strstr(json, "\"duration_s\":\t90.25") != NULL, "%s", json);
    cr_expect(strstr(json, "\"at_s\":\t30.5") != NULL, "%s", json);
    cr_expect(strstr(json, "\"chaos\":\tnull") != NULL, "%s", json);
    char *again = effective_of("t.json", json);
    cr_expect_str_eq(again, json);
    free(again);
    free(json);
}

Test(scenario, not_simulated_dedupes) {
    scenario *s = calloc(1, sizeof *s);
    scenario_mark_not_simulated(s, "groups");
    scenario_mark_not_simulated(s, "chaos");
    scenario_mark_not_simulated(s, "groups");
    cr_expect_eq(s->not_simulated_count, 2);
    cr_expect_str_eq(s->not_simulated[0], "groups");
    cr_expect_str_eq(s->not_simulated[1], "chaos");
    free(s);
}

Test(scenario, names) {
    cr_expect_str_eq(scenario_truncation_name(SCENARIO_TRUNCATION_EPOCH_SINGLE), "epoch-single");
    cr_expect_str_eq(scenario_assignor_name(SCENARIO_ASSIGNOR_ROUNDROBIN), "roundrobin");
    cr_expect_str_eq(scenario_offset_reset_name(SCENARIO_RESET_EARLIEST), "earliest");
    cr_expect_str_eq(scenario_fault_kind_name(SCENARIO_FAULT_CRASH_CONSUMER), "crash_consumer");
    cr_expect_str_eq(scenario_fault_kind_name(SCENARIO_FAULT_POWER_OFF), "power_off");
}

Test(scenario, huge_numbers_are_errors_not_undefined_behaviour) {
    expect_error("{" MIN ", " ORDERS
                 ", 'producers': [{'name': 'p', 'topic': 'orders', 'acks': 1e300}]}",
                 "producers[0].acks", "(got 1e+300)");
    expect_error("{" MIN ", 'seed': 1e300, 'topics': []}", "seed", "integer >= 0");
    expect_error("{" MIN ", 'topics': [], 'network': {'latency_ms': [1, 1e300]}}",
                 "network.latency_ms", "[min, max]");
    expect_error(FAULTS("{'at_s': 1, 'crash': -1e300}"), "faults[0].crash", "a broker id");
    expect_error(FAULTS("{'at_s': 1e300, 'crash': 1}"), "faults[0].at_s", "seconds");
}

/* Every truncation of a valid file fails cleanly (one line, no sanitizer report). */
Test(scenario, every_prefix_of_the_example_fails_cleanly) {
    scenario *s = calloc(1, sizeof *s);
    char err[ERR_BYTES];
    cr_assert_eq(scenario_load(s, "scenarios/example.json", NULL, NULL, 0, err, sizeof err), 0);
    char *text = strdup(s->source_json);
    size_t len = strlen(text);
    scenario_free(s);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) len--;
    for (size_t n = 0; n < len; n++) {
        char saved = text[n];
        text[n] = '\0';
        cr_expect_eq(scenario_load(s, "p.json", text, NULL, 0, err, sizeof err), -1, "%zu", n);
        cr_expect(strncmp(err, "p.json: line ", 13) == 0, "%zu: %s", n, err);
        text[n] = saved;
    }
    free(text);
    free(s);
}
