/*
 * group_coordinator.c — the registry of groups this broker coordinates, their
 * offsets partitions, loading, durable writes, timers and held answers.
 *
 * Ownership follows leadership.  When this broker becomes leader of offsets
 * partition P at epoch E it starts LOADING P and remembers the log end L it had
 * then; P is LOADED once P's high watermark reaches L and every in-sync follower
 * has confirmed it by fetching at or past L in epoch E — the new leader serves
 * only state committed under its own leadership, and everything a previous
 * leader acknowledged lies below L — and loading reads P from its log start to
 * the high watermark: the
 * latest record per key wins and tombstones delete.  Until then requests for
 * P's groups get COORDINATOR_LOAD_IN_PROGRESS.  When leadership moves away (or
 * the epoch changes) P's groups are dropped and held requests get
 * NOT_COORDINATOR.
 *
 * Writes (offset commits, completed generations) are RecordBatches the leader
 * appends to P like an acks=all produce: they complete when the high watermark
 * passes them, fail when leadership is lost, and time out after
 * offsets.commit.timeout.ms.  The in-memory state changes only once durable.
 *
 * Deadlines: next_deadline_us is a lower bound kept cheaply — lowered whenever
 * something earlier is armed, recomputed by scanning only when the timer fires.
 */
#include "group_coordinator.h"
#include "kafka_errors.gen.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int64_t now_us(const broker *b) {
    return broker_env_now_us(&b->env);
}

static void *xrealloc(void *p, size_t bytes) {
    p = realloc(p, bytes ? bytes : 1);
    if (!p) abort();
    return p;
}

group_coordinator *group_coordinator_create(void) {
    group_coordinator *gc = xrealloc(NULL, sizeof *gc);
    memset(gc, 0, sizeof *gc);
    gc->next_deadline_us = INT64_MAX;
    wire_writer_init(&gc->out);
    offsets_batch_init(&gc->batch);
    arena_init(&gc->scratch);
    return gc;
}

void group_write_release(group_write *w) {
    for (int32_t i = 0; i < w->offset_count; i++) {
        free(w->offsets[i].topic);
        free(w->offsets[i].metadata);
    }
    free(w->offsets);
    free(w->group_id);
    memset(w, 0, sizeof *w);
}

void group_coordinator_destroy(group_coordinator *gc) {
    if (!gc) return;
    for (int32_t i = 0; i < gc->group_count; i++) group_destroy(gc->groups[i]);
    free(gc->groups);
    for (int32_t i = 0; i < gc->write_count; i++) group_write_release(&gc->writes[i]);
    free(gc->writes);
    free(gc->parts);
    free(gc->resume);
    wire_writer_deinit(&gc->out);
    offsets_batch_deinit(&gc->batch);
    arena_deinit(&gc->scratch);
    free(gc);
}

void group_coordinator_note_deadline(broker *b, int64_t at_us) {
    if (at_us < b->groups->next_deadline_us) b->groups->next_deadline_us = at_us;
}

int64_t group_coordinator_next_deadline_us(const broker *b) {
    return b->groups->next_deadline_us;
}

/* ---- the offsets topic ------------------------------------------------------------- */

broker_topic *group_coordinator_offsets_topic(broker *b) {
    kafka_str name = kafka_str_c(OFFSETS_TOPIC_NAME);
    broker_topic *t = broker_topic_find(b, name);
    if (t) return t;
    int32_t rf =
        b->cfg.node_count < 3 ? b->cfg.node_count : 3; /* offsets.topic.replication.factor */
    if (!broker_quorum_enabled(b)) {
        broker_topic_config tc = {.name = OFFSETS_TOPIC_NAME,
                                  .partitions = b->cfg.offsets_topic_partitions,
                                  .replication_factor = rf};
        broker_topic_add_static(b, &tc);
        return broker_topic_find(b, name);
    }
    broker_quorum_request_topic_sized(b, name, b->cfg.offsets_topic_partitions, rf);
    return NULL;
}

