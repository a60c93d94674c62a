/*
 * trace.c — the trace writer.
 *
 * A trace is written once, front to back, by one process, and is worthless if that
 * process dies mid-run, so the writer trades durability for speed: no rollback
 * journal, no fsync, one prepared statement per table (prepared once; bind, step,
 * reset per row), and rows grouped in transactions of TRACE_COMMIT_ROWS_MAX rows or
 * TRACE_COMMIT_INTERVAL_US of virtual time, whichever comes first (the time bound
 * lets a live viewer see recent rows).  Indexes are built once at close, which is
 * cheaper than maintaining them row by row.
 *
 * Keyframes.  The writer folds every event into a cluster_view.  Before writing the
 * first event whose time reaches the next whole second K, it stores the view as a
 * keyframe at K: the state after every event with t_us < K, i.e. exactly the events
 * written so far (`events_applied`, the count of events rows, whose ids run 1..n in
 * engine order).  One keyframe at t = 0 always exists, and finish adds one at end_us
 * holding every event.  Seconds with no events get no keyframe; the previous one is
 * still exact for them.  docs/trace.md has the schema.
 */
#include "trace.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define TRACE_ERR_BYTES_MAX 512
#define TRACE_ISR_TEXT_BYTES_MAX 1024   /* "1,2,3": 11 bytes per id, ~90 ids */
#define TRACE_APPLICATION_ID 0x534c5452 /* "SLTR" in the SQLite header */

enum trace_stmt {
    STMT_RUN,
    STMT_FINISH,
    STMT_NODE,
    STMT_MESSAGE,
    STMT_EVENT,
    STMT_ACTION,
    STMT_KEYFRAME,
    STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_RUN] = "INSERT INTO run(id, schema_version, scenario_name, scenario_json, seed,"
                 " overrides_json, until_us, version) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
    [STMT_FINISH] = "UPDATE run SET end_us = ?, digest = ?, summary_json = ? WHERE id = 1",
    [STMT_NODE] = "INSERT INTO nodes(id, kind, name) VALUES (?, ?, ?)",
    [STMT_MESSAGE] = "INSERT INTO messages(id, send_us, deliver_us, lost, src, dst, conn, api_key,"
                     " api_version, is_response, correlation_id, size_bytes)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [STMT_EVENT] = "INSERT INTO events(t_us, seq, kind, node, topic, partition, leader,"
                   " leader_epoch, offset, offset_last, producer_id, sequence, count, error,"
                   " acks, isr, detail, batch_len)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [STMT_ACTION] = "INSERT INTO actions(t_us, seq, origin, action_json) VALUES (?, ?, ?, ?)",
    [STMT_KEYFRAME] = "INSERT INTO keyframes(t_us, events_applied, state_json) VALUES (?, ?, ?)",
};

static const char schema_sql[] =
    "CREATE TABLE run (id INTEGER PRIMARY KEY CHECK (id = 1), schema_version INTEGER NOT NULL,"
    " scenario_name TEXT NOT NULL, scenario_json TEXT NOT NULL, seed INTEGER NOT NULL,"
    " overrides_json TEXT NOT NULL, until_us INTEGER, version TEXT NOT NULL, end_us INTEGER,"
    " digest TEXT, summary_json TEXT);"
    "CREATE TABLE nodes (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL);"
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, send_us INTEGER NOT NULL, deliver_us INTEGER,"
    " lost INTEGER NOT NULL, src INTEGER NOT NULL, dst INTEGER NOT NULL, conn INTEGER NOT NULL,"
    " api_key INTEGER NOT NULL, api_version INTEGER NOT NULL, is_response INTEGER NOT NULL,"
    " correlation_id INTEGER NOT NULL, size_bytes INTEGER NOT NULL);"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, t_us INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " kind TEXT NOT NULL, node INTEGER NOT NULL, topic TEXT, partition INTEGER NOT NULL,"
    " leader INTEGER NOT NULL, leader_epoch INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " offset_last INTEGER NOT NULL, producer_id INTEGER NOT NULL, sequence INTEGER NOT NULL,"
    " count INTEGER NOT NULL, error INTEGER NOT NULL, acks INTEGER NOT NULL, isr TEXT,"
    " detail TEXT, batch_len INTEGER NOT NULL);"
    "CREATE TABLE actions (id INTEGER PRIMARY KEY, t_us INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " origin TEXT NOT NULL, action_json TEXT NOT NULL);"
    "CREATE TABLE keyframes (id INTEGER PRIMARY KEY, t_us INTEGER NOT NULL,"
    " events_applied INTEGER NOT NULL, state_json TEXT NOT NULL);";

