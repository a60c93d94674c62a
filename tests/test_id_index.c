/* test_id_index.c — the checker's per-record table: values by (producer,
 * partition, sequence) in dense lanes, ids that lie (negative or far sequences,
 * too many lanes) still answered from the hash map, each id in one place. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "id_index.h"
#include "prng.h"

static record_value_id rid(int32_t producer, int32_t partition, int64_t sequence) {
    return (record_value_id){producer, partition, sequence};
}

Test(id_index, put_get_and_add) {
    id_index x;
    id_index_init(&x);
    int64_t v = 0;
    record_value_id a = rid(101, 0, 0), b = rid(101, 1, 0), c = rid(102, 0, 5);
    cr_assert_eq(id_index_get(&x, &a, &v), 0);
    id_index_put(&x, &a, 7);
    cr_assert_eq(id_index_get(&x, &a, &v), 1);
    cr_assert_eq(v, 7);
    cr_assert_eq(id_index_get(&x, &b, &v), 0, "another partition is another lane");
    cr_assert_eq(id_index_get(&x, &c, &v), 0);
    id_index_put(&x, &a, -3);
    cr_assert_eq(id_index_get(&x, &a, &v), 1);
    cr_assert_eq(v, -3, "put overwrites");
    cr_assert_eq(id_index_add(&x, &c), 1);
    cr_assert_eq(id_index_add(&x, &c), 0);
    cr_assert_eq(id_index_add(&x, &a), 0, "a put id is present");
    cr_assert_eq(x.far.count, 0);
    id_index_deinit(&x);
    cr_assert_eq(id_index_get(&x, &a, &v), 0);
}

Test(id_index, lying_sequences_go_to_the_hash_map_and_stay_answered) {
    id_index x;
    id_index_init(&x);
    int64_t v = 0;
    record_value_id neg = rid(101, 0, -1), far = rid(101, 0, INT64_MAX),
                    jump = rid(101, 0, 2 * (int64_t)ID_INDEX_SLACK + 10);
    cr_assert_eq(id_index_add(&x, &neg), 1);
    cr_assert_eq(id_index_add(&x, &far), 1);
    cr_assert_eq(id_index_add(&x, &jump), 1);
    cr_assert_eq(x.far.count, 3, "memory stays bounded: none of them grew a lane");
    cr_assert_eq(id_index_add(&x, &neg), 0);
    cr_assert_eq(id_index_add(&x, &far), 0);
    /* The lane grows in order until jump's sequence would fit in it: jump stays
     * where it was first put and is still found once, then updated there. */
    for (int64_t s = 0; s <= 2 * (int64_t)ID_INDEX_SLACK + 1; s += 1000) {
        record_value_id id = rid(101, 0, s);
        id_index_put(&x, &id, s);
    }
    cr_assert_lt(jump.sequence, x.lanes[0].cap + ID_INDEX_SLACK, "a lane could hold it now");
    cr_assert_eq(id_index_add(&x, &jump), 0);
    id_index_put(&x, &jump, 42);
    cr_assert_eq(id_index_get(&x, &jump, &v), 1);
    cr_assert_eq(v, 42);
    cr_assert_eq(x.far.count, 3);
    record_value_id mid = rid(101, 0, 5000);
    cr_assert_eq(id_index_get(&x, &mid, &v), 1);
    cr_assert_eq(v, 5000);
    id_index_deinit(&x);
}

Test(id_index, beyond_the_lane_limit_ids_still_count_once) {
    id_index x;
    id_index_init(&x);
    for (int32_t p = 0; p < ID_INDEX_LANES_MAX + 50; p++) {
        record_value_id id = rid(7, p, 0);
        cr_assert_eq(id_index_add(&x, &id), 1, "partition %d", p);
        cr_assert_eq(id_index_add(&x, &id), 0, "partition %d", p);
    }
    cr_assert_eq(x.lane_count, ID_INDEX_LANES_MAX);
    cr_assert_eq(x.far.count, 50);
    id_index_deinit(&x);
}

Test(id_index, agrees_with_a_plain_table_on_random_ids) {
    /* Mostly in-order sequences with repeats and out-of-order ones, as records
     * arrive; a plain array per id is the reference. */
    enum { PRODUCERS = 3, PARTITIONS = 4, SEQS = 3000 };
    static int64_t ref[PRODUCERS][PARTITIONS][SEQS];
    static int has[PRODUCERS][PARTITIONS][SEQS];
    id_index x;
    id_index_init(&x);
    prng p;
    prng_seed(&p, 5);
    for (int i = 0; i < 40000; i++) {
        int pr = (int)prng_range(&p, 0, PRODUCERS - 1), pa = (int)prng_range(&p, 0, PARTITIONS - 1);
        int s = (int)prng_range(&p, 0, SEQS - 1);
        record_value_id id = rid(100 + pr, pa, s);
        int64_t v = 0;
        cr_assert_eq(id_index_get(&x, &id, &v), has[pr][pa][s]);
        if (has[pr][pa][s]) cr_assert_eq(v, ref[pr][pa][s]);
        int64_t nv = (int64_t)prng_range(&p, 0, 1000000);
        id_index_put(&x, &id, nv);
        ref[pr][pa][s] = nv;
        has[pr][pa][s] = 1;
    }
    id_index_deinit(&x);
}