static group_partition *partition_state(broker *b, int32_t index) {
    group_coordinator *gc = b->groups;
    if (index >= gc->part_count) {
        gc->parts = xrealloc(gc->parts, (size_t)(index + 1) * sizeof *gc->parts);
        memset(&gc->parts[gc->part_count], 0,
               (size_t)(index + 1 - gc->part_count) * sizeof *gc->parts);
        gc->part_count = index + 1;
    }
    return &gc->parts[index];
}

static broker_partition *offsets_partition(broker *b, int32_t index) {
    return broker_partition_find(b, kafka_str_c(OFFSETS_TOPIC_NAME), index);
}

int16_t group_coordinator_owns(broker *b, kafka_str group_id, int32_t *partition) {
    broker_topic *t = broker_topic_find(b, kafka_str_c(OFFSETS_TOPIC_NAME));
    if (!t || t->partition_count <= 0) return KAFKA_ERROR_NOT_COORDINATOR;
    int32_t index = offsets_topic_partition_for(group_id, t->partition_count);
    *partition = index;
    const group_partition *gp = index < b->groups->part_count ? &b->groups->parts[index] : NULL;
    if (!gp || gp->state == GROUP_PARTITION_NONE) return KAFKA_ERROR_NOT_COORDINATOR;
    if (gp->state == GROUP_PARTITION_LOADING) return KAFKA_ERROR_COORDINATOR_LOAD_IN_PROGRESS;
    return KAFKA_ERROR_NONE;
}

group *group_coordinator_find(broker *b, kafka_str group_id) {
    group_coordinator *gc = b->groups;
    for (int32_t i = 0; i < gc->group_count; i++) {
        const char *id = gc->groups[i]->id;
        if (group_id.len >= 0 && strlen(id) == (size_t)group_id.len &&
            memcmp(id, group_id.ptr, (size_t)group_id.len) == 0)
            return gc->groups[i];
    }
    return NULL;
}

group *group_coordinator_add(broker *b, kafka_str group_id, int32_t partition) {
    group_coordinator *gc = b->groups;
    assert(group_coordinator_find(b, group_id) == NULL);
    if (gc->group_count == gc->group_cap) {
        gc->group_cap = gc->group_cap ? gc->group_cap * 2 : 8;
        gc->groups = xrealloc(gc->groups, (size_t)gc->group_cap * sizeof *gc->groups);
    }
    group *g = group_create(group_id, partition);
    gc->groups[gc->group_count++] = g;
    return g;
}

static void group_drop(broker *b, int32_t index) {
    group_coordinator *gc = b->groups;
    group_destroy(gc->groups[index]);
    memmove(&gc->groups[index], &gc->groups[index + 1],
            (size_t)(gc->group_count - index - 1) * sizeof *gc->groups);
    gc->group_count--;
}

/* ---- held answers ------------------------------------------------------------------- */

void group_coordinator_park(broker *b, broker_conn *c, const broker_request *req,
                            group_held *held) {
    assert(c->parked == BROKER_PARK_NONE && req->api_version >= 0);
    broker_conn_park(b, c, BROKER_PARK_GROUP,
                     INT64_MAX); /* the coordinator keeps its own deadlines */
    *held = (group_held){
        .conn = c->id, .correlation_id = req->correlation_id, .api_version = req->api_version};
}

static void resume_later(group_coordinator *gc, conn_id conn) {
    if (gc->resume_count == gc->resume_cap) {
        gc->resume_cap = gc->resume_cap ? gc->resume_cap * 2 : 8;
        gc->resume = xrealloc(gc->resume, (size_t)gc->resume_cap * sizeof *gc->resume);
    }
    gc->resume[gc->resume_count++] = conn;
}

