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
/* The table-driven path crc32c() falls back to (exposed so tests can compare). */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);
/* 1 when crc32c() uses the CPU's CRC32 instruction. */
int crc32c_accelerated(void);

#endif
