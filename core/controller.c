/*
 * controller.c — the active controller's decisions (see controller.h for the rules).
 *
 * Every decision is written as framed metadata records into the caller's
 * controller_records and applied at once to `latest`, so the next decision sees it.
 * `latest` advances one offset per record from the committed image's offset; a
 * registration moves it to the offset the caller names (raft may have appended
 * control records in between), so its offsets never run ahead of the real log.
 *
 * A broker leaving (session expiry, want_fence, or re-registration after a restart)
 * is handled one broker at a time: it is removed from every ISR it is in — except
 * that an ISR is never emptied: a last member stays, since it is the replica that
 * holds every acknowledged write, and the partition goes offline — and every
 * partition it led is re-elected.  A broker coming back (unfence) and every timer
 * tick run an "offline sweep" that elects every leaderless partition that can be.
 *
 * Sessions (last heartbeat per broker) live in memory only: a new controller starts
 * every session at its creation time, as Kafka's does.
 */
#include "controller.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"

#define NO_LEADER_CHANGE (-2)
#define TOPIC_NAME_CHARS_MAX 249

struct controller {
    controller_config cfg;
    metadata_image latest;
    int64_t heartbeat_us[METADATA_BROKERS_MAX]; /* last heartbeat (or session start) */
    /* controller_next_deadline_us, asked after every event on this broker: kept by
     * deadline_refresh wherever `latest` or heartbeat_us changes */
    int64_t deadline_us;
};

static int64_t deadline_compute_us(const controller *c) {
    int64_t heartbeat_us = INT64_MAX;
    for (int32_t i = 0; i < METADATA_BROKERS_MAX; i++) {
        const metadata_broker *b = &c->latest.brokers[i];
        if (b->registered && !b->fenced && c->heartbeat_us[i] < heartbeat_us)
            heartbeat_us = c->heartbeat_us[i];
    }
    return heartbeat_us == INT64_MAX ? INT64_MAX : heartbeat_us + c->cfg.session_timeout_ms * 1000;
}

static void deadline_refresh(controller *c) {
    c->deadline_us = deadline_compute_us(c);
}

/* ---- records ---------------------------------------------------------------------- */

void controller_records_init(controller_records *r) {
    assert(r != NULL);
    wire_writer_init(&r->buf);
    r->count = 0;
    r->starts[0] = 0;
}

void controller_records_reset(controller_records *r) {
    assert(r != NULL);
    wire_writer_reset(&r->buf);
    r->count = 0;
    r->starts[0] = 0;
}

void controller_records_deinit(controller_records *r) {
    assert(r != NULL);
    wire_writer_deinit(&r->buf);
    r->count = 0;
}

static int records_room(const controller_records *recs, int32_t n) {
    return recs->count + n <= CONTROLLER_RECORDS_MAX;
}

/* Seals the value written since `start` and applies it to latest at `offset`. */
static void records_seal_at(controller *c, controller_records *recs, size_t start, int64_t offset) {
    assert(!recs->buf.failed && "out of memory writing metadata records");
    assert(recs->count < CONTROLLER_RECORDS_MAX && recs->starts[recs->count] == start);
    recs->count++;
    recs->starts[recs->count] = recs->buf.len;
    int rc =
        metadata_image_apply(&c->latest, offset, recs->buf.data + start, recs->buf.len - start);
    assert(rc == 0 && "the controller wrote a record its own image rejects");
    (void)rc;
    deadline_refresh(c);
}

static void records_seal(controller *c, controller_records *recs, size_t start) {
    records_seal_at(c, recs, start, c->latest.offset + 1);
}

/* ---- life cycle ------------------------------------------------------------------- */

controller *controller_create(const controller_config *cfg, const metadata_image *committed,
                              int64_t now_us) {
    assert(cfg != NULL && committed != NULL);
    assert(cfg->session_timeout_ms > 0);
    controller *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    c->cfg = *cfg;
    metadata_image_init(&c->latest);
    metadata_image_copy(&c->latest, committed);
    for (int32_t i = 0; i < METADATA_BROKERS_MAX; i++) c->heartbeat_us[i] = now_us;
    deadline_refresh(c);
    return c;
}