static const char index_sql[] = "CREATE INDEX IF NOT EXISTS events_t_us ON events(t_us);"
                                "CREATE INDEX IF NOT EXISTS messages_send_us ON messages(send_us);"
                                "CREATE INDEX IF NOT EXISTS keyframes_t_us ON keyframes(t_us);";

struct trace_writer {
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT_COUNT];
    cluster_view view;
    int keyframe_written;     /* the t = 0 keyframe exists */
    int64_t keyframe_next_us; /* the next whole second that triggers a keyframe */
    int64_t events_written;
    int64_t event_last_us;
    uint64_t rows;
    uint64_t tx_rows;
    int64_t tx_start_us; /* event time when the open transaction began */
    int failed;
    char err[TRACE_ERR_BYTES_MAX];
};

/* ---- errors and transactions ---------------------------------------------------- */

static int fail(trace_writer *t, const char *what) {
    if (!t->failed) {
        snprintf(t->err, sizeof t->err, "trace: %.120s: %s", what, sqlite3_errmsg(t->db));
        t->failed = 1;
    }
    return -1;
}

static int exec(trace_writer *t, const char *sql) {
    if (sqlite3_exec(t->db, sql, NULL, NULL, NULL) != SQLITE_OK) return fail(t, sql);
    return 0;
}

/* Steps a bound statement once and resets it. */
static int step(trace_writer *t, enum trace_stmt s, const char *what) {
    sqlite3_stmt *st = t->stmt[s];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail(t, what);
    return 0;
}

/* Counts a row and commits when the transaction is big or old enough.  t_us is the
 * row's event time, or -1 when it has none that orders the run (messages, nodes). */
static int row_done(trace_writer *t, int64_t t_us) {
    t->rows++;
    t->tx_rows++;
    int old = t_us >= 0 && t_us - t->tx_start_us >= TRACE_COMMIT_INTERVAL_US;
    if (t->tx_rows < TRACE_COMMIT_ROWS_MAX && !old) return 0;
    if (exec(t, "COMMIT; BEGIN") != 0) return -1;
    t->tx_rows = 0;
    if (t_us >= 0) t->tx_start_us = t_us;
    return 0;
}

/* ---- open and close ---------------------------------------------------------------- */

static int remove_old(const char *path, char *err, size_t err_len) {
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    char name[4096];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        int n = snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        if (n < 0 || (size_t)n >= sizeof name) {
            snprintf(err, err_len, "%s: path too long", path);
            return -1;
        }
        if (unlink(name) != 0 && errno != ENOENT) {
            snprintf(err, err_len, "%s: cannot replace: %s", name, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int setup(trace_writer *t) {
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;"
             " PRAGMA temp_store = MEMORY; PRAGMA application_id = %d; PRAGMA user_version = %d;",
             TRACE_APPLICATION_ID, TRACE_SCHEMA_VERSION);
    if (exec(t, pragmas) != 0 || exec(t, schema_sql) != 0) return -1;
    for (int s = 0; s < STMT_COUNT; s++) {
        if (sqlite3_prepare_v2(t->db, stmt_sql[s], -1, &t->stmt[s], NULL) != SQLITE_OK) {
            return fail(t, stmt_sql[s]);
        }
    }
    return exec(t, "BEGIN");
}

trace_writer *trace_writer_open(const char *path, char *err, size_t err_len) {
    assert(path != NULL && err != NULL);
    if (remove_old(path, err, err_len) != 0) return NULL;
    trace_writer *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    cluster_view_init(&t->view);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &t->db, flags, NULL) != SQLITE_OK || setup(t) != 0) {
        if (!t->failed) fail(t, "open");
        snprintf(err, err_len, "%s: %s", path, t->err);
        for (int s = 0; s < STMT_COUNT; s++) sqlite3_finalize(t->stmt[s]);
        sqlite3_close(t->db);
        cluster_view_deinit(&t->view);
        free(t);
        return NULL;
    }
    return t;
}

int trace_writer_close(trace_writer *t, char *err, size_t err_len) {
    assert(t != NULL);
    exec(t, index_sql); /* even after an error: keep what was written */
    exec(t, "COMMIT");
    for (int s = 0; s < STMT_COUNT; s++) sqlite3_finalize(t->stmt[s]);
    if (sqlite3_close(t->db) != SQLITE_OK && !t->failed) fail(t, "close");
    int rc = t->failed ? -1 : 0;
    if (rc != 0 && err != NULL) snprintf(err, err_len, "%s", t->err);
    cluster_view_deinit(&t->view);
    free(t);
    return rc;
}