void group_coordinator_reply(broker *b, group_held *held, int16_t api_key, group_encode_fn *encode,
                             const void *msg) {
    conn_id id = held->conn;
    held->conn = 0;
    if (id == 0) return;
    broker_conn *c = broker_conn_find(b, id);
    if (!c || c->parked != BROKER_PARK_GROUP) return;
    wire_writer *w = &b->groups->out;
    wire_writer_reset(w);
    wire_put_i32(w, 0);
    wire_put_i32(w, held->correlation_id);
    if (kafka_response_header_version(api_key, held->api_version) >= 1) wire_put_uvarint(w, 0);
    encode(msg, w, held->api_version);
    wire_patch_i32(w, 0, (int32_t)(w->len - 4));
    b->env.send(b->env.ctx, id, w->data, w->len);
    broker_conn_unpark(b, c);
    resume_later(b->groups, id);
    b->wake_pending = 1;
}

static void forget_held(group_held *h, conn_id conn) {
    if (h->conn == conn) h->conn = 0;
}

void group_coordinator_conn_closed(broker *b, conn_id conn) {
    group_coordinator *gc = b->groups;
    for (int32_t i = 0; i < gc->group_count; i++) {
        group *g = gc->groups[i];
        for (int32_t k = 0; k < g->member_count; k++) {
            forget_held(&g->members[k].join, conn);
            forget_held(&g->members[k].sync, conn);
        }
    }
    for (int32_t i = 0; i < gc->write_count; i++) forget_held(&gc->writes[i].reply, conn);
}

static void resume_answered(broker *b) {
    group_coordinator *gc = b->groups;
    while (gc->resume_count > 0) {
        conn_id id = gc->resume[0];
        memmove(gc->resume, gc->resume + 1, (size_t)(gc->resume_count - 1) * sizeof *gc->resume);
        gc->resume_count--;
        broker_conn *c = broker_conn_find(b, id);
        if (c && c->parked == BROKER_PARK_NONE) broker_conn_serve_queued(b, c);
    }
}

/* ---- writes ------------------------------------------------------------------------- */

int16_t group_coordinator_append_error(int16_t error) {
    switch (error) {
    case KAFKA_ERROR_NONE:
        return KAFKA_ERROR_NONE;
    case KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION:
    case KAFKA_ERROR_NOT_ENOUGH_REPLICAS:
    case KAFKA_ERROR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case KAFKA_ERROR_REQUEST_TIMED_OUT:
        return KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    case KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER:
    case KAFKA_ERROR_KAFKA_STORAGE_ERROR:
        return KAFKA_ERROR_NOT_COORDINATOR;
    default:
        return KAFKA_ERROR_UNKNOWN_SERVER_ERROR;
    }
}

int16_t group_coordinator_write(broker *b, int32_t partition, group_write *w) {
    group_coordinator *gc = b->groups;
    assert(partition >= 0 && gc->batch.count > 0);
    broker_partition *p = offsets_partition(b, partition);
    if (!p || !p->hosted || p->leader != b->cfg.node_id)
        return group_coordinator_append_error(KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER);
    if (offsets_batch_finish(&gc->batch, b->env.epoch_ms(b->env.ctx)) != 0)
        return KAFKA_ERROR_UNKNOWN_SERVER_ERROR;
    int64_t base = -1, needed = -1;
    int16_t err = broker_partition_append(
        b, p, (kafka_bytes){gc->batch.batch, (int32_t)gc->batch.batch_len}, -1, &base, &needed);
    if (err != KAFKA_ERROR_NONE) return group_coordinator_append_error(err);
    if (!w) return KAFKA_ERROR_NONE; /* nobody waits (an emptied group's record) */
    w->partition = partition;
    w->leader_epoch = p->leader_epoch;
    w->offset_needed = needed;
    w->deadline_us = now_us(b) + GROUP_COMMIT_TIMEOUT_MS * 1000LL;
    if (gc->write_count == gc->write_cap) {
        gc->write_cap = gc->write_cap ? gc->write_cap * 2 : 8;
        gc->writes = xrealloc(gc->writes, (size_t)gc->write_cap * sizeof *gc->writes);
    }
    gc->writes[gc->write_count++] = *w;
    memset(w, 0, sizeof *w);
    group_coordinator_note_deadline(b, gc->writes[gc->write_count - 1].deadline_us);
    b->wake_pending = 1;
    return KAFKA_ERROR_NONE;
}

