/*
 * trace.c — the trace writer.
 *
 * A trace is written once, front to back, by one process, and is worthless if that
 * process dies mid-run, so the writer trades durability for speed: no rollback
 * journal, no fsync, 64 KiB pages, one prepared statement per table (prepared once;
 * bind, step, reset per row), and rows grouped in transactions of
 * TRACE_COMMIT_ROWS_MAX rows or TRACE_COMMIT_INTERVAL_US of virtual time, whichever
 * comes first (the time bound lets a live viewer see recent rows).  Indexes are
 * built once at close, which is cheaper than maintaining them row by row.
 *
 * A thread of its own.  SQLite's work per row costs more than the simulation's, so
 * the simulation only copies each message, event, action and keyframe into a batch
 * (strings into the batch's own text), and a writer thread turns whole batches into
 * rows, one transaction each, while the simulation runs on.  Batches go through a
 * queue of TRACE_QUEUE_BATCHES, so memory stays bounded when the writer falls behind
 * (the simulation then waits).  The rows, their order and their transactions are
 * the same as when written inline, so the file is too.  The run and node rows and
 * the finish are written by the caller's thread once the writer is idle (a barrier):
 * the connection is never used by two threads at once (SQLITE_OPEN_NOMUTEX).  A
 * writer thread's error is sticky and seen by the next call.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define TRACE_ERR_BYTES_MAX 512
#define TRACE_ISR_TEXT_BYTES_MAX 1024   /* "1,2,3": 11 bytes per id, ~90 ids */
#define TRACE_APPLICATION_ID 0x534c5452 /* "SLTR" in the SQLite header */
#define TRACE_QUEUE_BATCHES 4
#define TRACE_ROWS_PER_INSERT 16
#define MESSAGE_COLUMNS 12
#define EVENT_COLUMNS 18 /* batches handed to the writer and not yet written */

