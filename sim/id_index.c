#include "id_index.h"

#include <assert.h>
#include <stdlib.h>

#define ID_INDEX_ABSENT INT64_MIN

void id_index_init(id_index *x) {
    x->lanes = NULL;
    x->lane_count = x->lane_cap = x->last = 0;
    u64_map_init(&x->far);
}

void id_index_deinit(id_index *x) {
    for (int32_t i = 0; i < x->lane_count; i++) free(x->lanes[i].values);
    free(x->lanes);
    u64_map_deinit(&x->far);
    id_index_init(x);
}

static id_index_lane *lane_find(const id_index *x, const record_value_id *id) {
    if (x->last < x->lane_count) {
        id_index_lane *l = &x->lanes[x->last];
        if (l->producer == id->producer && l->partition == id->partition) return l;
    }
    for (int32_t i = 0; i < x->lane_count; i++)
        if (x->lanes[i].producer == id->producer && x->lanes[i].partition == id->partition)
            return &x->lanes[i];
    return NULL;
}

/* id's lane, made when missing; NULL when there are ID_INDEX_LANES_MAX already. */
static id_index_lane *lane_of(id_index *x, const record_value_id *id) {
    id_index_lane *l = lane_find(x, id);
    if (!l) {
        if (x->lane_count == ID_INDEX_LANES_MAX) return NULL;
        if (x->lane_count == x->lane_cap) {
            x->lane_cap = x->lane_cap ? 2 * x->lane_cap : 4;
            x->lanes = realloc(x->lanes, (size_t)x->lane_cap * sizeof *x->lanes);
            if (!x->lanes) abort();
        }
        l = &x->lanes[x->lane_count++];
        *l = (id_index_lane){.producer = id->producer, .partition = id->partition};
    }
    x->last = (int32_t)(l - x->lanes);
    return l;
}

static void lane_reserve(id_index_lane *l, int64_t need) {
    if (need <= l->cap) return;
    int64_t n = l->cap ? 2 * l->cap : 1024;
    while (n < need) n *= 2;
    int64_t *grown = realloc(l->values, (size_t)n * sizeof *grown);
    if (!grown) abort();
    for (int64_t i = l->cap; i < n; i++) grown[i] = ID_INDEX_ABSENT;
    l->values = grown;
    l->cap = n;
}

/* Where id's value sits in its lane (grown to hold it), or NULL when the id is
 * not a lane's: its sequence is negative or too far, or there are too many lanes. */
static int64_t *dense_slot(id_index *x, const record_value_id *id) {
    id_index_lane *l = lane_of(x, id);
    if (!l || id->sequence < 0 || id->sequence >= l->cap + ID_INDEX_SLACK) return NULL;
    lane_reserve(l, id->sequence + 1);
    return &l->values[id->sequence];
}

static int far_get(const id_index *x, const record_value_id *id, int64_t *value) {
    return x->far.count && u64_map_get(&x->far, record_value_key(id), value);
}

void id_index_put(id_index *x, const record_value_id *id, int64_t value) {
    assert(value != ID_INDEX_ABSENT);
    int64_t old;
    int64_t *v = far_get(x, id, &old) ? NULL : dense_slot(x, id);
    if (v)
        *v = value;
    else
        u64_map_put(&x->far, record_value_key(id), value);
}

int id_index_get(const id_index *x, const record_value_id *id, int64_t *value) {
    const id_index_lane *l = lane_find(x, id);
    if (l && id->sequence >= 0 && id->sequence < l->cap &&
        l->values[id->sequence] != ID_INDEX_ABSENT) {
        *value = l->values[id->sequence];
        return 1;
    }
    return far_get(x, id, value);
}

int id_index_add(id_index *x, const record_value_id *id) {
    int64_t *v = dense_slot(x, id), old;
    if ((v && *v != ID_INDEX_ABSENT) || far_get(x, id, &old)) return 0;
    if (v)
        *v = 1;
    else
        u64_map_put(&x->far, record_value_key(id), 1);
    return 1;
}
