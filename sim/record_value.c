#include "record_value.h"

#include <assert.h>
#include <string.h>

/* Writes v in decimal (as printf's %lld) at out; returns the length.  Every
 * produced record is formatted, and snprintf was ~4% of a lab run. */
static size_t put_decimal(char *out, int64_t v) {
    char digits[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, len = 0;
    do digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = digits[--n];
    return len;
}

void record_value_format(uint8_t *out, size_t value_bytes, const record_value_id *id) {
    assert(value_bytes >= RECORD_VALUE_BYTES_MIN);
    char head[64]; /* "sl:" and three numbers of at most 20 characters, each with ':' */
    size_t n = 0;
    memcpy(head, "sl:", 3);
    n = 3;
    n += put_decimal(head + n, id->producer);
    head[n++] = ':';
    n += put_decimal(head + n, id->partition);
    head[n++] = ':';
    n += put_decimal(head + n, id->sequence);
    head[n++] = ':';
    assert(n <= value_bytes);
    memcpy(out, head, n);
    memset(out + n, '.', value_bytes - n);
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
