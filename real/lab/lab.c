/*
 * lab.c — streamlab-lab: the seed lab's clients against any Kafka bootstrap address.
 *
 *   streamlab-lab --bootstrap HOST:PORT[,...] [--seconds N] [--rate R] [--no-idempotence]
 *
 * Three producers (producer-N writes topic-N, R records/s each, 100-byte values, 100
 * keys, acks=all) and three consumer groups (group-N reads topic-N with N members),
 * as scenarios/lab.json describes, on librdkafka.  Every second one progress line:
 * records acknowledged and consumed per topic, failures, and distinct records each
 * group has seen.  At the end (after --seconds, or on Ctrl-C) a summary; the exit
 * status is 0 when every group saw every acknowledged record of its topic.
 * The producers are idempotent by default, as Kafka's Java clients since 3.0
 * (librdkafka enable.idempotence=true: InitProducerId, sequence numbers, retries
 * without duplicates); --no-idempotence turns it off (--idempotent is still accepted).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define LAB_TOPICS 3
#define LAB_VALUE_BYTES 100
#define LAB_KEYS 100
#define LAB_SEQ_MAX (1u << 24) /* records per producer a run can track */

typedef struct lab_topic {
    char name[16];
    atomic_uint_fast64_t sent, acked, failed, consumed;
    atomic_uchar *acked_seq; /* [seq] = 1 once acknowledged */
    atomic_uchar *seen_seq;  /* [seq] = 1 once its group consumed it */
    atomic_uint_fast64_t seen_distinct;
} lab_topic;

typedef struct lab {
    const char *bootstrap;
    int rate_per_s, idempotent;
    double seconds;
    lab_topic topics[LAB_TOPICS];
    atomic_int stop_producing, stop_consuming;
} lab;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_conf_t *base_conf(const lab *l, const char *client_id) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", l->bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "client.id", client_id, err, sizeof err)) {
        fprintf(stderr, "streamlab-lab: %s\n", err);
        exit(2);
    }
    return conf;
}

static void conf_set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char err[256];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "streamlab-lab: %s=%s: %s\n", key, value, err);
        exit(2);
    }
}

/* ---- topics ------------------------------------------------------------------------------ */

static int create_topics(lab *l) {
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(l, "streamlab-lab-admin"), NULL, 0);
    if (!rk) return -1;
    rd_kafka_NewTopic_t *nt[LAB_TOPICS];
    for (int i = 0; i < LAB_TOPICS; i++)
        nt[i] = rd_kafka_NewTopic_new(l->topics[i].name, 3, 3, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, LAB_TOPICS, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = 0;
    if (!ev) {
        fprintf(stderr, "streamlab-lab: CreateTopics: no answer in 30 s\n");
        rc = -1;
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                fprintf(stderr, "streamlab-lab: create %s: %s\n",
                        rd_kafka_topic_result_name(res[i]), rd_kafka_err2str(e));
                rc = -1;
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy_array(nt, LAB_TOPICS);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- producers ------------------------------------------------------------------------------ */

typedef struct producer_arg {
    lab *l;
    lab_topic *t;
    int index;
} producer_arg;

/* Values are "producer-N:SEQ:" padded to 100 bytes, so consumers can tell records apart. */
static uint32_t value_seq(const void *value, size_t len) {
    char buf[64];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, value, n);
    buf[n] = 0;
    const char *colon = strchr(buf, ':');
    return colon ? (uint32_t)strtoul(colon + 1, NULL, 10) : UINT32_MAX;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    lab_topic *t = opaque;
    if (m->err) {
        atomic_fetch_add(&t->failed, 1);
        return;
    }
    uint32_t seq = value_seq(m->payload, m->len);
    if (seq < LAB_SEQ_MAX && !atomic_exchange(&t->acked_seq[seq], 1))
        atomic_fetch_add(&t->acked, 1);
}

static void *producer_main(void *arg) {
    producer_arg *pa = arg;
    lab *l = pa->l;
    char id[48];
    snprintf(id, sizeof id, "producer-%d", pa->index + 1);
    rd_kafka_conf_t *conf = base_conf(l, id);
    conf_set(conf, "acks", "all");
    conf_set(conf, "linger.ms", "5");
    conf_set(conf, "enable.idempotence", l->idempotent ? "true" : "false");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, pa->t);
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "streamlab-lab: %s: %s\n", id, err);
        exit(1);
    }
    double start = now_s();
    uint32_t seq = 0;
    while (!atomic_load(&l->stop_producing) && seq < LAB_SEQ_MAX) {
        double due = start + (double)seq / l->rate_per_s;
        double wait = due - now_s();
        if (wait > 0) {
            rd_kafka_poll(rk, (int)(wait * 1000) + 1);
            continue;
        }
        char value[LAB_VALUE_BYTES + 1], key[16];
        int n = snprintf(value, sizeof value, "%s:%" PRIu32 ":", id, seq);
        memset(value + n, 'x', LAB_VALUE_BYTES - (size_t)n);
        snprintf(key, sizeof key, "key-%" PRIu32, seq % LAB_KEYS);
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(pa->t->name), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(value, LAB_VALUE_BYTES),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
            continue;
        }
        if (e) atomic_fetch_add(&pa->t->failed, 1);
        atomic_fetch_add(&pa->t->sent, 1);
        seq++;
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- consumers ------------------------------------------------------------------------------ */

