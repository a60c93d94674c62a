/*
 * fetch_session.c — KIP-227 fetch sessions: the partition set both sides keep, the
 * broker's session cache, and the client's session handler.
 */
#include "fetch_session.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_errors.gen.h"

static void *grow(void *p, int32_t *cap, int32_t need, size_t item) {
    if (need <= *cap) return p;
    int32_t n = *cap ? *cap * 2 : 8;
    while (n < need) n *= 2;
    void *q = realloc(p, (size_t)n * item);
    if (!q) abort();
    *cap = n;
    return q;
}

/* ---- the partition set ------------------------------------------------------------ */

void fetch_session_set_init(fetch_session_set *s) {
    memset(s, 0, sizeof *s);
}

void fetch_session_set_deinit(fetch_session_set *s) {
    for (int32_t i = 0; i < s->topic_count; i++) free(s->topics[i]);
    free(s->topics);
    free(s->topic_lens);
    free(s->parts);
    memset(s, 0, sizeof *s);
}

void fetch_session_set_clear(fetch_session_set *s) {
    s->count = 0;
    s->hint = 0;
}

kafka_str fetch_session_set_topic(const fetch_session_set *s, int32_t topic) {
    assert(topic >= 0 && topic < s->topic_count);
    return (kafka_str){s->topics[topic], s->topic_lens[topic]};
}

