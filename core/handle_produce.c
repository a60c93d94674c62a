/*
 * handle_produce.c — Produce (key 0), versions 3..7 (0..2 advertised, rejected).
 *
 * Each partition's records are validated and appended by the leader with offsets
 * from the log end and the leader's epoch.  A batch from an idempotent producer is
 * first checked against the partition's producer state (producer_state.c): a
 * retry of a batch already in the log is answered with the original's offsets
 * and not appended again.  acks=0 gets no response at all.
 * Parked fetches are woken only after this response is on the wire, because the
 * broker has one response writer.
 */
#include "broker_internal.h"
#include "kafka_errors.gen.h"
#include "record_batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef kafka_produce_response_partition_produce_response produce_result;

typedef struct appended_ctx {
    broker *b;
    broker_partition *p;
} appended_ctx;

/* Each batch the log stored (offsets and epoch assigned): observed, and recorded
 * in the producer state. */
static int on_appended(void *arg, const uint8_t *batch, size_t len) {
    appended_ctx *ctx = arg;
    broker_partition_note_append(ctx->b, ctx->p, batch, len);
    return 0;
}

/* Idempotence (producer_state.c): NONE to append, DUPLICATE_SEQUENCE_NUMBER with
 * *dup for a retry already in the log, or the error to answer. */
static int16_t check_producer(const broker_partition *p, kafka_bytes records,
                              producer_batch_meta *dup) {
    if (records.len < RECORD_BATCH_HEADER_BYTES) return KAFKA_ERROR_NONE; /* append rejects it */
    producer_batch_info info = producer_batch_info_of(records.ptr);
    if (info.producer_id < 0) return KAFKA_ERROR_NONE;
    if (record_batch_length(records.ptr) !=
        records.len - RECORD_BATCH_LOG_OVERHEAD_BYTES) /* Produce v3+: exactly one batch */
        return KAFKA_ERROR_INVALID_RECORD;
    return producer_state_check(&p->producers, &info, partition_log_start_offset(&p->log), dup);
}

/* Appends (or finds the duplicate of) records; *base and *needed get the first
 * offset and the high watermark that completes an acks=all request. */
int16_t broker_partition_append(broker *b, broker_partition *p, kafka_bytes records, int16_t acks,
                                int64_t *base, int64_t *needed) {
    assert(p && p->hosted && p->leader == b->cfg.node_id);
    if (records.len <= 0) return KAFKA_ERROR_CORRUPT_MESSAGE;
    if (acks == -1 && p->isr_count < b->cfg.min_insync_replicas)
        return KAFKA_ERROR_NOT_ENOUGH_REPLICAS;
    producer_batch_meta dup;
    int16_t check = check_producer(p, records, &dup);
    if (check == KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER) { /* answered as the original was */
        *base = dup.base_offset;
        *needed = dup.last_offset + 1;
        return KAFKA_ERROR_NONE;
    }
    if (check != KAFKA_ERROR_NONE) return check;
    int rc = partition_log_append(&p->log, records.ptr, (size_t)records.len, p->leader_epoch, base);
    if (rc == PARTITION_LOG_EINVALID) return KAFKA_ERROR_CORRUPT_MESSAGE;
    if (rc != 0) return KAFKA_ERROR_KAFKA_STORAGE_ERROR;
    size_t stored_len;
    const uint8_t *stored = partition_log_appended(&p->log, &stored_len);
    appended_ctx ctx = {.b = b, .p = p};
    record_batch_split(stored, stored_len, on_appended, &ctx);
    if (b->cfg.flush_interval_ms == 0) partition_log_sync(&p->log);
    replication_leader_appended(b, p);
    *needed = partition_log_end_offset(&p->log);
    return KAFKA_ERROR_NONE;
}

