/*
 * metadata_image.c — applying KRaft metadata records to an in-memory image.
 *
 * Format.  A record value is a frame (MetadataRecordSerde): unsigned varint frame
 * version 1, unsigned varint record type (the JSON "apiKey"), unsigned varint record
 * version, then the body in the record's flexible encoding.  Trailing bytes after
 * the body make the value malformed.
 *
 * Semantics follow Kafka's PartitionRegistration.merge and ClusterControlManager:
 * - PartitionChangeRecord: null Isr/Replicas and Leader -2 mean "unchanged".  Any
 *   Leader other than -2 (a new leader, -1, or even the same id) bumps the leader
 *   epoch; every change record bumps the partition epoch.
 * - RegisterBrokerRecord replaces the broker's registration; its BrokerEpoch (the
 *   record's offset, chosen by the controller) must grow.  Fence/Unfence and
 *   BrokerRegistrationChangeRecord must name the current epoch.
 *
 * Validation.  Every record is decoded and checked completely before the image is
 * touched, so a rejected record leaves it unchanged: broker ids are 1..BROKERS_MAX,
 * replica lists are non-empty, distinct and bounded, the ISR is a non-empty subset
 * of the replicas, and a leader is -1 or an ISR member.  The controller never writes
 * anything else, so a rejection means a corrupt log or a bug.
 *
 * Records this image does not model (NoOp, FeatureLevel, Config, ProducerIds) are
 * decoded to validate them and otherwise ignored.  Decoding needs an arena for the
 * arrays; each apply uses a short-lived one (metadata records are rare, so the
 * malloc per apply is not on a hot path).
 */
#include "metadata_image.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_VERSION 1
#define TOPIC_RECORD_VERSION 0
#define PARTITION_RECORD_VERSION 0 /* v1 needs per-replica log directories */
#define PARTITION_CHANGE_RECORD_VERSION 0
#define REGISTER_BROKER_RECORD_VERSION 2 /* v3 only adds tagged log directories */
#define FENCE_RECORD_VERSION 0
#define REMOVE_TOPIC_RECORD_VERSION 0
#define LISTENER_NAME "PLAINTEXT"
#define SECURITY_PROTOCOL_PLAINTEXT 0

static void *must_alloc(void *p) {
    if (p == NULL) abort(); /* out of memory: nothing sensible is left to do */
    return p;
}

/* ---- life cycle ---------------------------------------------------------------- */

void metadata_image_init(metadata_image *m) {
    assert(m != NULL);
    memset(m, 0, sizeof(*m));
    for (int32_t i = 0; i < METADATA_BROKERS_MAX; i++) {
        m->brokers[i].id = i + 1;
        m->brokers[i].epoch = -1;
    }
    m->offset = -1;
}

void metadata_image_deinit(metadata_image *m) {
    assert(m != NULL);
    for (int32_t i = 0; i < m->topic_count; i++) free(m->topics[i].partitions);
    free(m->topics);
    metadata_image_init(m);
}

void metadata_image_copy(metadata_image *dst, const metadata_image *src) {
    assert(dst != NULL && src != NULL);
    if (dst == src) return;
    metadata_image_deinit(dst);
    memcpy(dst->brokers, src->brokers, sizeof(dst->brokers));
    dst->offset = src->offset;
    dst->topics_removed = src->topics_removed;
    if (src->topic_count == 0) return;
    dst->topics = must_alloc(calloc((size_t)src->topic_count, sizeof(metadata_topic)));
    dst->topic_cap = src->topic_count;
    for (int32_t i = 0; i < src->topic_count; i++) {
        const metadata_topic *s = &src->topics[i];
        metadata_topic *d = &dst->topics[i];
        *d = *s;
        d->partitions = NULL;
        if (s->partition_count == 0) continue;
        size_t bytes = (size_t)s->partition_count * sizeof(metadata_partition);
        d->partitions = must_alloc(malloc(bytes));
        memcpy(d->partitions, s->partitions, bytes);
    }
    dst->topic_count = src->topic_count;
}

/* ---- lookups --------------------------------------------------------------------- */

static int32_t topic_index(const metadata_image *m, const char *name, size_t len) {
    if (len == 0 || len >= METADATA_TOPIC_NAME_BYTES_MAX) return -1;
    for (int32_t i = 0; i < m->topic_count; i++) {
        const char *n = m->topics[i].name;
        if (n[0] == name[0] && n[len] == '\0' && memcmp(n, name, len) == 0) return i;
    }
    return -1;
}