const char *trace_writer_error(const trace_writer *t) {
    return t->err;
}

const cluster_view *trace_writer_view(const trace_writer *t) {
    return &t->view;
}

uint64_t trace_writer_rows(const trace_writer *t) {
    return t->rows;
}

/* ---- rows ------------------------------------------------------------------------------ */

static void bind_text(sqlite3_stmt *st, int col, const char *text) {
    if (text == NULL) {
        sqlite3_bind_null(st, col);
    } else {
        sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
    }
}

int trace_write_run(trace_writer *t, const char *scenario_name, const char *scenario_json,
                    uint64_t seed, const char *overrides_json, int64_t until_us,
                    const char *version) {
    assert(t != NULL && scenario_name != NULL && scenario_json != NULL && version != NULL);
    if (t->failed) return -1;
    sqlite3_stmt *st = t->stmt[STMT_RUN];
    sqlite3_bind_int(st, 1, TRACE_SCHEMA_VERSION);
    bind_text(st, 2, scenario_name);
    bind_text(st, 3, scenario_json);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)seed); /* two's complement above 2^63 */
    bind_text(st, 5, overrides_json != NULL ? overrides_json : "[]");
    if (until_us < 0) {
        sqlite3_bind_null(st, 6);
    } else {
        sqlite3_bind_int64(st, 6, until_us);
    }
    bind_text(st, 7, version);
    if (step(t, STMT_RUN, "write run") != 0) return -1;
    return row_done(t, -1);
}

int trace_write_node(trace_writer *t, int32_t id, const char *kind, const char *name) {
    assert(t != NULL && kind != NULL && name != NULL);
    if (t->failed) return -1;
    sqlite3_stmt *st = t->stmt[STMT_NODE];
    sqlite3_bind_int(st, 1, id);
    bind_text(st, 2, kind);
    bind_text(st, 3, name);
    if (step(t, STMT_NODE, "write node") != 0) return -1;
    if (strcmp(kind, "broker") == 0) cluster_view_add_broker(&t->view, id);
    return row_done(t, -1);
}

int trace_write_message(trace_writer *t, const trace_message *m) {
    assert(t != NULL && m != NULL);
    assert(m->lost || m->deliver_us >= m->send_us);
    if (t->failed) return -1;
    sqlite3_stmt *st = t->stmt[STMT_MESSAGE];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)m->id);
    sqlite3_bind_int64(st, 2, m->send_us);
    if (m->lost || m->deliver_us < 0) {
        sqlite3_bind_null(st, 3);
    } else {
        sqlite3_bind_int64(st, 3, m->deliver_us);
    }
    sqlite3_bind_int(st, 4, m->lost ? 1 : 0);
    sqlite3_bind_int(st, 5, m->src);
    sqlite3_bind_int(st, 6, m->dst);
    sqlite3_bind_int64(st, 7, m->conn);
    sqlite3_bind_int(st, 8, m->api_key);
    sqlite3_bind_int(st, 9, m->api_version);
    sqlite3_bind_int(st, 10, m->is_response ? 1 : 0);
    sqlite3_bind_int(st, 11, m->correlation_id);
    sqlite3_bind_int64(st, 12, m->size_bytes);
    if (step(t, STMT_MESSAGE, "write message") != 0) return -1;
    return row_done(t, -1);
}

/* "1,2,3" into buf; returns buf, or NULL when the event carries no ISR. */
static const char *isr_text(const observe_event *ev, char *buf, size_t buf_len) {
    if (ev->isr == NULL) return NULL;
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < ev->isr_count; i++) {
        int n = snprintf(buf + used, buf_len - used, i == 0 ? "%d" : ",%d", (int)ev->isr[i]);
        if (n < 0 || (size_t)n >= buf_len - used) break; /* bounded: longer lists are cut */
        used += (size_t)n;
    }
    return buf;
}

