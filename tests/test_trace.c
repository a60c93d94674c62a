/* test_trace.c — the trace writer, reader and cluster_view: rows, keyframes, seeking,
 * rejection of files that are not traces, and write speed (printed, not asserted). */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_view.h"
#include "trace.h"

#define S_US 1000000LL

/* ---- a small run touching every event kind ---------------------------------------------- */

typedef struct sample_event {
    int64_t t_us;
    observe_event ev;
} sample_event;

static const int32_t isr_all[] = {1, 2, 3};
static const int32_t isr_13[] = {1, 3};

#define EV(...) ((observe_event){__VA_ARGS__})

static const sample_event sample[] = {
    {0, EV(.kind = OBSERVE_BROKER_START, .node = 1)},
    {0, EV(.kind = OBSERVE_BROKER_START, .node = 2)},
    {0, EV(.kind = OBSERVE_BROKER_START, .node = 3)},
    {100000, EV(.kind = OBSERVE_CONTROLLER, .node = 1, .leader_epoch = 1)},
    {150000,
     EV(.kind = OBSERVE_TOPIC_CREATE, .node = 1, .topic = "orders", .partition = 3, .offset = 3)},
    {200000, EV(.kind = OBSERVE_LEADER, .topic = "orders", .partition = 0, .leader = 1,
                .leader_epoch = 0, .isr = isr_all, .isr_count = 3)},
    {200000, EV(.kind = OBSERVE_LEADER, .topic = "orders", .partition = 1, .leader = 2,
                .leader_epoch = 0, .isr = isr_all, .isr_count = 3)},
    {1000000, EV(.kind = OBSERVE_APPEND, .node = 1, .topic = "orders", .partition = 0, .offset = 0,
                 .offset_last = 9, .leader_epoch = 0, .batch_len = 181)},
    {1000500, EV(.kind = OBSERVE_APPEND, .node = 2, .topic = "orders", .partition = 0, .offset = 0,
                 .offset_last = 9, .leader_epoch = 0, .batch_len = 181)},
    {1001000, EV(.kind = OBSERVE_HIGH_WATERMARK, .node = 1, .topic = "orders", .partition = 0,
                 .offset = 10)},
    {1002000, EV(.kind = OBSERVE_PRODUCE_ACK, .node = 100, .topic = "orders", .partition = 0,
                 .offset = 0, .producer_id = 7, .sequence = 0, .count = 10, .acks = -1)},
    {1500000, EV(.kind = OBSERVE_PRODUCE_FAIL, .node = 100, .topic = "orders", .partition = 1,
                 .producer_id = 7, .sequence = 10, .count = 2, .error = 7)},
    {2300000, EV(.kind = OBSERVE_BROKER_STOP, .node = 2, .detail = "crash")},
    {2300001, EV(.kind = OBSERVE_ISR, .topic = "orders", .partition = 0, .leader = 1,
                 .leader_epoch = 0, .isr = isr_13, .isr_count = 2)},
    {2500000, EV(.kind = OBSERVE_LEADER, .topic = "orders", .partition = 1, .leader = 1,
                 .leader_epoch = 1, .isr = isr_13, .isr_count = 2)},
    {3000000, EV(.kind = OBSERVE_REBALANCE, .node = 101, .leader_epoch = 1, .detail = "billing")},
    {3000100, EV(.kind = OBSERVE_CONSUME, .node = 101, .topic = "orders", .partition = 0,
                 .offset = 0, .offset_last = 9, .detail = "billing")},
    {3000200, EV(.kind = OBSERVE_COMMIT, .node = 101, .topic = "orders", .partition = 0,
                 .offset = 10, .detail = "billing")},
    {4100000, EV(.kind = OBSERVE_BROKER_START, .node = 2)},
    {4100001,
     EV(.kind = OBSERVE_TRUNCATE, .node = 2, .topic = "orders", .partition = 0, .offset = 8)},
    {4200000,
     EV(.kind = OBSERVE_LOG_START, .node = 1, .topic = "orders", .partition = 0, .offset = 5)},
    {5000000, EV(.kind = OBSERVE_CONTROLLER, .node = 3, .leader_epoch = 2)},
    {5000001, EV(.kind = OBSERVE_METADATA_COMMIT, .node = 3, .offset = 7, .producer_id = 12345)},
    {5000002, EV(.kind = OBSERVE_OFFSET_LOAD, .node = 3, .topic = "orders", .partition = 0,
                 .offset = 10, .detail = "billing")},
    {5000003, EV(.kind = OBSERVE_ASSIGN, .node = 101, .topic = "orders", .partition = 0,
                 .leader_epoch = 1, .detail = "billing")},
    {5000004, EV(.kind = OBSERVE_REVOKE, .node = 101, .detail = "billing")},
    {5900000, EV(.kind = OBSERVE_APPEND, .node = 3, .topic = "__consumer_offsets", .partition = 4,
                 .offset = 0, .offset_last = 0, .batch_len = 90)},
};
#define SAMPLE_COUNT ((int)(sizeof sample / sizeof sample[0]))
#define SAMPLE_END_US (6 * S_US)