static int32_t topic_index_by_id(const metadata_image *m, const uint8_t id[16]) {
    for (int32_t i = 0; i < m->topic_count; i++)
        if (memcmp(m->topics[i].id, id, 16) == 0) return i;
    return -1;
}

const metadata_topic *metadata_image_topic(const metadata_image *m, const char *name, size_t len) {
    assert(m != NULL && (name != NULL || len == 0));
    int32_t i = topic_index(m, name, len);
    return i < 0 ? NULL : &m->topics[i];
}

const metadata_topic *metadata_image_topic_by_id(const metadata_image *m, const uint8_t id[16]) {
    assert(m != NULL && id != NULL);
    int32_t i = topic_index_by_id(m, id);
    return i < 0 ? NULL : &m->topics[i];
}

const metadata_partition *metadata_image_partition(const metadata_image *m, const char *topic,
                                                   size_t topic_len, int32_t partition) {
    const metadata_topic *t = metadata_image_topic(m, topic, topic_len);
    if (t == NULL || partition < 0 || partition >= t->partition_count) return NULL;
    assert(t->partitions[partition].partition == partition);
    return &t->partitions[partition];
}

const metadata_broker *metadata_image_broker(const metadata_image *m, int32_t id) {
    assert(m != NULL);
    if (id < 1 || id > METADATA_BROKERS_MAX) return NULL;
    assert(m->brokers[id - 1].id == id);
    return &m->brokers[id - 1];
}

int metadata_image_broker_alive(const metadata_image *m, int32_t id) {
    const metadata_broker *b = metadata_image_broker(m, id);
    return b != NULL && b->registered && !b->fenced;
}

static int partition_equal(const metadata_partition *a, const metadata_partition *b) {
    return a->partition == b->partition && a->replica_count == b->replica_count &&
           memcmp(a->replicas, b->replicas, (size_t)a->replica_count * sizeof(int32_t)) == 0 &&
           a->isr_count == b->isr_count &&
           memcmp(a->isr, b->isr, (size_t)a->isr_count * sizeof(int32_t)) == 0 &&
           a->leader == b->leader && a->leader_epoch == b->leader_epoch &&
           a->partition_epoch == b->partition_epoch;
}

static int topic_equal(const metadata_topic *a, const metadata_topic *b) {
    if (strcmp(a->name, b->name) != 0 || memcmp(a->id, b->id, 16) != 0) return 0;
    if (a->partition_count != b->partition_count) return 0;
    for (int32_t i = 0; i < a->partition_count; i++)
        if (!partition_equal(&a->partitions[i], &b->partitions[i])) return 0;
    return 1;
}

static int broker_equal(const metadata_broker *a, const metadata_broker *b) {
    return a->id == b->id && a->registered == b->registered && a->fenced == b->fenced &&
           a->epoch == b->epoch && strcmp(a->host, b->host) == 0 && a->port == b->port;
}

int metadata_image_equal(const metadata_image *a, const metadata_image *b) {
    assert(a != NULL && b != NULL);
    for (int32_t i = 0; i < METADATA_BROKERS_MAX; i++)
        if (!broker_equal(&a->brokers[i], &b->brokers[i])) return 0;
    if (a->topic_count != b->topic_count) return 0;
    for (int32_t i = 0; i < a->topic_count; i++)
        if (!topic_equal(&a->topics[i], &b->topics[i])) return 0;
    return 1;
}

/* ---- validation -------------------------------------------------------------------- */

static int valid_broker_id(int32_t id) {
    return id >= 1 && id <= METADATA_BROKERS_MAX;
}

static int contains(const int32_t *ids, int32_t count, int32_t id) {
    for (int32_t i = 0; i < count; i++)
        if (ids[i] == id) return 1;
    return 0;
}

/* Non-empty, bounded, valid broker ids, no duplicates. */
static int valid_id_list(const int32_t *ids, int32_t count) {
    if (count < 1 || count > METADATA_REPLICAS_MAX) return 0;
    for (int32_t i = 0; i < count; i++)
        if (!valid_broker_id(ids[i]) || contains(ids, i, ids[i])) return 0;
    return 1;
}

static int valid_partition(const metadata_partition *p) {
    if (!valid_id_list(p->replicas, p->replica_count)) return 0;
    if (!valid_id_list(p->isr, p->isr_count)) return 0;
    for (int32_t i = 0; i < p->isr_count; i++)
        if (!contains(p->replicas, p->replica_count, p->isr[i])) return 0;
    if (p->leader != METADATA_NO_LEADER && !contains(p->isr, p->isr_count, p->leader)) return 0;
    return p->leader_epoch >= 0 && p->partition_epoch >= 0;
}

