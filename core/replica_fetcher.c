/*
 * replica_fetcher.c — the follower's side of replication.
 *
 * For each leader it follows, a broker keeps one Fetch in flight on its fetcher
 * channel (replica id set, so the leader counts it for the ISR and the high
 * watermark), appends what comes back as is (offsets and epochs already set), and
 * takes the leader's high watermark, capped by its own log end.  Fetches go through
 * an incremental fetch session per leader (KIP-227, core/fetch_session.h): after the
 * first, a request lists only partitions whose log end moved, and the answer only
 * partitions with something new.
 *
 * Before fetching after a leader change, a follower finds where its log diverges
 * from the new leader's, as `cluster.truncation` says:
 * - leader-epoch (KIP-279): ask OffsetForLeaderEpoch for our latest epoch; when the
 *   leader answers with an older epoch, also look that epoch up in our own cache
 *   and cut at the smaller of the two end offsets;
 * - epoch-single (KIP-101 as first shipped): cut at the leader's answer alone;
 * - high-watermark (before KIP-101): cut at our high watermark (done when the
 *   follower role starts, in replication.c).
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "broker_internal.h"
#include "kafka_errors.gen.h"
#include "record_batch.h"

#define FETCH_VERSION 11
#define EPOCH_VERSION 3
#define FETCH_MAX_WAIT_MS 500 /* replica.fetch.wait.max.ms */
#define FETCH_MAX_BYTES (10 * 1024 * 1024)
#define FETCH_PARTITION_MAX_BYTES (1024 * 1024)
#define FETCH_RETRY_US 100000
#define FETCH_TIMEOUT_US 30000000
#define TAG_FETCH 1
#define TAG_EPOCH 2
#define GATHER_MAX 256

static int64_t now_us(const broker *b) {
    return broker_env_now_us(&b->env);
}

static int channel_busy(const peer_channel *pc, int16_t api_key) {
    for (int32_t i = 0; i < pc->inflight_count; i++)
        if (pc->inflight[i].api_key == api_key) return 1;
    return 0;
}

typedef struct gather {
    int32_t leader;
    enum broker_follower_state state;
    broker_partition *parts[GATHER_MAX];
    uint8_t new_topic[GATHER_MAX]; /* parts[i] is of another topic than parts[i - 1] */
    int32_t last_topic;            /* parts[count - 1]'s index in b->topics */
    int32_t count;
} gather;

/* ---- requests ------------------------------------------------------------------- */

static void encode_epoch(const void *body, wire_writer *w, int16_t version) {
    kafka_offset_for_leader_epoch_request_encode(body, w, version);
}
static void encode_fetch(const void *body, wire_writer *w, int16_t version) {
    kafka_fetch_request_encode(body, w, version);
}

/* Requests are grouped by topic; partitions of one topic are adjacent in g (it is
 * filled in topic table order). */
static int32_t topic_runs(const gather *g, int32_t *starts) {
    int32_t runs = 0;
    for (int32_t i = 0; i < g->count; i++)
        if (i == 0 || g->new_topic[i]) starts[runs++] = i;
#if defined(__SANITIZE_ADDRESS__) /* the sanitizer builds check the flags against the names */
    for (int32_t i = 1; i < g->count; i++)
        assert(!g->new_topic[i] == !strcmp(g->parts[i]->topic, g->parts[i - 1]->topic));
#endif
    starts[runs] = g->count;
    return runs;
}

static void send_epoch_requests(broker *b, peer_channel *pc, gather *g) {
    kafka_offset_for_leader_epoch_request_offset_for_leader_partition parts[GATHER_MAX];
    kafka_offset_for_leader_epoch_request_offset_for_leader_topic topics[GATHER_MAX];
    int32_t starts[GATHER_MAX + 1], runs = topic_runs(g, starts);
    for (int32_t i = 0; i < g->count; i++) {
        kafka_offset_for_leader_epoch_request_offset_for_leader_partition_init(&parts[i]);
        parts[i].partition = g->parts[i]->index;
        parts[i].current_leader_epoch = g->parts[i]->leader_epoch;
        parts[i].leader_epoch = g->parts[i]->truncation_epoch;
    }
    for (int32_t t = 0; t < runs; t++) {
        kafka_offset_for_leader_epoch_request_offset_for_leader_topic_init(&topics[t]);
        topics[t].topic = kafka_str_c(g->parts[starts[t]]->topic);
        topics[t].partitions = &parts[starts[t]];
        topics[t].partitions_count = starts[t + 1] - starts[t];
    }
    kafka_offset_for_leader_epoch_request req;
    kafka_offset_for_leader_epoch_request_init(&req);
    req.replica_id = b->cfg.node_id;
    req.topics = topics;
    req.topics_count = runs;
    if (peer_channel_send(pc, &b->env, &b->request_out, KAFKA_API_OFFSET_FOR_LEADER_EPOCH,
                          EPOCH_VERSION, &req, encode_epoch, TAG_EPOCH, 1, FETCH_TIMEOUT_US) == 0)
        for (int32_t i = 0; i < g->count; i++) {
            g->parts[i]->fetch_inflight = TAG_EPOCH;
            g->parts[i]->fetch_from = pc->node;
        }
}

