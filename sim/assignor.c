#include "assignor.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

const char *assignor_name(enum scenario_assignor kind) {
    return kind == SCENARIO_ASSIGNOR_ROUNDROBIN ? "roundrobin" : "range";
}

/* Indexes sorted by a string key: insertion sort, the lists are short and the
 * order must not depend on qsort's instability. */
static void sort_by_name(int32_t *idx, int32_t n, const char *const *names) {
    for (int32_t i = 1; i < n; i++) {
        int32_t x = idx[i], j = i;
        while (j > 0 && strcmp(names[idx[j - 1]], names[x]) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = x;
    }
}

static void sorted_members(const assignor_member *m, int32_t n, int32_t *idx) {
    const char *ids[ASSIGNOR_MEMBERS_MAX] = {0};
    for (int32_t i = 0; i < n; i++) {
        idx[i] = i;
        ids[i] = m[i].member_id;
    }
    sort_by_name(idx, n, ids);
}

static void assign_range(const assignor_member *m, int32_t member_count, const int32_t *by_id,
                         const assignor_topic *topics, int32_t topic_count, int32_t *owner) {
    int32_t base = 0;
    for (int32_t t = 0; t < topic_count; t++) {
        int32_t subs[ASSIGNOR_MEMBERS_MAX], n = 0;
        for (int32_t i = 0; i < member_count; i++)
            if (m[by_id[i]].topics_mask >> t & 1) subs[n++] = by_id[i];
        int32_t parts = topics[t].partitions;
        for (int32_t i = 0; n > 0 && i < n; i++) {
            int32_t per = parts / n, extra = parts % n;
            int32_t start = per * i + (i < extra ? i : extra);
            int32_t len = per + (i < extra ? 1 : 0);
            for (int32_t p = start; p < start + len; p++) owner[base + p] = subs[i];
        }
        base += parts;
    }
}

static void assign_roundrobin(const assignor_member *m, int32_t member_count, const int32_t *by_id,
                              const assignor_topic *topics, int32_t topic_count, int32_t *owner) {
    int32_t order[ASSIGNOR_TOPICS_MAX], base[ASSIGNOR_TOPICS_MAX];
    const char *names[ASSIGNOR_TOPICS_MAX] = {0};
    for (int32_t t = 0, b = 0; t < topic_count; b += topics[t].partitions, t++) {
        order[t] = t;
        names[t] = topics[t].name;
        base[t] = b;
    }
    sort_by_name(order, topic_count, names);
    int32_t next = 0; /* the circular iterator over members sorted by id */
    for (int32_t k = 0; k < topic_count; k++) {
        int32_t t = order[k];
        int subscribed = 0;
        for (int32_t i = 0; i < member_count; i++) subscribed |= (int)(m[i].topics_mask >> t & 1);
        if (!subscribed) continue;
        for (int32_t p = 0; p < topics[t].partitions; p++) {
            while (!(m[by_id[next]].topics_mask >> t & 1)) next = (next + 1) % member_count;
            owner[base[t] + p] = by_id[next];
            next = (next + 1) % member_count;
        }
    }
}

int assignor_assign(enum scenario_assignor kind, const assignor_member *members,
                    int32_t member_count, const assignor_topic *topics, int32_t topic_count,
                    int32_t *owner) {
    if (member_count < 0 || member_count > ASSIGNOR_MEMBERS_MAX || topic_count < 0 ||
        topic_count > ASSIGNOR_TOPICS_MAX)
        return -1;
    int32_t total = 0;
    for (int32_t t = 0; t < topic_count; t++) {
        assert(topics[t].partitions >= 0);
        total += topics[t].partitions;
    }
    for (int32_t k = 0; k < total; k++) owner[k] = -1;
    if (member_count == 0) return 0;
    int32_t by_id[ASSIGNOR_MEMBERS_MAX];
    sorted_members(members, member_count, by_id);
    if (kind == SCENARIO_ASSIGNOR_ROUNDROBIN)
        assign_roundrobin(members, member_count, by_id, topics, topic_count, owner);
    else
        assign_range(members, member_count, by_id, topics, topic_count, owner);
    return 0;
}