enum trace_stmt {
    STMT_RUN,
    STMT_FINISH,
    STMT_NODE,
    STMT_MESSAGE,
    STMT_EVENT,
    STMT_ACTION,
    STMT_KEYFRAME,
    STMT_MESSAGES, /* TRACE_ROWS_PER_INSERT rows of STMT_MESSAGE */
    STMT_EVENTS,   /* TRACE_ROWS_PER_INSERT rows of STMT_EVENT */
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

/* ---- batches of rows ------------------------------------------------------------------- */

enum row_kind { ROW_MESSAGE, ROW_EVENT, ROW_ACTION, ROW_KEYFRAME };

/* A string in a batch's text: offset + 1, 0 for NULL. */
typedef uint32_t text_ref;

typedef struct row {
    enum row_kind kind;
    union {
        trace_message message;
        struct {
            int64_t t_us;
            uint64_t seq;
            observe_event ev; /* its pointers are not used: see the refs */
            text_ref topic, isr, detail;
        } event;
        struct {
            int64_t t_us;
            uint64_t seq;
            text_ref origin, json;
        } action;
        struct {
            int64_t t_us;
            int64_t events_applied;
            text_ref json;
        } keyframe;
    };
} row;

typedef struct batch {
    row *rows;
    int32_t count, cap;
    char *text;
    size_t text_len, text_cap;
    struct batch *next; /* in the queue or the free list */
} batch;

static void batch_reserve_rows(batch *b) {
    if (b->count < b->cap) return;
    b->cap = b->cap ? b->cap * 2 : 1024;
    b->rows = realloc(b->rows, (size_t)b->cap * sizeof *b->rows);
    if (!b->rows) abort();
}

static text_ref batch_text(batch *b, const char *s) {
    if (s == NULL) return 0;
    size_t n = strlen(s) + 1;
    if (b->text_len + n > b->text_cap) {
        while (b->text_len + n > b->text_cap) b->text_cap = b->text_cap ? b->text_cap * 2 : 65536;
        b->text = realloc(b->text, b->text_cap);
        if (!b->text) abort();
    }
    assert(b->text_len < UINT32_MAX);
    memcpy(b->text + b->text_len, s, n);
    text_ref ref = (text_ref)b->text_len + 1;
    b->text_len += n;
    return ref;
}

static const char *text_at(const batch *b, text_ref ref) {
    return ref ? b->text + ref - 1 : NULL;
}

static void batch_free(batch *b) {
    if (!b) return;
    free(b->rows);
    free(b->text);
    free(b);
}

struct trace_writer {
    sqlite3 *db;
    sqlite3_stmt *stmt[STMT_COUNT];
    cluster_view view;
    int keyframe_written;     /* the t = 0 keyframe exists */
    int64_t keyframe_next_us; /* the next whole second that triggers a keyframe */
    int64_t events_written;
    int64_t event_last_us;
    uint64_t rows;
    int64_t tx_start_us; /* event time when the batch being filled began */
    batch *filling;      /* rows not yet handed to the writer */
    /* Shared with the writer thread, under `lock`. */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a batch queued or written, or stop */
    batch *queue_head, *queue_tail;
    int32_t queued;
    int writing; /* the writer holds a batch */
    int stop;
    batch *free_batches;
    atomic_int failed; /* sticky; err is written before it is set */
    char err[TRACE_ERR_BYTES_MAX];
};

/* ---- errors ---------------------------------------------------------------------------- */

static int is_failed(const trace_writer *t) {
    return atomic_load_explicit(&t->failed, memory_order_acquire);
}

/* Either thread may fail; the first error is kept (under the lock: both could). */
static int fail_text(trace_writer *t, const char *text) {
    pthread_mutex_lock(&t->lock);
    if (!is_failed(t)) {
        snprintf(t->err, sizeof t->err, "%s", text);
        atomic_store_explicit(&t->failed, 1, memory_order_release);
    }
    pthread_mutex_unlock(&t->lock);
    return -1;
}

static int fail(trace_writer *t, const char *what) {
    char text[TRACE_ERR_BYTES_MAX];
    snprintf(text, sizeof text, "trace: %.120s: %s", what, sqlite3_errmsg(t->db));
    return fail_text(t, text);
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

static void bind_text(sqlite3_stmt *st, int col, const char *text) {
    if (text == NULL) {
        sqlite3_bind_null(st, col);
    } else {
        sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
    }
}

/* ---- the writer thread ------------------------------------------------------------------- */

static void bind_message(sqlite3_stmt *st, int base, const trace_message *m) {
    sqlite3_bind_int64(st, base + 1, (sqlite3_int64)m->id);
    sqlite3_bind_int64(st, base + 2, m->send_us);
    if (m->lost || m->deliver_us < 0) {
        sqlite3_bind_null(st, base + 3);
    } else {
        sqlite3_bind_int64(st, base + 3, m->deliver_us);
    }
    sqlite3_bind_int(st, base + 4, m->lost ? 1 : 0);
    sqlite3_bind_int(st, base + 5, m->src);
    sqlite3_bind_int(st, base + 6, m->dst);
    sqlite3_bind_int64(st, base + 7, m->conn);
    sqlite3_bind_int(st, base + 8, m->api_key);
    sqlite3_bind_int(st, base + 9, m->api_version);
    sqlite3_bind_int(st, base + 10, m->is_response ? 1 : 0);
    sqlite3_bind_int(st, base + 11, m->correlation_id);
    sqlite3_bind_int64(st, base + 12, m->size_bytes);
}

static void bind_event(sqlite3_stmt *st, int base, const batch *b, const row *r) {
    const observe_event *ev = &r->event.ev;
    sqlite3_bind_int64(st, base + 1, r->event.t_us);
    sqlite3_bind_int64(st, base + 2, (sqlite3_int64)r->event.seq);
    bind_text(st, base + 3, observe_kind_name(ev->kind));
    sqlite3_bind_int(st, base + 4, ev->node);
    bind_text(st, base + 5, text_at(b, r->event.topic));
    sqlite3_bind_int(st, base + 6, ev->partition);
    sqlite3_bind_int(st, base + 7, ev->leader);
    sqlite3_bind_int(st, base + 8, ev->leader_epoch);
    sqlite3_bind_int64(st, base + 9, ev->offset);
    sqlite3_bind_int64(st, base + 10, ev->offset_last);
    sqlite3_bind_int64(st, base + 11, ev->producer_id);
    sqlite3_bind_int(st, base + 12, ev->sequence);
    sqlite3_bind_int(st, base + 13, ev->count);
    sqlite3_bind_int(st, base + 14, ev->error);
    sqlite3_bind_int(st, base + 15, ev->acks);
    bind_text(st, base + 16, text_at(b, r->event.isr));
    bind_text(st, base + 17, text_at(b, r->event.detail));
    sqlite3_bind_int64(st, base + 18, (sqlite3_int64)ev->batch_len);
}

static int write_row(trace_writer *t, const batch *b, const row *r) {
    sqlite3_stmt *st;
    switch (r->kind) {
    case ROW_MESSAGE:
        bind_message(t->stmt[STMT_MESSAGE], 0, &r->message);
        return step(t, STMT_MESSAGE, "write message");
    case ROW_EVENT:
        bind_event(t->stmt[STMT_EVENT], 0, b, r);
        return step(t, STMT_EVENT, "write event");
    case ROW_ACTION:
        st = t->stmt[STMT_ACTION];
        sqlite3_bind_int64(st, 1, r->action.t_us);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)r->action.seq);
        bind_text(st, 3, text_at(b, r->action.origin));
        bind_text(st, 4, text_at(b, r->action.json));
        return step(t, STMT_ACTION, "write action");
    case ROW_KEYFRAME:
        st = t->stmt[STMT_KEYFRAME];
        sqlite3_bind_int64(st, 1, r->keyframe.t_us);
        sqlite3_bind_int64(st, 2, r->keyframe.events_applied);
        bind_text(st, 3, text_at(b, r->keyframe.json));
        return step(t, STMT_KEYFRAME, "write keyframe");
    }
    return -1;
}