void controller_destroy(controller *c) {
    if (c == NULL) return;
    metadata_image_deinit(&c->latest);
    free(c);
}

const metadata_image *controller_latest(const controller *c) {
    assert(c != NULL);
    return &c->latest;
}

/* ---- elections ---------------------------------------------------------------------- */

static int contains(const int32_t *ids, int32_t count, int32_t id) {
    for (int32_t i = 0; i < count; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static int alive(const controller *c, int32_t id) {
    return metadata_image_broker_alive(&c->latest, id);
}

/* Picks a leader for p given the ISR it will have (*isr, *isr_count): the first
 * replica in replica order that is in that ISR and alive; else, with unclean
 * election, the first alive replica, which becomes the whole ISR; else -1. */
static int32_t elect(const controller *c, const metadata_partition *p, int32_t *isr,
                     int32_t *isr_count) {
    for (int32_t i = 0; i < p->replica_count; i++) {
        int32_t r = p->replicas[i];
        if (contains(isr, *isr_count, r) && alive(c, r)) return r;
    }
    if (!c->cfg.unclean_leader_election) return METADATA_NO_LEADER;
    for (int32_t i = 0; i < p->replica_count; i++) {
        if (!alive(c, p->replicas[i])) continue;
        isr[0] = p->replicas[i];
        *isr_count = 1;
        return isr[0];
    }
    return METADATA_NO_LEADER;
}

static int same_ids(const int32_t *a, int32_t a_count, const int32_t *b, int32_t b_count) {
    return a_count == b_count && memcmp(a, b, (size_t)a_count * sizeof(int32_t)) == 0;
}

/* Writes the change from p to (isr, leader) if there is one; leader -2 = keep. */
static void write_change(controller *c, controller_records *recs, const uint8_t topic_id[16],
                         const metadata_partition *p, const int32_t *isr, int32_t isr_count,
                         int32_t leader) {
    int isr_changed = !same_ids(isr, isr_count, p->isr, p->isr_count);
    int leader_changed = leader != NO_LEADER_CHANGE && leader != p->leader;
    if (!isr_changed && !leader_changed) return;
    size_t start = metadata_record_partition_change(&recs->buf, topic_id, p->partition, isr,
                                                    isr_changed ? isr_count : -1,
                                                    leader_changed ? leader : NO_LEADER_CHANGE);
    records_seal(c, recs, start);
}

/* Broker `id` just became fenced: drop it from p's ISR (keeping a last member) and
 * re-elect if it led. */
static void partition_on_fenced(controller *c, controller_records *recs, const uint8_t topic_id[16],
                                const metadata_partition *p, int32_t id) {
    int32_t isr[METADATA_REPLICAS_MAX];
    int32_t n = 0;
    for (int32_t i = 0; i < p->isr_count; i++)
        if (p->isr[i] != id) isr[n++] = p->isr[i];
    if (n == 0) { /* never empty the ISR: its last member holds every committed write */
        isr[0] = id;
        n = 1;
    }
    int32_t leader = NO_LEADER_CHANGE;
    if (p->leader == id) leader = elect(c, p, isr, &n);
    write_change(c, recs, topic_id, p, isr, n, leader);
}

static void partitions_on_fenced(controller *c, controller_records *recs, int32_t id) {
    assert(!alive(c, id));
    for (int32_t t = 0; t < c->latest.topic_count; t++) {
        const metadata_topic *topic = &c->latest.topics[t];
        for (int32_t i = 0; i < topic->partition_count; i++) {
            const metadata_partition *p = &topic->partitions[i];
            if (p->leader != id && !contains(p->isr, p->isr_count, id)) continue;
            partition_on_fenced(c, recs, topic->id, p, id);
        }
    }
}

/* Elects every leaderless partition that now can be. */
static void elect_offline(controller *c, controller_records *recs) {
    for (int32_t t = 0; t < c->latest.topic_count; t++) {
        const metadata_topic *topic = &c->latest.topics[t];
        for (int32_t i = 0; i < topic->partition_count; i++) {
            const metadata_partition *p = &topic->partitions[i];
            if (p->leader != METADATA_NO_LEADER) continue;
            int32_t isr[METADATA_REPLICAS_MAX];
            int32_t n = p->isr_count;
            memcpy(isr, p->isr, (size_t)n * sizeof(int32_t));
            int32_t leader = elect(c, p, isr, &n);
            if (leader != METADATA_NO_LEADER) write_change(c, recs, topic->id, p, isr, n, leader);
        }
    }
}

static void fence_broker(controller *c, controller_records *recs, int32_t id) {
    const metadata_broker *b = metadata_image_broker(&c->latest, id);
    assert(b != NULL && b->registered && !b->fenced);
    records_seal(c, recs, metadata_record_fence_broker(&recs->buf, id, b->epoch));
    partitions_on_fenced(c, recs, id);
}

static void unfence_broker(controller *c, controller_records *recs, int32_t id) {
    const metadata_broker *b = metadata_image_broker(&c->latest, id);
    assert(b != NULL && b->registered && b->fenced);
    records_seal(c, recs, metadata_record_unfence_broker(&recs->buf, id, b->epoch));
    elect_offline(c, recs);
}

/* ---- sessions ----------------------------------------------------------------------- */

static int64_t session_deadline_us(const controller *c, int32_t id) {
    return c->heartbeat_us[id - 1] + c->cfg.session_timeout_ms * 1000;
}

void controller_on_timer(controller *c, controller_records *recs, int64_t now_us) {
    assert(c != NULL && recs != NULL);
    for (int32_t id = 1; id <= METADATA_BROKERS_MAX; id++)
        if (alive(c, id) && now_us >= session_deadline_us(c, id)) fence_broker(c, recs, id);
    elect_offline(c, recs); /* e.g. left offline by a previous controller */
}

int64_t controller_next_deadline_us(const controller *c) {
    assert(c != NULL);
#if defined(__SANITIZE_ADDRESS__) /* the sanitizer builds check every change refreshed it */
    assert(c->deadline_us == deadline_compute_us(c));
#endif
    return c->deadline_us;
}

/* ---- BrokerRegistration / BrokerHeartbeat -------------------------------------------- */

/* The first listener's host as a C string; -1 if it does not fit. */
static int listener_host(const kafka_broker_registration_request *req, char *host,
                         size_t host_bytes, int32_t *port) {
    memset(host, 0, host_bytes);
    *port = 0;
    if (req->listeners_count <= 0) return 0;
    kafka_str h = req->listeners[0].host;
    if (h.len < 0 || (size_t)h.len >= host_bytes || memchr(h.ptr, '\0', (size_t)h.len)) return -1;
    if (h.len > 0) memcpy(host, h.ptr, (size_t)h.len);
    *port = req->listeners[0].port;
    return 0;
}

void controller_handle_broker_registration(controller *c,
                                           const kafka_broker_registration_request *req,
                                           kafka_broker_registration_response *out,
                                           controller_records *recs, int64_t next_offset,
                                           int64_t now_us) {
    assert(c != NULL && req != NULL && out != NULL && recs != NULL);
    assert(next_offset > c->latest.offset && "next_offset is behind records already written");
    kafka_broker_registration_response_init(out);
    char host[sizeof(c->latest.brokers[0].host)];
    int32_t port;
    if (metadata_image_broker(&c->latest, req->broker_id) == NULL ||
        listener_host(req, host, sizeof host, &port) != 0) {
        out->error_code = KAFKA_ERROR_INVALID_REQUEST;
        out->broker_epoch = -1;
        return;
    }
    /* A registration replaces the old one (a restart): the broker is fenced until
     * caught up, and leaves every ISR and leadership it held under its old epoch. */
    size_t start =
        metadata_record_register_broker(&recs->buf, req->broker_id, next_offset, host, port);
    records_seal_at(c, recs, start, next_offset);
    partitions_on_fenced(c, recs, req->broker_id);
    c->heartbeat_us[req->broker_id - 1] = now_us;
    deadline_refresh(c);
    out->broker_epoch = next_offset;
}

void controller_handle_broker_heartbeat(controller *c, const kafka_broker_heartbeat_request *req,
                                        kafka_broker_heartbeat_response *out,
                                        controller_records *recs, int64_t now_us) {
    assert(c != NULL && req != NULL && out != NULL && recs != NULL);
    kafka_broker_heartbeat_response_init(out);
    const metadata_broker *b = metadata_image_broker(&c->latest, req->broker_id);
    if (b == NULL || !b->registered || b->epoch != req->broker_epoch) {
        out->error_code = KAFKA_ERROR_STALE_BROKER_EPOCH;
        out->is_fenced = 1;
        return;
    }
    c->heartbeat_us[req->broker_id - 1] = now_us;
    deadline_refresh(c);
    int caught_up = req->current_metadata_offset >= b->epoch;
    if ((req->want_fence || req->want_shut_down) && !b->fenced)
        fence_broker(c, recs, req->broker_id);
    else if (b->fenced && caught_up && !req->want_fence && !req->want_shut_down)
        unfence_broker(c, recs, req->broker_id);
    out->is_caught_up = (uint8_t)caught_up;
    out->is_fenced = (uint8_t)b->fenced;
    /* Fencing moved every leadership away: a broker asking to shut down may go. */
    out->should_shut_down = (uint8_t)(req->want_shut_down && b->fenced);
}

/* ---- AlterPartition ------------------------------------------------------------------- */

/* The requested ISR as ids (and epochs for v3, -1 = unchecked); -1 if too long. */
static int requested_isr(const kafka_alter_partition_request_partition_data *pd, int16_t version,
                         int32_t *isr, int64_t *epochs, int32_t *count) {
    int32_t n = version >= 3 ? pd->new_isr_with_epochs_count : pd->new_isr_count;
    if (n < 0 || n > METADATA_REPLICAS_MAX) return -1;
    for (int32_t i = 0; i < n; i++) {
        isr[i] = version >= 3 ? pd->new_isr_with_epochs[i].broker_id : pd->new_isr[i];
        epochs[i] = version >= 3 ? pd->new_isr_with_epochs[i].broker_epoch : -1;
    }
    *count = n;
    return 0;
}

/* Replicas only, no duplicates, contains the leader. */
static int isr_well_formed(const metadata_partition *p, const int32_t *isr, int32_t n) {
    if (!contains(isr, n, p->leader)) return 0;
    for (int32_t i = 0; i < n; i++)
        if (!contains(p->replicas, p->replica_count, isr[i]) || contains(isr, i, isr[i])) return 0;
    return 1;
}

static int isr_eligible(const controller *c, const int32_t *isr, const int64_t *epochs, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (!alive(c, isr[i])) return 0;
        if (epochs[i] != -1 && metadata_image_broker(&c->latest, isr[i])->epoch != epochs[i])
            return 0;
    }
    return 1;
}

/* Kafka's order: a request ahead of this controller means it is not the controller
 * any more; then leadership, then fencing by epochs, then the ISR itself. */
static int16_t validate_alter(const controller *c, int32_t broker_id, const metadata_partition *p,
                              const kafka_alter_partition_request_partition_data *pd,
                              int16_t version, int32_t *isr, int32_t *n) {
    int64_t epochs[METADATA_REPLICAS_MAX];
    if (pd->leader_epoch > p->leader_epoch || pd->partition_epoch > p->partition_epoch)
        return KAFKA_ERROR_NOT_CONTROLLER;
    if (broker_id != p->leader) return KAFKA_ERROR_NOT_LEADER_OR_FOLLOWER;
    if (pd->leader_epoch < p->leader_epoch) return KAFKA_ERROR_FENCED_LEADER_EPOCH;
    if (pd->partition_epoch < p->partition_epoch) return KAFKA_ERROR_INVALID_UPDATE_VERSION;
    if (requested_isr(pd, version, isr, epochs, n) != 0 || !isr_well_formed(p, isr, *n))
        return KAFKA_ERROR_INVALID_REQUEST;
    if (!isr_eligible(c, isr, epochs, *n)) return KAFKA_ERROR_INELIGIBLE_REPLICA;
    return KAFKA_ERROR_NONE;
}

static void fill_alter_result(kafka_alter_partition_response_partition_data *res,
                              const metadata_partition *p, arena *a) {
    res->leader_id = p->leader;
    res->leader_epoch = p->leader_epoch;
    res->partition_epoch = p->partition_epoch;
    res->isr = arena_alloc(a, (size_t)p->isr_count * sizeof(int32_t));
    assert(res->isr != NULL && "out of memory");
    memcpy(res->isr, p->isr, (size_t)p->isr_count * sizeof(int32_t));
    res->isr_count = p->isr_count;
}

static void alter_one(controller *c, int32_t broker_id, const metadata_topic *t,
                      const kafka_alter_partition_request_partition_data *pd, int16_t version,
                      kafka_alter_partition_response_partition_data *res, controller_records *recs,
                      arena *a) {
    kafka_alter_partition_response_partition_data_init(res);
    res->partition_index = pd->partition_index;
    if (t == NULL || pd->partition_index < 0 || pd->partition_index >= t->partition_count) {
        res->error_code = version >= 2 && t == NULL ? KAFKA_ERROR_UNKNOWN_TOPIC_ID
                                                    : KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    const metadata_partition *p = &t->partitions[pd->partition_index];
    int32_t isr[METADATA_REPLICAS_MAX];
    int32_t n = 0;
    res->error_code = validate_alter(c, broker_id, p, pd, version, isr, &n);
    if (res->error_code == KAFKA_ERROR_NONE && !records_room(recs, 1))
        res->error_code = KAFKA_ERROR_REQUEST_TIMED_OUT;
    if (res->error_code != KAFKA_ERROR_NONE) return;
    write_change(c, recs, t->id, p, isr, n, NO_LEADER_CHANGE); /* none if ISR unchanged */
    fill_alter_result(res, p, a);
}

static const metadata_topic *alter_topic(const controller *c,
                                         const kafka_alter_partition_request_topic_data *td,
                                         int16_t version) {
    if (version >= 2) return metadata_image_topic_by_id(&c->latest, td->topic_id);
    if (td->topic_name.len <= 0) return NULL;
    return metadata_image_topic(&c->latest, td->topic_name.ptr, (size_t)td->topic_name.len);
}

void controller_handle_alter_partition(controller *c, const kafka_alter_partition_request *req,
                                       int16_t version, kafka_alter_partition_response *out,
                                       controller_records *recs, arena *a) {
    assert(c != NULL && req != NULL && out != NULL && recs != NULL && a != NULL);
    assert(version >= 0 && version <= KAFKA_ALTER_PARTITION_REQUEST_VERSION_MAX);
    kafka_alter_partition_response_init(out);
    const metadata_broker *b = metadata_image_broker(&c->latest, req->broker_id);
    if (b == NULL || !b->registered || b->epoch != req->broker_epoch) {
        out->error_code = KAFKA_ERROR_STALE_BROKER_EPOCH;
        return;
    }
    int32_t nt = req->topics_count < 0 ? 0 : req->topics_count;
    out->topics = arena_alloc(a, (size_t)nt * sizeof(*out->topics));
    assert(out->topics != NULL && "out of memory");
    out->topics_count = nt;
    for (int32_t i = 0; i < nt; i++) {
        const kafka_alter_partition_request_topic_data *td = &req->topics[i];
        kafka_alter_partition_response_topic_data *rt = &out->topics[i];
        kafka_alter_partition_response_topic_data_init(rt);
        rt->topic_name = td->topic_name;
        memcpy(rt->topic_id, td->topic_id, 16);
        int32_t np = td->partitions_count < 0 ? 0 : td->partitions_count;
        rt->partitions = arena_alloc(a, (size_t)np * sizeof(*rt->partitions));
        assert(rt->partitions != NULL && "out of memory");
        rt->partitions_count = np;
        for (int32_t k = 0; k < np; k++) {
            /* Look the topic up per partition: a record may have moved latest's arrays. */
            alter_one(c, req->broker_id, alter_topic(c, td, version), &td->partitions[k], version,
                      &rt->partitions[k], recs, a);
        }
    }
}

/* ---- CreateTopics --------------------------------------------------------------------- */

/* splitmix64: one caller-supplied random value seeds every draw of one request. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int controller_topic_name_valid(kafka_str name) {
    if (name.len < 1 || name.len > TOPIC_NAME_CHARS_MAX) return 0;
    if ((name.len == 1 && name.ptr[0] == '.') ||
        (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.'))
        return 0;
    for (int32_t i = 0; i < name.len; i++) {
        char ch = name.ptr[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-';
        if (!ok) return 0;
    }
    return 1;
}

static int kafka_str_same(kafka_str a, kafka_str b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static int32_t alive_brokers(const controller *c, int32_t *ids) {
    int32_t n = 0;
    for (int32_t id = 1; id <= METADATA_BROKERS_MAX; id++)
        if (alive(c, id)) ids[n++] = id;
    return n;
}

typedef struct create_plan {
    int32_t partitions;
    int32_t replication_factor;
    const kafka_create_topics_request_creatable_topic *topic;
} create_plan;

/* Explicit assignments: partitions 0..n-1 once each, same replica count, distinct
 * registered brokers, at least one alive. */
static int16_t validate_assignments(const controller *c,
                                    const kafka_create_topics_request_creatable_topic *t,
                                    create_plan *plan, const char **msg) {
    int32_t n = t->assignments_count;
    if (t->num_partitions != -1 || t->replication_factor != -1) {
        *msg = "num_partitions and replication_factor must be -1 with assignments";
        return KAFKA_ERROR_INVALID_REQUEST;
    }
    int32_t rf = t->assignments[0].broker_ids_count;
    *msg = "invalid replica assignment";
    for (int32_t i = 0; i < n; i++) {
        const kafka_create_topics_request_creatable_replica_assignment *as = &t->assignments[i];
        if (as->partition_index < 0 || as->partition_index >= n)
            return KAFKA_ERROR_INVALID_REPLICA_ASSIGNMENT;
        for (int32_t k = 0; k < i; k++)
            if (t->assignments[k].partition_index == as->partition_index)
                return KAFKA_ERROR_INVALID_REPLICA_ASSIGNMENT;
        if (as->broker_ids_count != rf || rf < 1 || rf > METADATA_REPLICAS_MAX)
            return KAFKA_ERROR_INVALID_REPLICA_ASSIGNMENT;
        int any_alive = 0;
        for (int32_t k = 0; k < rf; k++) {
            const metadata_broker *b = metadata_image_broker(&c->latest, as->broker_ids[k]);
            if (b == NULL || !b->registered || contains(as->broker_ids, k, as->broker_ids[k]))
                return KAFKA_ERROR_INVALID_REPLICA_ASSIGNMENT;
            any_alive |= alive(c, as->broker_ids[k]);
        }
        if (!any_alive) return KAFKA_ERROR_INVALID_REPLICA_ASSIGNMENT;
    }
    plan->partitions = n;
    plan->replication_factor = rf;
    *msg = NULL;
    return KAFKA_ERROR_NONE;
}

static int16_t validate_counts(const controller *c,
                               const kafka_create_topics_request_creatable_topic *t,
                               create_plan *plan, const char **msg) {
    int32_t ids[METADATA_BROKERS_MAX];
    int32_t partitions = t->num_partitions == -1 ? c->cfg.default_partitions : t->num_partitions;
    int32_t rf =
        t->replication_factor == -1 ? c->cfg.default_replication_factor : t->replication_factor;
    if (partitions < 1) {
        *msg = "number of partitions must be at least 1";
        return KAFKA_ERROR_INVALID_PARTITIONS;
    }
    if (rf < 1 || rf > alive_brokers(c, ids)) {
        *msg = "replication factor must be between 1 and the number of alive brokers";
        return KAFKA_ERROR_INVALID_REPLICATION_FACTOR;
    }
    plan->partitions = partitions;
    plan->replication_factor = rf;
    return KAFKA_ERROR_NONE;
}

static int16_t validate_create(const controller *c, const kafka_create_topics_request *req,
                               int32_t index, const controller_records *recs, create_plan *plan,
                               const char **msg) {
    const kafka_create_topics_request_creatable_topic *t = &req->topics[index];
    plan->topic = t;
    *msg = NULL;
    if (!controller_topic_name_valid(t->name)) {
        *msg = "topic names are 1 to 249 of [a-zA-Z0-9._-], not '.' or '..'";
        return KAFKA_ERROR_INVALID_TOPIC_EXCEPTION;
    }
    for (int32_t i = 0; i < req->topics_count; i++) {
        if (i != index && kafka_str_same(req->topics[i].name, t->name)) {
            *msg = "duplicate topic name in the request";
            return KAFKA_ERROR_INVALID_REQUEST;
        }
    }
    if (metadata_image_topic(&c->latest, t->name.ptr, (size_t)t->name.len) != NULL) {
        *msg = "topic already exists";
        return KAFKA_ERROR_TOPIC_ALREADY_EXISTS;
    }
    int16_t err = t->assignments_count > 0 ? validate_assignments(c, t, plan, msg)
                                           : validate_counts(c, t, plan, msg);
    if (err == KAFKA_ERROR_NONE && !records_room(recs, 1 + plan->partitions)) {
        *msg = "too many partitions for one request";
        return KAFKA_ERROR_INVALID_PARTITIONS;
    }
    return err;
}

/* Kafka reserves the zero UUID and UUID 1 (the metadata topic's id). */
static int uuid_reserved(const uint8_t id[16]) {
    for (int i = 0; i < 15; i++)
        if (id[i] != 0) return 0;
    return id[15] <= 1;
}

static void new_topic_id(const controller *c, uint64_t *rng, uint8_t id[16]) {
    do {
        uint64_t hi = next_random(rng), lo = next_random(rng);
        for (int i = 0; i < 8; i++) {
            id[i] = (uint8_t)(hi >> (56 - 8 * i));
            id[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
        }
    } while (uuid_reserved(id) || metadata_image_topic_by_id(&c->latest, id) != NULL);
}

/* Replicas of partition p: explicit, or round robin over the alive brokers. */
static void plan_partition(const controller *c, const create_plan *plan, int32_t p, uint32_t start,
                           metadata_partition *out) {
    memset(out, 0, sizeof(*out));
    out->partition = p;
    out->replica_count = plan->replication_factor;
    const kafka_create_topics_request_creatable_topic *t = plan->topic;
    for (int32_t i = 0; t->assignments_count > 0 && i < t->assignments_count; i++) {
        if (t->assignments[i].partition_index != p) continue;
        memcpy(out->replicas, t->assignments[i].broker_ids,
               (size_t)out->replica_count * sizeof(int32_t));
    }
    if (t->assignments_count <= 0) {
        int32_t ids[METADATA_BROKERS_MAX];
        int32_t n = alive_brokers(c, ids);
        assert(n >= out->replica_count);
        for (int32_t k = 0; k < out->replica_count; k++)
            out->replicas[k] = ids[(start % (uint32_t)n + (uint32_t)p + (uint32_t)k) % (uint32_t)n];
    }
    for (int32_t k = 0; k < out->replica_count; k++)
        if (alive(c, out->replicas[k])) out->isr[out->isr_count++] = out->replicas[k];
    assert(out->isr_count > 0);
    out->leader = out->isr[0];
}

static void create_topic(controller *c, const create_plan *plan, uint64_t *rng,
                         controller_records *recs, uint8_t id[16]) {
    char name[METADATA_TOPIC_NAME_BYTES_MAX];
    memcpy(name, plan->topic->name.ptr, (size_t)plan->topic->name.len);
    name[plan->topic->name.len] = '\0';
    new_topic_id(c, rng, id);
    uint32_t start = (uint32_t)(next_random(rng) >> 32);
    records_seal(c, recs, metadata_record_topic(&recs->buf, name, id));
    for (int32_t p = 0; p < plan->partitions; p++) {
        metadata_partition part;
        plan_partition(c, plan, p, start, &part);
        records_seal(c, recs, metadata_record_partition(&recs->buf, id, &part));
    }
}

void controller_handle_create_topics(controller *c, const kafka_create_topics_request *req,
                                     int16_t version, kafka_create_topics_response *out,
                                     controller_records *recs, arena *a, uint64_t random) {
    assert(c != NULL && req != NULL && out != NULL && recs != NULL && a != NULL);
    kafka_create_topics_response_init(out);
    int32_t n = req->topics_count < 0 ? 0 : req->topics_count;
    out->topics = arena_alloc(a, (size_t)n * sizeof(*out->topics));
    assert(out->topics != NULL && "out of memory");
    out->topics_count = n;
    /* Ids (and placement) follow from the caller's seed, but a name created again
     * after a deletion must get a new id, as Kafka's random UUIDs do: brokers tell
     * a deleted topic's leftover directory by it (partition_metadata.h). */
    uint64_t rng = random ^ (uint64_t)c->latest.topics_removed * 0x9e3779b97f4a7c15ull;
    for (int32_t i = 0; i < n; i++) {
        kafka_create_topics_response_creatable_topic_result *res = &out->topics[i];
        kafka_create_topics_response_creatable_topic_result_init(res);
        res->name = req->topics[i].name;
        create_plan plan;
        const char *msg;
        res->error_code = validate_create(c, req, i, recs, &plan, &msg);
        res->error_message = kafka_str_c(msg);
        res->num_partitions = -1;
        res->replication_factor = -1;
        if (res->error_code != KAFKA_ERROR_NONE) continue;
        res->num_partitions = plan.partitions;
        res->replication_factor = (int16_t)plan.replication_factor;
        if (req->validate_only) continue;
        create_topic(c, &plan, &rng, recs, res->topic_id);
    }
}

/* ---- DeleteTopics ----------------------------------------------------------------------- */

/* The i-th topic named in the request, by the fields of its version. */
static void delete_target(const kafka_delete_topics_request *req, int16_t version, int32_t i,
                          kafka_str *name, uint8_t id[16]) {
    memset(id, 0, 16);
    if (version >= 6) {
        *name = req->topics[i].name;
        memcpy(id, req->topics[i].topic_id, 16);
    } else {
        *name = req->topic_names[i];
    }
}

static int delete_duplicate(const kafka_delete_topics_request *req, int16_t version, int32_t i) {
    kafka_str name, other;
    uint8_t id[16], other_id[16];
    delete_target(req, version, i, &name, id);
    int32_t n = version >= 6 ? req->topics_count : req->topic_names_count;
    for (int32_t k = 0; k < n; k++) {
        if (k == i) continue;
        delete_target(req, version, k, &other, other_id);
        if (name.len > 0 ? kafka_str_same(name, other) : memcmp(id, other_id, 16) == 0) return 1;
    }
    return 0;
}

static void delete_one(controller *c, const kafka_delete_topics_request *req, int16_t version,
                       int32_t i, kafka_delete_topics_response_deletable_topic_result *res,
                       controller_records *recs) {
    kafka_delete_topics_response_deletable_topic_result_init(res);
    uint8_t id[16];
    delete_target(req, version, i, &res->name, id);
    const metadata_topic *t =
        res->name.len > 0 ? metadata_image_topic(&c->latest, res->name.ptr, (size_t)res->name.len)
                          : metadata_image_topic_by_id(&c->latest, id);
    if (delete_duplicate(req, version, i)) {
        res->error_code = KAFKA_ERROR_INVALID_REQUEST;
        res->error_message = kafka_str_c("duplicate topic in the request");
    } else if (t == NULL) {
        res->error_code = res->name.len > 0 ? KAFKA_ERROR_UNKNOWN_TOPIC_OR_PARTITION
                                            : KAFKA_ERROR_UNKNOWN_TOPIC_ID;
    } else if (!records_room(recs, 1)) {
        res->error_code = KAFKA_ERROR_REQUEST_TIMED_OUT;
    } else {
        memcpy(res->topic_id, t->id, 16);
        records_seal(c, recs, metadata_record_remove_topic(&recs->buf, t->id));
    }
}

void controller_handle_delete_topics(controller *c, const kafka_delete_topics_request *req,
                                     int16_t version, kafka_delete_topics_response *out,
                                     controller_records *recs, arena *a) {
    assert(c != NULL && req != NULL && out != NULL && recs != NULL && a != NULL);
    kafka_delete_topics_response_init(out);
    int32_t n = version >= 6 ? req->topics_count : req->topic_names_count;
    if (n < 0) n = 0;
    out->responses = arena_alloc(a, (size_t)n * sizeof(*out->responses));
    assert(out->responses != NULL && "out of memory");
    out->responses_count = n;
    for (int32_t i = 0; i < n; i++) delete_one(c, req, version, i, &out->responses[i], recs);
}
