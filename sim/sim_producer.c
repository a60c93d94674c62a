#include "sim_producer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"
#include "record_batch.h"
#include "record_value.h"

#define PRODUCE_VERSION 7
#define RETRY_BACKOFF_US 100000
#define REQUEST_TIMEOUT_MS 30000
#define REQUESTS_MAX (SIM_CLIENT_BROKERS_MAX * SIM_CLIENT_INFLIGHT_MAX)
#define INFLIGHT_PER_PARTITION_MAX 5 /* max.in.flight.requests.per.connection */

typedef struct producer_batch {
    uint8_t *bytes;
    size_t len;
    int32_t partition;
    int64_t base_sequence; /* of its first record's value: the record's identity */
    int stamped;           /* carries the producer's current id, epoch and a sequence */
    int sent;              /* sent since stamped: the broker may have appended it */
    int32_t count;
    int64_t created_us;
    int64_t retry_at_us;
    int in_flight;
    struct producer_batch *next;
} producer_batch;

typedef struct producer_partition {
    uint8_t *open_buf; /* the batch being filled, or NULL */
    record_batch_builder builder;
    int64_t open_created_us;
    int64_t open_base_sequence;
    int64_t sequence_next;
    producer_batch *head, *tail; /* sealed batches, oldest first */
    int32_t wire_sequence_next;  /* idempotence: the next batch's base sequence */
} producer_partition;

typedef struct producer_request {
    uint64_t tag; /* 0 = free slot */
    producer_batch *batches[SIM_CLIENT_PARTITIONS_MAX];
    int32_t batch_count;
} producer_request;

struct sim_producer {
    sim_client client;
    const broker_env *env;
    scenario_producer cfg;
    int32_t node_id;
    int64_t stop_at_us;
    int64_t record_index; /* next record to generate */
    int32_t topic_index;
    int32_t sticky_partition;
    producer_partition partitions[SIM_CLIENT_PARTITIONS_MAX];
    int32_t partition_count;
    producer_request requests[REQUESTS_MAX];
    uint64_t tag_next;
    sim_producer_stats stats;
    uint8_t *value_buf;
    /* idempotence (KIP-98, KIP-360): see "idempotence" below */
    int idempotent;
    int64_t producer_id; /* -1 until InitProducerId answers */
    int16_t epoch;
    int init_inflight;
    int64_t init_retry_at_us;
    int32_t init_next; /* broker asked next */
    int reset_pending; /* a sequence gap: bump the epoch once nothing is ambiguous */
    int reset_new_id;  /* ... or get a new producer id */
    /* Acknowledged batches kept for reuse (a malloc, a calloc and two frees per
     * batch otherwise): buffers of batch_bytes linked through their first bytes. */
    producer_batch *free_batches;
    uint8_t *free_bufs;
};

static int64_t now_us(const sim_producer *p) {
    return broker_env_now_us(p->env);
}

static int64_t record_due_us(const sim_producer *p, int64_t index) {
    return index * 1000000 / p->cfg.rate_per_s;
}

/* ---- delivery reports ------------------------------------------------------------ */

static void report(sim_producer *p, const producer_batch *b, int16_t error, int64_t offset) {
    observe_event ev = {.kind =
                            error == KAFKA_ERROR_NONE ? OBSERVE_PRODUCE_ACK : OBSERVE_PRODUCE_FAIL,
                        .node = p->node_id,
                        .topic = p->cfg.topic,
                        .partition = b->partition,
                        .offset = offset,
                        .offset_last = offset >= 0 ? offset + b->count - 1 : -1,
                        .sequence = (int32_t)b->base_sequence,
                        .count = b->count,
                        .error = error,
                        .acks = p->cfg.acks,
                        .detail = p->cfg.name};
    p->env->observe(p->env->ctx, &ev);
    if (error == KAFKA_ERROR_NONE)
        p->stats.acked += b->count;
    else
        p->stats.failed += b->count;
    p->stats.in_flight -= b->count;
}

