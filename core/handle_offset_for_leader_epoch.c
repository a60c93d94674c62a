/*
 * handle_offset_for_leader_epoch.c — OffsetForLeaderEpoch (key 23), versions 0..3.
 *
 * A follower asks, for the latest epoch in its log, where that epoch ends in the
 * leader's log: the leader answers with the largest epoch it has at or below the
 * one asked and the start offset of the next epoch (or its log end for its latest
 * epoch).  The follower truncates there (KIP-101, KIP-279).
 */
#include "broker_internal.h"
#include "kafka_errors.gen.h"

typedef kafka_offset_for_leader_epoch_response_epoch_end_offset epoch_result;

static void
answer_partition(broker *b, kafka_str topic,
                 const kafka_offset_for_leader_epoch_request_offset_for_leader_partition *in,
                 epoch_result *out) {
    kafka_offset_for_leader_epoch_response_epoch_end_offset_init(out);
    out->partition = in->partition;
    out->leader_epoch = -1;
    out->end_offset = -1;
    broker_partition *p =
        broker_partition_led(b, topic, in->partition, in->current_leader_epoch, &out->error_code);
    if (!p) return;
    int32_t epoch = -1;
    int64_t end = -1;
    partition_log_end_offset_for_epoch(&p->log, in->leader_epoch, &epoch, &end);
    out->leader_epoch = epoch;
    out->end_offset = end;
}

int broker_handle_offset_for_leader_epoch(broker *b, broker_conn *c, const broker_request *req) {
    kafka_offset_for_leader_epoch_request body;
    kafka_offset_for_leader_epoch_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_offset_for_leader_epoch_request_decode(&body, &r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_offset_for_leader_epoch_response resp;
    kafka_offset_for_leader_epoch_response_init(&resp);
    resp.topics_count = body.topics_count;
    resp.topics = arena_alloc(&c->arena, (size_t)(body.topics_count + 1) * sizeof *resp.topics);
    for (int32_t t = 0; t < body.topics_count; t++) {
        kafka_offset_for_leader_epoch_request_offset_for_leader_topic *in = &body.topics[t];
        kafka_offset_for_leader_epoch_response_offset_for_leader_topic_result *out =
            &resp.topics[t];
        kafka_offset_for_leader_epoch_response_offset_for_leader_topic_result_init(out);
        out->topic = in->topic;
        out->partitions_count = in->partitions_count;
        out->partitions =
            arena_alloc(&c->arena, (size_t)(in->partitions_count + 1) * sizeof(epoch_result));
        for (int32_t k = 0; k < in->partitions_count; k++)
            answer_partition(b, in->topic, &in->partitions[k], &out->partitions[k]);
    }
    broker_response_begin(b, req);
    kafka_offset_for_leader_epoch_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
