/*
 * trace_read.c — reading a trace back: the run, the actions (for replay), and
 * keyframes plus events (for the viewer's seek).
 *
 * Every entry point opens the file SQLITE_OPEN_READONLY after checking that it
 * exists, so reading never creates a file, and then checks in order that it is a
 * SQLite database, that it has the run table, that its schema is not newer than
 * this code, and that the run row exists.  Each failure is one line naming the path.
 */
#include "trace.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define TRACE_READ_ERR_BYTES_MAX 512
#define TRACE_READ_ISR_MAX 256

/* ---- opening ----------------------------------------------------------------------- */

static int path_check(const char *path, char *err, size_t err_len) {
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, err_len, "%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file", path);
        return -1;
    }
    return 0;
}

/* Runs a one-integer query; -2 when the file is not a database, -1 on other errors. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc == SQLITE_ROW ? 0 : 1;
    return rc == SQLITE_NOTADB ? -2 : -1;
}

static int validate(sqlite3 *db, const char *path, char *err, size_t err_len) {
    int64_t n = 0;
    int rc = query_int(
        db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'run'", &n);
    if (rc == -2) {
        snprintf(err, err_len, "%s: not a SQLite database", path);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, err_len, "%s: cannot read: %s", path, sqlite3_errmsg(db));
        return -1;
    }
    if (n == 0) {
        snprintf(err, err_len, "%s: not a streamlab trace (no run table)", path);
        return -1;
    }
    rc = query_int(db, "SELECT schema_version FROM run WHERE id = 1", &n);
    if (rc < 0) {
        snprintf(err, err_len, "%s: not a streamlab trace: %s", path, sqlite3_errmsg(db));
        return -1;
    }
    if (rc == 1) {
        snprintf(err, err_len, "%s: empty trace (no run row; the run was never recorded)", path);
        return -1;
    }
    if (n > TRACE_SCHEMA_VERSION) {
        snprintf(err, err_len, "%s: trace schema %lld is newer than this streamlab (%d)", path,
                 (long long)n, TRACE_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

static sqlite3 *trace_open(const char *path, char *err, size_t err_len) {
    assert(path != NULL && err != NULL);
    if (path_check(path, err, err_len) != 0) return NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, err_len, "%s: cannot open: %s", path,
                 db != NULL ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    if (validate(db, path, err, err_len) != 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* ---- run and actions ------------------------------------------------------------------ */

static char *column_dup(sqlite3_stmt *st, int col) {
    const unsigned char *text = sqlite3_column_text(st, col);
    return text != NULL ? strdup((const char *)text) : NULL;
}

static int64_t column_int_or(sqlite3_stmt *st, int col, int64_t absent) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? absent : sqlite3_column_int64(st, col);
}

static void run_from_row(sqlite3_stmt *st, trace_run_info *out) {
    out->scenario_name = column_dup(st, 0);
    out->scenario_json = column_dup(st, 1);
    out->seed = (uint64_t)sqlite3_column_int64(st, 2);
    out->overrides_json = column_dup(st, 3);
    out->until_us = column_int_or(st, 4, -1);
    out->version = column_dup(st, 5);
    out->end_us = column_int_or(st, 6, -1);
    out->digest = column_dup(st, 7);
    out->summary_json = column_dup(st, 8);
}

int trace_read_run(const char *path, trace_run_info *out, char *err, size_t err_len) {
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    sqlite3 *db = trace_open(path, err, err_len);
    if (db == NULL) return -1;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT scenario_name, scenario_json, seed, overrides_json,"
                                " until_us, version, end_us, digest, summary_json FROM run"
                                " WHERE id = 1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) run_from_row(st, out);
    if (rc != SQLITE_ROW) snprintf(err, err_len, "%s: run: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SQLITE_ROW) return -1;
    if (out->scenario_name == NULL || out->scenario_json == NULL || out->version == NULL) {
        trace_run_info_free(out);
        snprintf(err, err_len, "%s: run: out of memory", path);
        return -1;
    }
    return 0;
}

void trace_run_info_free(trace_run_info *r) {
    if (r == NULL) return;
    free(r->scenario_name);
    free(r->scenario_json);
    free(r->overrides_json);
    free(r->version);
    free(r->digest);
    free(r->summary_json);
    memset(r, 0, sizeof *r);
}

static int action_from_row(sqlite3_stmt *st, trace_action *a) {
    a->t_us = sqlite3_column_int64(st, 0);
    a->seq = (uint64_t)sqlite3_column_int64(st, 1);
    const unsigned char *origin = sqlite3_column_text(st, 2);
    snprintf(a->origin, sizeof a->origin, "%s", origin != NULL ? (const char *)origin : "");
    a->action_json = column_dup(st, 3);
    return a->action_json != NULL ? 0 : -1;
}

static int actions_collect(sqlite3_stmt *st, trace_action **out, int *count) {
    int cap = 0, rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap == 0 ? 64 : cap * 2;
            trace_action *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (grown == NULL) return SQLITE_NOMEM;
            *out = grown;
        }
        if (action_from_row(st, &(*out)[*count]) != 0) return SQLITE_NOMEM;
        (*count)++;
    }
    return rc;
}

