/* test_crc32c.c — known answers (RFC 3720 B.4, the "123456789" check value) and chaining. */
#include <criterion/criterion.h>
#include <string.h>

#include "crc32c.h"

Test(crc32c, check_value) {
    cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
}

Test(crc32c, empty) {
    cr_assert_eq(crc32c(0, NULL, 0), 0u);
    cr_assert_eq(crc32c(0x12345678u, "", 0), 0x12345678u);
}

Test(crc32c, rfc3720_vectors) {
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    cr_assert_eq(crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    cr_assert_eq(crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
    cr_assert_eq(crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
    cr_assert_eq(crc32c(0, buf, 32), 0x113FDB5Cu);
}

Test(crc32c, chaining_and_alignment_match_bytewise) {
    uint8_t buf[301];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131u + 7u);
    uint32_t whole = crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut++) {
        uint32_t c = crc32c(crc32c(0, buf, cut), buf + cut, sizeof buf - cut);
        cr_assert_eq(c, whole, "cut %zu", cut);
    }
    /* byte at a time equals the sliced path */
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof buf; i++) c = crc32c(c, buf + i, 1);
    cr_assert_eq(c, whole);
    /* unaligned start */
    cr_assert_eq(crc32c(0, buf + 3, 9), crc32c(crc32c(0, buf + 3, 4), buf + 7, 5));
}

Test(crc32c, accelerated_path_matches_portable) {
    uint8_t buf[1031];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 197u + 11u);
    for (size_t start = 0; start < 9; start++)
        for (size_t len = 0; start + len <= sizeof buf; len += 1 + len / 3) {
            uint32_t seed = (uint32_t)(len * 2654435761u);
            cr_assert_eq(crc32c(seed, buf + start, len), crc32c_portable(seed, buf + start, len),
                         "start %zu len %zu (accelerated: %d)", start, len, crc32c_accelerated());
        }
}