/* The OffsetCommit response, rebuilt from the write (topics in request order). */
static void reply_commit(broker *b, group_write *w) {
    if (w->reply.conn == 0) return;
    arena *a = &b->groups->scratch;
    arena_reset(a);
    int32_t topics = 0;
    for (int32_t i = 0; i < w->offset_count; i++)
        if (w->offsets[i].topic_index + 1 > topics) topics = w->offsets[i].topic_index + 1;
    kafka_offset_commit_response resp;
    kafka_offset_commit_response_init(&resp);
    resp.topics = arena_alloc(a, (size_t)(topics + 1) * sizeof *resp.topics);
    resp.topics_count = topics;
    for (int32_t t = 0; t < topics; t++) {
        kafka_offset_commit_response_offset_commit_response_topic *rt = &resp.topics[t];
        kafka_offset_commit_response_offset_commit_response_topic_init(rt);
        rt->partitions = arena_alloc(a, (size_t)(w->offset_count + 1) * sizeof *rt->partitions);
        for (int32_t i = 0; i < w->offset_count; i++) {
            const group_write_offset *o = &w->offsets[i];
            if (o->topic_index != t) continue;
            rt->name = kafka_str_c(o->topic);
            kafka_offset_commit_response_offset_commit_response_partition *rp =
                &rt->partitions[rt->partitions_count++];
            kafka_offset_commit_response_offset_commit_response_partition_init(rp);
            rp->partition_index = o->partition;
            rp->error_code = o->error;
        }
    }
    group_coordinator_reply(b, &w->reply, KAFKA_API_OFFSET_COMMIT,
                            (group_encode_fn *)kafka_offset_commit_response_encode, &resp);
}

static void commit_durable(broker *b, group_write *w) {
    group *g = group_coordinator_find(b, kafka_str_c(w->group_id));
    for (int32_t i = 0; i < w->offset_count; i++) {
        const group_write_offset *o = &w->offsets[i];
        if (o->error != KAFKA_ERROR_NONE) continue;
        if (g && g->state != GROUP_DEAD)
            group_offset_put(g, kafka_str_c(o->topic), o->partition, o->offset, o->leader_epoch,
                             kafka_str_c(o->metadata), o->commit_timestamp_ms,
                             o->expire_timestamp_ms);
        broker_observe(b, &(observe_event){.kind = OBSERVE_COMMIT,
                                           .node = b->cfg.node_id,
                                           .topic = o->topic,
                                           .partition = o->partition,
                                           .offset = o->offset,
                                           .leader_epoch = o->leader_epoch,
                                           .detail = w->group_id});
    }
}

void group_coordinator_commit_done(broker *b, group_write *w, int16_t error) {
    assert(w->kind == GROUP_WRITE_OFFSETS);
    for (int32_t i = 0; i < w->offset_count; i++)
        if (w->offsets[i].error == KAFKA_ERROR_NONE) w->offsets[i].error = error;
    if (error == KAFKA_ERROR_NONE) commit_durable(b, w);
    reply_commit(b, w);
}

static void write_complete(broker *b, group_write *w, int16_t append_error) {
    int16_t error = group_coordinator_append_error(append_error);
    if (w->kind == GROUP_WRITE_OFFSETS) {
        group_coordinator_commit_done(b, w, error);
        return;
    }
    group *g = group_coordinator_find(b, kafka_str_c(w->group_id));
    if (g) group_generation_stored(b, g, w->generation, error);
}

