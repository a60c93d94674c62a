#include "checker.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_memo.h"
#include "digest.h"
#include "group_check.h"
#include "id_index.h"
#include "record_value.h"

#define CHECKER_NODES_MAX 32 /* brokers tracked per partition */

/* What one broker holds of one partition: a record id per offset (0 = not a
 * streamlab record). */
typedef struct replica_image {
    int32_t node;
    uint64_t *ids;   /* record id at each offset */
    int32_t *epochs; /* leader epoch of the batch holding each offset */
    int64_t end, cap, epochs_cap;
    int64_t start; /* log start: below it retention deleted the records (not a loss) */
} replica_image;

typedef struct partition_state {
    int32_t topic;
    int32_t partition;
    int32_t leader, leader_epoch;
    int64_t hw, hw_epoch;
    int32_t hw_node;     /* the leader that reported hw */
    int64_t verified_to; /* replicas in the ISR agree below this offset */
    int64_t hw_old;      /* the high watermark as it was at least 5 s before hw_stage_us */
    int64_t hw_stage, hw_stage_us;
    int32_t isr[CHECKER_NODES_MAX];
    int32_t isr_count;
    replica_image replicas[CHECKER_NODES_MAX];
    int32_t replica_count;
    uint64_t *acked;            /* record key acknowledged with acks=all at each offset, else 0 */
    record_value_id *acked_ids; /* the record acknowledged at each offset, where acked is not 0 */
    int64_t acked_cap, acked_ids_cap;
    int64_t acked_end;
    int64_t consumed_max; /* highest offset any consumer has seen, -1 */
    int lost_reported;
    id_index first_at; /* record id -> the offset where a leader first appended it */
    batch_memo memo;   /* the records of its recent batches */
} partition_state;

/* A producer, for duplicate-append: its node id, whether it is idempotent. */
typedef struct producer_info {
    int32_t node;
    int idempotent;
    int64_t duplicates;
} producer_info;

typedef struct group_state {
    char name[SCENARIO_NAME_BYTES_MAX];
    id_index seen;         /* the records the group has read */
    int64_t *consumed_end; /* per partition (checker order): highest offset consumed + 1 */
    group_check *gc;       /* ownership, order and commits (invariants 4 and 5) */
    checker_group_stats stats;
} group_state;

/* Each broker and client passes its own copy of a topic's name, the same pointer
 * every time.  The pointer picks a slot and the slot's answer is confirmed by
 * comparing the name, so what part_find returns never depends on addresses (a
 * freed name's memory may hold another name later): only how fast it is. */
#define TOPIC_HITS_SLOTS 64 /* a power of two */

typedef struct topic_hit {
    const char *name; /* as an event passed it */
    int32_t topic;    /* scenario topic index */
} topic_hit;

struct checker {
    const scenario *s;
    topic_hit topic_hits[TOPIC_HITS_SLOTS];
    int32_t first_part[SCENARIO_TOPICS_MAX]; /* index in parts of each topic's partition 0 */
    uint64_t *metadata; /* hash of the committed metadata record at each offset, 0 unknown */
    int64_t metadata_cap;
    int32_t *controller_of_epoch; /* node that led each quorum epoch, 0 unknown */
    int64_t controller_cap;
    partition_state *parts;
    int32_t part_count;
    group_state groups[SCENARIO_GROUPS_MAX];
    int32_t group_count;
    checker_violation violations[CHECKER_VIOLATIONS_MAX];
    int32_t violation_count;
    int64_t violations_total;
    char faults[CHECKER_FAULTS_KEPT][64];
    int32_t fault_count; /* total noted; the ring keeps the last CHECKER_FAULTS_KEPT */
    int power_off_seen;
    producer_info producers[SCENARIO_PRODUCERS_MAX];
    int32_t producer_count;
};

/* ---- set up ----------------------------------------------------------------------- */

