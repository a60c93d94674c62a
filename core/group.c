/*
 * group.c — one group's members, protocols and offsets (see group.h).
 *
 * Members are kept in join order, so "the first member" (a new leader when the
 * old one leaves, the tie-break of the protocol vote) is deterministic.  Every
 * string and byte array is owned by the group: requests are decoded into
 * per-connection arenas that do not outlive the request.
 */
#include "group.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t bytes) {
    p = realloc(p, bytes ? bytes : 1);
    if (!p) abort();
    return p;
}

char *group_strdup(kafka_str s) {
    if (s.len < 0) return NULL;
    char *out = xrealloc(NULL, (size_t)s.len + 1);
    if (s.len > 0) memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = '\0';
    return out;
}

void group_set_str(char **field, kafka_str s) {
    free(*field);
    *field = group_strdup(s);
}

void group_blob_set(group_blob *b, const uint8_t *bytes, int32_t len) {
    free(b->bytes);
    b->bytes = NULL;
    b->len = len;
    if (len < 0) return;
    b->bytes = xrealloc(NULL, (size_t)len);
    if (len > 0) memcpy(b->bytes, bytes, (size_t)len);
}

static int str_is(const char *a, kafka_str b) {
    if (a == NULL) return b.len < 0;
    return b.len >= 0 && (size_t)b.len == strlen(a) && memcmp(a, b.ptr, (size_t)b.len) == 0;
}

group *group_create(kafka_str id, int32_t offsets_partition) {
    assert(id.len >= 0 && offsets_partition >= 0);
    group *g = xrealloc(NULL, sizeof *g);
    memset(g, 0, sizeof *g);
    g->id = group_strdup(id);
    g->offsets_partition = offsets_partition;
    g->state = GROUP_EMPTY;
    g->join_deadline_us = INT64_MAX;
    return g;
}

static void member_release(group_member *m) {
    free(m->member_id);
    free(m->group_instance_id);
    free(m->client_id);
    free(m->client_host);
    for (int32_t i = 0; i < m->protocol_count; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].metadata.bytes);
    }
    free(m->protocols);
    free(m->assignment.bytes);
}

void group_destroy(group *g) {
    if (!g) return;
    for (int32_t i = 0; i < g->member_count; i++) member_release(&g->members[i]);
    free(g->members);
    for (int32_t i = 0; i < g->pending_count; i++) free(g->pending[i].member_id);
    free(g->pending);
    for (int32_t i = 0; i < g->offset_count; i++) {
        free(g->offsets[i].topic);
        free(g->offsets[i].metadata);
    }
    free(g->offsets);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    free(g);
}

const char *group_state_name(enum group_state state) {
    switch (state) {
    case GROUP_EMPTY:
        return "Empty";
    case GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case GROUP_STABLE:
        return "Stable";
    case GROUP_DEAD:
        return "Dead";
    }
    return "Dead";
}

/* ---- members ------------------------------------------------------------------- */

group_member *group_member_find(group *g, kafka_str member_id) {
    for (int32_t i = 0; i < g->member_count; i++)
        if (str_is(g->members[i].member_id, member_id)) return &g->members[i];
    return NULL;
}

void group_member_update(group_member *m, const kafka_join_group_request *req) {
    for (int32_t i = 0; i < m->protocol_count; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].metadata.bytes);
    }
    int32_t n = req->protocols_count > 0 ? req->protocols_count : 0;
    assert(n == 0 || req->protocols != NULL);
    m->protocols = xrealloc(m->protocols, (size_t)n * sizeof *m->protocols);
    memset(m->protocols, 0, (size_t)n * sizeof *m->protocols);
    for (int32_t i = 0; i < n; i++) {
        m->protocols[i].name = group_strdup(req->protocols[i].name);
        if (!m->protocols[i].name) m->protocols[i].name = group_strdup(kafka_str_c(""));
        group_blob_set(&m->protocols[i].metadata, req->protocols[i].metadata.ptr,
                       req->protocols[i].metadata.len);
    }
    m->protocol_count = n;
    m->session_timeout_ms = req->session_timeout_ms;
    /* v0 has no rebalance timeout: Kafka uses the session timeout */
    m->rebalance_timeout_ms =
        req->rebalance_timeout_ms > 0 ? req->rebalance_timeout_ms : req->session_timeout_ms;
}

