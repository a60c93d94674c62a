/*
 * handle_init_producer_id.c — InitProducerId (key 22), versions 0..1.
 *
 * An idempotent producer asks any broker for a producer id before its first
 * produce; the id is unique across the cluster and across restarts
 * (producer_ids.c) and its epoch starts at 0.  Transactions are not supported:
 * a request naming a transactional id gets INVALID_REQUEST, which clients treat
 * as fatal instead of retrying for ever.  If the id block cannot be recorded,
 * COORDINATOR_NOT_AVAILABLE tells the client to retry (elsewhere).
 */
#include "broker_internal.h"
#include "kafka_errors.gen.h"

int broker_handle_init_producer_id(broker *b, broker_conn *c, const broker_request *req) {
    kafka_init_producer_id_request body;
    kafka_init_producer_id_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_init_producer_id_request_decode(&body, &r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_init_producer_id_response resp;
    kafka_init_producer_id_response_init(&resp);
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    if (body.transactional_id.len >= 0)
        resp.error_code = KAFKA_ERROR_INVALID_REQUEST;
    else if (producer_ids_next(&b->producer_ids, b->env.fs, b->cfg.node_id, &resp.producer_id) != 0)
        resp.error_code = KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE, resp.producer_id = -1;
    else
        resp.producer_epoch = 0;
    broker_response_begin(b, req);
    kafka_init_producer_id_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