checker *checker_create(const scenario *s) {
    checker *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->s = s;
    for (int32_t t = 0; t < s->topic_count; t++) c->part_count += s->topics[t].partitions;
    c->parts = calloc((size_t)(c->part_count + 1), sizeof *c->parts);
    if (!c->parts) abort();
    int32_t k = 0;
    for (int32_t t = 0; t < s->topic_count; t++) {
        c->first_part[t] = k;
        for (int32_t p = 0; p < s->topics[t].partitions; p++, k++) {
            c->parts[k].topic = t;
            c->parts[k].partition = p;
            c->parts[k].leader = -1;
            c->parts[k].hw_epoch = -1;
            c->parts[k].consumed_max = -1;
            id_index_init(&c->parts[k].first_at);
            batch_memo_init(&c->parts[k].memo);
        }
    }
    for (int32_t g = 0; g < s->group_count; g++) {
        snprintf(c->groups[g].name, sizeof c->groups[g].name, "%s", s->groups[g].name);
        id_index_init(&c->groups[g].seen);
        c->groups[g].consumed_end = calloc((size_t)(c->part_count + 1), sizeof(int64_t));
        uint8_t *subscribed = calloc((size_t)(c->part_count + 1), 1);
        if (!c->groups[g].consumed_end || !subscribed) abort();
        for (int32_t i = 0; i < c->part_count; i++)
            for (int32_t t = 0; t < s->groups[g].topic_count; t++)
                subscribed[i] |=
                    strcmp(s->groups[g].topics[t], s->topics[c->parts[i].topic].name) == 0;
        c->groups[g].gc = group_check_create(s->groups[g].name, c->part_count, subscribed);
        free(subscribed);
    }
    c->group_count = s->group_count;
    return c;
}

void checker_destroy(checker *c) {
    if (!c) return;
    for (int32_t i = 0; i < c->part_count; i++) {
        for (int32_t r = 0; r < c->parts[i].replica_count; r++) {
            free(c->parts[i].replicas[r].ids);
            free(c->parts[i].replicas[r].epochs);
        }
        free(c->parts[i].acked);
        free(c->parts[i].acked_ids);
        id_index_deinit(&c->parts[i].first_at);
        batch_memo_deinit(&c->parts[i].memo);
    }
    free(c->parts);
    free(c->metadata);
    free(c->controller_of_epoch);
    for (int32_t g = 0; g < c->group_count; g++) {
        id_index_deinit(&c->groups[g].seen);
        free(c->groups[g].consumed_end);
        group_check_destroy(c->groups[g].gc);
    }
    free(c);
}

static int32_t topic_find(checker *c, const char *topic) {
    topic_hit *hit = &c->topic_hits[((uintptr_t)topic >> 4) & (TOPIC_HITS_SLOTS - 1)];
    if (hit->name == topic && strcmp(c->s->topics[hit->topic].name, topic) == 0) return hit->topic;
    for (int32_t t = 0; t < c->s->topic_count; t++)
        if (strcmp(c->s->topics[t].name, topic) == 0) {
            *hit = (topic_hit){topic, t};
            return t;
        }
    return -1; /* internal or auto-created topics are not checked */
}

static partition_state *part_find(checker *c, const char *topic, int32_t partition) {
    if (!topic) return NULL;
    int32_t t = topic_find(c, topic);
    if (t < 0 || partition < 0 || partition >= c->s->topics[t].partitions) return NULL;
    partition_state *p = &c->parts[c->first_part[t] + partition];
    assert(p->topic == t && p->partition == partition);
    return p;
}

static replica_image *replica_of(partition_state *p, int32_t node) {
    for (int32_t r = 0; r < p->replica_count; r++)
        if (p->replicas[r].node == node) return &p->replicas[r];
    if (p->replica_count == CHECKER_NODES_MAX) return NULL;
    replica_image *img = &p->replicas[p->replica_count++];
    memset(img, 0, sizeof *img);
    img->node = node;
    return img;
}

/* Grows *items (of item_bytes each, *cap of them) to hold need, zeroing the new ones. */
static void *reserve_zeroed(void *items, int64_t *cap, int64_t need, size_t item_bytes) {
    assert(need > *cap);
    int64_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    uint8_t *grown = realloc(items, (size_t)n * item_bytes);
    if (!grown) abort();
    memset(grown + (size_t)*cap * item_bytes, 0, (size_t)(n - *cap) * item_bytes);
    *cap = n;
    return grown;
}

static inline void ids_reserve(uint64_t **ids, int64_t *cap, int64_t need) {
    if (need > *cap) *ids = reserve_zeroed(*ids, cap, need, sizeof **ids);
}