/* Appends one partition's records; for acks=all, *wait says what completes it. */
static void produce_partition(broker *b, const kafka_produce_request *req, kafka_str topic,
                              const kafka_produce_request_partition_produce_data *in,
                              produce_result *out, int16_t version, broker_produce_wait *wait) {
    kafka_produce_response_partition_produce_response_init(out);
    out->index = in->index;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
    wait->partition = NULL;
    if (version < 3) {
        out->error_code = KAFKA_ERROR_UNSUPPORTED_VERSION;
        return;
    }
    if (req->acks != 0 && req->acks != 1 && req->acks != -1) {
        out->error_code = KAFKA_ERROR_INVALID_REQUIRED_ACKS;
        return;
    }
    broker_partition *p = broker_partition_led(b, topic, in->index, -1, &out->error_code);
    if (!p) return;
    int64_t base = -1, needed = -1;
    out->error_code = broker_partition_append(b, p, in->records, req->acks, &base, &needed);
    if (out->error_code != KAFKA_ERROR_NONE) return;
    out->base_offset = base;
    out->log_start_offset = partition_log_start_offset(&p->log);
    if (req->acks == -1 && p->high_watermark < needed) {
        wait->partition = p;
        wait->offset_needed = needed;
        wait->error_out = &out->error_code;
    }
}

static void park_produce(broker *b, broker_conn *c, const broker_request *req,
                         kafka_produce_response *resp, broker_produce_wait *waits, int32_t n,
                         int32_t timeout_ms) {
    broker_conn_park(b, c, BROKER_PARK_PRODUCE,
                     broker_env_now_us(&b->env) +
                         (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000);
    c->parked_request = *req;
    c->parked_response = resp;
    c->waits = waits;
    c->wait_count = n;
}

int broker_handle_produce(broker *b, broker_conn *c, const broker_request *req) {
    /* The response may wait for replication while more bytes arrive on this
     * connection and move the frame buffer: decode from a copy it cannot move. */
    uint8_t *copy = arena_alloc(&c->arena, req->body_len + 1);
    memcpy(copy, req->body, req->body_len);
    kafka_produce_request body;
    kafka_produce_request_init(&body);
    wire_reader r = {.data = copy, .len = req->body_len};
    if (kafka_produce_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    kafka_produce_response *resp = arena_alloc(&c->arena, sizeof *resp);
    kafka_produce_response_init(resp);
    resp->responses_count = body.topic_data_count;
    resp->responses =
        arena_alloc(&c->arena, (size_t)(body.topic_data_count + 1) * sizeof *resp->responses);
    int32_t total = 0;
    for (int32_t t = 0; t < body.topic_data_count; t++)
        total += body.topic_data[t].partition_data_count;
    broker_produce_wait *waits = arena_alloc(&c->arena, (size_t)(total + 1) * sizeof *waits);
    int32_t k = 0, waiting = 0;
    for (int32_t t = 0; t < body.topic_data_count; t++) {
        kafka_produce_request_topic_produce_data *td = &body.topic_data[t];
        kafka_produce_response_topic_produce_response *tr = &resp->responses[t];
        kafka_produce_response_topic_produce_response_init(tr);
        tr->name = td->name;
        tr->partition_responses_count = td->partition_data_count;
        tr->partition_responses =
            arena_alloc(&c->arena, (size_t)(td->partition_data_count + 1) * sizeof(produce_result));
        for (int32_t p = 0; p < td->partition_data_count; p++, k++) {
            produce_partition(b, &body, td->name, &td->partition_data[p],
                              &tr->partition_responses[p], req->api_version, &waits[k]);
            waiting += waits[k].partition != NULL;
            if (body.acks == 0 && tr->partition_responses[p].error_code != KAFKA_ERROR_NONE)
                return -1; /* Kafka closes an acks=0 connection on error: the client then
                              refreshes its metadata */
        }
    }
    if (body.acks == 0) return 0;
    if (waiting) {
        park_produce(b, c, req, resp, waits, k, body.timeout_ms);
        return 1;
    }
    broker_response_begin(b, req);
    kafka_produce_response_encode(resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
