/*
 * source_trace.c — seeking in a recorded run (see source_trace.h).
 */
#include "source_trace.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "words.h"

#define S_US 1000000LL
#define RATE_WINDOW_US S_US           /* records in/out per second over the last second */
#define STEP_APPLY_MAX_US S_US        /* further than this, seek by keyframe */
#define LOG_BACK_US (60 * S_US)       /* a seek rebuilds the log from this far back */
#define LOG_LINES_MAX 4096            /* event lines kept around the current instant */
#define MSGS_WINDOW_MAX_US (4 * S_US) /* never fetch more than this much traffic */
#define POSITIONS_MAX 256
#define MARKS_MAX 256
#define OUT_LINES_MAX 32

enum { Q_MSGS, Q_NEXT, Q_PREV, Q_NOTABLE, Q_COUNT };

static const char *const sql[Q_COUNT] = {
    "SELECT send_us, deliver_us, lost, src, dst, api_key, is_response FROM messages"
    " WHERE send_us >= ? AND send_us <= ?",
    "SELECT t_us FROM events WHERE t_us > ? ORDER BY t_us LIMIT 1",
    "SELECT t_us FROM events WHERE t_us < ? ORDER BY t_us DESC LIMIT 1",
    "SELECT t_us, kind, node, topic, partition, leader, leader_epoch, offset, isr, detail,"
    " error, count FROM events WHERE t_us > ? AND t_us <= ? AND kind NOT IN ('append',"
    " 'high_watermark', 'produce_ack', 'consume', 'commit', 'log_start') ORDER BY id",
};

struct viz_trace_source {
    trace_reader *rd;
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    char err[512];
    char scenario_name[VIZ_NAME_BYTES_MAX];
    int64_t end_us;
    int32_t replication_factor;
    cluster_view view;
    int64_t view_t_us; /* -1 = not loaded */
    viz_node nodes[VIZ_NODES_MAX];
    int node_count;
    viz_position positions[POSITIONS_MAX];
    int position_count;
    int64_t acked_in_window, consumed_in_window;
    viz_msg *msgs;
    int msg_count, msg_cap;
    viz_line *log; /* event lines for times in (log_lo_us, log_hi_us] */
    int log_count;
    int64_t log_lo_us, log_hi_us;
    viz_words words;
    viz_line action_lines[MARKS_MAX];
    viz_mark marks[MARKS_MAX];
    int mark_count;
    viz_line out_lines[OUT_LINES_MAX];
    viz_input in;
};

const char *viz_trace_error(const viz_trace_source *s) {
    return s->err;
}
int64_t viz_trace_end_us(const viz_trace_source *s) {
    return s->end_us;
}
const viz_input *viz_trace_input(const viz_trace_source *s) {
    return &s->in;
}
const char *viz_trace_scenario_name(const viz_trace_source *s) {
    return s->scenario_name;
}

static int fail(viz_trace_source *s, const char *what) {
    snprintf(s->err, sizeof s->err, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : "?");
    return -1;
}

/* ---- opening ---------------------------------------------------------------------------- */

static void scenario_client(viz_trace_source *s, viz_node *n, const cJSON *scn) {
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(scn, "producers")) {
        const cJSON *name = cJSON_GetObjectItem(it, "name"),
                    *topic = cJSON_GetObjectItem(it, "topic");
        if (cJSON_IsString(name) && cJSON_IsString(topic) && !strcmp(name->valuestring, n->name))
            snprintf(n->topic, sizeof n->topic, "%s", topic->valuestring);
    }
    (void)s;
    const char *slash = strrchr(n->name, '/');
    size_t len = slash ? (size_t)(slash - n->name) : strlen(n->name);
    if (n->kind == VIZ_NODE_CONSUMER && len < sizeof n->group) {
        memcpy(n->group, n->name, len);
        n->group[len] = 0;
    }
}

static enum viz_node_kind kind_of(const char *k) {
    if (!strcmp(k, "broker")) return VIZ_NODE_BROKER;
    if (!strcmp(k, "producer")) return VIZ_NODE_PRODUCER;
    if (!strcmp(k, "consumer")) return VIZ_NODE_CONSUMER;
    return VIZ_NODE_OTHER;
}