static inline void epochs_reserve(replica_image *img, int64_t need) {
    if (need > img->epochs_cap)
        img->epochs = reserve_zeroed(img->epochs, &img->epochs_cap, need, sizeof *img->epochs);
}

/* ---- violations ---------------------------------------------------------------------- */

static const char *allowed_by(const checker *c) {
    const scenario_cluster *k = &c->s->cluster;
    if (c->power_off_seen && k->flush_interval_ms != 0) return "power-off";
    if (k->unclean_leader_election) return "unclean-election";
    if (k->min_insync_replicas <= 1) return "min-isr-1";
    if (k->truncation == SCENARIO_TRUNCATION_HIGH_WATERMARK) return "high-watermark-truncation";
    if (k->truncation == SCENARIO_TRUNCATION_EPOCH_SINGLE) return "epoch-single-truncation";
    return "";
}

static void violate(checker *c, int64_t t_us, const char *invariant, const partition_state *p,
                    int64_t offset, const char *allowed, const char *detail) {
    c->violations_total++;
    if (c->violation_count == CHECKER_VIOLATIONS_MAX) return;
    checker_violation *v = &c->violations[c->violation_count++];
    memset(v, 0, sizeof *v);
    v->t_us = t_us;
    snprintf(v->invariant, sizeof v->invariant, "%s", invariant);
    if (p) snprintf(v->topic, sizeof v->topic, "%s", c->s->topics[p->topic].name);
    v->partition = p ? p->partition : -1;
    v->offset = offset;
    snprintf(v->allowed_by, sizeof v->allowed_by, "%s", allowed);
    snprintf(v->detail, sizeof v->detail, "%s", detail);
    int32_t kept = c->fault_count < CHECKER_FAULTS_KEPT ? c->fault_count : CHECKER_FAULTS_KEPT;
    for (int32_t i = 0; i < kept; i++) {
        int32_t idx = (c->fault_count - kept + i) % CHECKER_FAULTS_KEPT;
        memcpy(v->faults[i], c->faults[idx], sizeof v->faults[i]); /* both 64 bytes, NUL-ended */
    }
    v->fault_count = kept;
}

void checker_note_fault(checker *c, int64_t t_us, const char *what) {
    char *slot = c->faults[c->fault_count % CHECKER_FAULTS_KEPT];
    snprintf(slot, 64, "%.1f %s", (double)t_us / 1e6, what);
    c->fault_count++;
    if (strncmp(what, "power_off", 9) == 0) c->power_off_seen = 1;
}

/* The leader no longer holds an acknowledged record at its offset (at or above its
 * log start: what retention deleted is gone by design). */
static void check_acked_from(checker *c, int64_t t_us, partition_state *p, const replica_image *img,
                             int64_t from) {
    if (p->lost_reported || img->node != p->leader) return;
    if (from < img->start) from = img->start;
    for (int64_t o = from; o < p->acked_end; o++) {
        if (!p->acked[o]) continue;
        if (o < img->end && img->ids[o] == p->acked[o]) continue;
        char detail[200];
        snprintf(detail, sizeof detail, "record acknowledged at offset %lld is %s on leader %d",
                 (long long)o, o < img->end ? "replaced" : "gone", (int)img->node);
        violate(c, t_us, "acked-write-lost", p, o, allowed_by(c), detail);
        p->lost_reported = 1;
        return;
    }
}

/* ---- duplicate-append ---------------------------------------------------------------- */

void checker_add_producer(checker *c, int32_t node, int idempotent) {
    assert(c->producer_count < SCENARIO_PRODUCERS_MAX);
    c->producers[c->producer_count++] = (producer_info){.node = node, .idempotent = idempotent};
}

static producer_info *producer_of(checker *c, int32_t node) {
    for (int32_t i = 0; i < c->producer_count; i++)
        if (c->producers[i].node == node) return &c->producers[i];
    return NULL;
}

/* A leader appended record `key` at offset o: is it already in that leader's log
 * at another offset?  Judged on the appending leader's own log, so a record
 * truncated away (or lost to a power-off) and written again is not a duplicate,
 * and each duplicate is counted once (followers copy it later). */