/* Copies a decoded id array (count -1 = null = keep) into a bounded one. */
static int copy_ids(int32_t *dst, int32_t *dst_count, const int32_t *src, int32_t count) {
    if (count < 0) return 0;
    if (count > METADATA_REPLICAS_MAX) return -1;
    if (count > 0) memcpy(dst, src, (size_t)count * sizeof(int32_t));
    *dst_count = count;
    return 0;
}

static int body_ok(const wire_reader *r, int rc) {
    return rc == 0 && !r->failed && wire_remaining(r) == 0;
}

/* ---- apply, one function per record type --------------------------------------------- */

static int topics_reserve(metadata_image *m) {
    if (m->topic_count < m->topic_cap) return 0;
    int32_t cap = m->topic_cap == 0 ? 8 : m->topic_cap * 2;
    metadata_topic *t = realloc(m->topics, (size_t)cap * sizeof(metadata_topic));
    if (t == NULL) return -1;
    m->topics = t;
    m->topic_cap = cap;
    return 0;
}

static int apply_topic(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_topic_record rec;
    if (!body_ok(r, kafka_topic_record_decode(&rec, r, version, a))) return -1;
    if (rec.name.len < 1 || rec.name.len >= METADATA_TOPIC_NAME_BYTES_MAX) return -1;
    if (memchr(rec.name.ptr, '\0', (size_t)rec.name.len) != NULL) return -1;
    if (kafka_uuid_is_zero(rec.topic_id)) return -1;
    if (topic_index(m, rec.name.ptr, (size_t)rec.name.len) >= 0) return -1;
    if (topic_index_by_id(m, rec.topic_id) >= 0) return -1;
    if (topics_reserve(m) != 0) return -1;
    metadata_topic *t = &m->topics[m->topic_count++];
    memset(t, 0, sizeof(*t));
    memcpy(t->name, rec.name.ptr, (size_t)rec.name.len);
    memcpy(t->id, rec.topic_id, 16);
    return 0;
}

static int partition_from_record(metadata_partition *p, const kafka_partition_record *rec) {
    memset(p, 0, sizeof(*p));
    p->partition = rec->partition_id;
    if (copy_ids(p->replicas, &p->replica_count, rec->replicas, rec->replicas_count) != 0 ||
        copy_ids(p->isr, &p->isr_count, rec->isr, rec->isr_count) != 0)
        return -1;
    p->leader = rec->leader;
    p->leader_epoch = rec->leader_epoch;
    p->partition_epoch = rec->partition_epoch;
    return valid_partition(p) ? 0 : -1;
}

/* A PartitionRecord for partition_count appends; one for an existing index replaces it
 * (as Kafka does); anything beyond would leave a gap and is rejected. */
static int apply_partition(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_partition_record rec;
    if (!body_ok(r, kafka_partition_record_decode(&rec, r, version, a))) return -1;
    int32_t ti = topic_index_by_id(m, rec.topic_id);
    if (ti < 0) return -1;
    metadata_topic *t = &m->topics[ti];
    if (rec.partition_id < 0 || rec.partition_id > t->partition_count) return -1;
    metadata_partition p;
    if (partition_from_record(&p, &rec) != 0) return -1;
    if (rec.partition_id == t->partition_count) {
        size_t bytes = (size_t)(t->partition_count + 1) * sizeof(metadata_partition);
        metadata_partition *grown = realloc(t->partitions, bytes);
        if (grown == NULL) return -1;
        t->partitions = grown;
        t->partition_count++;
    }
    t->partitions[rec.partition_id] = p;
    return 0;
}

static metadata_partition *find_partition(metadata_image *m, const uint8_t id[16], int32_t p) {
    int32_t ti = topic_index_by_id(m, id);
    if (ti < 0 || p < 0 || p >= m->topics[ti].partition_count) return NULL;
    return &m->topics[ti].partitions[p];
}