/* TRACE_ROWS_PER_INSERT messages (or events) in a row go in as one multi-row INSERT:
 * SQLite's work per statement, not per value, is most of a small row's cost. */
static int write_rows_at(trace_writer *t, const batch *b, int32_t i) {
    const row *r = &b->rows[i];
    if ((r->kind != ROW_MESSAGE && r->kind != ROW_EVENT) || i + TRACE_ROWS_PER_INSERT > b->count)
        return -1;
    for (int32_t k = 1; k < TRACE_ROWS_PER_INSERT; k++)
        if (b->rows[i + k].kind != r->kind) return -1;
    enum trace_stmt s = r->kind == ROW_MESSAGE ? STMT_MESSAGES : STMT_EVENTS;
    int columns = r->kind == ROW_MESSAGE ? MESSAGE_COLUMNS : EVENT_COLUMNS;
    for (int32_t k = 0; k < TRACE_ROWS_PER_INSERT; k++) {
        if (r->kind == ROW_MESSAGE)
            bind_message(t->stmt[s], k * columns, &r[k].message);
        else
            bind_event(t->stmt[s], k * columns, b, &r[k]);
    }
    return step(t, s, r->kind == ROW_MESSAGE ? "write messages" : "write events") == 0 ? 1 : -2;
}

/* One transaction per batch; after an error nothing more is written. */
static void write_batch(trace_writer *t, const batch *b) {
    if (is_failed(t) || exec(t, "BEGIN") != 0) return;
    for (int32_t i = 0; i < b->count;) {
        int many = write_rows_at(t, b, i);
        if (many == -2) break;
        if (many == 1) {
            i += TRACE_ROWS_PER_INSERT;
            continue;
        }
        if (write_row(t, b, &b->rows[i]) != 0) break;
        i++;
    }
    exec(t, "COMMIT"); /* even after an error: keep what was written */
}

static void *writer_main(void *arg) {
    trace_writer *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->queue_head && !t->stop) pthread_cond_wait(&t->changed, &t->lock);
        if (!t->queue_head) break; /* stopped and drained */
        batch *b = t->queue_head;
        t->queue_head = b->next;
        if (!t->queue_head) t->queue_tail = NULL;
        t->queued--;
        t->writing = 1;
        pthread_mutex_unlock(&t->lock);
        write_batch(t, b);
        b->count = 0;
        b->text_len = 0;
        pthread_mutex_lock(&t->lock);
        b->next = t->free_batches;
        t->free_batches = b;
        t->writing = 0;
        pthread_cond_broadcast(&t->changed);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Hands the batch being filled to the writer (waiting while the queue is full) and
 * takes an empty one. */
static void submit(trace_writer *t) {
    if (t->filling->count == 0) return;
    pthread_mutex_lock(&t->lock);
    while (t->queued >= TRACE_QUEUE_BATCHES) pthread_cond_wait(&t->changed, &t->lock);
    batch *b = t->filling;
    b->next = NULL;
    if (t->queue_tail)
        t->queue_tail->next = b;
    else
        t->queue_head = b;
    t->queue_tail = b;
    t->queued++;
    batch *fresh = t->free_batches;
    if (fresh) t->free_batches = fresh->next;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    if (!fresh) {
        fresh = calloc(1, sizeof *fresh);
        if (!fresh) abort();
    }
    t->filling = fresh;
}

/* Everything handed over is written and the writer holds nothing: the caller may use
 * the connection itself. */