static void check_duplicate(checker *c, int64_t t_us, partition_state *p, const replica_image *img,
                            uint64_t key, const record_value_id *id, int64_t o) {
    int64_t prev;
    /* A leader appends at its log end: below this batch its log is what the image
     * holds (what lay above was truncated, or lost to a power-off), then the batch's
     * records before o; anything the image shows at or above o is stale. */
    int held = id_index_get(&p->first_at, id, &prev) && prev < o && img->ids[prev] == key;
    if (!held) {
        id_index_put(&p->first_at, id, o);
        return;
    }
    producer_info *pi = producer_of(c, id->producer);
    if (!pi) return;
    pi->duplicates++;
    if (!pi->idempotent) return; /* counted, as Kafka allows it without idempotence */
    char detail[200];
    snprintf(detail, sizeof detail,
             "idempotent producer %d's record %lld is at offsets %lld and %lld of leader %d",
             (int)id->producer, (long long)id->sequence, (long long)prev, (long long)o,
             (int)img->node);
    violate(c, t_us, "duplicate-append", p, o, "", detail);
}

int64_t checker_producer_duplicates(const checker *c, int32_t node) {
    const producer_info *pi = producer_of((checker *)c, node);
    return pi ? pi->duplicates : 0;
}

/* ---- events ------------------------------------------------------------------------------ */

typedef struct append_ctx {
    replica_image *img;
    uint64_t *first_id;
} append_ctx;

static void on_append(checker *c, int64_t t_us, const observe_event *ev) {
    partition_state *p = part_find(c, ev->topic, ev->partition);
    replica_image *img = p ? replica_of(p, ev->node) : NULL;
    if (!img || ev->offset_last < ev->offset) return;
    ids_reserve(&img->ids, &img->cap, ev->offset_last + 1);
    epochs_reserve(img, ev->offset_last + 1);
    for (int64_t o = ev->offset; o <= ev->offset_last; o++) {
        img->ids[o] = 0;
        img->epochs[o] = ev->leader_epoch;
    }
    const batch_memo_record *recs;
    int32_t n = batch_memo_records(&p->memo, ev->batch, ev->batch_len, &recs);
    for (int32_t i = 0; i < n; i++) {
        const batch_memo_record *r = &recs[i];
        if (r->offset < ev->offset || r->offset > ev->offset_last || !r->key) continue;
        img->ids[r->offset] = r->key;
        if (img->node == p->leader) check_duplicate(c, t_us, p, img, r->key, &r->id, r->offset);
    }
    img->end = ev->offset_last + 1;
    check_acked_from(c, t_us, p, img, ev->offset);
}

static void on_truncate(checker *c, int64_t t_us, const observe_event *ev) {
    partition_state *p = part_find(c, ev->topic, ev->partition);
    replica_image *img = p ? replica_of(p, ev->node) : NULL;
    if (!img) return;
    if (ev->offset < img->end) img->end = ev->offset;
    if (ev->offset < img->start) img->start = ev->offset; /* emptied, restarted there */
    if (img->node == p->leader && ev->offset <= p->consumed_max && ev->offset < img->end + 1) {
        char detail[160];
        snprintf(detail, sizeof detail, "leader %d cut its log to %lld below consumed offset %lld",
                 (int)img->node, (long long)ev->offset, (long long)p->consumed_max);
        violate(c, t_us, "seen-record-removed", p, ev->offset, allowed_by(c), detail);
    }
    check_acked_from(c, t_us, p, img, ev->offset);
}

/* Retention moved a replica's log start up, or a follower whose log lay wholly below
 * its leader's log start started again there (its end jumps up to it). */
static void on_log_start(const observe_event *ev, partition_state *p) {
    replica_image *img = p ? replica_of(p, ev->node) : NULL;
    if (!img || ev->offset <= img->start) return;
    img->start = ev->offset;
    if (img->end >= img->start) return;
    ids_reserve(&img->ids, &img->cap, img->start);
    epochs_reserve(img, img->start);
    for (int64_t o = img->end; o < img->start; o++) img->ids[o] = 0, img->epochs[o] = 0;
    img->end = img->start;
}