static uint8_t *buf_get(sim_producer *p) {
    uint8_t *buf = p->free_bufs;
    if (!buf) {
        size_t bytes = (size_t)p->cfg.batch_bytes;
        buf = malloc(bytes < sizeof p->free_bufs ? sizeof p->free_bufs
                                                 : bytes); /* room for the link */
        if (!buf) abort();
        return buf;
    }
    memcpy(&p->free_bufs, buf, sizeof p->free_bufs);
    return buf;
}

static void buf_put(sim_producer *p, uint8_t *buf) {
    memcpy(buf, &p->free_bufs, sizeof p->free_bufs);
    p->free_bufs = buf;
}

static producer_batch *batch_new(sim_producer *p) {
    producer_batch *b = p->free_batches;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) abort();
        return b;
    }
    p->free_batches = b->next;
    memset(b, 0, sizeof *b);
    return b;
}

static void batch_pop(sim_producer *p, producer_partition *pp, producer_batch *b) {
    producer_batch **link = &pp->head, *prev = NULL;
    while (*link != b) {
        assert(*link && "batch not in its partition's queue");
        prev = *link;
        link = &(*link)->next;
    }
    *link = b->next;
    if (pp->tail == b) pp->tail = prev;
    buf_put(p, b->bytes);
    b->next = p->free_batches;
    p->free_batches = b;
}

/* ---- accumulating records ---------------------------------------------------------- */

static void seal(sim_producer *p, int32_t partition) {
    producer_partition *pp = &p->partitions[partition];
    if (!pp->open_buf) return;
    producer_batch *b = batch_new(p);
    b->len = record_batch_builder_finish(&pp->builder);
    b->bytes = pp->open_buf;
    b->partition = partition;
    b->base_sequence = pp->open_base_sequence;
    b->count = pp->builder.record_count;
    b->created_us = pp->open_created_us;
    pp->open_buf = NULL;
    if (pp->tail)
        pp->tail->next = b;
    else
        pp->head = b;
    pp->tail = b;
    if (partition == p->sticky_partition && p->partition_count > 0)
        p->sticky_partition =
            (int32_t)(p->env->random_u64(p->env->ctx) % (uint64_t)p->partition_count);
}

static void open_batch(sim_producer *p, int32_t partition) {
    producer_partition *pp = &p->partitions[partition];
    pp->open_buf = buf_get(p);
    record_batch_builder_config bc;
    record_batch_builder_config_default(&bc);
    bc.base_sequence = (int32_t)pp->sequence_next;
    record_batch_builder_init(&pp->builder, pp->open_buf, (size_t)p->cfg.batch_bytes, &bc);
    pp->open_created_us = now_us(p);
    pp->open_base_sequence = pp->sequence_next;
}

static int32_t pick_partition(sim_producer *p, const uint8_t *key, int32_t key_len) {
    if (key_len < 0) return p->sticky_partition;
    return (int32_t)((sim_client_murmur2(key, (size_t)key_len) & 0x7fffffff) %
                     (uint32_t)p->partition_count);
}

/* "key-N" exactly as snprintf "key-%lld" writes it, without printf's machinery
 * (it was 1.2% of the lab). */
