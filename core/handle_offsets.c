/*
 * handle_offsets.c — OffsetCommit (8) 2..7 and OffsetFetch (9) 1..5.
 *
 * A commit is checked as Kafka's doCommitOffsets checks it (a generation -1
 * commit to an empty or unknown group is a "simple" commit from a client that
 * only stores offsets), written as OffsetCommit records to the group's offsets
 * partition, and answered once the high watermark passes them; only then does
 * the coordinator's cache change and OBSERVE_COMMIT report it.
 */
#include "group_coordinator.h"
#include "kafka_errors.gen.h"

#include <stdlib.h>
#include <string.h>

typedef kafka_offset_commit_request_offset_commit_request_partition commit_partition;

/* Kafka's doCommitOffsets: may this request commit for the group? */
static int16_t commit_allowed(broker *b, group *g, const kafka_offset_commit_request *body) {
    if (g->state == GROUP_DEAD) return KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    if (body->generation_id_or_member_epoch < 0 && g->state == GROUP_EMPTY) return KAFKA_ERROR_NONE;
    if (g->state == GROUP_COMPLETING_REBALANCE) return KAFKA_ERROR_REBALANCE_IN_PROGRESS;
    group_member *m = group_member_find(g, body->member_id);
    if (!m) return KAFKA_ERROR_UNKNOWN_MEMBER_ID;
    if (body->generation_id_or_member_epoch != g->generation) return KAFKA_ERROR_ILLEGAL_GENERATION;
    group_session_renew(b, m);
    return KAFKA_ERROR_NONE;
}

static int16_t commit_check(broker *b, const kafka_offset_commit_request *body,
                            int32_t *partition) {
    if (body->group_id.len <= 0) return KAFKA_ERROR_INVALID_GROUP_ID;
    int16_t error = group_coordinator_owns(b, body->group_id, partition);
    if (error != KAFKA_ERROR_NONE) return error;
    group *g = group_coordinator_find(b, body->group_id);
    if (!g && body->generation_id_or_member_epoch >= 0) return KAFKA_ERROR_ILLEGAL_GENERATION;
    if (!g) g = group_coordinator_add(b, body->group_id, *partition);
    return commit_allowed(b, g, body);
}

/* Copies the request's partitions into w, each with `error` (or its own). */
static void fill_write(broker *b, const kafka_offset_commit_request *body, int16_t version,
                       int16_t error, group_write *w) {
    int32_t n = 0;
    for (int32_t t = 0; t < body->topics_count; t++)
        if (body->topics[t].partitions_count > 0) n += body->topics[t].partitions_count;
    w->offsets = calloc((size_t)(n + 1), sizeof *w->offsets);
    if (!w->offsets) abort();
    int64_t now_ms = b->env.epoch_ms(b->env.ctx);
    for (int32_t t = 0; t < body->topics_count; t++)
        for (int32_t i = 0; i < body->topics[t].partitions_count; i++) {
            const commit_partition *in = &body->topics[t].partitions[i];
            group_write_offset *o = &w->offsets[w->offset_count++];
            o->topic_index = t;
            o->topic = group_strdup(body->topics[t].name.len >= 0 ? body->topics[t].name
                                                                  : kafka_str_c(""));
            o->partition = in->partition_index;
            o->offset = in->committed_offset;
            o->leader_epoch = version >= 6 ? in->committed_leader_epoch : -1;
            o->metadata = group_strdup(in->committed_metadata.len >= 0 ? in->committed_metadata
                                                                       : kafka_str_c(""));
            o->commit_timestamp_ms = now_ms;
            o->expire_timestamp_ms = version <= 4 && body->retention_time_ms != -1
                                         ? now_ms + body->retention_time_ms
                                         : -1;
            o->error = error;
            if (error == KAFKA_ERROR_NONE && strlen(o->metadata) > GROUP_OFFSET_METADATA_BYTES_MAX)
                o->error = KAFKA_ERROR_OFFSET_METADATA_TOO_LARGE;
        }
}

/* The records of the partitions that passed the checks; 0 when there are none. */
static int32_t batch_offsets(broker *b, const group_write *w) {
    offsets_batch_reset(&b->groups->batch);
    int32_t n = 0;
    for (int32_t i = 0; i < w->offset_count; i++) {
        const group_write_offset *o = &w->offsets[i];
        if (o->error != KAFKA_ERROR_NONE) continue;
        kafka_offset_commit_value v;
        kafka_offset_commit_value_init(&v);
        v.offset = o->offset;
        v.leader_epoch = o->leader_epoch;
        v.metadata = kafka_str_c(o->metadata);
        v.commit_timestamp = o->commit_timestamp_ms;
        v.expire_timestamp = o->expire_timestamp_ms;
        offsets_batch_add_offset(&b->groups->batch, kafka_str_c(w->group_id), kafka_str_c(o->topic),
                                 o->partition, &v);
        n++;
    }
    return n;
}