static void on_leader(checker *c, int64_t t_us, const observe_event *ev) {
    partition_state *p = part_find(c, ev->topic, ev->partition);
    if (!p) return;
    if (ev->leader_epoch < p->leader_epoch) {
        violate(c, t_us, "leader-epoch", p, -1, "", "leader epoch went backwards");
        return;
    }
    /* A new leader or a replica joining the ISR: compare everything afresh. */
    if (ev->kind == OBSERVE_LEADER || ev->isr_count > p->isr_count) p->verified_to = 0;
    p->leader = ev->leader;
    p->leader_epoch = ev->leader_epoch;
    p->isr_count = ev->isr_count < CHECKER_NODES_MAX ? ev->isr_count : CHECKER_NODES_MAX;
    if (ev->isr) memcpy(p->isr, ev->isr, (size_t)p->isr_count * sizeof *p->isr);
    replica_image *img = ev->leader >= 0 ? replica_of(p, ev->leader) : NULL;
    if (img) check_acked_from(c, t_us, p, img, 0);
}

/* Divergence comes from truncating at the wrong place first of all. */
static const char *divergence_allowed_by(const checker *c) {
    const scenario_cluster *k = &c->s->cluster;
    if (k->truncation == SCENARIO_TRUNCATION_EPOCH_SINGLE) return "epoch-single-truncation";
    if (k->truncation == SCENARIO_TRUNCATION_HIGH_WATERMARK) return "high-watermark-truncation";
    return allowed_by(c);
}

/* Invariant 2: below the high watermark, the leader and every ISR member hold the
 * same records at the same offsets. */
static void check_replicas_agree(checker *c, int64_t t_us, partition_state *p) {
    replica_image *leader = NULL;
    for (int32_t r = 0; r < p->replica_count; r++)
        if (p->replicas[r].node == p->hw_node) leader = &p->replicas[r];
    if (!leader || p->hw <= p->verified_to) return;
    int64_t to = p->hw < leader->end ? p->hw : leader->end;
    for (int32_t k = 0; k < p->isr_count; k++) {
        const replica_image *f = NULL;
        for (int32_t r = 0; r < p->replica_count; r++)
            if (p->replicas[r].node == p->isr[k] && p->isr[k] != leader->node) f = &p->replicas[r];
        if (!f) continue;
        int64_t end = to < f->end ? to : f->end;
        int64_t from = p->verified_to; /* both replicas still hold it */
        if (from < f->start) from = f->start;
        if (from < leader->start) from = leader->start;
        for (int64_t o = from; o < end; o++) {
            if (f->ids[o] == leader->ids[o] && f->epochs[o] == leader->epochs[o]) continue;
            char detail[200];
            snprintf(detail, sizeof detail,
                     "below high watermark %lld, replica %d and leader %d hold different batches "
                     "at offset %lld (leader epochs %d and %d)",
                     (long long)p->hw, (int)f->node, (int)leader->node, (long long)o,
                     (int)f->epochs[o], (int)leader->epochs[o]);
            violate(c, t_us, "replica-divergence", p, o, divergence_allowed_by(c), detail);
            p->verified_to = p->hw; /* once per stretch */
            return;
        }
    }
    p->verified_to = to;
}

static void on_high_watermark(checker *c, int64_t t_us, const observe_event *ev) {
    partition_state *p = part_find(c, ev->topic, ev->partition);
    if (!p) return;
    if (ev->leader_epoch == p->hw_epoch && ev->offset < p->hw) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "leader %d moved the high watermark from %lld to %lld in epoch %d", (int)ev->node,
                 (long long)p->hw, (long long)ev->offset, (int)ev->leader_epoch);
        violate(c, t_us, "high-watermark-regression", p, ev->offset, allowed_by(c), detail);
    }
    if (t_us - p->hw_stage_us >= 5000000) { /* keep a high watermark 5-10 s old */
        p->hw_old = p->hw_stage;
        p->hw_stage = p->hw;
        p->hw_stage_us = t_us;
    }
    p->hw = ev->offset;
    p->hw_epoch = ev->leader_epoch;
    p->hw_node = ev->node;
    check_replicas_agree(c, t_us, p);
}