static int apply_partition_change(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_partition_change_record rec;
    if (!body_ok(r, kafka_partition_change_record_decode(&rec, r, version, a))) return -1;
    metadata_partition *cur = find_partition(m, rec.topic_id, rec.partition_id);
    if (cur == NULL || rec.leader < -2) return -1;
    metadata_partition next = *cur;
    if (copy_ids(next.isr, &next.isr_count, rec.isr, rec.isr_count) != 0 ||
        copy_ids(next.replicas, &next.replica_count, rec.replicas, rec.replicas_count) != 0)
        return -1;
    if (rec.leader != -2) {
        next.leader = rec.leader;
        next.leader_epoch++;
    }
    next.partition_epoch++;
    if (!valid_partition(&next)) return -1;
    *cur = next;
    return 0;
}

static int apply_register_broker(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_register_broker_record rec;
    if (!body_ok(r, kafka_register_broker_record_decode(&rec, r, version, a))) return -1;
    if (!valid_broker_id(rec.broker_id) || rec.broker_epoch < 0) return -1;
    metadata_broker *b = &m->brokers[rec.broker_id - 1];
    if (b->registered && rec.broker_epoch <= b->epoch) return -1;
    kafka_str host = {"", 0};
    int32_t port = 0;
    if (rec.end_points_count > 0) {
        host = rec.end_points[0].host;
        port = rec.end_points[0].port;
    }
    if (host.len < 0 || (size_t)host.len >= sizeof(b->host)) return -1;
    b->registered = 1;
    b->fenced = rec.fenced != 0;
    b->epoch = rec.broker_epoch;
    memset(b->host, 0, sizeof(b->host));
    if (host.len > 0) memcpy(b->host, host.ptr, (size_t)host.len);
    b->port = port;
    return 0;
}

/* The registered broker at exactly this epoch, or NULL. */
static metadata_broker *broker_at_epoch(metadata_image *m, int32_t id, int64_t epoch) {
    if (!valid_broker_id(id)) return NULL;
    metadata_broker *b = &m->brokers[id - 1];
    return b->registered && b->epoch == epoch ? b : NULL;
}

static int apply_fence(metadata_image *m, wire_reader *r, int16_t version, arena *a, int fenced) {
    int32_t id;
    int64_t epoch;
    if (fenced) {
        kafka_fence_broker_record rec;
        if (!body_ok(r, kafka_fence_broker_record_decode(&rec, r, version, a))) return -1;
        id = rec.id, epoch = rec.epoch;
    } else {
        kafka_unfence_broker_record rec;
        if (!body_ok(r, kafka_unfence_broker_record_decode(&rec, r, version, a))) return -1;
        id = rec.id, epoch = rec.epoch;
    }
    metadata_broker *b = broker_at_epoch(m, id, epoch);
    if (b == NULL) return -1;
    b->fenced = fenced;
    return 0;
}

/* Fenced: 1 fence, -1 unfence, 0 unchanged (BrokerRegistrationFencingChange). */
static int apply_registration_change(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_broker_registration_change_record rec;
    if (!body_ok(r, kafka_broker_registration_change_record_decode(&rec, r, version, a))) return -1;
    metadata_broker *b = broker_at_epoch(m, rec.broker_id, rec.broker_epoch);
    if (b == NULL || rec.fenced < -1 || rec.fenced > 1) return -1;
    if (rec.fenced != 0) b->fenced = rec.fenced == 1;
    return 0;
}

static int apply_unregister_broker(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_unregister_broker_record rec;
    if (!body_ok(r, kafka_unregister_broker_record_decode(&rec, r, version, a))) return -1;
    metadata_broker *b = broker_at_epoch(m, rec.broker_id, rec.broker_epoch);
    if (b == NULL) return -1;
    memset(b, 0, sizeof(*b));
    b->id = rec.broker_id;
    b->epoch = -1;
    return 0;
}

static int apply_remove_topic(metadata_image *m, wire_reader *r, int16_t version, arena *a) {
    kafka_remove_topic_record rec;
    if (!body_ok(r, kafka_remove_topic_record_decode(&rec, r, version, a))) return -1;
    int32_t ti = topic_index_by_id(m, rec.topic_id);
    if (ti < 0) return -1;
    free(m->topics[ti].partitions);
    size_t tail = (size_t)(m->topic_count - ti - 1) * sizeof(metadata_topic);
    memmove(&m->topics[ti], &m->topics[ti + 1], tail);
    m->topic_count--;
    m->topics_removed++;
    return 0;
}