int broker_handle_offset_commit(broker *b, broker_conn *c, const broker_request *req) {
    kafka_offset_commit_request body;
    kafka_offset_commit_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_offset_commit_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    int32_t partition = -1;
    int16_t error = commit_check(b, &body, &partition);
    group_write w = {.kind = GROUP_WRITE_OFFSETS,
                     .group_id =
                         group_strdup(body.group_id.len >= 0 ? body.group_id : kafka_str_c(""))};
    fill_write(b, &body, req->api_version, error, &w);
    group_coordinator_park(b, c, req, &w.reply);
    int16_t written = KAFKA_ERROR_NONE;
    if (batch_offsets(b, &w) > 0) written = group_coordinator_write(b, partition, &w);
    if (w.group_id != NULL) /* not queued: answer now */
        group_coordinator_commit_done(b, &w, written);
    group_write_release(&w);
    return 1;
}

/* ---- OffsetFetch -------------------------------------------------------------------------- */

typedef kafka_offset_fetch_response_offset_fetch_response_topic fetch_topic;
typedef kafka_offset_fetch_response_offset_fetch_response_partition fetch_partition;

static void fetch_one(group *g, kafka_str topic, int32_t partition, int16_t error,
                      fetch_partition *out) {
    kafka_offset_fetch_response_offset_fetch_response_partition_init(out);
    out->partition_index = partition;
    out->committed_offset = -1;
    out->committed_leader_epoch = -1;
    out->metadata = kafka_str_c("");
    out->error_code = error;
    const group_offset *o =
        g && error == KAFKA_ERROR_NONE ? group_offset_find(g, topic, partition) : NULL;
    if (!o) return;
    out->committed_offset = o->offset;
    out->committed_leader_epoch = o->leader_epoch;
    out->metadata = kafka_str_c(o->metadata);
}

/* Every committed offset of the group, one topic entry per run of a topic. */
static void fetch_all(group *g, kafka_offset_fetch_response *resp, arena *a) {
    int32_t n = g ? g->offset_count : 0;
    resp->topics = arena_alloc(a, (size_t)(n + 1) * sizeof *resp->topics);
    resp->topics_count = 0;
    for (int32_t i = 0; i < n; i++) {
        const group_offset *o = &g->offsets[i];
        fetch_topic *t = NULL;
        for (int32_t k = 0; k < resp->topics_count; k++)
            if (kafka_str_eq(resp->topics[k].name, o->topic)) t = &resp->topics[k];
        if (!t) {
            t = &resp->topics[resp->topics_count++];
            kafka_offset_fetch_response_offset_fetch_response_topic_init(t);
            t->name = kafka_str_c(o->topic);
            t->partitions = arena_alloc(a, (size_t)(n + 1) * sizeof *t->partitions);
        }
        fetch_one(g, t->name, o->partition, KAFKA_ERROR_NONE,
                  &t->partitions[t->partitions_count++]);
    }
}

static void fetch_listed(group *g, const kafka_offset_fetch_request *body, int16_t error,
                         kafka_offset_fetch_response *resp, arena *a) {
    int32_t n = body->topics_count > 0 ? body->topics_count : 0;
    resp->topics = arena_alloc(a, (size_t)(n + 1) * sizeof *resp->topics);
    resp->topics_count = n;
    for (int32_t i = 0; i < n; i++) {
        const kafka_offset_fetch_request_offset_fetch_request_topic *in = &body->topics[i];
        fetch_topic *t = &resp->topics[i];
        kafka_offset_fetch_response_offset_fetch_response_topic_init(t);
        t->name = in->name;
        int32_t k = in->partition_indexes_count > 0 ? in->partition_indexes_count : 0;
        t->partitions = arena_alloc(a, (size_t)(k + 1) * sizeof *t->partitions);
        t->partitions_count = k;
        for (int32_t p = 0; p < k; p++)
            fetch_one(g, in->name, in->partition_indexes[p], error, &t->partitions[p]);
    }
}

int broker_handle_offset_fetch(broker *b, broker_conn *c, const broker_request *req) {
    kafka_offset_fetch_request body;
    kafka_offset_fetch_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_offset_fetch_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    int32_t partition;
    int16_t error = body.group_id.len <= 0 ? KAFKA_ERROR_INVALID_GROUP_ID
                                           : group_coordinator_owns(b, body.group_id, &partition);
    group *g = error == KAFKA_ERROR_NONE ? group_coordinator_find(b, body.group_id) : NULL;
    kafka_offset_fetch_response resp;
    kafka_offset_fetch_response_init(&resp);
    if (req->api_version >= 2) resp.error_code = error;
    if (body.topics_count < 0 && req->api_version >= 2) {
        if (error == KAFKA_ERROR_NONE)
            fetch_all(g, &resp, &c->arena);
        else
            resp.topics_count = 0;
    } else {
        fetch_listed(g, &body, error, &resp, &c->arena);
    }
    broker_response_begin(b, req);
    kafka_offset_fetch_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