/* Per process, so that test runs in two checkouts at once do not share files. */
static void db_path(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "/tmp/streamlab_test_trace_%ld_%s.db", (long)getpid(), name);
}

static void check(int rc, trace_writer *t) {
    cr_assert_eq(rc, 0, "%s", t != NULL ? trace_writer_error(t) : "");
}

static void write_messages(trace_writer *t) {
    trace_message m = {.id = 1,
                       .send_us = 10,
                       .deliver_us = 2010,
                       .src = 100,
                       .dst = 1,
                       .conn = 5,
                       .api_key = 0,
                       .api_version = 7,
                       .correlation_id = 1,
                       .size_bytes = 300};
    check(trace_write_message(t, &m), t);
    m = (trace_message){.id = 3,
                        .send_us = 30,
                        .deliver_us = -1,
                        .lost = 1,
                        .src = 1,
                        .dst = 2,
                        .conn = 6,
                        .api_key = -1,
                        .api_version = 0,
                        .size_bytes = 17};
    check(trace_write_message(t, &m), t);
    m = (trace_message){.id = 2,
                        .send_us = 2010,
                        .deliver_us = 4000,
                        .src = 1,
                        .dst = 100,
                        .conn = 5,
                        .api_key = 0,
                        .api_version = 7,
                        .is_response = 1,
                        .correlation_id = 1,
                        .size_bytes = 60};
    check(trace_write_message(t, &m), t);
}