static void send_fetch(broker *b, peer_channel *pc, fetch_session_handler *h, gather *g) {
    kafka_fetch_request_fetch_partition parts[GATHER_MAX];
    kafka_fetch_request_fetch_topic topics[GATHER_MAX];
    int32_t starts[GATHER_MAX + 1], runs = topic_runs(g, starts);
    for (int32_t i = 0; i < g->count; i++) {
        broker_partition *p = g->parts[i];
        kafka_fetch_request_fetch_partition_init(&parts[i]);
        parts[i].partition = p->index;
        parts[i].current_leader_epoch = p->leader_epoch;
        parts[i].fetch_offset = partition_log_end_offset(&p->log);
        parts[i].log_start_offset = partition_log_start_offset(&p->log);
        parts[i].partition_max_bytes = FETCH_PARTITION_MAX_BYTES;
    }
    for (int32_t t = 0; t < runs; t++) {
        kafka_fetch_request_fetch_topic_init(&topics[t]);
        topics[t].topic = kafka_str_c(g->parts[starts[t]]->topic);
        topics[t].partitions = &parts[starts[t]];
        topics[t].partitions_count = starts[t + 1] - starts[t];
    }
    kafka_fetch_request req;
    kafka_fetch_request_init(&req);
    req.replica_id = b->cfg.node_id;
    req.max_wait_ms = FETCH_MAX_WAIT_MS;
    req.min_bytes = 1;
    req.max_bytes = FETCH_MAX_BYTES;
    req.topics = topics;
    req.topics_count = runs;
    req.rack_id = kafka_str_c("");
    fetch_session_handler_build(h, &req); /* only what changed, once a session is open */
    if (peer_channel_send(pc, &b->env, &b->request_out, KAFKA_API_FETCH, FETCH_VERSION, &req,
                          encode_fetch, TAG_FETCH, 1, FETCH_TIMEOUT_US) != 0) {
        fetch_session_handler_failed(h); /* the session never saw it */
        return;
    }
    for (int32_t i = 0; i < g->count; i++) {
        g->parts[i]->fetch_inflight = TAG_FETCH;
        g->parts[i]->fetch_from = pc->node;
    }
}

/* Every partition waiting on a leader, by leader and by what it waits to send; one
 * pass over the partitions (this runs after most events). */
typedef struct pump_plan {
    gather truncating[BROKER_NODES_MAX];
    gather fetching[BROKER_NODES_MAX];
} pump_plan;

static void plan_one(broker *b, broker_partition *p, int32_t topic, pump_plan *plan) {
    if (!p->hosted || p->leader == b->cfg.node_id || p->leader < 0 || p->fetch_inflight) return;
    for (int32_t i = 0; i < b->cfg.node_count; i++) {
        if (b->cfg.nodes[i].node_id != p->leader) continue;
        gather *g =
            p->follower_state == FOLLOWER_TRUNCATING ? &plan->truncating[i] : &plan->fetching[i];
        if (g->count < GATHER_MAX) {
            g->new_topic[g->count] = g->count == 0 || topic != g->last_topic;
            g->last_topic = topic;
            g->parts[g->count++] = p;
        }
        return;
    }
}