/* The append error a waiting write has come to, or -1 while it still waits. */
static int32_t write_status(broker *b, const group_write *w, int64_t now) {
    broker_partition *p = offsets_partition(b, w->partition);
    if (!p || p->leader != b->cfg.node_id || p->leader_epoch != w->leader_epoch)
        return KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER;
    if (p->high_watermark >= w->offset_needed)
        return p->isr_count < b->cfg.min_insync_replicas
                   ? KAFKA_ERROR_NOT_ENOUGH_REPLICAS_AFTER_APPEND
                   : KAFKA_ERROR_NONE;
    if (now >= w->deadline_us) return KAFKA_ERROR_REQUEST_TIMED_OUT;
    return -1;
}

/* Removes write i from the pending list and answers it with error. */
static void take_write(broker *b, int32_t i, int16_t error) {
    group_coordinator *gc = b->groups;
    assert(i >= 0 && i < gc->write_count);
    group_write w = gc->writes[i];
    memmove(&gc->writes[i], &gc->writes[i + 1],
            (size_t)(gc->write_count - i - 1) * sizeof *gc->writes);
    gc->write_count--;
    write_complete(b, &w, error);
    group_write_release(&w);
}

static void resolve_writes(broker *b) {
    group_coordinator *gc = b->groups;
    int64_t now = now_us(b);
    for (int32_t i = 0; i < gc->write_count;) {
        int32_t status = write_status(b, &gc->writes[i], now);
        if (status < 0) {
            i++;
            continue;
        }
        take_write(b, i, (int16_t)status);
    }
}

/* ---- loading and unloading ----------------------------------------------------------- */

typedef struct load_ctx {
    broker *b;
    int32_t partition;
    int64_t high_watermark;
    int64_t next_offset;
} load_ctx;

static group *load_group(load_ctx *ctx, kafka_str id) {
    group *g = group_coordinator_find(ctx->b, id);
    return g ? g : group_coordinator_add(ctx->b, id, ctx->partition);
}

static void load_group_record(load_ctx *ctx, const offsets_record *rec) {
    kafka_str id = rec->group_key.group;
    if (rec->tombstone) {
        group_coordinator *gc = ctx->b->groups;
        group *g = group_coordinator_find(ctx->b, id);
        int32_t i = 0;
        while (g && gc->groups[i] != g) i++;
        if (g) group_drop(ctx->b, i);
        return;
    }
    const kafka_group_metadata_value *v = &rec->group_value;
    group *g = load_group(ctx, id);
    while (g->member_count > 0) group_member_remove(g, &g->members[g->member_count - 1]);
    group_set_str(&g->protocol_type, v->protocol_type);
    group_set_str(&g->protocol_name, v->protocol);
    g->generation = v->generation;
    for (int32_t i = 0; i < v->members_count; i++)
        group_member_restore(g, &v->members[i], v->protocol);
    group_set_str(&g->leader_id, v->leader);
    if (g->member_count == 0)
        group_set_str(&g->leader_id, (kafka_str){NULL, -1});
    else if (!g->leader_id || !group_member_find(g, kafka_str_c(g->leader_id)))
        group_set_str(&g->leader_id, kafka_str_c(g->members[0].member_id)); /* a damaged record */
}

static void load_record(load_ctx *ctx, const record_batch_record *r) {
    offsets_record rec;
    if (offsets_record_decode(r, &rec, &ctx->b->groups->scratch) != 0) return; /* skipped */
    if (rec.kind == OFFSETS_RECORD_GROUP) {
        load_group_record(ctx, &rec);
        return;
    }
    const kafka_offset_commit_key *k = &rec.offset_key;
    if (rec.tombstone) {
        group *g = group_coordinator_find(ctx->b, k->group);
        if (g) group_offset_delete(g, k->topic, k->partition);
        return;
    }
    const kafka_offset_commit_value *v = &rec.offset_value;
    group_offset_put(load_group(ctx, k->group), k->topic, k->partition, v->offset, v->leader_epoch,
                     v->metadata, v->commit_timestamp, v->expire_timestamp);
}