static void write_sample(const char *path) {
    char err[512] = "";
    trace_writer *t = trace_writer_open(path, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    check(trace_write_run(t, "unit", "{\"name\":\"unit\"}", 42, "[\"cluster.brokers=3\"]", -1,
                          "0.1.0"),
          t);
    check(trace_write_node(t, 1, "broker", "broker-1"), t);
    check(trace_write_node(t, 2, "broker", "broker-2"), t);
    check(trace_write_node(t, 3, "broker", "broker-3"), t);
    check(trace_write_node(t, 100, "producer", "shop"), t);
    check(trace_write_node(t, 101, "consumer", "billing/1"), t);
    write_messages(t);
    check(trace_write_action(t, 0, 1, "script", "{\"at_s\":0,\"create\":\"orders\"}"), t);
    for (int i = 0; i < SAMPLE_COUNT; i++) {
        check(trace_write_event(t, sample[i].t_us, (uint64_t)(10 + i), &sample[i].ev), t);
        if (i == 12) check(trace_write_action(t, 2300000, 21, "chaos", "{\"crash\":2}"), t);
        if (i == 17) check(trace_write_action(t, 4100000, 28, "live", "{\"restart\":2}"), t);
    }
    check(trace_write_finish(t, SAMPLE_END_US, "9f1c2a7be04d3c11", "{\"events\":23}"), t);
    cr_assert_eq(trace_writer_close(t, err, sizeof err), 0, "%s", err);
}

/* The view after the first n sample events (brokers registered as the writer does). */
static char *replay_json(int n) {
    cluster_view v;
    cluster_view_init(&v);
    for (int32_t id = 1; id <= 3; id++) cluster_view_add_broker(&v, id);
    for (int i = 0; i < n; i++) cluster_view_apply(&v, sample[i].t_us, &sample[i].ev);
    char *json = cluster_view_to_json(&v);
    cluster_view_deinit(&v);
    return json;
}

static int64_t sql_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *sql_text(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    const unsigned char *text = sqlite3_column_text(st, 0);
    char *copy = text != NULL ? strdup((const char *)text) : NULL;
    sqlite3_finalize(st);
    return copy;
}

static void expect_text(sqlite3 *db, const char *sql, const char *want) {
    char *got = sql_text(db, sql);
    cr_expect(got != NULL && strcmp(got, want) == 0, "%s: got %s, want %s", sql, got ? got : "NULL",
              want);
    free(got);
}

static sqlite3 *open_ro(const char *path) {
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

/* ---- the rows, by SQL ------------------------------------------------------------------------ */

Test(trace, rows_by_sql) {
    char path[256];
    db_path(path, sizeof path, "rows");
    write_sample(path);
    sqlite3 *db = open_ro(path);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM run"), 1);
    cr_expect_eq(sql_int(db, "SELECT seed FROM run"), 42);
    cr_expect_eq(sql_int(db, "SELECT until_us IS NULL FROM run"), 1);
    cr_expect_eq(sql_int(db, "SELECT end_us FROM run"), SAMPLE_END_US);
    cr_expect_eq(sql_int(db, "SELECT schema_version FROM run"), TRACE_SCHEMA_VERSION);
    expect_text(db, "SELECT digest FROM run", "9f1c2a7be04d3c11");
    expect_text(db, "SELECT overrides_json FROM run", "[\"cluster.brokers=3\"]");
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM nodes"), 5);
    expect_text(db, "SELECT kind FROM nodes WHERE id = 101", "consumer");
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM messages"), 3);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM messages WHERE lost = 1 AND deliver_us IS NULL"),
                 1);
    cr_expect_eq(sql_int(db, "SELECT api_key FROM messages WHERE id = 3"), -1);
    cr_expect_eq(sql_int(db, "SELECT size_bytes FROM messages WHERE id = 2"), 60);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM events"), SAMPLE_COUNT);
    cr_expect_eq(sql_int(db, "SELECT count(DISTINCT kind) FROM events"), OBSERVE_KIND_COUNT - 1);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM events WHERE kind = 'unknown'"), 0);
    expect_text(db, "SELECT isr FROM events WHERE kind = 'isr'", "1,3");
    expect_text(db, "SELECT detail FROM events WHERE kind = 'broker_stop'", "crash");
    cr_expect_eq(sql_int(db, "SELECT sum(batch_len) FROM events WHERE kind = 'append'"), 452);
    cr_expect_eq(sql_int(db, "SELECT min(id) = 1 AND max(id) = count(*) FROM events"), 1);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM actions"), 3);
    expect_text(db, "SELECT origin FROM actions WHERE seq = 28", "live");
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                             " ('events_t_us', 'messages_send_us', 'keyframes_t_us')"),
                 3);
    sqlite3_close(db);
}

/* ---- keyframes ---------------------------------------------------------------------------------
 */

Test(trace, keyframe_every_second_equals_replay) {
    char path[256];
    db_path(path, sizeof path, "keyframes");
    write_sample(path);
    sqlite3 *db = open_ro(path);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT t_us, events_applied, state_json FROM keyframes"
                                    " ORDER BY id",
                                    -1, &st, NULL),
                 SQLITE_OK);
    int k = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t t_us = sqlite3_column_int64(st, 0);
        int n = sqlite3_column_int(st, 1);
        cr_expect_eq(t_us, k * S_US, "keyframe %d at %lld", k, (long long)t_us);
        for (int i = 0; i < n; i++) cr_expect_lt(sample[i].t_us, t_us > 0 ? t_us : 1);
        if (n < SAMPLE_COUNT) cr_expect_geq(sample[n].t_us, t_us);
        char *want = replay_json(n);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 2), want, "keyframe %d", k);
        free(want);
        k++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    cr_expect_eq(k, 7, "keyframes at 0..6 s, got %d", k);
}

