/*
 * handle_group_admin.c — FindCoordinator (10) 0..2, DescribeGroups (15) 0..4 and
 * ListGroups (16) 0..2.
 *
 * FindCoordinator answers from metadata, as Kafka does: the leader of the
 * group's `__consumer_offsets` partition, whether or not it has loaded it yet.
 * While the topic does not exist it is created (asked of the controller) and the
 * answer is COORDINATOR_NOT_AVAILABLE, which clients retry.
 */
#include "group_coordinator.h"
#include "kafka_errors.gen.h"

#include <string.h>

#define FIND_COORDINATOR_KEY_GROUP 0
#define FIND_COORDINATOR_KEY_TRANSACTION 1

static const broker_node_address *node_address(const broker *b, int32_t node) {
    for (int32_t i = 0; i < b->cfg.node_count; i++)
        if (b->cfg.nodes[i].node_id == node) return &b->cfg.nodes[i];
    return NULL;
}

static int16_t find_coordinator(broker *b, const kafka_find_coordinator_request *body,
                                int16_t version, kafka_find_coordinator_response *resp) {
    if (version >= 1 && body->key_type == FIND_COORDINATOR_KEY_TRANSACTION)
        return KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE; /* no transactions here */
    if (version >= 1 && body->key_type != FIND_COORDINATOR_KEY_GROUP)
        return KAFKA_ERROR_INVALID_REQUEST;
    broker_topic *t = group_coordinator_offsets_topic(b);
    if (!t || t->partition_count <= 0) return KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    const broker_partition *p =
        &t->partitions[offsets_topic_partition_for(body->key, t->partition_count)];
    const broker_node_address *addr = p->leader >= 0 ? node_address(b, p->leader) : NULL;
    if (!addr) return KAFKA_ERROR_COORDINATOR_NOT_AVAILABLE;
    resp->node_id = addr->node_id;
    resp->host = kafka_str_c(addr->host);
    resp->port = addr->port;
    return KAFKA_ERROR_NONE;
}

int broker_handle_find_coordinator(broker *b, broker_conn *c, const broker_request *req) {
    kafka_find_coordinator_request body;
    kafka_find_coordinator_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_find_coordinator_request_decode(&body, &r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_find_coordinator_response resp;
    kafka_find_coordinator_response_init(&resp);
    resp.node_id = -1;
    resp.host = kafka_str_c("");
    resp.port = -1;
    resp.error_code = find_coordinator(b, &body, req->api_version, &resp);
    if (resp.error_code != KAFKA_ERROR_NONE) {
        resp.node_id = -1;
        resp.host = kafka_str_c("");
        resp.port = -1;
    }
    broker_response_begin(b, req);
    kafka_find_coordinator_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}

/* ---- DescribeGroups ------------------------------------------------------------------ */

typedef kafka_describe_groups_response_described_group described_group;

static void describe_members(const group *g, described_group *out, arena *a) {
    out->members = arena_alloc(a, (size_t)(g->member_count + 1) * sizeof *out->members);
    out->members_count = g->member_count;
    int stable = g->state == GROUP_STABLE;
    for (int32_t i = 0; i < g->member_count; i++) {
        const group_member *m = &g->members[i];
        kafka_describe_groups_response_described_group_member *dm = &out->members[i];
        kafka_describe_groups_response_described_group_member_init(dm);
        dm->member_id = kafka_str_c(m->member_id);
        dm->group_instance_id = kafka_str_c(m->group_instance_id);
        dm->client_id = kafka_str_c(m->client_id);
        dm->client_host = kafka_str_c(m->client_host);
        dm->member_metadata = (kafka_bytes){NULL, 0};
        dm->member_assignment = (kafka_bytes){NULL, 0};
        const group_blob *md = stable ? group_member_metadata(m, g->protocol_name) : NULL;
        if (md && md->len > 0) dm->member_metadata = (kafka_bytes){md->bytes, md->len};
        if (stable && m->assignment.len > 0)
            dm->member_assignment = (kafka_bytes){m->assignment.bytes, m->assignment.len};
    }
}

static void describe_group(broker *b, kafka_str id, described_group *out, arena *a) {
    kafka_describe_groups_response_described_group_init(out);
    out->group_id = id;
    out->group_state = kafka_str_c("");
    out->protocol_type = kafka_str_c("");
    out->protocol_data = kafka_str_c("");
    out->members_count = 0;
    int32_t partition;
    out->error_code =
        id.len <= 0 ? KAFKA_ERROR_INVALID_GROUP_ID : group_coordinator_owns(b, id, &partition);
    if (out->error_code != KAFKA_ERROR_NONE) return;
    group *g = group_coordinator_find(b, id);
    if (!g) { /* Kafka describes an unknown group as Dead, without error */
        out->group_state = kafka_str_c(group_state_name(GROUP_DEAD));
        return;
    }
    out->group_state = kafka_str_c(group_state_name(g->state));
    out->protocol_type = kafka_str_c(g->protocol_type ? g->protocol_type : "");
    if (g->state == GROUP_STABLE && g->protocol_name)
        out->protocol_data = kafka_str_c(g->protocol_name);
    describe_members(g, out, a);
}

int broker_handle_describe_groups(broker *b, broker_conn *c, const broker_request *req) {
    kafka_describe_groups_request body;
    kafka_describe_groups_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_describe_groups_request_decode(&body, &r, req->api_version, &c->arena) != 0)
        return -1;
    kafka_describe_groups_response resp;
    kafka_describe_groups_response_init(&resp);
    int32_t n = body.groups_count > 0 ? body.groups_count : 0;
    resp.groups = arena_alloc(&c->arena, (size_t)(n + 1) * sizeof *resp.groups);
    resp.groups_count = n;
    for (int32_t i = 0; i < n; i++) describe_group(b, body.groups[i], &resp.groups[i], &c->arena);
    broker_response_begin(b, req);
    kafka_describe_groups_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}

/* ---- ListGroups ------------------------------------------------------------------------- */

int broker_handle_list_groups(broker *b, broker_conn *c, const broker_request *req) {
    kafka_list_groups_request body;
    kafka_list_groups_request_init(&body);
    wire_reader r = {.data = req->body, .len = req->body_len};
    if (kafka_list_groups_request_decode(&body, &r, req->api_version, &c->arena) != 0) return -1;
    group_coordinator *gc = b->groups;
    kafka_list_groups_response resp;
    kafka_list_groups_response_init(&resp);
    resp.error_code =
        gc->loading_count > 0 ? KAFKA_ERROR_COORDINATOR_LOAD_IN_PROGRESS : KAFKA_ERROR_NONE;
    resp.groups = arena_alloc(&c->arena, (size_t)(gc->group_count + 1) * sizeof *resp.groups);
    for (int32_t i = 0; i < gc->group_count; i++) {
        const group *g = gc->groups[i];
        if (g->state == GROUP_DEAD) continue;
        kafka_list_groups_response_listed_group *lg = &resp.groups[resp.groups_count++];
        kafka_list_groups_response_listed_group_init(lg);
        lg->group_id = kafka_str_c(g->id);
        lg->protocol_type = kafka_str_c(g->protocol_type ? g->protocol_type : "");
    }
    broker_response_begin(b, req);
    kafka_list_groups_response_encode(&resp, &b->out, req->api_version);
    broker_response_finish(b, c);
    return 0;
}