static int load_batch(void *arg, const uint8_t *batch, size_t len) {
    load_ctx *ctx = arg;
    if (record_batch_base_offset(batch) >= ctx->high_watermark) return 1;
    ctx->next_offset = record_batch_last_offset(batch) + 1;
    record_batch_iter it;
    if (record_batch_attributes(batch) & RECORD_BATCH_CONTROL_BIT) return 0;
    if (record_batch_iter_init(&it, batch, len) != 0) return 0; /* compressed: not ours */
    record_batch_record r;
    arena_reset(&ctx->b->groups->scratch);
    while (record_batch_iter_next(&it, &r) == 1)
        if (r.offset < ctx->high_watermark) load_record(ctx, &r);
    return 0;
}

static void loaded(broker *b, int32_t partition) {
    group_coordinator *gc = b->groups;
    for (int32_t i = 0; i < gc->group_count; i++) {
        group *g = gc->groups[i];
        if (g->offsets_partition != partition) continue;
        g->state = g->member_count > 0 ? GROUP_STABLE : GROUP_EMPTY;
        for (int32_t k = 0; k < g->member_count; k++) group_session_renew(b, &g->members[k]);
        for (int32_t k = 0; k < g->offset_count; k++)
            broker_observe(b, &(observe_event){.kind = OBSERVE_OFFSET_LOAD,
                                               .node = b->cfg.node_id,
                                               .topic = g->offsets[k].topic,
                                               .partition = g->offsets[k].partition,
                                               .offset = g->offsets[k].offset,
                                               .leader_epoch = g->offsets[k].leader_epoch,
                                               .detail = g->id});
    }
}

static void load_partition(broker *b, broker_partition *p) {
    assert(p->hosted && p->leader == b->cfg.node_id);
    load_ctx ctx = {.b = b,
                    .partition = p->index,
                    .high_watermark = p->high_watermark,
                    .next_offset = partition_log_start_offset(&p->log)};
    partition_log_buf buf = {0};
    while (ctx.next_offset < ctx.high_watermark) {
        int64_t at = ctx.next_offset;
        if (partition_log_read(&p->log, at, GROUP_LOAD_READ_BYTES_MAX, &buf) != 0 || buf.len == 0)
            break;
        record_batch_split(buf.bytes, buf.len, load_batch, &ctx);
        if (ctx.next_offset <= at) break; /* no progress: a damaged tail */
    }
    partition_log_buf_free(&buf);
    loaded(b, p->index);
}

/* Loading may finish once this leader's own high watermark, confirmed in its
 * epoch by every in-sync follower's fetch, has reached the log end it had when
 * it became leader (a follower's stale high watermark does not count). */
static int committed_to_load_end(const broker *b, const broker_partition *p, int64_t load_end) {
    if (p->high_watermark < load_end) return 0;
    for (int32_t i = 0; i < p->isr_count; i++) {
        if (p->isr[i] == b->cfg.node_id) continue;
        int confirmed = 0;
        for (int32_t k = 0; k < p->follower_count; k++)
            if (p->followers[k].node == p->isr[i])
                confirmed = p->followers[k].log_end_offset >= load_end;
        if (!confirmed) return 0;
    }
    return 1;
}

static void finish_loads(broker *b) {
    group_coordinator *gc = b->groups;
    for (int32_t i = 0; i < gc->part_count && gc->loading_count > 0; i++) {
        group_partition *gp = &gc->parts[i];
        if (gp->state != GROUP_PARTITION_LOADING) continue;
        broker_partition *p = offsets_partition(b, i);
        assert(p && p->leader == b->cfg.node_id);
        if (!committed_to_load_end(b, p, gp->load_end_offset)) continue;
        gp->state = GROUP_PARTITION_LOADED;
        gc->loading_count--;
        load_partition(b, p);
    }
}