Test(trace, view_round_trips_through_json) {
    char *json = replay_json(SAMPLE_COUNT);
    cluster_view v;
    cluster_view_init(&v);
    cr_assert_eq(cluster_view_from_json(&v, json), 0);
    char *again = cluster_view_to_json(&v);
    cr_expect_str_eq(again, json);

    const cluster_view_partition *p = cluster_view_partition_get(&v, "orders", 0);
    cr_assert_not_null(p);
    cr_expect_eq(p->leader, 1);
    cr_expect_eq(p->isr_count, 2);
    cr_expect_eq(p->high_watermark, 10);
    cr_expect_eq(p->replicas_count, 2);
    cr_expect_eq(p->replicas[0].log_end_offset, 10);
    cr_expect_eq(p->replicas[0].log_start_offset, 5);
    cr_expect_eq(p->replicas[1].log_end_offset, 8); /* broker 2 truncated */
    cr_expect_eq(cluster_view_topic_get(&v, "orders")->partitions_count, 3);
    cr_expect_eq(cluster_view_topic_get(&v, "__consumer_offsets")->partitions_count, 5);
    cr_expect_eq(v.controller, 3);
    cr_expect_eq(v.controller_epoch, 2);
    cr_expect_eq(cluster_view_broker_get(&v, 2)->up, 1);
    cr_expect_eq(cluster_view_broker_get(&v, 2)->since_us, 4100000);
    const cluster_view_producer *pr = cluster_view_producer_get(&v, 100);
    cr_expect(pr != NULL && pr->records_acked == 10 && pr->records_failed == 2);
    const cluster_view_group *g = cluster_view_group_get(&v, "billing");
    cr_assert_not_null(g);
    cr_expect_eq(g->generation, 1);
    cr_expect_eq(g->records_consumed, 10);
    cr_expect(g->committed_count == 1 && g->committed[0].offset == 10);
    cr_expect_eq(v.totals.events, SAMPLE_COUNT);
    cr_expect_eq(cluster_view_from_json(&v, "{\"brokers\": 3}"), -1);
    cr_expect_eq(v.topics_count, 0);
    cluster_view_deinit(&v);
    free(again);
    free(json);
}

Test(trace, view_bounds_count_overflow) {
    cluster_view v;
    cluster_view_init(&v);
    char name[32];
    for (int i = 0; i < CLUSTER_VIEW_TOPICS_MAX + 5; i++) {
        snprintf(name, sizeof name, "t%d", i);
        observe_event ev = {.kind = OBSERVE_TOPIC_CREATE, .topic = name, .partition = 1000};
        cluster_view_apply(&v, i, &ev);
    }
    for (int32_t id = 1; id <= CLUSTER_VIEW_BROKERS_MAX + 2; id++) {
        observe_event ev = {.kind = OBSERVE_BROKER_START, .node = id};
        cluster_view_apply(&v, 1, &ev);
    }
    observe_event no_topic = {.kind = OBSERVE_APPEND, .node = 1};
    cluster_view_apply(&v, 2, &no_topic);
    observe_event bad_kind = {.kind = (enum observe_kind)99};
    cluster_view_apply(&v, 2, &bad_kind);
    cr_expect_eq(v.topics_count, CLUSTER_VIEW_TOPICS_MAX);
    cr_expect_eq(v.brokers_count, CLUSTER_VIEW_BROKERS_MAX);
    cr_expect_eq(v.overflow, CLUSTER_VIEW_TOPICS_MAX + 5 + 2); /* partitions cut, topics, brokers */
    cr_expect_eq(v.invalid, 2);
    char *json = cluster_view_to_json(&v);
    cluster_view w;
    cluster_view_init(&w);
    cr_expect_eq(cluster_view_from_json(&w, json), 0);
    char *again = cluster_view_to_json(&w);
    cr_expect_str_eq(again, json);
    free(again);
    free(json);
    cluster_view_deinit(&w);
    cluster_view_deinit(&v);
}

/* ---- the reader
 * ----------------------------------------------------------------------------------- */

