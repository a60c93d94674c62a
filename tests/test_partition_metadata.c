/*
 * test_partition_metadata.c — the topic id a partition directory belongs to
 * (core/partition_metadata.h), on the simulator's in-memory storage.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mem_storage.h"
#include "partition_metadata.h"

static const uint8_t id_a[16] = {0x77, 0x85, 0xa1, 0x38, 0x97, 0x8f, 0x28, 0x7a,
                                 0x62, 0x9f, 0x73, 0xcf, 0x49, 0x0c, 0x7d, 0x36};
static const uint8_t id_b[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static int64_t size_of(const storage *s, const char *name) {
    return s->size(s->ctx, name);
}

Test(partition_metadata, written_in_kafkas_format_and_recognised) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    cr_assert_eq(partition_metadata_owner(fs, "t-0", id_a), PARTITION_METADATA_NONE);
    cr_assert_eq(partition_metadata_write(fs, "t-0", id_a), 0);
    char text[64] = {0};
    int64_t n = fs->pread(fs->ctx, "t-0/partition.metadata", 0, text, sizeof text - 1);
    /* Kafka's Uuid.toString(): URL-safe base64, no padding. */
    cr_assert_eq(n, (int64_t)strlen("version: 0\ntopic_id: d4WhOJePKHpin3PPSQx9Ng\n"));
    cr_assert_str_eq(text, "version: 0\ntopic_id: d4WhOJePKHpin3PPSQx9Ng\n");
    cr_assert_eq(partition_metadata_owner(fs, "t-0", id_a), PARTITION_METADATA_SAME);
    cr_assert_eq(partition_metadata_owner(fs, "t-0", id_b), PARTITION_METADATA_OTHER);
    cr_assert_eq(size_of(fs, "t-0/partition.metadata.tmp"), STORAGE_ENOENT, "renamed into place");
    cr_assert_eq(partition_metadata_write(fs, "t-0", id_b), 0, "replaced");
    cr_assert_eq(partition_metadata_owner(fs, "t-0", id_b), PARTITION_METADATA_SAME);
    mem_storage_destroy(mem);
}

Test(partition_metadata, survives_a_power_off) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 2);
    cr_assert_eq(partition_metadata_write(fs, "t-1", id_a), 0);
    mem_storage_power_off(mem, 2, 12345);
    cr_assert_eq(partition_metadata_owner(fs, "t-1", id_a), PARTITION_METADATA_SAME);
    mem_storage_destroy(mem);
}

Test(partition_metadata, a_damaged_file_is_not_this_topics) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    cr_assert_eq(fs->create(fs->ctx, "t-0/partition.metadata"), 0);
    cr_assert_eq(fs->append(fs->ctx, "t-0/partition.metadata", "version: 0\n", 11), 0);
    cr_assert_eq(partition_metadata_owner(fs, "t-0", id_a), PARTITION_METADATA_OTHER);
    mem_storage_destroy(mem);
}

Test(partition_metadata, remove_dir_removes_only_that_partition) {
    mem_storage *mem = mem_storage_create();
    const storage *fs = mem_storage_view(mem, 1);
    const char *mine[] = {"t-1/00000000000000000000.log", "t-1/00000000000000000000.index"};
    const char *others[] = {"t-10/00000000000000000000.log", "t-0/00000000000000000000.log"};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(fs->create(fs->ctx, mine[i]), 0);
        cr_assert_eq(fs->create(fs->ctx, others[i]), 0);
    }
    cr_assert_eq(partition_metadata_write(fs, "t-1", id_a), 0);
    cr_assert_eq(storage_remove_dir(fs, "t-1"), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(size_of(fs, mine[i]), STORAGE_ENOENT, "%s", mine[i]);
        cr_assert_eq(size_of(fs, others[i]), 0, "%s kept", others[i]);
    }
    cr_assert_eq(partition_metadata_owner(fs, "t-1", id_a), PARTITION_METADATA_NONE);
    mem_storage_destroy(mem);
}
