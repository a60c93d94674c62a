#include "sim_consumer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "record_batch.h"

#define FETCH_VERSION 11
#define LIST_OFFSETS_VERSION 2
#define FETCH_MAX_WAIT_MS 500
#define FETCH_MAX_BYTES (50 * 1024 * 1024)
#define FETCH_PARTITION_MAX_BYTES (1024 * 1024)
#define RETRY_BACKOFF_US 100000
#define ASSIGNED_MAX 64
#define TAG_FETCH 1
#define TAG_LIST_OFFSETS 2

enum position_state { POSITION_UNKNOWN = 0, POSITION_RESETTING, POSITION_VALID };

typedef struct assigned_partition {
    int32_t topic; /* index into the client's topics */
    int32_t partition;
    int64_t position;
    enum position_state state;
    int fetching; /* in a fetch request now */
    int64_t retry_at_us;
} assigned_partition;

struct sim_consumer {
    sim_client client;
    const broker_env *env;
    scenario_group group;
    int32_t node_id;
    int32_t member_index, member_count;
    int assigned_done;
    assigned_partition assigned[ASSIGNED_MAX];
    int32_t assigned_count;
    int fetch_inflight[SIM_CLIENT_BROKERS_MAX + 1];
    int list_inflight[SIM_CLIENT_BROKERS_MAX + 1];
    sim_consumer_stats stats;
};

static int64_t now_us(const sim_consumer *c) {
    return c->env->now_us(c->env->ctx);
}

/* ---- assignment (range, as the group leader would compute it) ------------------------ */

static void assign_range(sim_consumer *c) {
    for (int32_t t = 0; t < c->group.topic_count; t++)
        if (c->client.topics[t].partition_count == 0) return; /* metadata not complete */
    for (int32_t t = 0; t < c->group.topic_count; t++) {
        int32_t n = c->client.topics[t].partition_count;
        int32_t per = n / c->member_count, extra = n % c->member_count;
        int32_t i = c->member_index;
        int32_t start = per * i + (i < extra ? i : extra);
        int32_t count = per + (i < extra ? 1 : 0);
        for (int32_t p = start; p < start + count && c->assigned_count < ASSIGNED_MAX; p++)
            c->assigned[c->assigned_count++] = (assigned_partition){.topic = t, .partition = p};
    }
    c->assigned_done = 1;
    c->stats.partitions_assigned = c->assigned_count;
}

static int32_t leader_of(const sim_consumer *c, const assigned_partition *a) {
    const sim_client_topic *t = &c->client.topics[a->topic];
    if (a->partition >= t->partition_count) return -1;
    return t->partitions[a->partition].leader;
}

/* ---- requests ------------------------------------------------------------------------- */

static void encode_list_offsets(const void *body, wire_writer *w, int16_t version) {
    kafka_list_offsets_request_encode(body, w, version);
}
static void encode_fetch(const void *body, wire_writer *w, int16_t version) {
    kafka_fetch_request_encode(body, w, version);
}