Test(trace, reader_run_and_actions) {
    char path[256], err[512] = "";
    db_path(path, sizeof path, "reader");
    write_sample(path);
    trace_run_info info;
    cr_assert_eq(trace_read_run(path, &info, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(info.scenario_name, "unit");
    cr_expect_str_eq(info.scenario_json, "{\"name\":\"unit\"}");
    cr_expect_str_eq(info.overrides_json, "[\"cluster.brokers=3\"]");
    cr_expect_str_eq(info.version, "0.1.0");
    cr_expect_str_eq(info.digest, "9f1c2a7be04d3c11");
    cr_expect_str_eq(info.summary_json, "{\"events\":23}");
    cr_expect_eq(info.seed, 42);
    cr_expect_eq(info.until_us, -1);
    cr_expect_eq(info.end_us, SAMPLE_END_US);
    trace_run_info_free(&info);

    trace_action *actions = NULL;
    int count = 0;
    cr_assert_eq(trace_read_actions(path, &actions, &count, err, sizeof err), 0, "%s", err);
    cr_assert_eq(count, 3);
    cr_expect(actions[0].seq == 1 && actions[1].seq == 21 && actions[2].seq == 28);
    cr_expect_str_eq(actions[1].origin, "chaos");
    cr_expect_str_eq(actions[2].action_json, "{\"restart\":2}");
    cr_expect_eq(actions[1].t_us, 2300000);
    trace_actions_free(actions, count);
}

static int count_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    int *n = ctx;
    if (ev->kind == OBSERVE_ISR) cr_expect(ev->isr_count == 2 && ev->isr[1] == 3);
    if (ev->kind == OBSERVE_APPEND) cr_expect(ev->batch == NULL && ev->batch_len > 0);
    (*n)++;
    return 0;
}

Test(trace, reader_seeks_to_any_instant) {
    char path[256], err[512] = "";
    db_path(path, sizeof path, "seek");
    write_sample(path);
    trace_reader *r = trace_reader_open(path, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    int64_t probes[] = {0,       1,       999999,  1000000, 1001500, 2300000, 2400000,
                        3000150, 4999999, 5000000, 5950000, 6000000, 60000000};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        cluster_view v;
        cluster_view_init(&v);
        cr_assert_eq(trace_reader_view_at(r, probes[i], &v), 0, "%s", trace_reader_error(r));
        int n = 0;
        while (n < SAMPLE_COUNT && sample[n].t_us <= probes[i]) n++;
        char *got = cluster_view_to_json(&v), *want = replay_json(n);
        cr_expect_str_eq(got, want, "at %lld us", (long long)probes[i]);
        free(got);
        free(want);
        cluster_view_deinit(&v);
    }
    cluster_view v;
    cluster_view_init(&v);
    int64_t kt = 0, applied = 0;
    cr_expect_eq(trace_reader_keyframe_at(r, 2700000, &v, &kt, &applied), 0);
    cr_expect_eq(kt, 2 * S_US);
    cr_expect_eq(applied, 12);
    cr_expect_eq(trace_reader_keyframe_at(r, -1, &v, &kt, &applied), -1);
    cr_expect(strstr(trace_reader_error(r), "no keyframe") != NULL);
    cluster_view_deinit(&v);
    int n = 0;
    cr_expect_eq(trace_reader_events_between(r, 1000000, 2300001, count_event, &n), 0);
    cr_expect_eq(n, 7);
    trace_reader_close(r);
}

/* ---- rejection
 * ------------------------------------------------------------------------------------ */

static void expect_rejected(const char *path, const char *needle) {
    char err[512] = "";
    trace_run_info info;
    cr_expect_eq(trace_read_run(path, &info, err, sizeof err), -1);
    cr_expect(strstr(err, needle) != NULL && strstr(err, path) != NULL, "error '%s' lacks '%s'",
              err, needle);
    trace_action *a = NULL;
    int count = 0;
    err[0] = '\0';
    cr_expect_eq(trace_read_actions(path, &a, &count, err, sizeof err), -1);
    cr_expect(strstr(err, needle) != NULL, "%s", err);
    err[0] = '\0';
    cr_expect_null(trace_reader_open(path, err, sizeof err));
    cr_expect(strstr(err, needle) != NULL, "%s", err);
}

Test(trace, rejects_missing_file_without_creating_it) {
    const char *path = "/tmp/streamlab_test_trace_missing.db";
    unlink(path);
    expect_rejected(path, "no such file");
    cr_expect_neq(access(path, F_OK), 0);
}

Test(trace, rejects_non_sqlite_file) {
    char path[256];
    db_path(path, sizeof path, "text");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 100; i++) fputs("this is not a database\n", f);
    fclose(f);
    expect_rejected(path, "not a SQLite database");
}

Test(trace, rejects_sqlite_without_run_table) {
    char path[256];
    db_path(path, sizeof path, "other");
    unlink(path);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE foo(x); INSERT INTO foo VALUES (1)", 0, 0, 0),
                 SQLITE_OK);
    sqlite3_close(db);
    expect_rejected(path, "not a streamlab trace (no run table)");
}

