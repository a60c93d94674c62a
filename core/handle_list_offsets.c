/*
 * handle_list_offsets.c — ListOffsets (key 2), versions 1..3.
 *
 * Timestamp -1 asks for the latest offset (the high watermark: the last stable
 * offset equals it, as there are no transactions), -2 for the earliest (the log
 * start).  Any other timestamp finds the first batch whose max timestamp is at or
 * after it, scanning the log.
 */
#include "broker_internal.h"
#include "kafka_errors.gen.h"
#include "record_batch.h"

#define LIST_OFFSETS_LATEST (-1)
#define LIST_OFFSETS_EARLIEST (-2)
#define SCAN_CHUNK_BYTES (256 * 1024)

typedef kafka_list_offsets_response_list_offsets_partition_response offsets_result;

typedef struct time_scan {
    int64_t timestamp_ms;
    int64_t found_offset, found_timestamp_ms, next_offset;
} time_scan;

static int scan_batch(void *arg, const uint8_t *batch, size_t len) {
    time_scan *s = arg;
    (void)len;
    s->next_offset = record_batch_last_offset(batch) + 1;
    if (record_batch_max_timestamp(batch) < s->timestamp_ms) return 0;
    s->found_offset = record_batch_base_offset(batch);
    s->found_timestamp_ms = record_batch_max_timestamp(batch);
    return 1;
}

static void offset_for_time(broker_partition *p, int64_t timestamp_ms, offsets_result *out) {
    time_scan s = {.timestamp_ms = timestamp_ms,
                   .found_offset = -1,
                   .next_offset = partition_log_start_offset(&p->log)};
    while (s.found_offset < 0 && s.next_offset < p->high_watermark) {
        partition_log_buf buf = {0};
        int64_t at = s.next_offset;
        if (partition_log_read(&p->log, at, SCAN_CHUNK_BYTES, &buf) != 0 || buf.len == 0) {
            partition_log_buf_free(&buf);
            break;
        }
        record_batch_split(buf.bytes, buf.len, scan_batch, &s);
        partition_log_buf_free(&buf);
        if (s.next_offset <= at) break;
    }
    out->offset = s.found_offset;
    out->timestamp = s.found_offset >= 0 ? s.found_timestamp_ms : -1;
}

static void list_partition(broker *b, kafka_str topic,
                           const kafka_list_offsets_request_list_offsets_partition *in,
                           offsets_result *out) {
    kafka_list_offsets_response_list_offsets_partition_response_init(out);
    out->partition_index = in->partition_index;
    out->timestamp = -1;
    out->offset = -1;
    broker_partition *p = broker_partition_led(b, topic, in->partition_index, -1, &out->error_code);
    if (!p) return;
    if (in->timestamp == LIST_OFFSETS_LATEST)
        out->offset = p->high_watermark;
    else if (in->timestamp == LIST_OFFSETS_EARLIEST)
        out->offset = partition_log_start_offset(&p->log);
    else
        offset_for_time(p, in->timestamp, out);
}

int broker_handle_list_offsets(broker *b, broker_conn *c, const broker_request *req) {
    kafka_list_offsets_request body;
    kafka_list_offsets_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_list_offsets_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    resp.topics_count = body.topics_count;
    resp.topics = arena_alloc(&c->arena, (size_t)(body.topics_count + 1) * sizeof *resp.topics);
    for (int32_t t = 0; t < body.topics_count; t++) {
        kafka_list_offsets_request_list_offsets_topic *in = &body.topics[t];
        kafka_list_offsets_response_list_offsets_topic_response *out = &resp.topics[t];
        kafka_list_offsets_response_list_offsets_topic_response_init(out);
        out->name = in->name;
        out->partitions_count = in->partitions_count;
        out->partitions =
            arena_alloc(&c->arena, (size_t)(in->partitions_count + 1) * sizeof(offsets_result));
        for (int32_t k = 0; k < in->partitions_count; k++)
            list_partition(b, in->name, &in->partitions[k], &out->partitions[k]);
    }
    broker_response_begin(b, req);
    kafka_list_offsets_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