static uint64_t load64(const char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t load32(const char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* a[0..len) == b[0..len) for the short names topics have, without a call: two
 * overlapping words cover up to 16 bytes (names like "topic-1", "topic-2" differ
 * last, which the second word holds). */
static int bytes_eq(const char *a, const char *b, size_t len) {
    if (len >= 8) {
        if (load64(a + len - 8) != load64(b + len - 8) || load64(a) != load64(b)) return 0;
        return len <= 16 || memcmp(a + 8, b + 8, len - 16) == 0;
    }
    if (len >= 4) return load32(a + len - 4) == load32(b + len - 4) && load32(a) == load32(b);
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static int name_eq(const fetch_session_set *s, int32_t topic, kafka_str name) {
    int32_t len = name.len < 0 ? 0 : name.len;
    if (s->topic_lens[topic] != len) return 0;
    if (s->topics[topic] == name.ptr) return 1; /* the set's own name, handed back */
    return bytes_eq(s->topics[topic], name.ptr, (size_t)len);
}

int32_t fetch_session_set_topic_find(fetch_session_set *s, kafka_str topic) {
    if (s->topic_count == 0) return -1;
    int32_t i = s->topic_hint < s->topic_count ? s->topic_hint : 0;
    for (int32_t n = 0; n < s->topic_count; n++) { /* the last one found first */
        if (name_eq(s, i, topic)) return s->topic_hint = i;
        if (++i == s->topic_count) i = 0;
    }
    return -1;
}

static int32_t topic_intern(fetch_session_set *s, kafka_str topic) {
    int32_t i = fetch_session_set_topic_find(s, topic);
    if (i >= 0) return i;
    int32_t len = topic.len < 0 ? 0 : topic.len, cap = s->topic_cap;
    s->topics = grow(s->topics, &s->topic_cap, s->topic_count + 1, sizeof *s->topics);
    s->topic_lens = grow(s->topic_lens, &cap, s->topic_count + 1, sizeof *s->topic_lens);
    char *name = malloc((size_t)len + 1);
    if (!name) abort();
    if (len > 0) memcpy(name, topic.ptr, (size_t)len);
    name[len] = '\0';
    s->topics[s->topic_count] = name;
    s->topic_lens[s->topic_count] = len;
    return s->topic_count++;
}

int32_t fetch_session_set_find_in(fetch_session_set *s, int32_t topic, int32_t partition) {
    for (int32_t n = 0; n < s->count; n++) {
        int32_t i = s->hint + n < s->count ? s->hint + n : s->hint + n - s->count;
        if (s->parts[i].partition == partition && s->parts[i].topic == topic) {
            s->hint = i + 1 < s->count ? i + 1 : 0;
            return i;
        }
    }
    return -1;
}

int32_t fetch_session_set_find(fetch_session_set *s, kafka_str topic, int32_t partition) {
    int32_t t = fetch_session_set_topic_find(s, topic);
    return t < 0 ? -1 : fetch_session_set_find_in(s, t, partition);
}

int32_t fetch_session_set_find_at(fetch_session_set *s, int32_t at, kafka_str topic,
                                  int32_t topic_index, int32_t partition) {
    if (at >= 0 && at < s->count && s->parts[at].partition == partition &&
        (topic_index >= 0 ? s->parts[at].topic == topic_index
                          : name_eq(s, s->parts[at].topic, topic)))
        return at;
    if (topic_index < 0) topic_index = fetch_session_set_topic_find(s, topic);
    return topic_index < 0 ? -1 : fetch_session_set_find_in(s, topic_index, partition);
}

int32_t fetch_session_set_add(fetch_session_set *s, kafka_str topic, int32_t partition) {
    int32_t t = topic_intern(s, topic);
    s->parts = grow(s->parts, &s->cap, s->count + 1, sizeof *s->parts);
    int32_t at = s->count; /* after the topic's last partition, else at the end */
    for (int32_t i = s->count - 1; i >= 0; i--)
        if (s->parts[i].topic == t) {
            at = i + 1;
            break;
        }
    memmove(&s->parts[at + 1], &s->parts[at], (size_t)(s->count - at) * sizeof *s->parts);
    s->count++;
    s->parts[at] = (fetch_session_partition){.topic = t,
                                             .partition = partition,
                                             .current_leader_epoch = -1,
                                             .fetch_offset = -1,
                                             .log_start_offset = -1,
                                             .high_watermark = -1,
                                             .last_stable_offset = -1,
                                             .leader_log_start_offset = -1};
    return at;
}

void fetch_session_set_remove(fetch_session_set *s, int32_t index) {
    assert(index >= 0 && index < s->count);
    memmove(&s->parts[index], &s->parts[index + 1],
            (size_t)(s->count - index - 1) * sizeof *s->parts);
    s->count--;
    if (s->hint >= s->count) s->hint = 0;
}

/* Copies what the fetcher asks for; 1 when that changed. */
static int set_wanted(fetch_session_partition *p, const kafka_fetch_request_fetch_partition *in) {
    int changed = p->fetch_offset != in->fetch_offset ||
                  p->log_start_offset != in->log_start_offset ||
                  p->max_bytes != in->partition_max_bytes ||
                  p->current_leader_epoch != in->current_leader_epoch;
    p->fetch_offset = in->fetch_offset;
    p->log_start_offset = in->log_start_offset;
    p->max_bytes = in->partition_max_bytes;
    p->current_leader_epoch = in->current_leader_epoch;
    return changed;
}

/* The index of (name, partition), added with nothing sent when missing (*added 1).
 * *topic carries the name's index from one partition of a request topic to the
 * next (-1 before the first: looked up here). */
static int32_t find_or_add(fetch_session_set *s, kafka_str name, int32_t *topic, int32_t partition,
                           int *added) {
    if (*topic < 0) *topic = fetch_session_set_topic_find(s, name);
    int32_t i = *topic < 0 ? -1 : fetch_session_set_find_in(s, *topic, partition);
    *added = i < 0;
    if (i < 0) {
        i = fetch_session_set_add(s, name, partition);
        *topic = s->parts[i].topic;
    }
    return i;
}

/* Arrays for `s`'s partitions as request topics, in arena a, not zeroed:
 * set_to_topics writes every field of what it uses. */
static void alloc_topics(const fetch_session_set *s, arena *a,
                         kafka_fetch_request_fetch_topic **topics,
                         kafka_fetch_request_fetch_partition **parts) {
    *topics = arena_alloc_uninit(a, (size_t)(s->count + 1) * sizeof **topics);
    *parts = arena_alloc_uninit(a, (size_t)(s->count + 1) * sizeof **parts);
    if (!*topics || !*parts) abort();
}

/* The set's partitions as request topics, every field written: runs of one topic
 * (the set keeps them together).  Only partitions with `seen` == want when want >= 0. */
static int32_t set_to_topics(const fetch_session_set *s, int want,
                             kafka_fetch_request_fetch_topic *topics,
                             kafka_fetch_request_fetch_partition *parts) {
    int32_t runs = 0, n = 0, last_topic = -1;
    for (int32_t i = 0; i < s->count; i++) {
        const fetch_session_partition *p = &s->parts[i];
        if (want >= 0 && p->seen != want) continue;
        if (runs == 0 || p->topic != last_topic) {
            topics[runs].topic = (kafka_str){s->topics[p->topic], s->topic_lens[p->topic]};
            memset(topics[runs].topic_id, 0, sizeof topics[runs].topic_id);
            topics[runs].partitions = &parts[n];
            topics[runs].partitions_count = 0;
            runs++;
            last_topic = p->topic;
        }
        kafka_fetch_request_fetch_partition *fp = &parts[n++];
        fp->partition = p->partition;
        fp->current_leader_epoch = p->current_leader_epoch;
        fp->fetch_offset = p->fetch_offset;
        fp->last_fetched_epoch = -1;
        fp->log_start_offset = p->log_start_offset;
        fp->partition_max_bytes = p->max_bytes;
        memset(fp->replica_directory_id, 0, sizeof fp->replica_directory_id);
        topics[runs - 1].partitions_count++;
    }
    return runs;
}

/* ---- broker side ------------------------------------------------------------------ */

void fetch_session_cache_init(fetch_session_cache *c, int32_t slots, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->slots = slots;
    c->eviction_us = FETCH_SESSION_EVICTION_US;
    c->seed = seed;
}

static void session_free(fetch_session *s) {
    fetch_session_set_deinit(&s->set);
    free(s);
}

void fetch_session_cache_deinit(fetch_session_cache *c) {
    for (int32_t i = 0; i < c->count; i++) session_free(c->sessions[i]);
    free(c->sessions);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

static int32_t cache_index(const fetch_session_cache *c, int32_t id) {
    for (int32_t i = 0; i < c->count; i++)
        if (c->ids[i] == id) {
#if defined(__SANITIZE_ADDRESS__) /* a check that dereferences what ids[] spares */
            assert(c->sessions[i]->id == id);
#endif
            return i;
        }
    return -1;
}

fetch_session *fetch_session_cache_get(fetch_session_cache *c, int32_t id) {
    if (id == 0) return NULL;
    int32_t i = cache_index(c, id);
    return i < 0 ? NULL : c->sessions[i];
}

void fetch_session_cache_remove(fetch_session_cache *c, int32_t id) {
    int32_t i = id == 0 ? -1 : cache_index(c, id);
    if (i < 0) return;
    session_free(c->sessions[i]);
    memmove(&c->sessions[i], &c->sessions[i + 1], (size_t)(c->count - i - 1) * sizeof *c->sessions);
    memmove(&c->ids[i], &c->ids[i + 1], (size_t)(c->count - i - 1) * sizeof *c->ids);
    c->count--;
}

/* Kafka's EvictableKey order: unprivileged before privileged, then by size, then id. */
static int key_less(int pa, int32_t sa, int32_t ida, int pb, int32_t sb, int32_t idb) {
    if (pa != pb) return pa < pb;
    if (sa != sb) return sa < sb;
    return ida < idb;
}

/* FetchSessionCache.tryEvict: a stale session goes first; else the least valuable
 * evictable one, when the new session is worth more.  Unprivileged sessions are
 * evictable by privileged ones at any age; any session by any once it is older
 * than the eviction time. */
static int try_evict(fetch_session_cache *c, int privileged, int32_t size, int64_t now_us) {
    fetch_session *lru = NULL, *least = NULL;
    for (int32_t i = 0; i < c->count; i++) {
        fetch_session *s = c->sessions[i];
        if (!lru || s->last_used_us < lru->last_used_us) lru = s;
        int mature = now_us - s->created_us > c->eviction_us;
        int evictable = privileged ? (!s->privileged || mature) : mature;
        if (evictable && (!least || key_less(s->privileged, s->set.count, s->id, least->privileged,
                                             least->set.count, least->id)))
            least = s;
    }
    if (lru && now_us - lru->last_used_us > c->eviction_us) {
        fetch_session_cache_remove(c, lru->id);
        return 1;
    }
    if (!least || key_less(privileged, size, 0, least->privileged, least->set.count, least->id))
        return 0;
    fetch_session_cache_remove(c, least->id);
    return 1;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

fetch_session *fetch_session_cache_create(fetch_session_cache *c, int privileged, int32_t size,
                                          int64_t now_us) {
    if (c->slots <= 0) return NULL;
    if (c->count >= c->slots && !try_evict(c, privileged, size, now_us)) return NULL;
    int32_t id;
    do id = (int32_t)(splitmix64(c->seed ^ splitmix64(++c->counter)) & 0x7fffffff);
    while (id == 0 || cache_index(c, id) >= 0);
    fetch_session *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->id = id;
    s->epoch = FETCH_SESSION_FIRST_EPOCH;
    s->privileged = privileged;
    s->created_us = s->last_used_us = now_us;
    fetch_session_set_init(&s->set);
    int32_t cap = c->cap;
    c->sessions = grow(c->sessions, &c->cap, c->count + 1, sizeof *c->sessions);
    c->ids = grow(c->ids, &cap, c->count + 1, sizeof *c->ids);
    assert(cap == c->cap);
    c->ids[c->count] = id;
    c->sessions[c->count++] = s;
    return s;
}

void fetch_session_update(fetch_session *s, const kafka_fetch_request *req) {
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_fetch_request_fetch_topic *ft = &req->topics[t];
        int32_t topic = -1;
        int added;
        for (int32_t k = 0; k < ft->partitions_count; k++) {
            int32_t i =
                find_or_add(&s->set, ft->topic, &topic, ft->partitions[k].partition, &added);
            set_wanted(&s->set.parts[i], &ft->partitions[k]);
        }
    }
    for (int32_t t = 0; t < req->forgotten_topics_data_count; t++) {
        const kafka_fetch_request_forgotten_topic *f = &req->forgotten_topics_data[t];
        for (int32_t k = 0; k < f->partitions_count; k++) {
            int32_t i = fetch_session_set_find(&s->set, f->topic, f->partitions[k]);
            if (i >= 0) fetch_session_set_remove(&s->set, i);
        }
    }
}

int fetch_session_partition_answered(fetch_session_partition *p,
                                     const kafka_fetch_response_partition_data *d) {
    int respond = d->records.len > 0;
    if (p->high_watermark != d->high_watermark) respond = 1, p->high_watermark = d->high_watermark;
    if (p->last_stable_offset != d->last_stable_offset)
        respond = 1, p->last_stable_offset = d->last_stable_offset;
    if (p->leader_log_start_offset != d->log_start_offset)
        respond = 1, p->leader_log_start_offset = d->log_start_offset;
    if (d->preferred_read_replica >= 0) respond = 1;
    if (d->error_code != KAFKA_ERROR_NONE) {
        p->high_watermark = -1; /* told again once the error is gone */
        respond = 1;
    }
    return respond;
}

void fetch_session_request_topics(const fetch_session *s, kafka_fetch_request *req, arena *a) {
    kafka_fetch_request_fetch_partition *parts;
    alloc_topics(&s->set, a, &req->topics, &parts);
    req->topics_count = set_to_topics(&s->set, -1, req->topics, parts);
}

int32_t fetch_session_next_epoch(int32_t epoch) {
    if (epoch < 0) return epoch; /* FINAL_EPOCH stays */
    return epoch == INT32_MAX ? 1 : epoch + 1;
}

/* ---- client side ------------------------------------------------------------------ */

void fetch_session_handler_init(fetch_session_handler *h) {
    memset(h, 0, sizeof *h);
    fetch_session_set_init(&h->set);
    arena_init(&h->scratch);
}

void fetch_session_handler_deinit(fetch_session_handler *h) {
    fetch_session_set_deinit(&h->set);
    arena_deinit(&h->scratch);
}

/* Lists the partitions not wanted any more as forgotten_topics_data and drops them. */
static void build_forgotten(fetch_session_handler *h, kafka_fetch_request *req) {
    fetch_session_set *s = &h->set;
    int32_t gone = 0;
    for (int32_t i = 0; i < s->count; i++) gone += !s->parts[i].seen;
    if (gone == 0) return;
    kafka_fetch_request_forgotten_topic *topics =
        arena_alloc(&h->scratch, (size_t)gone * sizeof *topics);
    int32_t *parts = arena_alloc(&h->scratch, (size_t)gone * sizeof *parts);
    if (!topics || !parts) abort();
    int32_t runs = 0, n = 0, kept = 0, last_topic = -1;
    for (int32_t i = 0; i < s->count; i++) {
        const fetch_session_partition *p = &s->parts[i];
        if (p->seen) {
            s->parts[kept++] = *p;
            continue;
        }
        if (runs == 0 || p->topic != last_topic) {
            kafka_fetch_request_forgotten_topic_init(&topics[runs]);
            topics[runs].topic = fetch_session_set_topic(s, p->topic);
            topics[runs].partitions = &parts[n];
            runs++;
            last_topic = p->topic;
        }
        parts[n++] = p->partition;
        topics[runs - 1].partitions_count++;
    }
    s->count = kept;
    s->hint = 0;
    req->forgotten_topics_data = topics;
    req->forgotten_topics_data_count = runs;
}

/* Where the partitions of `topic` (a set topic index) start, or -1: the set keeps
 * each topic's partitions together; *end gets the run's end.  from: where the run
 * usually starts (requests list topics in the set's order). */
static int32_t topic_run(const fetch_session_set *s, int32_t topic, int32_t from, int32_t *end) {
    int32_t lo = from < s->count && s->parts[from].topic == topic &&
                         (from == 0 || s->parts[from - 1].topic != topic)
                     ? from
                     : 0;
    while (lo < s->count && s->parts[lo].topic != topic) lo++;
    if (lo == s->count) return -1;
    int32_t hi = lo + 1;
    while (hi < s->count && s->parts[hi].topic == topic) hi++;
    *end = hi;
    return lo;
}

/* When the request lists exactly the set's partitions (a topic's partitions in any
 * order: the set keeps them in the order they were added, a fetcher lists them in
 * its own), the set's index of each request partition in turn, in `index` (room for
 * s->count); else 0.  Nothing in the set changes but `seen`. */
static int same_partitions(fetch_session_set *s, const kafka_fetch_request *req, int32_t *index) {
    int32_t n = 0;
    for (int32_t i = 0; i < s->count; i++) s->parts[i].seen = 0;
    for (int32_t t = 0; t < req->topics_count; t++) {
        const kafka_fetch_request_fetch_topic *ft = &req->topics[t];
        if (ft->partitions_count == 0) continue;
        int32_t topic = n < s->count && name_eq(s, s->parts[n].topic, ft->topic)
                            ? s->parts[n].topic
                            : fetch_session_set_topic_find(s, ft->topic);
        int32_t end, lo = topic < 0 ? -1 : topic_run(s, topic, n, &end);
        if (lo < 0 || end - lo != ft->partitions_count) return 0;
        for (int32_t k = 0; k < ft->partitions_count; k++) {
            int32_t partition = ft->partitions[k].partition, i = lo + k;
            if (s->parts[i].partition != partition) /* listed in another order */
                for (i = lo; i < end && s->parts[i].partition != partition; i++) continue;
            if (i == end || s->parts[i].seen) return 0; /* not in the set, or listed twice */
            s->parts[i].seen = 1;
            if (n == s->count) return 0;
            index[n++] = i;
        }
    }
    return n == s->count;
}

static void match_wanted(fetch_session_handler *h, kafka_fetch_request *req);

void fetch_session_handler_build(fetch_session_handler *h, kafka_fetch_request *req) {
    arena_reset(&h->scratch);
    req->forgotten_topics_data = NULL;
    req->forgotten_topics_data_count = 0;
    req->session_id = h->session_id;
    req->session_epoch = h->epoch;
    if (h->epoch == 0) { /* full: the request as is becomes the session */
        fetch_session_set_clear(&h->set);
        for (int32_t t = 0; t < req->topics_count; t++)
            for (int32_t k = 0; k < req->topics[t].partitions_count; k++) {
                const kafka_fetch_request_fetch_partition *fp = &req->topics[t].partitions[k];
                int32_t i = fetch_session_set_add(&h->set, req->topics[t].topic, fp->partition);
                set_wanted(&h->set.parts[i], fp);
            }
        h->full_requests++;
        return;
    }
    fetch_session_set *s = &h->set;
    int32_t *index = arena_alloc_uninit(&h->scratch, (size_t)(s->count + 1) * sizeof *index);
    if (!index) abort();
    if (same_partitions(s, req, index)) { /* the usual case: only positions to compare */
        int32_t n = 0;
        for (int32_t t = 0; t < req->topics_count; t++)
            for (int32_t k = 0; k < req->topics[t].partitions_count; k++, n++) {
                fetch_session_partition *p = &s->parts[index[n]];
                p->seen = set_wanted(p, &req->topics[t].partitions[k]) ? 2 : 1;
            }
    } else
        match_wanted(h, req);
    kafka_fetch_request_fetch_partition *parts;
    alloc_topics(s, &h->scratch, &req->topics, &parts);
    req->topics_count = set_to_topics(s, 2, req->topics, parts);
    h->incremental_requests++;
}

/* Any other change of the partition set: added ones are sent, missing ones forgotten. */
static void match_wanted(fetch_session_handler *h, kafka_fetch_request *req) {
    fetch_session_set *s = &h->set;
    for (int32_t i = 0; i < s->count; i++) s->parts[i].seen = 0;
    for (int32_t t = 0; t < req->topics_count; t++) {
        int32_t topic = -1;
        for (int32_t k = 0; k < req->topics[t].partitions_count; k++) {
            const kafka_fetch_request_fetch_partition *fp = &req->topics[t].partitions[k];
            int changed;
            int32_t i = find_or_add(s, req->topics[t].topic, &topic, fp->partition, &changed);
            changed |= set_wanted(&s->parts[i], fp);
            s->parts[i].seen = changed ? 2 : 1; /* 2: sent in this request */
        }
    }
    build_forgotten(h, req);
}

int fetch_session_handler_response(fetch_session_handler *h, const kafka_fetch_response *resp) {
    if (resp->error_code != KAFKA_ERROR_NONE) {
        if (resp->error_code == KAFKA_ERROR_FETCH_SESSION_ID_NOT_FOUND) h->session_id = 0;
        h->epoch = 0; /* else close the session we name and open a new one */
        return 0;
    }
    if (resp->session_id == 0) { /* declined, or closed by the broker: full again */
        h->session_id = 0;
        h->epoch = 0;
    } else if (h->epoch == 0) {
        h->session_id = resp->session_id;
        h->epoch = FETCH_SESSION_FIRST_EPOCH;
    } else if (resp->session_id != h->session_id) {
        h->epoch = 0;
        return 0;
    } else {
        h->epoch = fetch_session_next_epoch(h->epoch);
    }
    return 1;
}

void fetch_session_handler_failed(fetch_session_handler *h) {
    h->epoch = 0;
}