static void on_ack(checker *c, const observe_event *ev) {
    partition_state *p = part_find(c, ev->topic, ev->partition);
    if (!p || ev->acks != -1 || ev->offset < 0) return;
    ids_reserve(&p->acked, &p->acked_cap, ev->offset + ev->count);
    if (ev->offset + ev->count > p->acked_ids_cap)
        p->acked_ids = reserve_zeroed(p->acked_ids, &p->acked_ids_cap, ev->offset + ev->count,
                                      sizeof *p->acked_ids);
    for (int32_t i = 0; i < ev->count; i++) {
        record_value_id id = {.producer = ev->node,
                              .partition = ev->partition,
                              .sequence = (int64_t)ev->sequence + i};
        p->acked[ev->offset + i] = record_value_key(&id);
        p->acked_ids[ev->offset + i] = id;
    }
    if (ev->offset + ev->count > p->acked_end) p->acked_end = ev->offset + ev->count;
}

static group_state *group_find(checker *c, const char *name) {
    for (int32_t g = 0; name && g < c->group_count; g++)
        if (strcmp(c->groups[g].name, name) == 0) return &c->groups[g];
    return NULL;
}

static int32_t part_index(checker *c, const char *topic, int32_t partition) {
    partition_state *p = part_find(c, topic, partition);
    return p ? (int32_t)(p - c->parts) : -1;
}

static void report_group(checker *c, int64_t t_us, const group_finding *f) {
    const partition_state *p = f->part >= 0 ? &c->parts[f->part] : NULL;
    violate(c, t_us, f->invariant, p, f->offset, allowed_by(c), f->detail);
}

static void on_consume(checker *c, int64_t t_us, const observe_event *ev) {
    partition_state *p = part_find(c, ev->topic, ev->partition);
    group_state *g = group_find(c, ev->detail);
    if (!p) return;
    if (ev->offset_last > p->consumed_max) p->consumed_max = ev->offset_last;
    if (!g) return;
    group_finding f;
    if (group_check_consume(g->gc, ev->node, (int32_t)(p - c->parts), ev->offset, ev->offset_last,
                            &f))
        report_group(c, t_us, &f);
    int64_t *end = &g->consumed_end[p - c->parts];
    if (ev->offset_last + 1 > *end) *end = ev->offset_last + 1;
    const batch_memo_record *recs;
    int32_t n = batch_memo_records(&p->memo, ev->batch, ev->batch_len, &recs);
    for (int32_t i = 0; i < n; i++) {
        const batch_memo_record *r = &recs[i];
        if (r->offset < ev->offset || r->offset > ev->offset_last) continue;
        g->stats.records++;
        if (!r->key) continue;
        if (id_index_add(&g->seen, &r->id))
            g->stats.unique++;
        else
            g->stats.duplicates++;
    }
}

/* Invariants 4 and 5 (sim/group_check.h says how they are judged). */
static void on_group_event(checker *c, int64_t t_us, const observe_event *ev) {
    group_state *g = group_find(c, ev->detail);
    if (!g) return;
    int32_t part = ev->topic ? part_index(c, ev->topic, ev->partition) : -1;
    group_finding f;
    int found = 0;
    switch (ev->kind) {
    case OBSERVE_REBALANCE:
        g->stats.rebalances++;
        found = group_check_rebalance(g->gc, t_us, ev->leader_epoch, ev->count, &f);
        break;
    case OBSERVE_ASSIGN:
        if (ev->topic && part < 0) break; /* a topic outside the scenario */
        found = group_check_assign(g->gc, ev->node, ev->leader_epoch, part, ev->count, &f);
        break;
    case OBSERVE_REVOKE:
        group_check_revoke(g->gc, ev->node);
        break;
    case OBSERVE_COMMIT:
        found = group_check_commit(g->gc, part, ev->offset, &f);
        break;
    case OBSERVE_OFFSET_LOAD:
        found = group_check_offset_load(g->gc, part, ev->offset, &f);
        break;
    default:
        break;
    }
    if (found) report_group(c, t_us, &f);
}

void checker_note_consumer_crash(checker *c, int64_t t_us, const char *group) {
    group_state *g = group_find(c, group);
    if (g) group_check_consumer_crash(g->gc, t_us);
}