group_member *group_member_add(group *g, const char *member_id, kafka_str client_id,
                               kafka_str client_host, const kafka_join_group_request *req) {
    assert(member_id != NULL && group_member_find(g, kafka_str_c(member_id)) == NULL);
    if (g->member_count == g->member_cap) {
        g->member_cap = g->member_cap ? g->member_cap * 2 : 4;
        g->members = xrealloc(g->members, (size_t)g->member_cap * sizeof *g->members);
    }
    group_member *m = &g->members[g->member_count++];
    memset(m, 0, sizeof *m);
    m->member_id = group_strdup(kafka_str_c(member_id));
    m->group_instance_id = group_strdup(req->group_instance_id);
    m->client_id = group_strdup(client_id.len >= 0 ? client_id : kafka_str_c(""));
    m->client_host = group_strdup(client_host);
    m->assignment.len = -1;
    group_member_update(m, req);
    if (g->member_count == 1 && !str_is(g->protocol_type, req->protocol_type))
        group_set_str(&g->protocol_type, req->protocol_type);
    if (!g->leader_id) g->leader_id = group_strdup(kafka_str_c(member_id));
    return m;
}

void group_member_remove(group *g, group_member *m) {
    int32_t i = (int32_t)(m - g->members);
    assert(i >= 0 && i < g->member_count);
    int was_leader = g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
    assert(g->leader_id != NULL); /* a group with members has a leader */
    member_release(m);
    memmove(&g->members[i], &g->members[i + 1],
            (size_t)(g->member_count - i - 1) * sizeof *g->members);
    g->member_count--;
    if (!was_leader) return;
    free(g->leader_id);
    g->leader_id = g->member_count ? group_strdup(kafka_str_c(g->members[0].member_id)) : NULL;
}

group_member *group_member_restore(group *g, const kafka_group_metadata_value_member_metadata *mm,
                                   kafka_str protocol) {
    kafka_join_group_request req;
    kafka_join_group_request_init(&req);
    kafka_join_group_request_join_group_request_protocol proto = {
        .name = protocol, .metadata = {mm->subscription.ptr, mm->subscription.len}};
    req.session_timeout_ms = mm->session_timeout;
    req.rebalance_timeout_ms = mm->rebalance_timeout;
    req.group_instance_id = mm->group_instance_id;
    req.protocol_type = kafka_str_c(g->protocol_type ? g->protocol_type : "");
    req.protocols = &proto;
    req.protocols_count = protocol.len >= 0 ? 1 : 0;
    char *id = group_strdup(mm->member_id.len >= 0 ? mm->member_id : kafka_str_c(""));
    group_member *m = group_member_find(g, kafka_str_c(id));
    if (!m) m = group_member_add(g, id, mm->client_id, mm->client_host, &req);
    free(id);
    group_blob_set(&m->assignment, mm->assignment.ptr, mm->assignment.len);
    return m;
}

int group_member_protocols_match(const group_member *m, const kafka_join_group_request *req) {
    if (m->protocol_count != (req->protocols_count > 0 ? req->protocols_count : 0)) return 0;
    for (int32_t i = 0; i < m->protocol_count; i++) {
        const group_protocol *p = &m->protocols[i];
        kafka_bytes md = req->protocols[i].metadata;
        kafka_str name = req->protocols[i].name.len >= 0 ? req->protocols[i].name : kafka_str_c("");
        if (!str_is(p->name, name)) return 0;
        if (p->metadata.len != md.len) return 0;
        if (md.len > 0 && memcmp(p->metadata.bytes, md.ptr, (size_t)md.len) != 0) return 0;
    }
    return 1;
}

const group_blob *group_member_metadata(const group_member *m, const char *protocol) {
    for (int32_t i = 0; i < m->protocol_count; i++)
        if (protocol && strcmp(m->protocols[i].name, protocol) == 0)
            return &m->protocols[i].metadata;
    return NULL;
}

int32_t group_rebalance_timeout_ms(const group *g) {
    int32_t t = 0;
    for (int32_t i = 0; i < g->member_count; i++)
        if (g->members[i].rebalance_timeout_ms > t) t = g->members[i].rebalance_timeout_ms;
    return t;
}

int group_all_joined(const group *g) {
    if (g->pending_count > 0) return 0;
    for (int32_t i = 0; i < g->member_count; i++)
        if (!g->members[i].awaiting_join) return 0;
    return 1;
}