static int load_nodes(viz_trace_source *s, const cJSON *scn) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT id, kind, name FROM nodes ORDER BY id", -1, &st, NULL) !=
        SQLITE_OK)
        return fail(s, "nodes");
    while (sqlite3_step(st) == SQLITE_ROW && s->node_count < VIZ_NODES_MAX) {
        viz_node *n = &s->nodes[s->node_count++];
        memset(n, 0, sizeof *n);
        n->id = sqlite3_column_int(st, 0);
        n->kind = kind_of((const char *)sqlite3_column_text(st, 1));
        snprintf(n->name, sizeof n->name, "%s", (const char *)sqlite3_column_text(st, 2));
        scenario_client(s, n, scn);
    }
    sqlite3_finalize(st);
    return 0;
}

static int load_actions(viz_trace_source *s) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT t_us, origin, action_json FROM actions ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK)
        return fail(s, "actions");
    while (sqlite3_step(st) == SQLITE_ROW && s->mark_count < MARKS_MAX) {
        int i = s->mark_count++;
        viz_words_action(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                         (const char *)sqlite3_column_text(st, 2), &s->action_lines[i],
                         &s->marks[i]);
    }
    sqlite3_finalize(st);
    return 0;
}

static int load_run(viz_trace_source *s, const char *path) {
    trace_run_info info;
    if (trace_read_run(path, &info, s->err, sizeof s->err) != 0) return -1;
    snprintf(s->scenario_name, sizeof s->scenario_name, "%s", info.scenario_name);
    cJSON *scn = cJSON_Parse(info.scenario_json);
    const cJSON *topics = cJSON_GetObjectItem(scn, "topics");
    const cJSON *rf = cJSON_GetObjectItem(cJSON_GetArrayItem(topics, 0), "replication_factor");
    s->replication_factor = cJSON_IsNumber(rf) ? rf->valueint : 1;
    s->end_us = info.end_us;
    int rc = load_nodes(s, scn);
    cJSON_Delete(scn);
    trace_run_info_free(&info);
    if (rc == 0 && s->end_us < 0) { /* unfinished: the last event's time */
        sqlite3_stmt *st;
        sqlite3_prepare_v2(s->db, "SELECT max(t_us) FROM events", -1, &st, NULL);
        s->end_us = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
    }
    return rc;
}

viz_trace_source *viz_trace_open(const char *path, char *err, size_t err_len) {
    trace_reader *rd = trace_reader_open(path, err, err_len);
    if (!rd) return NULL;
    viz_trace_source *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->rd = rd;
    s->view_t_us = -1;
    cluster_view_init(&s->view);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK ? 0 : -1;
    for (int i = 0; i < Q_COUNT && rc == 0; i++)
        rc = sqlite3_prepare_v2(s->db, sql[i], -1, &s->q[i], NULL) == SQLITE_OK ? 0 : -1;
    if (rc) fail(s, path);
    if (rc == 0) rc = load_run(s, path);
    if (rc == 0) rc = load_actions(s);
    if (rc != 0) {
        snprintf(err, err_len, "%s", s->err);
        viz_trace_close(s);
        return NULL;
    }
    return s;
}

void viz_trace_close(viz_trace_source *s) {
    if (!s) return;
    for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    trace_reader_close(s->rd);
    cluster_view_deinit(&s->view);
    free(s->msgs);
    free(s->log);
    free(s);
}

/* ---- the cluster state ------------------------------------------------------------------ */

static int apply_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    (void)seq;
    cluster_view_apply(ctx, t_us, ev);
    return 0;
}

static int load_view(viz_trace_source *s, int64_t t_us) {
    int rc;
    if (s->view_t_us >= 0 && t_us >= s->view_t_us && t_us - s->view_t_us <= STEP_APPLY_MAX_US)
        rc = t_us == s->view_t_us ? 0
                                  : trace_reader_events_between(s->rd, s->view_t_us + 1, t_us,
                                                                apply_event, &s->view);
    else
        rc = trace_reader_view_at(s->rd, t_us, &s->view);
    if (rc != 0) {
        snprintf(s->err, sizeof s->err, "%s", trace_reader_error(s->rd));
        s->view_t_us = -1;
        return -1;
    }
    s->view_t_us = t_us;
    return 0;
}

/* ---- activity: rates and consumer positions ---------------------------------------------- */