/* Records the image does not model: valid ones are accepted and change nothing. */
static int apply_ignored(uint32_t type, wire_reader *r, int16_t version, arena *a) {
    int rc;
    if (type == KAFKA_METADATA_NO_OP_RECORD) {
        kafka_no_op_record rec;
        rc = kafka_no_op_record_decode(&rec, r, version, a);
    } else if (type == KAFKA_METADATA_FEATURE_LEVEL_RECORD) {
        kafka_feature_level_record rec;
        rc = kafka_feature_level_record_decode(&rec, r, version, a);
    } else if (type == KAFKA_METADATA_CONFIG_RECORD) {
        kafka_config_record rec;
        rc = kafka_config_record_decode(&rec, r, version, a);
    } else if (type == KAFKA_METADATA_PRODUCER_IDS_RECORD) {
        kafka_producer_ids_record rec;
        rc = kafka_producer_ids_record_decode(&rec, r, version, a);
    } else {
        return -1;
    }
    return body_ok(r, rc) ? 0 : -1;
}

static int apply_body(metadata_image *m, uint32_t type, wire_reader *r, int16_t version, arena *a) {
    switch (type) {
    case KAFKA_METADATA_TOPIC_RECORD:
        return apply_topic(m, r, version, a);
    case KAFKA_METADATA_PARTITION_RECORD:
        return apply_partition(m, r, version, a);
    case KAFKA_METADATA_PARTITION_CHANGE_RECORD:
        return apply_partition_change(m, r, version, a);
    case KAFKA_METADATA_REGISTER_BROKER_RECORD:
        return apply_register_broker(m, r, version, a);
    case KAFKA_METADATA_FENCE_BROKER_RECORD:
        return apply_fence(m, r, version, a, 1);
    case KAFKA_METADATA_UNFENCE_BROKER_RECORD:
        return apply_fence(m, r, version, a, 0);
    case KAFKA_METADATA_BROKER_REGISTRATION_CHANGE_RECORD:
        return apply_registration_change(m, r, version, a);
    case KAFKA_METADATA_UNREGISTER_BROKER_RECORD:
        return apply_unregister_broker(m, r, version, a);
    case KAFKA_METADATA_REMOVE_TOPIC_RECORD:
        return apply_remove_topic(m, r, version, a);
    default:
        return apply_ignored(type, r, version, a);
    }
}

int metadata_image_apply(metadata_image *m, int64_t offset, const uint8_t *value, size_t len) {
    assert(m != NULL && (value != NULL || len == 0));
    if (offset <= m->offset) return -1; /* records apply once, in log order */
    wire_reader r;
    wire_reader_init(&r, value, len);
    uint32_t frame = wire_get_uvarint(&r);
    uint32_t type = wire_get_uvarint(&r);
    uint32_t version = wire_get_uvarint(&r);
    if (r.failed || frame != FRAME_VERSION || version > INT16_MAX) return -1;
    arena a;
    arena_init(&a);
    int rc = apply_body(m, type, &r, (int16_t)version, &a);
    arena_deinit(&a);
    if (rc == 0) m->offset = offset;
    return rc;
}

/* ---- writers ------------------------------------------------------------------------ */

static size_t frame_begin(wire_writer *w, uint32_t type, int16_t version) {
    assert(w != NULL && version >= 0);
    size_t start = w->len;
    wire_put_uvarint(w, FRAME_VERSION);
    wire_put_uvarint(w, type);
    wire_put_uvarint(w, (uint32_t)version);
    return start;
}

size_t metadata_record_topic(wire_writer *w, const char *name, const uint8_t id[16]) {
    assert(name != NULL && strlen(name) < METADATA_TOPIC_NAME_BYTES_MAX);
    size_t start = frame_begin(w, KAFKA_METADATA_TOPIC_RECORD, TOPIC_RECORD_VERSION);
    kafka_topic_record rec;
    kafka_topic_record_init(&rec);
    rec.name = kafka_str_c(name);
    memcpy(rec.topic_id, id, 16);
    kafka_topic_record_encode(&rec, w, TOPIC_RECORD_VERSION);
    return start;
}

size_t metadata_record_partition(wire_writer *w, const uint8_t topic_id[16],
                                 const metadata_partition *p) {
    assert(p != NULL && valid_partition(p));
    size_t start = frame_begin(w, KAFKA_METADATA_PARTITION_RECORD, PARTITION_RECORD_VERSION);
    metadata_partition copy = *p; /* the codec's arrays are not const */
    kafka_partition_record rec;
    kafka_partition_record_init(&rec);
    rec.partition_id = copy.partition;
    memcpy(rec.topic_id, topic_id, 16);
    rec.replicas = copy.replicas;
    rec.replicas_count = copy.replica_count;
    rec.isr = copy.isr;
    rec.isr_count = copy.isr_count;
    rec.leader = copy.leader;
    rec.leader_epoch = copy.leader_epoch;
    rec.partition_epoch = copy.partition_epoch;
    kafka_partition_record_encode(&rec, w, PARTITION_RECORD_VERSION);
    return start;
}