static void send_list_offsets(sim_consumer *c, int32_t node, int64_t now) {
    if (c->list_inflight[node]) return;
    kafka_list_offsets_request_list_offsets_partition parts[ASSIGNED_MAX];
    kafka_list_offsets_request_list_offsets_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t n = 0, topic_n = 0;
    for (int32_t t = 0; t < c->group.topic_count; t++) {
        int32_t first = n;
        for (int32_t i = 0; i < c->assigned_count; i++) {
            assigned_partition *a = &c->assigned[i];
            if (a->topic != t || a->state != POSITION_UNKNOWN || a->retry_at_us > now ||
                leader_of(c, a) != node)
                continue;
            kafka_list_offsets_request_list_offsets_partition_init(&parts[n]);
            parts[n].partition_index = a->partition;
            parts[n].timestamp = c->group.auto_offset_reset == SCENARIO_RESET_EARLIEST ? -2 : -1;
            n++;
        }
        if (n == first) continue;
        kafka_list_offsets_request_list_offsets_topic_init(&topics[topic_n]);
        topics[topic_n].name = kafka_str_c(c->client.topics[t].name);
        topics[topic_n].partitions = &parts[first];
        topics[topic_n].partitions_count = n - first;
        topic_n++;
    }
    if (topic_n == 0) return;
    kafka_list_offsets_request req;
    kafka_list_offsets_request_init(&req);
    req.replica_id = -1;
    req.topics = topics;
    req.topics_count = topic_n;
    if (sim_client_send(&c->client, node, KAFKA_API_LIST_OFFSETS, LIST_OFFSETS_VERSION, &req,
                        encode_list_offsets, TAG_LIST_OFFSETS, 1) != 0)
        return;
    c->list_inflight[node] = 1;
    for (int32_t i = 0; i < c->assigned_count; i++) {
        assigned_partition *a = &c->assigned[i];
        if (a->state == POSITION_UNKNOWN && a->retry_at_us <= now && leader_of(c, a) == node)
            a->state = POSITION_RESETTING;
    }
}

static void send_fetch(sim_consumer *c, int32_t node, int64_t now) {
    if (c->fetch_inflight[node]) return;
    kafka_fetch_request_fetch_partition parts[ASSIGNED_MAX];
    kafka_fetch_request_fetch_topic topics[SIM_CLIENT_TOPICS_MAX];
    int32_t n = 0, topic_n = 0;
    for (int32_t t = 0; t < c->group.topic_count; t++) {
        int32_t first = n;
        for (int32_t i = 0; i < c->assigned_count; i++) {
            assigned_partition *a = &c->assigned[i];
            if (a->topic != t || a->state != POSITION_VALID || a->retry_at_us > now ||
                leader_of(c, a) != node)
                continue;
            kafka_fetch_request_fetch_partition_init(&parts[n]);
            parts[n].partition = a->partition;
            parts[n].current_leader_epoch = -1;
            parts[n].fetch_offset = a->position;
            parts[n].log_start_offset = -1;
            parts[n].partition_max_bytes = FETCH_PARTITION_MAX_BYTES;
            n++;
        }
        if (n == first) continue;
        kafka_fetch_request_fetch_topic_init(&topics[topic_n]);
        topics[topic_n].topic = kafka_str_c(c->client.topics[t].name);
        topics[topic_n].partitions = &parts[first];
        topics[topic_n].partitions_count = n - first;
        topic_n++;
    }
    if (topic_n == 0) return;
    kafka_fetch_request req;
    kafka_fetch_request_init(&req);
    req.replica_id = -1;
    req.max_wait_ms = FETCH_MAX_WAIT_MS;
    req.min_bytes = 1;
    req.max_bytes = FETCH_MAX_BYTES;
    req.isolation_level = 0;
    req.session_id = 0;
    req.session_epoch = -1;
    req.topics = topics;
    req.topics_count = topic_n;
    req.rack_id = kafka_str_c("");
    if (sim_client_send(&c->client, node, KAFKA_API_FETCH, FETCH_VERSION, &req, encode_fetch,
                        TAG_FETCH, 1) != 0)
        return;
    c->fetch_inflight[node] = 1;
}

static void pump(sim_consumer *c) {
    if (!c->assigned_done) assign_range(c);
    int64_t now = now_us(c);
    for (int32_t b = 1; b <= c->client.broker_count; b++) {
        send_list_offsets(c, b, now);
        send_fetch(c, b, now);
    }
}

/* ---- responses ------------------------------------------------------------------------------ */

static assigned_partition *find_assigned(sim_consumer *c, kafka_str topic, int32_t partition) {
    for (int32_t i = 0; i < c->assigned_count; i++) {
        assigned_partition *a = &c->assigned[i];
        if (a->partition == partition && kafka_str_eq(topic, c->client.topics[a->topic].name))
            return a;
    }
    return NULL;
}