void replica_fetcher_pump(broker *b) {
    int64_t now = now_us(b);
    static_assert(sizeof(pump_plan) < 96 * 1024, "the plan lives on the stack");
    pump_plan plan;
    for (int32_t i = 0; i < b->cfg.node_count; i++) { /* field by field: parts[] stays raw */
        plan.truncating[i].leader = plan.fetching[i].leader = b->cfg.nodes[i].node_id;
        plan.truncating[i].state = FOLLOWER_TRUNCATING;
        plan.fetching[i].state = FOLLOWER_FETCHING;
        plan.truncating[i].count = plan.fetching[i].count = 0;
    }
    for (int32_t t = 0; t < b->topic_count; t++) /* as broker_each_partition, no calls */
        for (int32_t i = 0; i < b->topics[t].partition_count; i++)
            plan_one(b, &b->topics[t].partitions[i], t, &plan);
    for (int32_t i = 0; i < b->cfg.node_count; i++) {
        int32_t leader = b->cfg.nodes[i].node_id;
        if (leader == b->cfg.node_id || now < b->fetch_retry_at_us[i]) continue;
        peer_channel *pc = &b->channels[CHANNEL_FETCHER][i];
        gather *g = &plan.truncating[i], *f = &plan.fetching[i];
        if (channel_busy(pc, KAFKA_API_FETCH)) f->count = 0;
        if (g->count == 0 && f->count == 0) continue;
        if (!peer_channel_ready(pc, &b->env)) continue; /* connecting; on_connected pumps again */
        if (g->count && !channel_busy(pc, KAFKA_API_OFFSET_FOR_LEADER_EPOCH))
            send_epoch_requests(b, pc, g);
        if (f->count) send_fetch(b, pc, &b->fetcher_sessions[i], f);
    }
}

/* ---- truncation ---------------------------------------------------------------------- */

static void truncate_to(broker *b, broker_partition *p, int64_t offset) {
    int64_t before = partition_log_end_offset(&p->log);
    if (offset >= before) return;
    if (offset < 0) offset = 0;
    broker_partition_truncate(p, offset);
    if (p->high_watermark > partition_log_end_offset(&p->log))
        p->high_watermark = partition_log_end_offset(&p->log);
    broker_observe(b, &(observe_event){.kind = OBSERVE_TRUNCATE,
                                       .node = b->cfg.node_id,
                                       .topic = p->topic,
                                       .partition = p->index,
                                       .offset = partition_log_end_offset(&p->log),
                                       .offset_last = before});
}

static void apply_epoch_answer(broker *b, broker_partition *p,
                               const kafka_offset_for_leader_epoch_response_epoch_end_offset *e) {
    if (e->error_code != KAFKA_ERROR_NONE) return; /* retried after the next metadata */
    int64_t cut = e->end_offset;
    if (e->leader_epoch < 0 || cut < 0)
        cut = p->high_watermark; /* the leader knows no epoch */
    else if (b->cfg.truncation == BROKER_TRUNCATION_LEADER_EPOCH &&
             e->leader_epoch < p->truncation_epoch) {
        /* KIP-279: the leader never saw our epoch; where does ITS epoch end in our log? */
        int32_t own_epoch = -1;
        int64_t own_end = -1;
        partition_log_end_offset_for_epoch(&p->log, e->leader_epoch, &own_epoch, &own_end);
        if (own_end >= 0 && own_end < cut) cut = own_end;
    }
    truncate_to(b, p, cut);
    p->follower_state = FOLLOWER_FETCHING;
}

static void on_epoch_response(broker *b, int32_t leader, wire_reader *r) {
    kafka_offset_for_leader_epoch_response resp;
    kafka_offset_for_leader_epoch_response_init(&resp);
    arena a;
    arena_init(&a);
    int ok = r && kafka_offset_for_leader_epoch_response_decode(&resp, r, EPOCH_VERSION, &a) == 0;
    for (int32_t t = 0; ok && t < resp.topics_count; t++)
        for (int32_t k = 0; k < resp.topics[t].partitions_count; k++) {
            broker_partition *p = broker_partition_find(b, resp.topics[t].topic,
                                                        resp.topics[t].partitions[k].partition);
            if (p && p->hosted && p->leader == leader && p->follower_state == FOLLOWER_TRUNCATING)
                apply_epoch_answer(b, p, &resp.topics[t].partitions[k]);
        }
    arena_deinit(&a);
}

/* ---- fetched data ------------------------------------------------------------------------- */

typedef struct append_ctx {
    broker *b;
    broker_partition *p;
    int failed;
} append_ctx;

static int append_batch(void *arg, const uint8_t *batch, size_t len) {
    append_ctx *ctx = arg;
    broker_partition *p = ctx->p;
    if (record_batch_base_offset(batch) != partition_log_end_offset(&p->log) ||
        partition_log_append_replica(&p->log, batch, len) != 0) {
        ctx->failed = 1; /* not contiguous with our log: find the divergence again */
        return 1;
    }
    broker_partition_note_append(ctx->b, p, batch, len);
    return 0;
}