size_t metadata_record_partition_change(wire_writer *w, const uint8_t topic_id[16],
                                        int32_t partition, const int32_t *isr, int32_t isr_count,
                                        int32_t leader) {
    assert(isr_count <= METADATA_REPLICAS_MAX && (isr != NULL || isr_count <= 0));
    assert(leader >= -2);
    size_t start =
        frame_begin(w, KAFKA_METADATA_PARTITION_CHANGE_RECORD, PARTITION_CHANGE_RECORD_VERSION);
    int32_t isr_copy[METADATA_REPLICAS_MAX];
    if (isr_count > 0) memcpy(isr_copy, isr, (size_t)isr_count * sizeof(int32_t));
    kafka_partition_change_record rec;
    kafka_partition_change_record_init(&rec);
    rec.partition_id = partition;
    memcpy(rec.topic_id, topic_id, 16);
    rec.isr = isr_count >= 0 ? isr_copy : NULL;
    rec.isr_count = isr_count < 0 ? -1 : isr_count;
    rec.leader = leader;
    kafka_partition_change_record_encode(&rec, w, PARTITION_CHANGE_RECORD_VERSION);
    return start;
}

size_t metadata_record_register_broker(wire_writer *w, int32_t id, int64_t epoch, const char *host,
                                       int32_t port) {
    assert(valid_broker_id(id) && epoch >= 0);
    assert(host != NULL && strlen(host) < sizeof(((metadata_broker *)0)->host));
    assert(port >= 0 && port <= UINT16_MAX);
    size_t start =
        frame_begin(w, KAFKA_METADATA_REGISTER_BROKER_RECORD, REGISTER_BROKER_RECORD_VERSION);
    kafka_register_broker_record_broker_endpoint ep;
    kafka_register_broker_record_broker_endpoint_init(&ep);
    ep.name = kafka_str_c(LISTENER_NAME);
    ep.host = kafka_str_c(host);
    ep.port = (uint16_t)port;
    ep.security_protocol = SECURITY_PROTOCOL_PLAINTEXT;
    kafka_register_broker_record rec;
    kafka_register_broker_record_init(&rec);
    rec.broker_id = id;
    rec.broker_epoch = epoch;
    rec.end_points = &ep;
    rec.end_points_count = 1;
    rec.rack = kafka_str_c(NULL);
    rec.fenced = 1;
    kafka_register_broker_record_encode(&rec, w, REGISTER_BROKER_RECORD_VERSION);
    return start;
}

size_t metadata_record_fence_broker(wire_writer *w, int32_t id, int64_t epoch) {
    assert(valid_broker_id(id) && epoch >= 0);
    size_t start = frame_begin(w, KAFKA_METADATA_FENCE_BROKER_RECORD, FENCE_RECORD_VERSION);
    kafka_fence_broker_record rec;
    kafka_fence_broker_record_init(&rec);
    rec.id = id;
    rec.epoch = epoch;
    kafka_fence_broker_record_encode(&rec, w, FENCE_RECORD_VERSION);
    return start;
}

size_t metadata_record_unfence_broker(wire_writer *w, int32_t id, int64_t epoch) {
    assert(valid_broker_id(id) && epoch >= 0);
    size_t start = frame_begin(w, KAFKA_METADATA_UNFENCE_BROKER_RECORD, FENCE_RECORD_VERSION);
    kafka_unfence_broker_record rec;
    kafka_unfence_broker_record_init(&rec);
    rec.id = id;
    rec.epoch = epoch;
    kafka_unfence_broker_record_encode(&rec, w, FENCE_RECORD_VERSION);
    return start;
}

size_t metadata_record_remove_topic(wire_writer *w, const uint8_t topic_id[16]) {
    assert(topic_id != NULL);
    size_t start = frame_begin(w, KAFKA_METADATA_REMOVE_TOPIC_RECORD, REMOVE_TOPIC_RECORD_VERSION);
    kafka_remove_topic_record rec;
    kafka_remove_topic_record_init(&rec);
    memcpy(rec.topic_id, topic_id, 16);
    kafka_remove_topic_record_encode(&rec, w, REMOVE_TOPIC_RECORD_VERSION);
    return start;
}