static void partition_error(sim_consumer *c, assigned_partition *a, int16_t error) {
    a->retry_at_us = now_us(c) + RETRY_BACKOFF_US;
    if (error == KAFKA_ERROR_OFFSET_OUT_OF_RANGE)
        a->state = POSITION_UNKNOWN;
    else
        sim_client_refresh_metadata(&c->client);
}

static void on_list_offsets(sim_consumer *c, int32_t node, wire_reader *r) {
    c->list_inflight[node] = 0;
    kafka_list_offsets_response resp;
    kafka_list_offsets_response_init(&resp);
    arena_reset(&c->client.scratch);
    int ok = r && kafka_list_offsets_response_decode(&resp, r, LIST_OFFSETS_VERSION,
                                                     &c->client.scratch) == 0;
    for (int32_t t = 0; ok && t < resp.topics_count; t++)
        for (int32_t k = 0; k < resp.topics[t].partitions_count; k++) {
            kafka_list_offsets_response_list_offsets_partition_response *pr =
                &resp.topics[t].partitions[k];
            assigned_partition *a = find_assigned(c, resp.topics[t].name, pr->partition_index);
            if (!a || a->state != POSITION_RESETTING) continue;
            if (pr->error_code != KAFKA_ERROR_NONE) {
                a->state = POSITION_UNKNOWN;
                partition_error(c, a, pr->error_code);
                continue;
            }
            a->position = pr->offset;
            a->state = POSITION_VALID;
        }
    for (int32_t i = 0; i < c->assigned_count; i++) /* anything unanswered starts over */
        if (c->assigned[i].state == POSITION_RESETTING && leader_of(c, &c->assigned[i]) == node) {
            c->assigned[i].state = POSITION_UNKNOWN;
            c->assigned[i].retry_at_us = now_us(c) + RETRY_BACKOFF_US;
        }
}

typedef struct consume_ctx {
    sim_consumer *c;
    assigned_partition *a;
} consume_ctx;

static int consume_batch(void *arg, const uint8_t *batch, size_t len) {
    consume_ctx *ctx = arg;
    assigned_partition *a = ctx->a;
    if (record_batch_validate(batch, len, NULL, 0) != 0) return 1;
    int64_t last = record_batch_last_offset(batch);
    if (last < a->position) return 0;
    int64_t first = record_batch_base_offset(batch);
    if (first < a->position) first = a->position;
    observe_event ev = {.kind = OBSERVE_CONSUME,
                        .node = ctx->c->node_id,
                        .topic = ctx->c->client.topics[a->topic].name,
                        .partition = a->partition,
                        .offset = first,
                        .offset_last = last,
                        .batch = batch,
                        .batch_len = len,
                        .count = (int32_t)(last - first + 1),
                        .detail = ctx->c->group.name};
    ctx->c->env->observe(ctx->c->env->ctx, &ev);
    ctx->c->stats.records += last - first + 1;
    ctx->c->stats.batches++;
    a->position = last + 1;
    return 0;
}

static void on_fetch(sim_consumer *c, int32_t node, wire_reader *r) {
    c->fetch_inflight[node] = 0;
    kafka_fetch_response resp;
    kafka_fetch_response_init(&resp);
    arena_reset(&c->client.scratch);
    if (!r || kafka_fetch_response_decode(&resp, r, FETCH_VERSION, &c->client.scratch) != 0) {
        sim_client_refresh_metadata(&c->client);
        return;
    }
    for (int32_t t = 0; t < resp.responses_count; t++)
        for (int32_t k = 0; k < resp.responses[t].partitions_count; k++) {
            kafka_fetch_response_partition_data *pd = &resp.responses[t].partitions[k];
            assigned_partition *a = find_assigned(c, resp.responses[t].topic, pd->partition_index);
            if (!a || a->state != POSITION_VALID) continue;
            if (pd->error_code != KAFKA_ERROR_NONE) {
                partition_error(c, a, pd->error_code);
                continue;
            }
            if (pd->records.len <= 0) continue;
            consume_ctx ctx = {c, a};
            record_batch_split(pd->records.ptr, (size_t)pd->records.len, consume_batch, &ctx);
        }
}

