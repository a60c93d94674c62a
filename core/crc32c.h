/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2.
 *
 * Start with 0 and chain: crc32c(crc32c(0, a, n), b, m) == crc32c(0, a||b, n+m).
 */
#ifndef STREAMLAB_CRC32C_H
#define STREAMLAB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over len bytes of data; data may be NULL when len is 0. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
