#include "batch_memo.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "record_batch.h"

void batch_memo_init(batch_memo *m) {
    m->slots = NULL;
}

void batch_memo_deinit(batch_memo *m) {
    if (m->slots)
        for (int32_t i = 0; i < BATCH_MEMO_SLOTS; i++) {
            free(m->slots[i].bytes);
            free(m->slots[i].records);
        }
    free(m->slots);
    batch_memo_init(m);
}

static void *grow_to(void *p, size_t *cap, size_t need, size_t item_bytes) {
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 8;
    while (n < need) n *= 2;
    void *grown = realloc(p, n * item_bytes);
    if (!grown) abort();
    *cap = n;
    return grown;
}

/* Parses batch into slot (whose bytes are left alone). */
static void parse_into(batch_memo_slot *slot, const uint8_t *batch, size_t len) {
    slot->count = 0;
    record_batch_iter it;
    record_batch_record rec;
    if (record_batch_iter_init(&it, batch, len) != 0) return;
    while (record_batch_iter_next(&it, &rec) == 1) {
        size_t cap = (size_t)slot->records_cap;
        slot->records =
            grow_to(slot->records, &cap, (size_t)slot->count + 1, sizeof *slot->records);
        slot->records_cap = (int32_t)cap;
        batch_memo_record *r = &slot->records[slot->count++];
        memset(r, 0, sizeof *r);
        r->offset = rec.offset;
        if (record_value_parse(rec.value, rec.value_len > 0 ? (size_t)rec.value_len : 0, &r->id) ==
            0)
            r->key = record_value_key(&r->id);
    }
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan: what the memo returns equals a fresh parse of the bytes. */
static void assert_same_as_parse(const batch_memo_slot *slot, const uint8_t *batch, size_t len) {
    batch_memo_slot fresh = {0};
    parse_into(&fresh, batch, len);
    assert(fresh.count == slot->count);
    for (int32_t i = 0; i < fresh.count; i++) {
        const batch_memo_record *a = &fresh.records[i], *b = &slot->records[i];
        assert(a->offset == b->offset && a->key == b->key);
        assert(!a->key || (a->id.producer == b->id.producer && a->id.partition == b->id.partition &&
                           a->id.sequence == b->id.sequence));
    }
    free(fresh.records);
}
#endif

int32_t batch_memo_records(batch_memo *m, const uint8_t *batch, size_t len,
                           const batch_memo_record **records) {
    if (!m->slots) {
        m->slots = calloc(BATCH_MEMO_SLOTS, sizeof *m->slots);
        if (!m->slots) abort();
    }
    *records = NULL;
    /* Shorter than a header: not iterable (record_batch_iter_init says so too). */
    if (!batch || len < RECORD_BATCH_HEADER_BYTES) return 0;
    batch_memo_slot *slot =
        &m->slots[(uint64_t)record_batch_base_offset(batch) & (BATCH_MEMO_SLOTS - 1)];
    if (slot->len == len && memcmp(slot->bytes, batch, len) == 0) {
#if defined(__SANITIZE_ADDRESS__)
        assert_same_as_parse(slot, batch, len);
#endif
        *records = slot->records;
        return slot->count;
    }
    parse_into(slot, batch, len);
    slot->bytes = grow_to(slot->bytes, &slot->bytes_cap, len, 1);
    memcpy(slot->bytes, batch, len);
    slot->len = len;
    *records = slot->records;
    return slot->count;
}
