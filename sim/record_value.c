#include "record_value.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void record_value_format(uint8_t *out, size_t value_bytes, const record_value_id *id) {
    assert(value_bytes >= RECORD_VALUE_BYTES_MIN);
    char head[64];
    int n = snprintf(head, sizeof head, "sl:%d:%d:%lld:", (int)id->producer, (int)id->partition,
                     (long long)id->sequence);
    assert(n > 0 && (size_t)n <= value_bytes);
    memcpy(out, head, (size_t)n);
    memset(out + n, '.', value_bytes - (size_t)n);
}

static int parse_int(const uint8_t *p, size_t len, size_t *pos, int64_t *out) {
    int64_t v = 0;
    size_t start = *pos;
    while (*pos < len && p[*pos] >= '0' && p[*pos] <= '9' && *pos - start < 18)
        v = v * 10 + (p[(*pos)++] - '0');
    if (*pos == start || *pos >= len || p[*pos] != ':') return -1;
    (*pos)++;
    *out = v;
    return 0;
}

int record_value_parse(const uint8_t *value, size_t len, record_value_id *id) {
    if (!value || len < 3 || memcmp(value, "sl:", 3) != 0) return -1;
    size_t pos = 3;
    int64_t producer, partition, sequence;
    if (parse_int(value, len, &pos, &producer) || parse_int(value, len, &pos, &partition) ||
        parse_int(value, len, &pos, &sequence))
        return -1;
    if (producer > INT32_MAX || partition > INT32_MAX) return -1;
    id->producer = (int32_t)producer;
    id->partition = (int32_t)partition;
    id->sequence = sequence;
    return 0;
}