static void on_response(sim_client *client, void *owner, int32_t node, int16_t api_key,
                        int16_t api_version, uint64_t tag, wire_reader *r) {
    sim_consumer *c = owner;
    (void)client;
    (void)api_version;
    if (api_key == KAFKA_API_FETCH && tag == TAG_FETCH) on_fetch(c, node, r);
    if (api_key == KAFKA_API_LIST_OFFSETS && tag == TAG_LIST_OFFSETS) on_list_offsets(c, node, r);
}

/* ---- node callbacks ----------------------------------------------------------------------------
 */

sim_consumer *sim_consumer_create(const broker_env *env, int32_t node_id,
                                  const scenario_group *group, int32_t member_index,
                                  int32_t member_count, int32_t broker_count) {
    assert(member_index >= 0 && member_index < member_count);
    sim_consumer *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->env = env;
    c->group = *group;
    c->node_id = node_id;
    c->member_index = member_index;
    c->member_count = member_count;
    char client_id[96];
    snprintf(client_id, sizeof client_id, "%s-%d", group->name, (int)(member_index + 1));
    sim_client_init(&c->client, env, node_id, client_id, broker_count, c, on_response);
    for (int32_t t = 0; t < group->topic_count; t++)
        sim_client_want_topic(&c->client, group->topics[t]);
    return c;
}

void sim_consumer_destroy(sim_consumer *c) {
    if (!c) return;
    sim_client_deinit(&c->client);
    free(c);
}

sim_consumer_stats sim_consumer_get_stats(const sim_consumer *c) {
    return c->stats;
}

int64_t sim_consumer_position(const sim_consumer *c, const char *topic, int32_t partition) {
    for (int32_t i = 0; i < c->assigned_count; i++) {
        const assigned_partition *a = &c->assigned[i];
        if (a->partition == partition && strcmp(c->client.topics[a->topic].name, topic) == 0)
            return a->state == POSITION_VALID ? a->position : -1;
    }
    return -1;
}

void sim_consumer_on_connected(void *impl, conn_id conn) {
    sim_consumer *c = impl;
    sim_client_on_connected(&c->client, conn);
    sim_client_on_timer(&c->client);
    pump(c);
}

void sim_consumer_on_closed(void *impl, conn_id conn) {
    sim_consumer *c = impl;
    sim_client_on_closed(&c->client, conn);
    pump(c);
}

void sim_consumer_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len) {
    sim_consumer *c = impl;
    sim_client_on_bytes(&c->client, conn, bytes, len);
    sim_client_on_timer(&c->client);
    pump(c);
}

int64_t sim_consumer_next_deadline_us(const void *impl) {
    const sim_consumer *c = impl;
    int64_t at = sim_client_next_deadline_us(&c->client);
    int64_t now = now_us(c);
    for (int32_t i = 0; i < c->assigned_count; i++) {
        const assigned_partition *a = &c->assigned[i];
        int32_t leader = leader_of(c, a);
        int64_t retry = a->retry_at_us;
        if (leader >= 1 && leader <= c->client.broker_count) {
            const peer_channel *cb = &c->client.brokers[leader - 1];
            if (cb->state == PEER_CONNECTING) continue;
            if (cb->state == PEER_DOWN && cb->retry_at_us > retry) retry = cb->retry_at_us;
        }
        if (retry > now && retry < at) at = retry;
    }
    return at;
}

void sim_consumer_on_timer(void *impl) {
    sim_consumer *c = impl;
    sim_client_on_timer(&c->client);
    pump(c);
}