static void restart_truncation(broker_partition *p) {
    p->truncation_epoch = partition_log_last_epoch(&p->log);
    p->follower_state = p->truncation_epoch < 0 ? FOLLOWER_FETCHING : FOLLOWER_TRUNCATING;
}

/* Our whole log lies below the leader's log start (its retention deleted what we
 * miss): start again there, as Kafka's truncateFullyAndStartAt.  What lay below was
 * committed, so the high watermark may start there too. */
static void restart_at(broker *b, broker_partition *p, int64_t start_offset) {
    broker_partition_restart_at(p, start_offset);
    if (p->high_watermark < start_offset) p->high_watermark = start_offset;
    broker_partition_observe_log_start(b, p);
}

static void apply_fetched(broker *b, broker_partition *p,
                          const kafka_fetch_response_partition_data *d) {
    if (d->error_code == KAFKA_ERROR_OFFSET_OUT_OF_RANGE) {
        if (partition_log_end_offset(&p->log) < d->log_start_offset)
            restart_at(b, p, d->log_start_offset);
        else
            restart_truncation(p);
        return;
    }
    if (d->error_code != KAFKA_ERROR_NONE) return;
    if (d->records.len > 0) {
        append_ctx ctx = {b, p, 0};
        record_batch_split(d->records.ptr, (size_t)d->records.len, append_batch, &ctx);
        if (ctx.failed) restart_truncation(p);
        if (b->cfg.flush_interval_ms == 0) partition_log_sync(&p->log);
    }
    int64_t hw = d->high_watermark < partition_log_end_offset(&p->log)
                     ? d->high_watermark
                     : partition_log_end_offset(&p->log);
    if (hw > p->high_watermark) {
        p->high_watermark = hw;
        replication_hw_moved(b);
    }
}

static fetch_session_handler *session_of(broker *b, int32_t leader) {
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        if (b->cfg.nodes[i].node_id == leader) return &b->fetcher_sessions[i];
    return NULL;
}

/* Partitions an incremental response leaves out had nothing new. */
static void on_fetch_response(broker *b, int32_t leader, wire_reader *r) {
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    fetch_session_handler *h = session_of(b, leader);
    assert(h != NULL);
    /* decoded into the handler's scratch: the request built there is gone, and the
     * next one is built only after this returns (the pump is deferred) */
    arena_reset(&h->scratch);
    int ok = r && kafka_fetch_response_decode(&resp, r, FETCH_VERSION, &h->scratch) == 0;
    if (!ok)
        fetch_session_handler_failed(h); /* lost, or the connection went: start over */
    else if (!fetch_session_handler_response(h, &resp))
        ok = 0; /* a session error: the next fetch is full */
    for (int32_t t = 0; ok && t < resp.responses_count; t++)
        for (int32_t k = 0; k < resp.responses[t].partitions_count; k++) {
            const kafka_fetch_response_partition_data *d = &resp.responses[t].partitions[k];
            broker_partition *p =
                broker_partition_find(b, resp.responses[t].topic, d->partition_index);
            if (p && p->hosted && p->leader == leader && p->follower_state == FOLLOWER_FETCHING)
                apply_fetched(b, p, d);
        }
}

void replica_fetcher_on_response(broker *b, peer_channel *pc, int16_t api_key, uint64_t tag,
                                 wire_reader *r) {
    int32_t leader = pc->node;
    assert(tag == TAG_FETCH || tag == TAG_EPOCH);
    if (api_key == KAFKA_API_FETCH)
        on_fetch_response(b, leader, r);
    else
        on_epoch_response(b, leader, r);
    for (int32_t t = 0; t < b->topic_count; t++) /* as broker_each_partition, no calls */
        for (int32_t i = 0; i < b->topics[t].partition_count; i++) {
            broker_partition *p = &b->topics[t].partitions[i];
            if (p->fetch_inflight == (int)tag && p->fetch_from == leader) p->fetch_inflight = 0;
        }
    b->fetch_pump_pending = 1;
    if (!r)
        for (int32_t i = 0; i < b->cfg.node_count; i++)
            if (b->cfg.nodes[i].node_id == leader)
                b->fetch_retry_at_us[i] = now_us(b) + FETCH_RETRY_US;
}