static void bind_event(sqlite3_stmt *st, int64_t t_us, uint64_t seq, const observe_event *ev,
                       const char *isr) {
    sqlite3_bind_int64(st, 1, t_us);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    bind_text(st, 3, observe_kind_name(ev->kind));
    sqlite3_bind_int(st, 4, ev->node);
    bind_text(st, 5, ev->topic);
    sqlite3_bind_int(st, 6, ev->partition);
    sqlite3_bind_int(st, 7, ev->leader);
    sqlite3_bind_int(st, 8, ev->leader_epoch);
    sqlite3_bind_int64(st, 9, ev->offset);
    sqlite3_bind_int64(st, 10, ev->offset_last);
    sqlite3_bind_int64(st, 11, ev->producer_id);
    sqlite3_bind_int(st, 12, ev->sequence);
    sqlite3_bind_int(st, 13, ev->count);
    sqlite3_bind_int(st, 14, ev->error);
    sqlite3_bind_int(st, 15, ev->acks);
    bind_text(st, 16, isr);
    bind_text(st, 17, ev->detail);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)ev->batch_len);
}

static int write_keyframe(trace_writer *t, int64_t t_us) {
    char *json = cluster_view_to_json(&t->view);
    if (json == NULL) {
        snprintf(t->err, sizeof t->err, "trace: keyframe: out of memory");
        t->failed = 1;
        return -1;
    }
    sqlite3_stmt *st = t->stmt[STMT_KEYFRAME];
    sqlite3_bind_int64(st, 1, t_us);
    sqlite3_bind_int64(st, 2, t->events_written);
    bind_text(st, 3, json);
    int rc = step(t, STMT_KEYFRAME, "write keyframe");
    free(json);
    t->keyframe_written = 1;
    return rc != 0 ? -1 : row_done(t, t_us);
}

/* Writes the keyframes due before an event at t_us (see the essay at the top). */
static int keyframes_before(trace_writer *t, int64_t t_us) {
    if (!t->keyframe_written) {
        if (write_keyframe(t, 0) != 0) return -1;
        t->keyframe_next_us = TRACE_KEYFRAME_INTERVAL_US;
    }
    if (t_us < t->keyframe_next_us) return 0;
    int64_t second_us = t_us - t_us % TRACE_KEYFRAME_INTERVAL_US;
    t->keyframe_next_us = second_us + TRACE_KEYFRAME_INTERVAL_US;
    return write_keyframe(t, second_us);
}

int trace_write_time(trace_writer *t, int64_t t_us) {
    assert(t != NULL);
    if (t->failed) return -1;
    if (t_us < t->event_last_us) return 0;
    t->event_last_us = t_us;
    return keyframes_before(t, t_us);
}

int trace_write_event(trace_writer *t, int64_t t_us, uint64_t seq, const observe_event *ev) {
    assert(t != NULL && ev != NULL);
    assert(t_us >= 0 && t_us >= t->event_last_us); /* engine order */
    if (t->failed) return -1;
    t->event_last_us = t_us;
    if (keyframes_before(t, t_us) != 0) return -1;
    char isr_buf[TRACE_ISR_TEXT_BYTES_MAX];
    bind_event(t->stmt[STMT_EVENT], t_us, seq, ev, isr_text(ev, isr_buf, sizeof isr_buf));
    if (step(t, STMT_EVENT, "write event") != 0) return -1;
    t->events_written++;
    cluster_view_apply(&t->view, t_us, ev);
    return row_done(t, t_us);
}

int trace_write_action(trace_writer *t, int64_t t_us, uint64_t seq, const char *origin,
                       const char *action_json) {
    assert(t != NULL && origin != NULL && action_json != NULL);
    assert(strlen(origin) < sizeof((trace_action *)NULL)->origin);
    if (t->failed) return -1;
    sqlite3_stmt *st = t->stmt[STMT_ACTION];
    sqlite3_bind_int64(st, 1, t_us);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    bind_text(st, 3, origin);
    bind_text(st, 4, action_json);
    if (step(t, STMT_ACTION, "write action") != 0) return -1;
    return row_done(t, t_us);
}

int trace_write_finish(trace_writer *t, int64_t end_us, const char *digest_hex,
                       const char *summary_json) {
    assert(t != NULL && digest_hex != NULL);
    if (t->failed) return -1;
    if (!t->keyframe_written && write_keyframe(t, 0) != 0) return -1;
    if (write_keyframe(t, end_us) != 0) return -1;
    sqlite3_stmt *st = t->stmt[STMT_FINISH];
    sqlite3_bind_int64(st, 1, end_us);
    bind_text(st, 2, digest_hex);
    bind_text(st, 3, summary_json);
    if (step(t, STMT_FINISH, "write finish") != 0) return -1;
    if (sqlite3_changes(t->db) != 1) {
        snprintf(t->err, sizeof t->err, "trace: finish before trace_write_run");
        t->failed = 1;
        return -1;
    }
    return row_done(t, -1);
}
