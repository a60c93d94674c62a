/*
 * real_log.c — timestamped log lines for the real broker.
 */
#include "real_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void real_log(int32_t node_id, const char *fmt, ...) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32], text[1024];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* One fprintf per line: lines of concurrent brokers sharing a terminal stay whole. */
    fprintf(stderr, "%s.%03ldZ broker %d: %s\n", when, ts.tv_nsec / 1000000, (int)node_id, text);
}

static void format_isr(const observe_event *ev, char *out, size_t len) {
    size_t n = 0;
    out[0] = 0;
    for (int32_t i = 0; i < ev->isr_count && n + 12 < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%d", i ? "," : "", (int)ev->isr[i]);
}

void real_log_event(int32_t node_id, const observe_event *ev) {
    char isr[128];
    const char *topic = ev->topic ? ev->topic : "?";
    switch (ev->kind) {
    case OBSERVE_BROKER_START:
        real_log(node_id, "started");
        break;
    case OBSERVE_LEADER:
    case OBSERVE_ISR:
        format_isr(ev, isr, sizeof isr);
        real_log(node_id, "%s %s/%d: leader %d epoch %d isr [%s]",
                 ev->kind == OBSERVE_LEADER ? "leader change" : "isr change", topic,
                 (int)ev->partition, (int)ev->leader, (int)ev->leader_epoch, isr);
        break;
    case OBSERVE_CONTROLLER:
        real_log(node_id, "now the active controller (quorum epoch %d)", (int)ev->leader_epoch);
        break;
    case OBSERVE_TOPIC_CREATE:
        real_log(node_id, "topic %s created: %d partitions, replication factor %lld", topic,
                 (int)ev->partition, (long long)ev->offset);
        break;
    case OBSERVE_TRUNCATE:
        real_log(node_id, "truncated %s/%d to offset %lld", topic, (int)ev->partition,
                 (long long)ev->offset);
        break;
    case OBSERVE_LOG_START:
        real_log(node_id, "retention: %s/%d now starts at offset %lld", topic, (int)ev->partition,
                 (long long)ev->offset);
        break;
    case OBSERVE_REBALANCE:
        real_log(node_id, "group %s stable: generation %d, %d members",
                 ev->detail ? ev->detail : "?", (int)ev->leader_epoch, (int)ev->count);
        break;
    default:
        break;
    }
}