int group_pending_find(const group *g, kafka_str member_id) {
    for (int32_t i = 0; i < g->pending_count; i++)
        if (str_is(g->pending[i].member_id, member_id)) return i;
    return -1;
}

void group_pending_add(group *g, const char *member_id, int64_t deadline_us) {
    if (g->pending_count == g->pending_cap) {
        g->pending_cap = g->pending_cap ? g->pending_cap * 2 : 4;
        g->pending = xrealloc(g->pending, (size_t)g->pending_cap * sizeof *g->pending);
    }
    g->pending[g->pending_count++] = (group_pending_member){
        .member_id = group_strdup(kafka_str_c(member_id)), .deadline_us = deadline_us};
}

void group_pending_remove(group *g, int32_t index) {
    assert(index >= 0 && index < g->pending_count);
    free(g->pending[index].member_id);
    g->pending[index] = g->pending[--g->pending_count];
}

/* ---- protocols --------------------------------------------------------------------- */

static int member_supports(const group_member *m, const char *name) {
    for (int32_t i = 0; i < m->protocol_count; i++)
        if (strcmp(m->protocols[i].name, name) == 0) return 1;
    return 0;
}

static int all_support(const group *g, const char *name) {
    for (int32_t i = 0; i < g->member_count; i++)
        if (!member_supports(&g->members[i], name)) return 0;
    return 1;
}

int group_supports_protocols(const group *g, kafka_str protocol_type,
                             const kafka_join_group_request *req) {
    if (g->member_count == 0) return protocol_type.len > 0 && req->protocols_count > 0;
    if (!str_is(g->protocol_type, protocol_type)) return 0;
    for (int32_t i = 0; i < req->protocols_count; i++) {
        char *name = group_strdup(req->protocols[i].name);
        int ok = name && all_support(g, name);
        free(name);
        if (ok) return 1;
    }
    return 0;
}

const char *group_select_protocol(const group *g) {
    assert(g->member_count > 0);
    const group_member *leader = &g->members[0];
    for (int32_t i = 0; i < g->member_count; i++)
        if (g->leader_id && strcmp(g->members[i].member_id, g->leader_id) == 0)
            leader = &g->members[i];
    const char *best = NULL;
    int32_t best_votes = 0;
    for (int32_t c = 0; c < leader->protocol_count; c++) {
        const char *cand = leader->protocols[c].name;
        if (!all_support(g, cand)) continue;
        int32_t votes = 0;
        for (int32_t i = 0; i < g->member_count; i++) {
            const group_member *m = &g->members[i];
            for (int32_t k = 0; k < m->protocol_count; k++)
                if (all_support(g, m->protocols[k].name)) {
                    votes += strcmp(m->protocols[k].name, cand) == 0;
                    break;
                }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

/* ---- offsets -------------------------------------------------------------------------- */

group_offset *group_offset_find(group *g, kafka_str topic, int32_t partition) {
    for (int32_t i = 0; i < g->offset_count; i++)
        if (g->offsets[i].partition == partition && str_is(g->offsets[i].topic, topic))
            return &g->offsets[i];
    return NULL;
}

void group_offset_put(group *g, kafka_str topic, int32_t partition, int64_t offset,
                      int32_t leader_epoch, kafka_str metadata, int64_t commit_timestamp_ms,
                      int64_t expire_timestamp_ms) {
    group_offset *o = group_offset_find(g, topic, partition);
    if (!o) {
        if (g->offset_count == g->offset_cap) {
            g->offset_cap = g->offset_cap ? g->offset_cap * 2 : 8;
            g->offsets = xrealloc(g->offsets, (size_t)g->offset_cap * sizeof *g->offsets);
        }
        o = &g->offsets[g->offset_count++];
        memset(o, 0, sizeof *o);
        o->topic = group_strdup(topic.len >= 0 ? topic : kafka_str_c(""));
        o->partition = partition;
    }
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    group_set_str(&o->metadata, metadata);
    o->commit_timestamp_ms = commit_timestamp_ms;
    o->expire_timestamp_ms = expire_timestamp_ms;
}

void group_offset_delete(group *g, kafka_str topic, int32_t partition) {
    group_offset *o = group_offset_find(g, topic, partition);
    if (!o) return;
    free(o->topic);
    free(o->metadata);
    int32_t i = (int32_t)(o - g->offsets);
    memmove(&g->offsets[i], &g->offsets[i + 1],
            (size_t)(g->offset_count - i - 1) * sizeof *g->offsets);
    g->offset_count--;
}
