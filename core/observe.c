/* observe.c — names of the observe_event kinds, as stored in the trace's events.kind. */
#include "observe.h"

const char *observe_kind_name(enum observe_kind kind) {
    switch (kind) {
    case OBSERVE_BROKER_START:
        return "broker_start";
    case OBSERVE_BROKER_STOP:
        return "broker_stop";
    case OBSERVE_APPEND:
        return "append";
    case OBSERVE_TRUNCATE:
        return "truncate";
    case OBSERVE_LOG_START:
        return "log_start";
    case OBSERVE_HIGH_WATERMARK:
        return "high_watermark";
    case OBSERVE_LEADER:
        return "leader";
    case OBSERVE_ISR:
        return "isr";
    case OBSERVE_CONTROLLER:
        return "controller";
    case OBSERVE_TOPIC_CREATE:
        return "topic_create";
    case OBSERVE_PRODUCE_ACK:
        return "produce_ack";
    case OBSERVE_PRODUCE_FAIL:
        return "produce_fail";
    case OBSERVE_CONSUME:
        return "consume";
    case OBSERVE_COMMIT:
        return "commit";
    case OBSERVE_REBALANCE:
        return "rebalance";
    case OBSERVE_METADATA_COMMIT:
        return "metadata_commit";
    case OBSERVE_OFFSET_LOAD:
        return "offset_load";
    case OBSERVE_ASSIGN:
        return "assign";
    case OBSERVE_REVOKE:
        return "revoke";
    case OBSERVE_KIND_COUNT:
        break;
    }
    return "unknown";
}
