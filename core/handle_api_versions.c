/*
 * handle_api_versions.c — ApiVersions (key 18), versions 0..3.
 *
 * What we advertise follows PROTOCOL.md: each client picks the highest version
 * both sides support, so every advertised version must work.  Produce is
 * advertised from 0 because librdkafka disables compression otherwise; 0..2 are
 * then rejected by the produce handler.  An ApiVersions request of a version we do
 * not know gets UNSUPPORTED_VERSION in v0 format with our range, never a close.
 */
#include "broker_internal.h"
#include "kafka_errors.gen.h"

typedef struct advertised_api {
    int16_t api_key, min_version, max_version;
} advertised_api;

static const advertised_api advertised[] = {
    {KAFKA_API_PRODUCE, 0, 7},          {KAFKA_API_FETCH, 4, 11},
    {KAFKA_API_LIST_OFFSETS, 1, 3},     {KAFKA_API_METADATA, 0, 8},
    {KAFKA_API_API_VERSIONS, 0, 3},     {KAFKA_API_OFFSET_FOR_LEADER_EPOCH, 0, 3},
    {KAFKA_API_CREATE_TOPICS, 0, 4},    {KAFKA_API_DELETE_TOPICS, 0, 3},
    {KAFKA_API_OFFSET_COMMIT, 2, 7},    {KAFKA_API_OFFSET_FETCH, 1, 5},
    {KAFKA_API_FIND_COORDINATOR, 0, 2}, {KAFKA_API_JOIN_GROUP, 0, 5},
    {KAFKA_API_HEARTBEAT, 0, 3},        {KAFKA_API_LEAVE_GROUP, 0, 3},
    {KAFKA_API_SYNC_GROUP, 0, 3},       {KAFKA_API_DESCRIBE_GROUPS, 0, 4},
    {KAFKA_API_LIST_GROUPS, 0, 2},      {KAFKA_API_INIT_PRODUCER_ID, 0, 1},
};

/* Inter-broker APIs: accepted, never advertised to clients (DESIGN.md §2). */
static const advertised_api inter_broker[] = {
    {KAFKA_API_FETCH, 12, 12}, /* the metadata log: LastFetchedEpoch, DivergingEpoch */
    {KAFKA_API_VOTE, 0, 0},
    {KAFKA_API_BEGIN_QUORUM_EPOCH, 0, 0},
    {KAFKA_API_BROKER_REGISTRATION, 0, 0},
    {KAFKA_API_BROKER_HEARTBEAT, 0, 0},
    {KAFKA_API_ALTER_PARTITION, 0, 3},
};

#define ADVERTISED_COUNT ((int32_t)(sizeof advertised / sizeof advertised[0]))

/* The version range advertised to clients for api_key; 0 when not advertised. */
static int broker_api_supported(int16_t api_key, int16_t *min_version, int16_t *max_version) {
    for (int32_t i = 0; i < ADVERTISED_COUNT; i++)
        if (advertised[i].api_key == api_key) {
            *min_version = advertised[i].min_version;
            *max_version = advertised[i].max_version;
            return 1;
        }
    return 0;
}

int broker_api_accepted(int16_t api_key, int16_t *min_version, int16_t *max_version) {
    int found = broker_api_supported(api_key, min_version, max_version);
    for (size_t i = 0; i < sizeof inter_broker / sizeof inter_broker[0]; i++) {
        if (inter_broker[i].api_key != api_key) continue;
        if (!found) *min_version = inter_broker[i].min_version;
        if (inter_broker[i].max_version > *max_version || !found)
            *max_version = inter_broker[i].max_version;
        found = 1;
    }
    return found;
}

int broker_handle_api_versions(broker *b, broker_conn *c, const broker_request *req) {
    kafka_api_versions_response_api_version keys[ADVERTISED_COUNT];
    for (int32_t i = 0; i < ADVERTISED_COUNT; i++) {
        kafka_api_versions_response_api_version_init(&keys[i]);
        keys[i].api_key = advertised[i].api_key;
        keys[i].min_version = advertised[i].min_version;
        keys[i].max_version = advertised[i].max_version;
    }
    kafka_api_versions_response resp;
    kafka_api_versions_response_init(&resp);
    resp.api_keys = keys;
    resp.api_keys_count = ADVERTISED_COUNT;
    int16_t version = req->api_version;
    if (version < 0 || version > 3) {
        resp.error_code = KAFKA_ERROR_UNSUPPORTED_VERSION;
        version = 0;
    } else {
        kafka_api_versions_request body;
        kafka_api_versions_request_init(&body);
        wire_reader r = {.data = req->body, .len = req->body_len};
        if (kafka_api_versions_request_decode(&body, &r, version, &c->arena) != 0) {
            resp.error_code = KAFKA_ERROR_INVALID_REQUEST;
        }
    }
    broker_response_begin(b, req);
    kafka_api_versions_response_encode(&resp, &b->out, version);
    broker_response_finish(b, c);
    return 0;
}
