/* test_real_metrics.c — counters from the observe stream and the loop, rendered as
 * Prometheus text: ISR shrinks and expands, unclean elections, label escaping, and a broker's
 * gauges from its own partitions (group lag and members come from the coordinator:
 * tests/system/real.sh checks them). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_env.h"
#include "metrics.h"

static char *render(metrics *m) {
    size_t len;
    char *text = metrics_render(m, &len);
    cr_assert_eq(strlen(text), len);
    return text;
}

static void expect_line(const char *text, const char *line) {
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    cr_assert(strstr(text, want) != NULL, "missing line '%s' in:\n%s", line, text);
}

static void isr_event(metrics *m, enum observe_kind kind, int32_t leader, const int32_t *isr,
                      int32_t n) {
    metrics_observe(m, &(observe_event){.kind = kind,
                                        .node = 1,
                                        .topic = "orders",
                                        .partition = 0,
                                        .leader = leader,
                                        .isr = isr,
                                        .isr_count = n});
}

Test(real_metrics, isr_changes_and_unclean_elections_are_counted) {
    metrics *m = metrics_create(1);
    const int32_t all[] = {1, 2, 3}, two[] = {1, 2}, alone[] = {3};
    isr_event(m, OBSERVE_LEADER, 1, all, 3);   /* the first report sets the baseline */
    isr_event(m, OBSERVE_ISR, 1, two, 2);      /* shrink */
    isr_event(m, OBSERVE_ISR, 1, all, 3);      /* expand */
    isr_event(m, OBSERVE_ISR, 1, two, 2);      /* shrink */
    isr_event(m, OBSERVE_LEADER, 3, alone, 1); /* 3 was not in [1,2]: unclean */
    char *text = render(m);
    expect_line(text, "kafka_server_replicamanager_isrshrinks_total 3");
    expect_line(text, "kafka_server_replicamanager_isrexpands_total 1");
    expect_line(text, "kafka_controller_controllerstats_uncleanleaderelections_total 1");
    expect_line(text, "# TYPE kafka_server_replicamanager_isrshrinks_total counter");
    free(text);
    metrics_destroy(m);
}

Test(real_metrics, bytes_and_connections) {
    metrics *m = metrics_create(1);
    metrics_connection_opened(m, 1);
    metrics_connection_opened(m, 1);
    metrics_connection_opened(m, 0);
    metrics_connection_closed(m, 1);
    metrics_bytes_in(m, 1, 100);
    metrics_bytes_out(m, 1, 40);
    metrics_bytes_out(m, 0, 7);
    char *text = render(m);
    expect_line(text, "streamlab_connections{connection=\"client\"} 1");
    expect_line(text, "streamlab_connections{connection=\"broker\"} 1");
    expect_line(text, "streamlab_network_received_bytes_total{connection=\"client\"} 100");
    expect_line(text, "streamlab_network_sent_bytes_total{connection=\"client\"} 40");
    /* bytesout{topic} and failedfetchrequests come from the core: none without a broker */
    expect_line(text, "kafka_server_brokertopicmetrics_failedfetchrequests_total 0");
    cr_assert_null(strstr(text, "kafka_server_brokertopicmetrics_bytesout_total{"), "%s", text);
    free(text);
    metrics_destroy(m);
}

/* A broker with a static topic: gauges come from its partitions, and appends it makes
 * as leader count per topic. */
Test(real_metrics, gauges_and_appends_from_a_broker) {
    mem_storage *mem = mem_storage_create();
    static fake_env env;
    fake_env_init(&env, mem, 1);
    broker_config cfg;
    broker_config_defaults(&cfg, 1, 1);
    cfg.min_insync_replicas = 2;
    const broker_topic_config topic = {
        .name = "or\"ders", .partitions = 2, .replication_factor = 1};
    cfg.topics = &topic;
    cfg.topic_count = 1;
    broker *b = broker_open(&env.env, &cfg);
    cr_assert_not_null(b);
    metrics *m = metrics_create(1);
    metrics_set_broker(m, b, env.env.fs);
    metrics_observe(m, &(observe_event){.kind = OBSERVE_APPEND,
                                        .node = 1,
                                        .topic = "or\"ders",
                                        .partition = 1,
                                        .offset = 0,
                                        .offset_last = 9,
                                        .batch_len = 500});
    char *text = render(m);
    expect_line(text, "kafka_server_replicamanager_leadercount 2");
    expect_line(text, "kafka_server_replicamanager_partitioncount 2");
    expect_line(text, "kafka_server_replicamanager_underreplicatedpartitions 0");
    expect_line(text, "kafka_server_replicamanager_underminisrpartitioncount 2");
    expect_line(text, "kafka_server_brokertopicmetrics_messagesin_total{topic=\"or\\\"ders\"} 10");
    expect_line(text, "kafka_server_brokertopicmetrics_bytesin_total{topic=\"or\\\"ders\"} 500");
    expect_line(text, "kafka_log_log_size{topic=\"or\\\"ders\",partition=\"0\"} 0");
    expect_line(text, "kafka_server_brokertopicmetrics_bytesout_total{topic=\"or\\\"ders\"} 0");
    expect_line(text, "kafka_server_brokertopicmetrics_failedfetchrequests_total 0");
    /* no group coordinated here: the families are declared, without samples */
    expect_line(text, "# TYPE kafka_consumergroup_lag gauge");
    cr_assert_null(strstr(text, "kafka_consumergroup_members{"), "%s", text);
    free(text);
    metrics_destroy(m);
    broker_destroy(b);
    fake_env_deinit(&env);
    mem_storage_destroy(mem);
}