int trace_read_actions(const char *path, trace_action **out, int *count, char *err,
                       size_t err_len) {
    assert(out != NULL && count != NULL);
    *out = NULL;
    *count = 0;
    sqlite3 *db = trace_open(path, err, err_len);
    if (db == NULL) return -1;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT t_us, seq, origin, action_json FROM actions ORDER BY seq, id", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = actions_collect(st, out, count);
    if (rc != SQLITE_DONE) {
        snprintf(err, err_len, "%s: actions: %s", path,
                 rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
        trace_actions_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == SQLITE_DONE ? 0 : -1;
}

void trace_actions_free(trace_action *a, int count) {
    for (int i = 0; i < count; i++) free(a[i].action_json);
    free(a);
}

/* ---- the reader handle ------------------------------------------------------------------ */

enum reader_stmt { READ_KEYFRAME, READ_EVENTS_BETWEEN, READ_EVENTS_AFTER, READ_STMT_COUNT };

#define EVENT_COLUMNS                                                                              \
    "SELECT t_us, seq, kind, node, topic, partition, leader, leader_epoch, offset, offset_last,"   \
    " producer_id, sequence, count, error, acks, isr, detail, batch_len FROM events "

static const char *const reader_sql[READ_STMT_COUNT] = {
    [READ_KEYFRAME] = "SELECT t_us, events_applied, state_json FROM keyframes WHERE t_us <= ?"
                      " ORDER BY t_us DESC, events_applied DESC LIMIT 1",
    [READ_EVENTS_BETWEEN] = EVENT_COLUMNS "WHERE t_us BETWEEN ? AND ? ORDER BY id",
    [READ_EVENTS_AFTER] = EVENT_COLUMNS "WHERE id > ? AND t_us <= ? ORDER BY id",
};

struct trace_reader {
    sqlite3 *db;
    sqlite3_stmt *stmt[READ_STMT_COUNT];
    char err[TRACE_READ_ERR_BYTES_MAX];
};

trace_reader *trace_reader_open(const char *path, char *err, size_t err_len) {
    sqlite3 *db = trace_open(path, err, err_len);
    if (db == NULL) return NULL;
    trace_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        sqlite3_close(db);
        return NULL;
    }
    r->db = db;
    for (int s = 0; s < READ_STMT_COUNT; s++) {
        if (sqlite3_prepare_v2(db, reader_sql[s], -1, &r->stmt[s], NULL) != SQLITE_OK) {
            snprintf(err, err_len, "%s: %s", path, sqlite3_errmsg(db));
            trace_reader_close(r);
            return NULL;
        }
    }
    return r;
}

void trace_reader_close(trace_reader *r) {
    if (r == NULL) return;
    for (int s = 0; s < READ_STMT_COUNT; s++) sqlite3_finalize(r->stmt[s]);
    sqlite3_close(r->db);
    free(r);
}

const char *trace_reader_error(const trace_reader *r) {
    return r->err;
}

static int reader_fail(trace_reader *r, const char *what) {
    snprintf(r->err, sizeof r->err, "trace: %s: %s", what, sqlite3_errmsg(r->db));
    return -1;
}

int trace_reader_keyframe_at(trace_reader *r, int64_t t_us, cluster_view *out,
                             int64_t *keyframe_t_us, int64_t *events_applied) {
    assert(r != NULL && out != NULL && keyframe_t_us != NULL);
    sqlite3_stmt *st = r->stmt[READ_KEYFRAME];
    sqlite3_bind_int64(st, 1, t_us);
    int rc = sqlite3_step(st);
    int result = -1;
    if (rc == SQLITE_ROW) {
        *keyframe_t_us = sqlite3_column_int64(st, 0);
        if (events_applied != NULL) *events_applied = sqlite3_column_int64(st, 1);
        result = cluster_view_from_json(out, (const char *)sqlite3_column_text(st, 2));
        if (result != 0) snprintf(r->err, sizeof r->err, "trace: keyframe: not a cluster view");
    } else if (rc == SQLITE_DONE) {
        snprintf(r->err, sizeof r->err, "trace: no keyframe at or before %lld us", (long long)t_us);
    } else {
        reader_fail(r, "keyframe");
    }
    sqlite3_reset(st);
    return result;
}

/* ---- events ------------------------------------------------------------------------------ */

static enum observe_kind kind_from_name(const char *name) {
    for (int k = 1; k < OBSERVE_KIND_COUNT; k++) {
        if (strcmp(observe_kind_name((enum observe_kind)k), name) == 0) return (enum observe_kind)k;
    }
    return OBSERVE_KIND_COUNT; /* unknown: cluster_view_apply counts it invalid */
}

static int32_t isr_parse(const char *text, int32_t *isr) {
    int32_t n = 0;
    while (text != NULL && *text != '\0' && n < TRACE_READ_ISR_MAX) {
        char *end = NULL;
        isr[n++] = (int32_t)strtol(text, &end, 10);
        if (end == text || (*end != ',' && *end != '\0')) break;
        text = *end == ',' ? end + 1 : end;
    }
    return n;
}

static const char *column_text(sqlite3_stmt *st, int col) {
    return (const char *)sqlite3_column_text(st, col);
}

/* The row's event; its pointers live until the statement steps again. */
static void event_from_row(sqlite3_stmt *st, observe_event *ev, int32_t *isr) {
    memset(ev, 0, sizeof *ev);
    const char *kind = column_text(st, 2);
    ev->kind = kind_from_name(kind != NULL ? kind : "");
    ev->node = sqlite3_column_int(st, 3);
    ev->topic = column_text(st, 4);
    ev->partition = sqlite3_column_int(st, 5);
    ev->leader = sqlite3_column_int(st, 6);
    ev->leader_epoch = sqlite3_column_int(st, 7);
    ev->offset = sqlite3_column_int64(st, 8);
    ev->offset_last = sqlite3_column_int64(st, 9);
    ev->producer_id = sqlite3_column_int64(st, 10);
    ev->sequence = sqlite3_column_int(st, 11);
    ev->count = sqlite3_column_int(st, 12);
    ev->error = (int16_t)sqlite3_column_int(st, 13);
    ev->acks = (int16_t)sqlite3_column_int(st, 14);
    const char *isr_text = column_text(st, 15);
    ev->isr = isr_text != NULL ? isr : NULL;
    ev->isr_count = isr_parse(isr_text, isr);
    ev->detail = column_text(st, 16);
    ev->batch_len = (size_t)sqlite3_column_int64(st, 17);
}

static int events_run(trace_reader *r, sqlite3_stmt *st, trace_event_fn fn, void *ctx) {
    int32_t isr[TRACE_READ_ISR_MAX];
    int rc = 0, stop = 0;
    while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        observe_event ev;
        event_from_row(st, &ev, isr);
        stop = fn(ctx, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1), &ev);
    }
    sqlite3_reset(st);
    if (stop != 0) return stop;
    return rc == SQLITE_DONE ? 0 : reader_fail(r, "events");
}

int trace_reader_events_between(trace_reader *r, int64_t from_us, int64_t to_us, trace_event_fn fn,
                                void *ctx) {
    assert(r != NULL && fn != NULL);
    sqlite3_stmt *st = r->stmt[READ_EVENTS_BETWEEN];
    sqlite3_bind_int64(st, 1, from_us);
    sqlite3_bind_int64(st, 2, to_us);
    return events_run(r, st, fn, ctx);
}

static int apply_one(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    cluster_view_apply(ctx, t_us, ev);
    return 0;
}

int trace_reader_view_at(trace_reader *r, int64_t t_us, cluster_view *out) {
    int64_t keyframe_t_us = 0, events_applied = 0;
    if (trace_reader_keyframe_at(r, t_us, out, &keyframe_t_us, &events_applied) != 0) return -1;
    sqlite3_stmt *st = r->stmt[READ_EVENTS_AFTER];
    sqlite3_bind_int64(st, 1, events_applied);
    sqlite3_bind_int64(st, 2, t_us);
    return events_run(r, st, apply_one, out);
}