static void barrier(trace_writer *t) {
    submit(t);
    pthread_mutex_lock(&t->lock);
    while (t->queue_head || t->writing) pthread_cond_wait(&t->changed, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

/* Counts a row and hands the batch over when it is big or old enough.  t_us is the
 * row's event time, or -1 when it has none that orders the run (messages). */
static void row_done(trace_writer *t, int64_t t_us) {
    t->rows++;
    int old = t_us >= 0 && t_us - t->tx_start_us >= TRACE_COMMIT_INTERVAL_US;
    if (t->filling->count < TRACE_COMMIT_ROWS_MAX && !old) return;
    submit(t);
    if (t_us >= 0) t->tx_start_us = t_us;
}

static row *new_row(trace_writer *t, enum row_kind kind) {
    batch *b = t->filling;
    batch_reserve_rows(b);
    row *r = &b->rows[b->count++];
    r->kind = kind;
    return r;
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

/* The one-row INSERT's text with its "(?, ...)" repeated TRACE_ROWS_PER_INSERT times. */
static void multi_row_sql(const char *one, char *out, size_t out_bytes) {
    const char *values = strstr(one, " VALUES (");
    assert(values != NULL);
    size_t head = (size_t)(values - one) + strlen(" VALUES ");
    const char *tuple = one + head;
    size_t used = 0;
    int n = snprintf(out, out_bytes, "%.*s", (int)head, one);
    assert(n > 0 && (size_t)n < out_bytes);
    used = (size_t)n;
    for (int k = 0; k < TRACE_ROWS_PER_INSERT; k++) {
        n = snprintf(out + used, out_bytes - used, "%s%s", k ? ", " : "", tuple);
        assert(n > 0 && (size_t)n < out_bytes - used);
        used += (size_t)n;
    }
}

static int setup(trace_writer *t) {
    char pragmas[320];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA page_size = 65536; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             " PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;"
             " PRAGMA application_id = %d; PRAGMA user_version = %d;",
             TRACE_APPLICATION_ID, TRACE_SCHEMA_VERSION);
    if (exec(t, pragmas) != 0 || exec(t, schema_sql) != 0) return -1;
    for (int s = 0; s < STMT_COUNT; s++) {
        char sql[4096];
        const char *text = stmt_sql[s];
        if (s == STMT_MESSAGES || s == STMT_EVENTS) {
            multi_row_sql(stmt_sql[s == STMT_MESSAGES ? STMT_MESSAGE : STMT_EVENT], sql,
                          sizeof sql);
            text = sql;
        }
        if (sqlite3_prepare_v2(t->db, text, -1, &t->stmt[s], NULL) != SQLITE_OK)
            return fail(t, text);
    }
    return 0;
}

static void writer_free(trace_writer *t) {
    for (int s = 0; s < STMT_COUNT; s++) sqlite3_finalize(t->stmt[s]);
    sqlite3_close(t->db);
    cluster_view_deinit(&t->view);
    batch_free(t->filling);
    while (t->free_batches) {
        batch *b = t->free_batches;
        t->free_batches = b->next;
        batch_free(b);
    }
    pthread_cond_destroy(&t->changed);
    pthread_mutex_destroy(&t->lock);
    free(t);
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
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->changed, NULL);
    atomic_init(&t->failed, 0);
    t->filling = calloc(1, sizeof *t->filling);
    if (!t->filling) abort();
    /* One thread at a time uses the connection (see the essay at the top). */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int ok = sqlite3_open_v2(path, &t->db, flags, NULL) == SQLITE_OK && setup(t) == 0;
    if (ok && pthread_create(&t->thread, NULL, writer_main, t) != 0)
        ok = fail_text(t, "trace: cannot start the writer thread") == 0;
    if (!ok) {
        if (!is_failed(t)) fail(t, "open");
        snprintf(err, err_len, "%s: %s", path, t->err);
        writer_free(t);
        return NULL;
    }
    t->thread_started = 1;
    return t;
}

int trace_writer_close(trace_writer *t, char *err, size_t err_len) {
    assert(t != NULL);
    barrier(t);
    pthread_mutex_lock(&t->lock);
    t->stop = 1;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    if (t->thread_started) pthread_join(t->thread, NULL);
    /* Sorting for the indexes may use a second core (SQLite's sorter threads). */
    exec(t, "PRAGMA threads = 2");
    exec(t, index_sql); /* even after an error: keep what was written */
    for (int s = 0; s < STMT_COUNT; s++) sqlite3_finalize(t->stmt[s]);
    memset(t->stmt, 0, sizeof t->stmt);
    if (sqlite3_close(t->db) != SQLITE_OK && !is_failed(t)) fail(t, "close");
    t->db = NULL;
    int rc = is_failed(t) ? -1 : 0;
    if (rc != 0 && err != NULL) snprintf(err, err_len, "%s", t->err);
    writer_free(t);
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

int trace_write_run(trace_writer *t, const char *scenario_name, const char *scenario_json,
                    uint64_t seed, const char *overrides_json, int64_t until_us,
                    const char *version) {
    assert(t != NULL && scenario_name != NULL && scenario_json != NULL && version != NULL);
    if (is_failed(t)) return -1;
    barrier(t);
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
    t->rows++;
    return 0;
}

int trace_write_node(trace_writer *t, int32_t id, const char *kind, const char *name) {
    assert(t != NULL && kind != NULL && name != NULL);
    if (is_failed(t)) return -1;
    barrier(t);
    sqlite3_stmt *st = t->stmt[STMT_NODE];
    sqlite3_bind_int(st, 1, id);
    bind_text(st, 2, kind);
    bind_text(st, 3, name);
    if (step(t, STMT_NODE, "write node") != 0) return -1;
    if (strcmp(kind, "broker") == 0) cluster_view_add_broker(&t->view, id);
    t->rows++;
    return 0;
}

int trace_write_message(trace_writer *t, const trace_message *m) {
    assert(t != NULL && m != NULL);
    assert(m->lost || m->deliver_us >= m->send_us);
    if (is_failed(t)) return -1;
    new_row(t, ROW_MESSAGE)->message = *m;
    row_done(t, -1);
    return 0;
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

static int write_keyframe(trace_writer *t, int64_t t_us) {
    char *json = cluster_view_to_json(&t->view);
    if (json == NULL) return fail_text(t, "trace: keyframe: out of memory");
    row *r = new_row(t, ROW_KEYFRAME);
    r->keyframe.t_us = t_us;
    r->keyframe.events_applied = t->events_written;
    r->keyframe.json = batch_text(t->filling, json);
    free(json);
    t->keyframe_written = 1;
    row_done(t, t_us);
    return 0;
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
    if (is_failed(t)) return -1;
    if (t_us < t->event_last_us) return 0;
    t->event_last_us = t_us;
    return keyframes_before(t, t_us);
}

int trace_write_event(trace_writer *t, int64_t t_us, uint64_t seq, const observe_event *ev) {
    assert(t != NULL && ev != NULL);
    assert(t_us >= 0 && t_us >= t->event_last_us); /* engine order */
    if (is_failed(t)) return -1;
    t->event_last_us = t_us;
    if (keyframes_before(t, t_us) != 0) return -1;
    char isr_buf[TRACE_ISR_TEXT_BYTES_MAX];
    row *r = new_row(t, ROW_EVENT);
    r->event.t_us = t_us;
    r->event.seq = seq;
    r->event.ev = *ev;
    r->event.ev.topic = r->event.ev.detail = NULL; /* copied below */
    r->event.ev.isr = NULL;
    r->event.ev.batch = NULL;
    batch *b = t->filling;
    r->event.topic = batch_text(b, ev->topic);
    r->event.isr = batch_text(b, isr_text(ev, isr_buf, sizeof isr_buf));
    r->event.detail = batch_text(b, ev->detail);
    t->events_written++;
    cluster_view_apply(&t->view, t_us, ev);
    row_done(t, t_us);
    return 0;
}

int trace_write_action(trace_writer *t, int64_t t_us, uint64_t seq, const char *origin,
                       const char *action_json) {
    assert(t != NULL && origin != NULL && action_json != NULL);
    assert(strlen(origin) < sizeof((trace_action *)NULL)->origin);
    if (is_failed(t)) return -1;
    row *r = new_row(t, ROW_ACTION);
    r->action.t_us = t_us;
    r->action.seq = seq;
    r->action.origin = batch_text(t->filling, origin);
    r->action.json = batch_text(t->filling, action_json);
    row_done(t, t_us);
    return 0;
}

int trace_write_finish(trace_writer *t, int64_t end_us, const char *digest_hex,
                       const char *summary_json) {
    assert(t != NULL && digest_hex != NULL);
    if (is_failed(t)) return -1;
    if (!t->keyframe_written && write_keyframe(t, 0) != 0) return -1;
    if (write_keyframe(t, end_us) != 0) return -1;
    barrier(t);
    if (is_failed(t)) return -1;
    sqlite3_stmt *st = t->stmt[STMT_FINISH];
    sqlite3_bind_int64(st, 1, end_us);
    bind_text(st, 2, digest_hex);
    bind_text(st, 3, summary_json);
    if (step(t, STMT_FINISH, "write finish") != 0) return -1;
    if (sqlite3_changes(t->db) != 1) return fail_text(t, "trace: finish before trace_write_run");
    t->rows++;
    return 0;
}