Test(trace, rejects_empty_trace) {
    char path[256], err[512] = "";
    db_path(path, sizeof path, "empty");
    trace_writer *t = trace_writer_open(path, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    cr_assert_eq(trace_writer_close(t, err, sizeof err), 0, "%s", err);
    expect_rejected(path, "empty trace");
}

Test(trace, writer_replaces_file_and_reports_errors) {
    char path[256], err[512] = "";
    db_path(path, sizeof path, "replace");
    write_sample(path);
    trace_writer *t = trace_writer_open(path, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    cr_expect_eq(trace_write_run(t, "again", "{}", 1, NULL, 5 * S_US, "0.1.0"), 0);
    cr_expect_eq(trace_write_run(t, "twice", "{}", 1, NULL, -1, "0.1.0"), -1);
    cr_expect(strstr(trace_writer_error(t), "write run") != NULL, "%s", trace_writer_error(t));
    cr_expect_eq(trace_write_node(t, 1, "broker", "b"), -1); /* sticky */
    cr_expect_eq(trace_writer_close(t, err, sizeof err), -1);
    cr_expect(strstr(err, "write run") != NULL, "%s", err);
    trace_run_info info;
    cr_assert_eq(trace_read_run(path, &info, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(info.scenario_name, "again");
    cr_expect_eq(info.until_us, 5 * S_US);
    cr_expect_eq(info.end_us, -1);
    cr_expect_null(info.digest);
    trace_run_info_free(&info);

    cr_expect_null(trace_writer_open("/nonexistent-dir/x.db", err, sizeof err));
    cr_expect(strstr(err, "/nonexistent-dir/x.db") != NULL, "%s", err);
}

/* ---- speed
 * ----------------------------------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(trace, large_write_rows_per_second, .timeout = 300) {
    char path[256], err[512] = "";
    db_path(path, sizeof path, "large");
    const int messages = 1000000, events = 200000;
    double start = now_s();
    trace_writer *t = trace_writer_open(path, err, sizeof err);
    cr_assert_not_null(t, "%s", err);
    check(trace_write_run(t, "large", "{}", 1, "[]", -1, "0.1.0"), t);
    for (int i = 0; i < messages; i++) {
        trace_message m = {.id = (uint64_t)i + 1,
                           .send_us = i * 10LL,
                           .deliver_us = i * 10LL + 3000,
                           .src = 100 + i % 4,
                           .dst = 1 + i % 3,
                           .conn = (uint32_t)(i % 12),
                           .api_key = (int16_t)(i % 3),
                           .api_version = 7,
                           .is_response = i & 1,
                           .correlation_id = i / 2,
                           .size_bytes = 200 + (uint32_t)(i % 900)};
        if (trace_write_message(t, &m) != 0) cr_assert_fail("%s", trace_writer_error(t));
    }
    double messages_s = now_s() - start;
    double mid = now_s();
    for (int i = 0; i < events; i++) {
        observe_event ev = {.kind = OBSERVE_APPEND,
                            .node = 1 + i % 3,
                            .topic = "orders",
                            .partition = i % 3,
                            .offset = i,
                            .offset_last = i,
                            .batch_len = 150};
        if (trace_write_event(t, i * 50LL, (uint64_t)i, &ev) != 0) {
            cr_assert_fail("%s", trace_writer_error(t));
        }
    }
    check(trace_write_finish(t, events * 50LL, "00", "{}"), t);
    double events_s = now_s() - mid;
    uint64_t rows = trace_writer_rows(t);
    cr_assert_eq(trace_writer_close(t, err, sizeof err), 0, "%s", err);
    double total_s = now_s() - start;
    printf("trace: %d message rows in %.3f s = %.0f rows/s; %d event rows (+%d keyframes)"
           " in %.3f s = %.0f rows/s; %llu rows with close+indexes in %.3f s = %.0f rows/s\n",
           messages, messages_s, messages / messages_s, events, events * 50 / 1000000 + 1, events_s,
           events / events_s, (unsigned long long)rows, total_s, (double)rows / total_s);
    sqlite3 *db = open_ro(path);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM messages"), messages);
    cr_expect_eq(sql_int(db, "SELECT count(*) FROM keyframes"), events * 50 / 1000000 + 1);
    sqlite3_close(db);
    unlink(path);
}

/* ---- determinism
 * ---------------------------------------------------------------------------------- */

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)*len);
    cr_assert_eq(fread(buf, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return buf;
}

Test(trace, same_calls_give_identical_files) {
    char a[256], b[256];
    db_path(a, sizeof a, "same_a");
    db_path(b, sizeof b, "same_b");
    write_sample(a);
    write_sample(b);
    long len_a = 0, len_b = 0;
    unsigned char *bytes_a = slurp(a, &len_a), *bytes_b = slurp(b, &len_b);
    cr_expect_eq(len_a, len_b);
    cr_expect(len_a == len_b && memcmp(bytes_a, bytes_b, (size_t)len_a) == 0);
    free(bytes_a);
    free(bytes_b);
}