static void note_position(viz_trace_source *s, int64_t t_us, const observe_event *ev) {
    int i = 0;
    while (i < s->position_count &&
           !(s->positions[i].node == ev->node && s->positions[i].partition == ev->partition &&
             !strcmp(s->positions[i].topic, ev->topic)))
        i++;
    if (i == POSITIONS_MAX) return;
    if (i == s->position_count) s->position_count++;
    viz_position *p = &s->positions[i];
    p->node = ev->node;
    snprintf(p->topic, sizeof p->topic, "%s", ev->topic);
    p->partition = ev->partition;
    p->next_offset = ev->offset_last + 1;
    p->t_us = t_us;
}

static int fold_activity(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    viz_trace_source *s = ctx;
    (void)seq;
    if (ev->kind == OBSERVE_PRODUCE_ACK) s->acked_in_window += ev->count;
    if (ev->kind == OBSERVE_CONSUME && ev->topic) {
        s->consumed_in_window += ev->offset_last - ev->offset + 1;
        note_position(s, t_us, ev);
    }
    return 0;
}

static int load_activity(viz_trace_source *s, int64_t t_us) {
    s->position_count = 0;
    s->acked_in_window = s->consumed_in_window = 0;
    int64_t from = t_us - RATE_WINDOW_US + 1;
    if (trace_reader_events_between(s->rd, from, t_us, fold_activity, s) != 0) {
        snprintf(s->err, sizeof s->err, "%s", trace_reader_error(s->rd));
        return -1;
    }
    return 0;
}

/* ---- messages ---------------------------------------------------------------------------- */

static int load_msgs(viz_trace_source *s, int64_t t_us, int64_t window_us) {
    sqlite3_stmt *st = s->q[Q_MSGS];
    int64_t back = 2 * window_us < MSGS_WINDOW_MAX_US ? 2 * window_us : MSGS_WINDOW_MAX_US;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, t_us - back);
    sqlite3_bind_int64(st, 2, t_us);
    s->msg_count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (s->msg_count == s->msg_cap) {
            s->msg_cap = s->msg_cap ? 2 * s->msg_cap : 4096;
            s->msgs = realloc(s->msgs, (size_t)s->msg_cap * sizeof *s->msgs);
            if (!s->msgs) abort();
        }
        viz_msg *m = &s->msgs[s->msg_count++];
        m->send_us = sqlite3_column_int64(st, 0);
        m->deliver_us =
            sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
        m->lost = (uint8_t)sqlite3_column_int(st, 2);
        m->src = sqlite3_column_int(st, 3);
        m->dst = sqlite3_column_int(st, 4);
        m->api_key = (int16_t)sqlite3_column_int(st, 5);
        m->is_response = (uint8_t)sqlite3_column_int(st, 6);
    }
    return rc == SQLITE_DONE ? 0 : fail(s, "messages");
}

/* ---- the event log ------------------------------------------------------------------------ */

static void log_push(viz_trace_source *s, const viz_line *l) {
    if (!s->log) s->log = malloc(LOG_LINES_MAX * sizeof *s->log);
    if (!s->log) abort();
    if (s->log_count == LOG_LINES_MAX) { /* drop the older half */
        memmove(s->log, s->log + LOG_LINES_MAX / 2, LOG_LINES_MAX / 2 * sizeof *s->log);
        s->log_count = LOG_LINES_MAX / 2;
        s->log_lo_us = s->log[0].t_us - 1;
    }
    s->log[s->log_count++] = *l;
}

static void row_event(sqlite3_stmt *st, observe_event *ev, int32_t *isr, int isr_max) {

    const char *k = (const char *)sqlite3_column_text(st, 1);
    memset(ev, 0, sizeof *ev);
    for (int i = 1; i < OBSERVE_KIND_COUNT && k; i++)
        if (!strcmp(observe_kind_name((enum observe_kind)i), k)) ev->kind = (enum observe_kind)i;
    ev->node = sqlite3_column_int(st, 2);
    ev->topic = (const char *)sqlite3_column_text(st, 3);
    ev->partition = sqlite3_column_int(st, 4);
    ev->leader = sqlite3_column_int(st, 5);
    ev->leader_epoch = sqlite3_column_int(st, 6);
    ev->offset = sqlite3_column_int64(st, 7);
    const char *text = (const char *)sqlite3_column_text(st, 8);
    for (const char *p = text; p && *p && ev->isr_count < isr_max;
         p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
        isr[ev->isr_count++] = atoi(p);
    ev->isr = isr;
    ev->detail = (const char *)sqlite3_column_text(st, 9);
    ev->error = (int16_t)sqlite3_column_int(st, 10);
    ev->count = sqlite3_column_int(st, 11);
}

static int log_scan(viz_trace_source *s, int64_t from_us, int64_t to_us) {
    sqlite3_stmt *st = s->q[Q_NOTABLE];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        observe_event ev;
        int32_t isr[CLUSTER_VIEW_REPLICAS_MAX];
        viz_line line;
        row_event(st, &ev, isr, CLUSTER_VIEW_REPLICAS_MAX);
        if (ev.kind && viz_words_event(&s->words, sqlite3_column_int64(st, 0), &ev, &line))
            log_push(s, &line);
    }
    s->log_hi_us = to_us;
    return rc == SQLITE_DONE ? 0 : fail(s, "events");
}