/* Invariant 6: at most one quorum leader per epoch. */
static void on_controller(checker *c, int64_t t_us, const observe_event *ev) {
    int64_t epoch = ev->leader_epoch;
    if (epoch < 0) return;
    if (epoch >= c->controller_cap) {
        int64_t cap = (epoch + 1) * 2;
        c->controller_of_epoch = realloc(c->controller_of_epoch, (size_t)cap * sizeof(int32_t));
        if (!c->controller_of_epoch) abort();
        memset(c->controller_of_epoch + c->controller_cap, 0,
               (size_t)(cap - c->controller_cap) * sizeof(int32_t));
        c->controller_cap = cap;
    }
    int32_t *slot = &c->controller_of_epoch[epoch];
    if (*slot != 0 && *slot != ev->node) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "brokers %d and %d both led the controller quorum in epoch %lld", (int)*slot,
                 (int)ev->node, (long long)epoch);
        violate(c, t_us, "controller-epoch", NULL, -1, "", detail);
    }
    *slot = ev->node;
}

/* Invariant 6: every broker applies the same committed metadata at each offset. */
static void on_metadata(checker *c, int64_t t_us, const observe_event *ev) {
    if (ev->offset < 0) return;
    ids_reserve(&c->metadata, &c->metadata_cap, ev->offset + 1);
    uint64_t hash = (uint64_t)ev->producer_id | 1;
    uint64_t *slot = &c->metadata[ev->offset];
    if (*slot != 0 && *slot != hash) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "broker %d applied a committed metadata record at offset %lld that differs from "
                 "another broker's",
                 (int)ev->node, (long long)ev->offset);
        violate(c, t_us, "metadata-lost", NULL, ev->offset, "", detail);
    }
    *slot = hash;
}

/* A stopped broker's leadership ends: a restarted leader starts a new tenure. */
static void end_tenures(checker *c, int32_t node) {
    for (int32_t i = 0; i < c->part_count; i++)
        if (c->parts[i].hw_node == node) c->parts[i].hw_epoch = -1;
}

void checker_observe(checker *c, int64_t t_us, const observe_event *ev) {
    switch (ev->kind) {
    case OBSERVE_APPEND:
        on_append(c, t_us, ev);
        break;
    case OBSERVE_TRUNCATE:
        on_truncate(c, t_us, ev);
        break;
    case OBSERVE_LOG_START:
        on_log_start(ev, part_find(c, ev->topic, ev->partition));
        break;
    case OBSERVE_LEADER:
        on_leader(c, t_us, ev);
        break;
    case OBSERVE_HIGH_WATERMARK:
        on_high_watermark(c, t_us, ev);
        break;
    case OBSERVE_PRODUCE_ACK:
        on_ack(c, ev);
        break;
    case OBSERVE_CONSUME:
        on_consume(c, t_us, ev);
        break;
    case OBSERVE_BROKER_STOP:
        end_tenures(c, ev->node);
        break;
    case OBSERVE_ISR:
        on_leader(c, t_us, ev);
        break;
    case OBSERVE_CONTROLLER:
        on_controller(c, t_us, ev);
        break;
    case OBSERVE_METADATA_COMMIT:
        on_metadata(c, t_us, ev);
        break;
    case OBSERVE_REBALANCE:
    case OBSERVE_ASSIGN:
    case OBSERVE_REVOKE:
    case OBSERVE_COMMIT:
    case OBSERVE_OFFSET_LOAD:
        on_group_event(c, t_us, ev);
        break;
    default:
        break;
    }
}

void checker_finish(checker *c, int64_t t_us) {
    for (int32_t i = 0; i < c->part_count; i++) {
        partition_state *p = &c->parts[i];
        for (int32_t r = 0; r < p->replica_count; r++)
            if (p->replicas[r].node == p->leader) check_acked_from(c, t_us, p, &p->replicas[r], 0);
    }
}

/* ---- results ------------------------------------------------------------------------------- */

int32_t checker_violation_count(const checker *c) {
    return c->violation_count;
}

const checker_violation *checker_violation_get(const checker *c, int32_t i) {
    assert(i >= 0 && i < c->violation_count);
    return &c->violations[i];
}

int64_t checker_violations_total(const checker *c) {
    return c->violations_total;
}

