/*
 * fuzz_request.c — libFuzzer target for the broker's request path.
 *
 * The input is the byte stream of one client connection to a one-broker cluster
 * with a static topic: framing, the request header, every API's decoder and its
 * handler see it exactly as real mode passes what read() returned.  The first
 * byte picks where the stream is split in two, so frames also arrive torn.  The
 * broker must answer, park or close; any crash, sanitizer report, leak or
 * assertion is a finding.  `make fuzz` runs it for FUZZ_SECONDS; tests/system/real.sh
 * for a few seconds.  Seeds: tests/fuzz/corpus (valid requests of the common APIs).
 */
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "fake_env.h"
#include "mem_storage.h"

static fake_env env; /* large: keep it off the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mem_storage *mem = mem_storage_create();
    fake_env_init(&env, mem, 1);
    broker_config cfg;
    broker_config_defaults(&cfg, 1, 1);
    cfg.default_replication_factor = 1;
    cfg.request_bytes_max = 1 << 20;
    const broker_topic_config topic = {.name = "t", .partitions = 2, .replication_factor = 1};
    cfg.topics = &topic;
    cfg.topic_count = 1;
    broker *b = broker_open(&env.env, &cfg);
    if (!b) abort();
    broker_on_accept(b, 1);
    size_t split = size ? data[0] % (size + 1) : 0;
    if (split) broker_on_bytes(b, 1, data, split);
    if (size > split && env.closes[1] == 0) broker_on_bytes(b, 1, data + split, size - split);
    env.now_us += 10 * 1000 * 1000; /* parked fetches time out */
    broker_on_timer(b);
    if (env.closes[1] == 0) broker_on_closed(b, 1);
    broker_destroy(b);
    fake_env_deinit(&env);
    mem_storage_destroy(mem);
    return 0;
}