static void unload(broker *b, int32_t partition) {
    group_coordinator *gc = b->groups;
    assert(partition >= 0 && partition < gc->part_count);
    group_partition *gp = &gc->parts[partition];
    assert(gp->state != GROUP_PARTITION_NONE);
    if (gp->state == GROUP_PARTITION_LOADING) gc->loading_count--;
    gp->state = GROUP_PARTITION_NONE;
    for (int32_t i = 0; i < gc->write_count;) {
        if (gc->writes[i].partition != partition) {
            i++;
            continue;
        }
        take_write(b, i, KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER);
    }
    for (int32_t i = 0; i < gc->group_count;) {
        group *g = gc->groups[i];
        if (g->offsets_partition != partition) {
            i++;
            continue;
        }
        g->state = GROUP_DEAD;
        group_fail_held(b, g, KAFKA_ERROR_NOT_COORDINATOR);
        group_drop(b, i);
    }
}

void group_coordinator_partition_moved(broker *b, broker_partition *p) {
    group_partition *gp = partition_state(b, p->index);
    int leading = p->hosted && p->leader == b->cfg.node_id;
    if (gp->state != GROUP_PARTITION_NONE && (!leading || gp->leader_epoch != p->leader_epoch))
        unload(b, p->index);
    if (!leading || gp->state != GROUP_PARTITION_NONE) return;
    gp->state = GROUP_PARTITION_LOADING;
    gp->leader_epoch = p->leader_epoch;
    gp->load_end_offset = partition_log_end_offset(&p->log);
    b->groups->loading_count++;
    b->wake_pending = 1;
}

/* ---- driver hooks --------------------------------------------------------------------- */

void group_coordinator_deferred_run(broker *b) {
    group_coordinator *gc = b->groups;
    if (gc->loading_count > 0) finish_loads(b);
    if (gc->write_count > 0) resolve_writes(b);
    if (gc->resume_count > 0) resume_answered(b);
}

static int64_t group_next_deadline(const group *g) {
    int64_t at = g->state == GROUP_PREPARING_REBALANCE ? g->join_deadline_us : INT64_MAX;
    for (int32_t i = 0; i < g->member_count; i++) {
        const group_member *m = &g->members[i];
        if (!m->awaiting_join && !m->awaiting_sync && m->session_deadline_us < at)
            at = m->session_deadline_us;
    }
    for (int32_t i = 0; i < g->pending_count; i++)
        if (g->pending[i].deadline_us < at) at = g->pending[i].deadline_us;
    return at;
}

void group_coordinator_on_timer(broker *b) {
    group_coordinator *gc = b->groups;
    int64_t now = now_us(b);
    if (now < gc->next_deadline_us) return;
    if (gc->write_count > 0) resolve_writes(b);
    for (int32_t i = 0; i < gc->group_count; i++) {
        group *g = gc->groups[i];
        if (g->state == GROUP_PREPARING_REBALANCE && now >= g->join_deadline_us)
            group_join_deadline(b, g);
        group_expire_sessions(b, g, now);
    }
    int64_t at = INT64_MAX;
    for (int32_t i = 0; i < gc->write_count; i++)
        if (gc->writes[i].deadline_us < at) at = gc->writes[i].deadline_us;
    for (int32_t i = 0; i < gc->group_count; i++) {
        int64_t g_at = group_next_deadline(gc->groups[i]);
        if (g_at < at) at = g_at;
    }
    gc->next_deadline_us = at;
}

void broker_each_group(const broker *b, broker_group_fn *on_group,
                       broker_group_offset_fn *on_offset, void *arg) {
    const group_coordinator *gc = b->groups;
    for (int32_t i = 0; i < gc->group_count; i++) {
        const group *g = gc->groups[i];
        if (on_group) on_group(arg, g->id, group_state_name(g->state), g->member_count);
        for (int32_t k = 0; on_offset && k < g->offset_count; k++)
            on_offset(arg, g->id, g->offsets[k].topic, g->offsets[k].partition,
                      g->offsets[k].offset);
    }
}
