/*
 * rdkafka_bench.c — produce and consume figures for real mode, on librdkafka.
 *
 *   rdkafka_bench throughput BOOTSTRAP TOPIC RECORDS     acks=all, linger.ms=5,
 *                                                        batch.num.messages=10000
 *   rdkafka_bench latency BOOTSTRAP TOPIC RATE SECONDS   acks=all, linger.ms=0, paced
 *   rdkafka_bench consume BOOTSTRAP TOPIC RECORDS        assign every partition from 0
 *
 * 100-byte values.  Each mode prints one line of `key=value` pairs that bench/real.sh
 * copies into bench/RESULTS.md.  The topic must exist (3 partitions, 3 replicas).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define VALUE_BYTES 100

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *const *kv,
                          rd_kafka_conf_t *conf) {
    char err[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err)) goto bad;
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof err)) goto bad;
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk) return rk;
bad:
    fprintf(stderr, "rdkafka_bench: %s\n", err);
    exit(2);
}

/* ---- throughput ------------------------------------------------------------------------- */

typedef struct counts {
    uint64_t acked, failed;
    double *latency_ms; /* latency mode: one per record, by sequence */
    uint64_t latency_count;
} counts;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    counts *c = opaque;
    if (m->err) {
        c->failed++;
        return;
    }
    c->acked++;
    if (c->latency_ms && m->_private) {
        double *sent_at = m->_private;
        c->latency_ms[c->latency_count++] = (now_s() - *sent_at) * 1000;
        free(sent_at);
    }
}

static int throughput(const char *bootstrap, const char *topic, uint64_t records) {
    counts c = {0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &c);
    const char *kv[] = {"acks",
                        "all",
                        "linger.ms",
                        "5",
                        "batch.num.messages",
                        "10000",
                        "queue.buffering.max.messages",
                        "1000000",
                        "enable.idempotence",
                        "false",
                        NULL};
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap, kv, conf);
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof value);
    double start = now_s();
    for (uint64_t i = 0; i < records;) {
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(value, sizeof value),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 1);
            continue;
        }
        i++;
        if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double secs = now_s() - start;
    rd_kafka_destroy(rk);
    printf("mode=throughput records=%" PRIu64 " acked=%" PRIu64 " failed=%" PRIu64
           " seconds=%.3f records_per_s=%.0f value_mb_per_s=%.1f\n",
           records, c.acked, c.failed, secs, c.acked / secs, c.acked * VALUE_BYTES / secs / 1e6);
    return c.failed ? 1 : 0;
}

/* ---- latency ----------------------------------------------------------------------------------
 */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int latency(const char *bootstrap, const char *topic, int rate, double seconds) {
    uint64_t total = (uint64_t)(rate * seconds);
    counts c = {.latency_ms = calloc(total + 1, sizeof(double))};
    if (!c.latency_ms) abort();
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &c);
    /* 5 requests in flight per broker, as the Java client (librdkafka: 1,000,000, which
     * queues thousands of one-record requests behind each acks=all wait). */
    const char *kv[] = {"acks",
                        "all",
                        "linger.ms",
                        "0",
                        "enable.idempotence",
                        "false",
                        "max.in.flight.requests.per.connection",
                        "5",
                        NULL};
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap, kv, conf);
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof value);
    /* Warm up: metadata, connections to every leader, first batches, not measured. */
    for (int p = 0; p < 3; p++)
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_VALUE(value, sizeof value),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(rk, 30000);
    c.acked = 0;
    double start = now_s();
    for (uint64_t i = 0; i < total;) {
        double due = start + (double)i / rate;
        if (now_s() < due) { /* sleep in the poll: a spinning client steals the brokers' CPU */
            rd_kafka_poll(rk, 1);
            continue;
        }
        double *sent_at = malloc(sizeof *sent_at);
        if (!sent_at) abort();
        *sent_at = now_s();
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(value, sizeof value),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(sent_at),
                              RD_KAFKA_V_END) != 0) {
            free(sent_at);
            rd_kafka_poll(rk, 1);
            continue;
        }
        i++;
    }
    rd_kafka_flush(rk, 60000);
    rd_kafka_destroy(rk);
    qsort(c.latency_ms, c.latency_count, sizeof(double), cmp_double);
    double p50 = c.latency_count ? c.latency_ms[c.latency_count / 2] : 0;
    double p99 = c.latency_count ? c.latency_ms[c.latency_count * 99 / 100] : 0;
    double max = c.latency_count ? c.latency_ms[c.latency_count - 1] : 0;
    printf("mode=latency rate_per_s=%d records=%" PRIu64 " acked=%" PRIu64 " failed=%" PRIu64
           " p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           rate, total, c.acked, c.failed, p50, p99, max);
    free(c.latency_ms);
    return c.failed ? 1 : 0;
}

/* ---- consume ------------------------------------------------------------------------------------
 */

static int consume(const char *bootstrap, const char *topic, uint64_t records) {
    const char *kv[] = {"group.id", "rdkafka-bench-unused", "enable.auto.commit",
                        "false",    "fetch.max.bytes",      "52428800",
                        NULL};
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bootstrap, kv, rd_kafka_conf_new());
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++) rd_kafka_topic_partition_list_add(parts, topic, p)->offset = 0;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    uint64_t got = 0, bytes = 0;
    double start = 0, deadline = now_s() + 120;
    while (got < records && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            if (got == 0) start = now_s();
            got++;
            bytes += m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double secs = now_s() - start;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("mode=consume records=%" PRIu64 " seconds=%.3f records_per_s=%.0f value_mb_per_s=%.1f\n",
           got, secs, got / secs, bytes / secs / 1e6);
    return got == records ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "throughput") == 0)
        return throughput(argv[2], argv[3], strtoull(argv[4], NULL, 10));
    if (argc == 6 && strcmp(argv[1], "latency") == 0)
        return latency(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
    if (argc == 5 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], argv[3], strtoull(argv[4], NULL, 10));
    fprintf(stderr, "usage: rdkafka_bench throughput|latency|consume BOOTSTRAP TOPIC ...\n");
    return 2;
}