static int load_log(viz_trace_source *s, int64_t t_us) {
    if (!s->log && !(s->log = malloc(LOG_LINES_MAX * sizeof *s->log))) abort();
    if (t_us > s->log_lo_us && t_us <= s->log_hi_us && s->log) return 0;
    if (s->log && t_us > s->log_hi_us && t_us - s->log_hi_us <= STEP_APPLY_MAX_US)
        return log_scan(s, s->log_hi_us, t_us);
    int64_t lo = t_us - LOG_BACK_US; /* rebuild: seed from the state just before */
    cluster_view seed;
    cluster_view_init(&seed);
    int rc = lo >= 0 ? trace_reader_view_at(s->rd, lo, &seed) : 0;
    viz_words_seed(&s->words, rc == 0 && lo >= 0 ? &seed : NULL);
    cluster_view_deinit(&seed);
    s->log_count = 0;
    s->log_lo_us = lo < 0 ? -1 : lo;
    return log_scan(s, s->log_lo_us, t_us);
}

/* The last OUT_LINES_MAX lines at or before t_us: event lines merged with actions. */
static int merge_lines(viz_trace_source *s, int64_t t_us) {
    int e = s->log_count, a = s->mark_count, n = OUT_LINES_MAX;
    while (e > 0 && s->log[e - 1].t_us > t_us) e--;
    while (a > 0 && s->action_lines[a - 1].t_us > t_us) a--;
    while (n > 0 && (e > 0 || a > 0)) {
        int take_action = a > 0 && (e == 0 || s->action_lines[a - 1].t_us >= s->log[e - 1].t_us);
        s->out_lines[--n] = take_action ? s->action_lines[--a] : s->log[--e];
    }
    memmove(s->out_lines, s->out_lines + n, (size_t)(OUT_LINES_MAX - n) * sizeof *s->out_lines);
    return OUT_LINES_MAX - n;
}

/* ---- seeking ------------------------------------------------------------------------------- */

int viz_trace_seek(viz_trace_source *s, int64_t t_us, int64_t dot_window_us) {
    assert(dot_window_us >= 0);
    if (t_us < 0) t_us = 0;
    if (t_us > s->end_us) t_us = s->end_us;
    if (load_view(s, t_us) || load_activity(s, t_us) || load_msgs(s, t_us, dot_window_us) ||
        load_log(s, t_us))
        return -1;
    viz_input *in = &s->in;
    memset(in, 0, sizeof *in);
    in->view = &s->view;
    in->t_us = t_us;
    in->end_us = s->end_us;
    in->nodes = s->nodes;
    in->node_count = s->node_count;
    in->positions = s->positions;
    in->position_count = s->position_count;
    in->msgs = s->msgs;
    in->msg_count = s->msg_count;
    in->line_count = merge_lines(s, t_us);
    in->lines = s->out_lines;
    in->marks = s->marks;
    in->mark_count = s->mark_count;
    double window_s =
        (double)(t_us < RATE_WINDOW_US ? (t_us > 0 ? t_us : 1) : RATE_WINDOW_US) / 1e6;
    in->records_in_per_s = (double)s->acked_in_window / window_s;
    in->records_out_per_s = (double)s->consumed_in_window / window_s;
    in->replication_factor = s->replication_factor;
    in->dot_window_us = dot_window_us;
    return 0;
}

int64_t viz_trace_step_row(viz_trace_source *s, int64_t t_us, int dir) {
    sqlite3_stmt *st = s->q[dir > 0 ? Q_NEXT : Q_PREV];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, t_us);
    int64_t t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : t_us;
    return t;
}
