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

/* Parses "sl:" and three numbers each ended by ':' (at most 18 digits, so no
 * overflow).  One loop with the position in a register: the checker parses every
 * record appended and consumed, and a call per number cost ~230 instructions a
 * record. */
int record_value_parse(const uint8_t *value, size_t len, record_value_id *id) {
    if (!value || len < 3 || memcmp(value, "sl:", 3) != 0) return -1;
    int64_t n[3];
    size_t pos = 3;
    for (int k = 0; k < 3; k++) {
        size_t start = pos, stop = len - pos > 18 ? pos + 18 : len;
        int64_t v = 0;
        while (pos < stop && (unsigned)(value[pos] - '0') <= 9u) v = v * 10 + (value[pos++] - '0');
        if (pos == start || pos >= len || value[pos] != ':') return -1;
        pos++;
        n[k] = v;
    }
    if (n[0] > INT32_MAX || n[1] > INT32_MAX) return -1;
    id->producer = (int32_t)n[0];
    id->partition = (int32_t)n[1];
    id->sequence = n[2];
    return 0;
}