checker_group_stats checker_group(const checker *c, const char *group) {
    group_state *g = group_find((checker *)c, group);
    if (!g) return (checker_group_stats){0};
    checker_group_stats st = g->stats;
    st.recovery_ms = group_check_recovery_ms(g->gc);
    st.lag = 0;
    int32_t gi = (int32_t)(g - c->groups);
    for (int32_t i = 0; i < c->part_count; i++) {
        const partition_state *p = &c->parts[i];
        const scenario_group *sg = &c->s->groups[gi];
        int reads = 0;
        for (int32_t t = 0; t < sg->topic_count; t++)
            reads |= strcmp(sg->topics[t], c->s->topics[p->topic].name) == 0;
        int64_t committed = group_check_committed(g->gc, i);
        if (reads && p->hw > committed) st.lag += p->hw - (committed > 0 ? committed : 0);
    }
    return st;
}

/* Where the partition's records start now: its leader's log start (the highest of
 * the replicas' while it has no leader). */
static int64_t partition_log_start(const partition_state *p) {
    int64_t start = 0;
    for (int32_t r = 0; r < p->replica_count; r++) {
        if (p->replicas[r].node == p->leader) return p->replicas[r].start;
        if (p->replicas[r].start > start) start = p->replicas[r].start;
    }
    return start;
}

checker_unread checker_group_unread(const checker *c, const char *group) {
    checker_unread u = {0, 0};
    const group_state *g = group_find((checker *)c, group);
    if (!g) return u;
    int32_t gi = (int32_t)(g - c->groups);
    const scenario_group *sg = &c->s->groups[gi];
    for (int32_t i = 0; i < c->part_count; i++) {
        const partition_state *p = &c->parts[i];
        int reads = 0;
        for (int32_t t = 0; t < sg->topic_count; t++)
            reads |= strcmp(sg->topics[t], c->s->topics[p->topic].name) == 0;
        if (!reads) continue;
        /* Above what the group has read is lag, not loss. */
        int64_t limit = g->consumed_end[i] < p->acked_end ? g->consumed_end[i] : p->acked_end;
        int64_t value, start = partition_log_start(p);
        for (int64_t o = 0; o < limit; o++)
            if (p->acked[o] && !id_index_get(&g->seen, &p->acked_ids[o], &value))
                *(o < start ? &u.expired : &u.missing) += 1;
    }
    return u;
}

int64_t checker_high_watermark(const checker *c, const char *topic, int32_t partition) {
    const partition_state *p = part_find((checker *)c, topic, partition);
    return p ? p->hw : 0;
}

void checker_report(checker *c, int64_t t_us, const char *invariant, const char *detail) {
    violate(c, t_us, invariant, NULL, -1, allowed_by(c), detail);
}

static int partition_isr_full(const partition_state *p, const scenario *s) {
    return p->leader >= 0 && p->isr_count >= s->topics[p->topic].replication_factor;
}

void checker_check_liveness(checker *c, int64_t end_us) {
    char detail[400];
    for (int32_t i = 0; i < c->part_count; i++) {
        partition_state *p = &c->parts[i];
        if (partition_isr_full(p, c->s)) continue;
        snprintf(detail, sizeof detail, "%s/%d: ISR has %d of %d replicas (leader %d) at the end",
                 c->s->topics[p->topic].name, (int)p->partition, (int)p->isr_count,
                 (int)c->s->topics[p->topic].replication_factor, (int)p->leader);
        violate(c, end_us, "liveness", p, -1, allowed_by(c), detail);
    }
    for (int32_t g = 0; g < c->group_count; g++)
        for (int32_t i = 0; i < c->part_count; i++) {
            partition_state *p = &c->parts[i];
            const scenario_group *sg = &c->s->groups[g];
            int reads = 0;
            for (int32_t t = 0; t < sg->topic_count; t++)
                reads |= strcmp(sg->topics[t], c->s->topics[p->topic].name) == 0;
            if (!reads || c->groups[g].consumed_end[i] >= p->hw_old) continue;
            snprintf(detail, sizeof detail,
                     "group %s has read %s/%d to %lld, below the high watermark %lld it had long "
                     "before the end",
                     sg->name, c->s->topics[p->topic].name, (int)p->partition,
                     (long long)c->groups[g].consumed_end[i], (long long)p->hw_old);
            violate(c, end_us, "liveness", p, c->groups[g].consumed_end[i], allowed_by(c), detail);
        }
}