typedef struct consumer_arg {
    lab *l;
    lab_topic *t;
    int group, member;
} consumer_arg;

static void *consumer_main(void *arg) {
    consumer_arg *ca = arg;
    lab *l = ca->l;
    char id[48], group[24];
    snprintf(id, sizeof id, "group-%d-consumer-%d", ca->group + 1, ca->member + 1);
    snprintf(group, sizeof group, "group-%d", ca->group + 1);
    rd_kafka_conf_t *conf = base_conf(l, id);
    conf_set(conf, "group.id", group);
    conf_set(conf, "auto.offset.reset", "earliest");
    conf_set(conf, "partition.assignment.strategy", "range");
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "streamlab-lab: %s: %s\n", id, err);
        exit(1);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, ca->t->name, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    while (!atomic_load(&l->stop_consuming)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) continue;
        if (!m->err) {
            atomic_fetch_add(&ca->t->consumed, 1);
            uint32_t seq = value_seq(m->payload, m->len);
            if (seq < LAB_SEQ_MAX && !atomic_exchange(&ca->t->seen_seq[seq], 1))
                atomic_fetch_add(&ca->t->seen_distinct, 1);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- progress and the run ----------------------------------------------------------------------
 */

static void progress(lab *l, double t) {
    char line[512];
    int n = snprintf(line, sizeof line, "%6.1fs", t);
    for (int i = 0; i < LAB_TOPICS; i++) {
        lab_topic *tp = &l->topics[i];
        n += snprintf(line + n, sizeof line - (size_t)n,
                      " | %s acked %" PRIuFAST64 " failed %" PRIuFAST64
                      " group-%d read %" PRIuFAST64,
                      tp->name, atomic_load(&tp->acked), atomic_load(&tp->failed), i + 1,
                      atomic_load(&tp->seen_distinct));
    }
    puts(line);
    fflush(stdout);
}

/* Every acknowledged record seen by its group? Counts the ones missing. */
static uint64_t missing(const lab_topic *t) {
    uint64_t miss = 0;
    for (uint32_t s = 0; s < LAB_SEQ_MAX; s++)
        if (atomic_load(&t->acked_seq[s]) && !atomic_load(&t->seen_seq[s])) miss++;
    return miss;
}

static int usage(int status) {
    fprintf(status ? stderr : stdout,
            "usage: streamlab-lab --bootstrap HOST:PORT[,...] [--seconds N] [--rate R] "
            "[--no-idempotence]\n");
    return status;
}

int main(int argc, char **argv) {
    static lab l = {.rate_per_s = 100, .seconds = 60, .idempotent = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bootstrap") == 0 && i + 1 < argc)
            l.bootstrap = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            l.seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            l.rate_per_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--idempotent") == 0)
            l.idempotent = 1;
        else if (strcmp(argv[i], "--no-idempotence") == 0)
            l.idempotent = 0;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage(0);
        else
            return usage(2);
    }
    if (!l.bootstrap || l.rate_per_s < 1 || l.seconds < 0) return usage(2);
    for (int i = 0; i < LAB_TOPICS; i++) {
        snprintf(l.topics[i].name, sizeof l.topics[i].name, "topic-%d", i + 1);
        l.topics[i].acked_seq = calloc(LAB_SEQ_MAX, 1);
        l.topics[i].seen_seq = calloc(LAB_SEQ_MAX, 1);
        if (!l.topics[i].acked_seq || !l.topics[i].seen_seq) abort();
    }
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    if (create_topics(&l) != 0) return 1;

    pthread_t threads[LAB_TOPICS + 6];
    producer_arg pargs[LAB_TOPICS];
    consumer_arg cargs[6];
    int nthreads = 0, nc = 0;
    for (int g = 0; g < LAB_TOPICS; g++)
        for (int m = 0; m <= g; m++) {
            cargs[nc] = (consumer_arg){.l = &l, .t = &l.topics[g], .group = g, .member = m};
            pthread_create(&threads[nthreads++], NULL, consumer_main, &cargs[nc++]);
        }
    for (int i = 0; i < LAB_TOPICS; i++) {
        pargs[i] = (producer_arg){.l = &l, .t = &l.topics[i], .index = i};
        pthread_create(&threads[nthreads++], NULL, producer_main, &pargs[i]);
    }
    double start = now_s(), next = start + 1;
    while (!interrupted && (l.seconds == 0 || now_s() - start < l.seconds)) {
        usleep(20000);
        if (now_s() >= next) {
            progress(&l, now_s() - start);
            next += 1;
        }
    }
    atomic_store(&l.stop_producing, 1);
    for (int i = nc; i < nthreads; i++) pthread_join(threads[i], NULL);
    /* Let the groups catch up with the last acknowledged records (at most 30 s). */
    uint64_t miss = 0;
    for (int k = 0; k < 150 && !interrupted; k++) {
        miss = 0;
        for (int i = 0; i < LAB_TOPICS; i++)
            miss += atomic_load(&l.topics[i].acked) - atomic_load(&l.topics[i].seen_distinct);
        if (miss == 0) break;
        usleep(200000);
    }
    atomic_store(&l.stop_consuming, 1);
    for (int i = 0; i < nc; i++) pthread_join(threads[i], NULL);
    progress(&l, now_s() - start);
    uint64_t lost = 0, failed = 0;
    for (int i = 0; i < LAB_TOPICS; i++) {
        uint64_t m = missing(&l.topics[i]);
        lost += m;
        failed += atomic_load(&l.topics[i].failed);
        printf("%s: sent %" PRIuFAST64 ", acked %" PRIuFAST64 ", failed %" PRIuFAST64
               ", consumed %" PRIuFAST64 " (%" PRIuFAST64 " distinct), acked but unseen %" PRIu64
               "\n",
               l.topics[i].name, atomic_load(&l.topics[i].sent), atomic_load(&l.topics[i].acked),
               atomic_load(&l.topics[i].failed), atomic_load(&l.topics[i].consumed),
               atomic_load(&l.topics[i].seen_distinct), m);
        free(l.topics[i].acked_seq);
        free(l.topics[i].seen_seq);
    }
    printf("lab: %s (%" PRIu64 " acknowledged records unseen, %" PRIu64 " failed)\n",
           lost ? "FAIL" : "ok", lost, failed);
    return lost ? 1 : 0;
}