static int32_t format_key(char key[32], int64_t n) {
    char digits[24];
    int32_t d = 0;
    uint64_t v = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    do {
        digits[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    int32_t len = 0;
    memcpy(key, "key-", 4);
    len = 4;
    if (n < 0) key[len++] = '-';
    while (d) key[len++] = digits[--d];
    key[len] = '\0';
    return len;
}

static void generate_one(sim_producer *p) {
    char key[32];
    int32_t key_len = -1;
    if (p->cfg.keys > 0) key_len = format_key(key, p->record_index % p->cfg.keys);
    int32_t partition = pick_partition(p, (const uint8_t *)key, key_len);
    producer_partition *pp = &p->partitions[partition];
    record_value_id id = {
        .producer = p->node_id, .partition = partition, .sequence = pp->sequence_next};
    record_value_format(p->value_buf, (size_t)p->cfg.value_bytes, &id);
    record_batch_record_in rec = {.timestamp_ms = p->env->epoch_ms(p->env->ctx),
                                  .key = key_len >= 0 ? (const uint8_t *)key : NULL,
                                  .key_len = key_len,
                                  .value = p->value_buf,
                                  .value_len = p->cfg.value_bytes};
    if (!pp->open_buf) open_batch(p, partition);
    if (record_batch_builder_add(&pp->builder, &rec) != 0) {
        seal(p, partition);
        partition = key_len < 0 ? p->sticky_partition : partition;
        pp = &p->partitions[partition];
        if (key_len < 0) { /* the sticky partition moved: renumber for it */
            id.partition = partition;
            id.sequence = pp->sequence_next;
            record_value_format(p->value_buf, (size_t)p->cfg.value_bytes, &id);
        }
        if (!pp->open_buf) open_batch(p, partition);
        int rc = record_batch_builder_add(&pp->builder, &rec);
        assert(rc == 0 && "a record larger than batch_bytes");
        (void)rc;
    }
    pp->sequence_next++;
    p->record_index++;
    p->stats.produced++;
    p->stats.in_flight++;
    if (pp->builder.used_bytes + (size_t)p->cfg.value_bytes + 64 > (size_t)p->cfg.batch_bytes)
        seal(p, partition);
}

static void generate_due(sim_producer *p) {
    if (p->partition_count == 0 || p->cfg.rate_per_s <= 0) return;
    int64_t now = now_us(p);
    while (record_due_us(p, p->record_index) <= now &&
           record_due_us(p, p->record_index) < p->stop_at_us)
        generate_one(p);
}

/* ---- idempotence ------------------------------------------------------------------------
 *
 * As the Java client (KIP-98, KIP-360): InitProducerId before the first produce;
 * each batch is stamped with the producer id, epoch and its partition's next
 * sequence when it is first sent (so a batch that expires unsent leaves no gap),
 * and a retry keeps its stamp so the leader recognises it.  A gap that will never
 * fill — the OLDEST pending batch of a partition answered OUT_OF_ORDER_SEQUENCE
 * (an earlier batch expired or was lost) or UNKNOWN_PRODUCER_ID — is resolved by
 * bumping the epoch (a new producer id when the epoch is exhausted or fenced) and
 * renumbering every pending batch from 0.  Unlike Java, the bump waits until no
 * batch is in flight and no pending batch may have been appended: until then only
 * batches sent before are sent again, under their old stamp, and each ends
 * answered (appended, or a duplicate answered with its offsets), refused with a
 * sequence error (not appended), or expired.  Renumbering a batch the broker holds
 * would make its retry look new, and append it twice.  Even the batches behind the
 * refused oldest one are in doubt: a leader with no state for the producer takes
 * any sequence, so a later batch may have overtaken a lost first one.  The wait is
 * bounded by the delivery timeout, so the producer never wedges. */

#define INIT_PRODUCER_ID_VERSION 1
#define INIT_PRODUCER_ID_TAG UINT64_MAX

static void encode_init_producer_id(const void *body, wire_writer *w, int16_t version) {
    kafka_init_producer_id_request_encode(body, w, version);
}

/* Asks the next broker that takes it for a producer id, once the topic exists (before
 * that there is nothing to send; asking later keeps start-up traffic — and so the
 * cluster's layout for a seed — the same with and without idempotence). */
static void init_producer_id(sim_producer *p, int64_t now) {
    if (p->producer_id >= 0 || p->init_inflight || now < p->init_retry_at_us) return;
    if (p->partition_count == 0) return;
    kafka_init_producer_id_request req;
    kafka_init_producer_id_request_init(&req);
    req.transactional_id = kafka_str_c(NULL);
    req.transaction_timeout_ms = 60000;
    for (int32_t k = 0; k < p->client.broker_count; k++) {
        int32_t node = (p->init_next + k) % p->client.broker_count + 1;
        if (sim_client_send(&p->client, node, KAFKA_API_INIT_PRODUCER_ID, INIT_PRODUCER_ID_VERSION,
                            &req, encode_init_producer_id, INIT_PRODUCER_ID_TAG, 1) == 0) {
            p->init_inflight = 1;
            return;
        }
    }
    p->init_retry_at_us = now + RETRY_BACKOFF_US; /* none connected yet */
}

/* Every pending batch gets a new stamp from sequence 0 when next sent. */
static void unstamp_all(sim_producer *p) {
    for (int32_t i = 0; i < p->partition_count; i++) {
        producer_partition *pp = &p->partitions[i];
        for (producer_batch *b = pp->head; b; b = b->next) b->stamped = b->sent = 0;
        pp->wire_sequence_next = 0;
    }
}

static void on_init_response(sim_producer *p, wire_reader *r) {
    kafka_init_producer_id_response resp;
    kafka_init_producer_id_response_init(&resp);
    arena_reset(&p->client.scratch);
    p->init_inflight = 0;
    if (!r ||
        kafka_init_producer_id_response_decode(&resp, r, INIT_PRODUCER_ID_VERSION,
                                               &p->client.scratch) != 0 ||
        resp.error_code != KAFKA_ERROR_NONE || resp.producer_id < 0) {
        p->init_next = (p->init_next + 1) % p->client.broker_count;
        p->init_retry_at_us = now_us(p) + RETRY_BACKOFF_US;
        return;
    }
    p->producer_id = resp.producer_id;
    p->epoch = resp.producer_epoch;
    unstamp_all(p);
}

/* Might the broker hold a pending batch (so that it cannot be renumbered yet)? */
static int ambiguous_pending(const sim_producer *p) {
    for (int32_t i = 0; i < p->partition_count; i++)
        for (const producer_batch *b = p->partitions[i].head; b; b = b->next)
            if (b->in_flight || b->sent) return 1;
    return 0;
}

/* While a bump waits: the oldest batch in doubt that is not in flight. */
static producer_batch *next_in_doubt(const producer_partition *pp) {
    int32_t in_flight = 0;
    producer_batch *found = NULL;
    for (producer_batch *b = pp->head; b; b = b->next) {
        in_flight += b->in_flight;
        if (!found && !b->in_flight && b->sent) found = b;
    }
    return in_flight < INFLIGHT_PER_PARTITION_MAX ? found : NULL;
}

/* The KIP-360 bump, once it is safe (see above). */
static void maybe_reset(sim_producer *p) {
    if (!p->reset_pending || ambiguous_pending(p)) return;
    if (p->reset_new_id || p->epoch == INT16_MAX)
        p->producer_id = -1;
    else
        p->epoch++;
    p->reset_pending = p->reset_new_id = 0;
    p->stats.resets++;
    unstamp_all(p);
}

static int32_t sequence_add(int32_t sequence, int32_t n) {
    if (sequence > INT32_MAX - n) return n - (INT32_MAX - sequence) - 1;
    return sequence + n;
}

/* May b go out now?  Stamps it on its first send. */
static int idempotent_ready(sim_producer *p, producer_partition *pp, producer_batch *b) {
    if (p->producer_id < 0) return 0;
    if (p->reset_pending) return b->stamped && b->sent;
    if (!b->stamped) {
        record_batch_set_producer(b->bytes, b->len, p->producer_id, p->epoch,
                                  pp->wire_sequence_next);
        pp->wire_sequence_next = sequence_add(pp->wire_sequence_next, b->count);
        b->stamped = 1;
        b->sent = 0;
    }
    return 1;
}

/* A sequence error on b: 1 when it is handled (b waits for a retry). */
static int idempotent_error(sim_producer *p, producer_batch *b, int16_t error) {
    producer_partition *pp = &p->partitions[b->partition];
    if (error != KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER &&
        error != KAFKA_ERROR_UNKNOWN_PRODUCER_ID && error != KAFKA_ERROR_INVALID_PRODUCER_EPOCH)
        return 0;
    b->sent = 0; /* the broker refused it: not appended */
    b->retry_at_us = now_us(p) + RETRY_BACKOFF_US;
    if (error == KAFKA_ERROR_OUT_OF_ORDER_SEQUENCE_NUMBER && b != pp->head)
        return 1; /* an older batch of ours is still on its way: retry in order */
    p->reset_pending = 1;
    if (error == KAFKA_ERROR_INVALID_PRODUCER_EPOCH) p->reset_new_id = 1;
    return 1;
}

/* ---- sending --------------------------------------------------------------------------- */

static producer_request *request_slot(sim_producer *p) {
    for (int32_t i = 0; i < REQUESTS_MAX; i++)
        if (p->requests[i].tag == 0) return &p->requests[i];
    return NULL;
}

/* The oldest batch not in flight, if the in-flight window allows one more.  An
 * open batch becomes sendable once its linger has passed; until then (and while
 * its leader cannot be reached) it keeps filling, as the Java accumulator does. */
static producer_batch *next_to_send(sim_producer *p, int32_t partition, int64_t now) {
    producer_partition *pp = &p->partitions[partition];
    int32_t in_flight = 0;
    producer_batch *b = pp->head;
    while (b && b->in_flight) {
        in_flight++;
        b = b->next;
    }
    if (in_flight >= INFLIGHT_PER_PARTITION_MAX) return NULL;
    if (b) return b;
    if (pp->open_buf && now >= pp->open_created_us + p->cfg.linger_ms * 1000) {
        seal(p, partition);
        return pp->tail;
    }
    return NULL;
}

static void encode_produce(const void *body, wire_writer *w, int16_t version) {
    kafka_produce_request_encode(body, w, version);
}

/* The brokers (bit node) for which send_to would find a batch: the same choice as
 * next_to_send and next_in_doubt, without sealing.  A node without its bit would
 * pick nothing and change nothing in send_to's partition loop (one with it may
 * still end with nothing sent).  Sending to one node changes only the partitions
 * it leads, so one pass serves a whole pump. */
_Static_assert(SIM_CLIENT_BROKERS_MAX < 32, "a node's bit in a uint32_t");

static uint32_t candidate_nodes(const sim_producer *p, const sim_client_topic *t, int64_t now) {
    uint32_t nodes = 0;
    for (int32_t i = 0; i < p->partition_count; i++) {
        int32_t leader = t->partitions[i].leader;
        if (leader < 1 || leader > p->client.broker_count) continue;
        const producer_partition *pp = &p->partitions[i];
        const producer_batch *b;
        if (p->idempotent && p->reset_pending) {
            b = next_in_doubt(pp);
        } else {
            int32_t in_flight = 0;
            b = pp->head;
            while (b && b->in_flight) {
                in_flight++;
                b = b->next;
            }
            if (in_flight >= INFLIGHT_PER_PARTITION_MAX) continue;
            if (!b && pp->open_buf && now >= pp->open_created_us + p->cfg.linger_ms * 1000) {
                nodes |= 1u << leader; /* to be sealed: a fresh batch, no retry pending */
                continue;
            }
        }
        if (b && b->retry_at_us <= now) nodes |= 1u << leader;
    }
    return nodes;
}

/* Called for a node with a candidate batch (see candidate_nodes). */
static void send_to(sim_producer *p, int32_t node, int64_t now) {
    const sim_client_topic *t = &p->client.topics[p->topic_index];
    producer_request *req = request_slot(p);
    if (!req) return;
    if (!sim_client_ready(&p->client, node)) return;
    kafka_produce_request_partition_produce_data parts[SIM_CLIENT_PARTITIONS_MAX];
    int32_t n = 0;
    for (int32_t i = 0; i < p->partition_count; i++) {
        if (t->partitions[i].leader != node) continue;
        producer_batch *b = p->idempotent && p->reset_pending ? next_in_doubt(&p->partitions[i])
                                                              : next_to_send(p, i, now);
        if (!b || b->retry_at_us > now) continue;
        if (p->idempotent && !idempotent_ready(p, &p->partitions[i], b)) continue;
        kafka_produce_request_partition_produce_data_init(&parts[n]);
        parts[n].index = i;
        parts[n].records = (kafka_bytes){b->bytes, (int32_t)b->len};
        req->batches[n++] = b;
    }
    if (n == 0) return;
    kafka_produce_request_topic_produce_data topic;
    kafka_produce_request_topic_produce_data_init(&topic);
    topic.name = kafka_str_c(p->cfg.topic);
    topic.partition_data = parts;
    topic.partition_data_count = n;
    kafka_produce_request body;
    kafka_produce_request_init(&body);
    body.acks = p->cfg.acks;
    body.timeout_ms = REQUEST_TIMEOUT_MS;
    body.topic_data = &topic;
    body.topic_data_count = 1;
    uint64_t tag = p->tag_next++;
    int expects = p->cfg.acks != 0;
    if (sim_client_send(&p->client, node, KAFKA_API_PRODUCE, PRODUCE_VERSION, &body, encode_produce,
                        tag, expects) != 0)
        return;
    if (!expects) { /* acks=0: delivered as far as the producer will ever know */
        for (int32_t i = 0; i < n; i++) {
            report(p, req->batches[i], KAFKA_ERROR_NONE, -1);
            batch_pop(p, &p->partitions[req->batches[i]->partition], req->batches[i]);
        }
        return;
    }
    req->tag = tag;
    req->batch_count = n;
    for (int32_t i = 0; i < n; i++) req->batches[i]->in_flight = req->batches[i]->sent = 1;
}

static void expire(sim_producer *p, int64_t now) {
    for (int32_t i = 0; i < p->partition_count; i++) {
        producer_partition *pp = &p->partitions[i];
        int64_t timeout_us = p->cfg.delivery_timeout_ms * 1000;
        if (pp->open_buf && now >= pp->open_created_us + timeout_us) seal(p, i);
        for (producer_batch *b = pp->head, *next; b; b = next) {
            next = b->next;
            if (b->in_flight || now < b->created_us + timeout_us) continue;
            report(p, b, KAFKA_ERROR_REQUEST_TIMED_OUT, -1);
            batch_pop(p, pp, b);
        }
    }
}

static void pump(sim_producer *p) {
    const sim_client_topic *t = &p->client.topics[p->topic_index];
    if (p->partition_count == 0 && t->partition_count > 0) {
        p->partition_count = t->partition_count;
        p->sticky_partition =
            (int32_t)(p->env->random_u64(p->env->ctx) % (uint64_t)p->partition_count);
    }
    generate_due(p);
    int64_t now = now_us(p);
    expire(p, now);
    if (p->idempotent) {
        maybe_reset(p);
        init_producer_id(p, now);
    }
    uint32_t candidates = candidate_nodes(p, t, now);
    for (int32_t node = 1; node <= p->client.broker_count; node++) {
        if (candidates >> node & 1)
            send_to(p, node, now);
        else if (p->client.brokers[node - 1].state == PEER_DOWN && request_slot(p))
            sim_client_ready(&p->client, node); /* nothing to send, but the dial starts */
    }
}

/* ---- responses ---------------------------------------------------------------------------- */

static int retriable(int16_t error) {
    switch (error) {
    case KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER:
    case KAFKA_ERROR_LEADER_NOT_AVAILABLE:
    case KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION:
    case KAFKA_ERROR_REQUEST_TIMED_OUT:
    case KAFKA_ERROR_NOT_ENOUGH_REPLICAS:
    case KAFKA_ERROR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case KAFKA_ERROR_NETWORK_EXCEPTION:
    case KAFKA_ERROR_CORRUPT_MESSAGE:
    case KAFKA_ERROR_KAFKA_STORAGE_ERROR:
    case KAFKA_ERROR_FENCED_LEADER_EPOCH:
    case KAFKA_ERROR_UNKNOWN_LEADER_EPOCH:
        return 1;
    default:
        return 0;
    }
}

static void batch_done(sim_producer *p, producer_batch *b, int16_t error, int64_t offset) {
    b->in_flight = 0;
    if (p->idempotent && idempotent_error(p, b, error)) return;
    if (error == KAFKA_ERROR_DUPLICATE_SEQUENCE_NUMBER) /* a broker that says so: appended */
        error = KAFKA_ERROR_NONE;
    if (error != KAFKA_ERROR_NONE && retriable(error)) {
        b->retry_at_us = now_us(p) + RETRY_BACKOFF_US;
        sim_client_refresh_metadata(&p->client);
        return;
    }
    report(p, b, error, offset);
    batch_pop(p, &p->partitions[b->partition], b);
}

static void on_produce_response(sim_producer *p, producer_request *req, wire_reader *r) {
    kafka_produce_response resp;
    kafka_produce_response_init(&resp);
    arena_reset(&p->client.scratch);
    int ok = r && kafka_produce_response_decode(&resp, r, PRODUCE_VERSION, &p->client.scratch) == 0;
    for (int32_t i = 0; i < req->batch_count; i++) {
        producer_batch *b = req->batches[i];
        int16_t error = KAFKA_ERROR_NETWORK_EXCEPTION;
        int64_t offset = -1;
        for (int32_t t = 0; ok && t < resp.responses_count; t++)
            for (int32_t k = 0; k < resp.responses[t].partition_responses_count; k++) {
                kafka_produce_response_partition_produce_response *pr =
                    &resp.responses[t].partition_responses[k];
                if (pr->index != b->partition) continue;
                error = pr->error_code;
                offset = pr->base_offset;
            }
        batch_done(p, b, error, offset);
    }
    req->tag = 0;
}

static void on_response(sim_client *c, void *owner, int32_t node, int16_t api_key,
                        int16_t api_version, uint64_t tag, wire_reader *r) {
    sim_producer *p = owner;
    (void)c;
    (void)node;
    (void)api_version;
    if (api_key == KAFKA_API_INIT_PRODUCER_ID && tag == INIT_PRODUCER_ID_TAG)
        on_init_response(p, r);
    if (api_key != KAFKA_API_PRODUCE) return;
    for (int32_t i = 0; i < REQUESTS_MAX; i++)
        if (p->requests[i].tag == tag) { /* tags are unique: one request answers */
            on_produce_response(p, &p->requests[i], r);
            break;
        }
}

/* ---- node callbacks -------------------------------------------------------------------------- */

sim_producer *sim_producer_create(const broker_env *env, int32_t node_id,
                                  const scenario_producer *cfg, int32_t broker_count,
                                  int64_t stop_at_us) {
    sim_producer *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->env = env;
    p->cfg = *cfg;
    p->node_id = node_id;
    p->stop_at_us = stop_at_us;
    p->tag_next = 1;
    p->idempotent = cfg->idempotent && cfg->acks == SCENARIO_ACKS_ALL;
    p->producer_id = -1;
    p->value_buf = malloc((size_t)cfg->value_bytes);
    if (!p->value_buf) abort();
    sim_client_init(&p->client, env, node_id, cfg->name, broker_count, p, on_response);
    p->topic_index = sim_client_want_topic(&p->client, cfg->topic);
    return p;
}

void sim_producer_destroy(sim_producer *p) {
    if (!p) return;
    for (int32_t i = 0; i < SIM_CLIENT_PARTITIONS_MAX; i++) {
        producer_partition *pp = &p->partitions[i];
        free(pp->open_buf);
        while (pp->head) batch_pop(p, pp, pp->head);
    }
    while (p->free_batches) {
        producer_batch *b = p->free_batches;
        p->free_batches = b->next;
        free(b);
    }
    while (p->free_bufs) free(buf_get(p));
    sim_client_deinit(&p->client);
    free(p->value_buf);
    free(p);
}

sim_producer_stats sim_producer_get_stats(const sim_producer *p) {
    return p->stats;
}

int sim_producer_idempotent(const sim_producer *p) {
    return p->idempotent;
}

void sim_producer_on_connected(void *impl, conn_id conn) {
    sim_producer *p = impl;
    sim_client_on_connected(&p->client, conn);
    sim_client_on_timer(&p->client);
    pump(p);
}

void sim_producer_on_closed(void *impl, conn_id conn) {
    sim_producer *p = impl;
    sim_client_on_closed(&p->client, conn);
    pump(p);
}

void sim_producer_on_bytes(void *impl, conn_id conn, const uint8_t *bytes, size_t len) {
    sim_producer *p = impl;
    sim_client_on_bytes(&p->client, conn, bytes, len);
    sim_client_on_timer(&p->client); /* a metadata answer may call for another */
    pump(p);
}

int64_t sim_producer_next_deadline_us(const void *impl) {
    const sim_producer *p = impl;
    int64_t at = sim_client_next_deadline_us(&p->client);
    int64_t now = now_us(p);
    if (p->idempotent && p->producer_id < 0 && !p->init_inflight && p->init_retry_at_us > now &&
        p->init_retry_at_us < at)
        at = p->init_retry_at_us;
    if (p->cfg.rate_per_s > 0 && p->partition_count > 0) {
        int64_t due = record_due_us(p, p->record_index);
        if (due < p->stop_at_us && due < at) at = due;
    }
    for (int32_t i = 0; i < p->partition_count; i++) {
        const producer_partition *pp = &p->partitions[i];
        int64_t linger_end = pp->open_created_us + p->cfg.linger_ms * 1000;
        if (pp->open_buf && linger_end > now && linger_end < at) at = linger_end;
        const producer_batch *b = pp->head;
        while (b && b->in_flight) b = b->next;
        int ready = b || (pp->open_buf && linger_end <= now);
        if (!ready) continue;
        int64_t created = b ? b->created_us : pp->open_created_us;
        int64_t expiry = created + p->cfg.delivery_timeout_ms * 1000;
        if (expiry < at) at = expiry > now ? expiry : now + 1;
        int32_t leader = p->client.topics[p->topic_index].partitions[i].leader;
        const peer_channel *cb =
            leader >= 1 && leader <= p->client.broker_count ? &p->client.brokers[leader - 1] : NULL;
        const producer_batch *doubt = p->reset_pending ? next_in_doubt(pp) : NULL;
        int64_t retry = doubt ? doubt->retry_at_us : b ? b->retry_at_us : 0;
        if (cb && cb->state == PEER_DOWN && cb->retry_at_us > retry) retry = cb->retry_at_us;
        if (cb && cb->state != PEER_CONNECTING && retry > now && retry < at) at = retry;
    }
    return at;
}

void sim_producer_on_timer(void *impl) {
    sim_producer *p = impl;
    sim_client_on_timer(&p->client);
    pump(p);
}

int64_t sim_producer_oldest_pending_us(const sim_producer *p) {
    int64_t oldest = INT64_MAX;
    for (int32_t i = 0; i < p->partition_count; i++) {
        const producer_partition *pp = &p->partitions[i];
        if (pp->head && pp->head->created_us < oldest) oldest = pp->head->created_us;
        if (pp->open_buf && pp->open_created_us < oldest) oldest = pp->open_created_us;
    }
    return oldest;
}
