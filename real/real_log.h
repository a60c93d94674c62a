/*
 * real_log.h — the broker's log lines on stderr.
 *
 * One line per event worth an operator's attention: start, leadership and ISR
 * changes (reported by the active controller), controller elections, topic
 * creation, truncation, group rebalances, and connections the broker or the loop
 * ended.  Appends, high-watermark moves and commits are counted in /metrics, not
 * logged.  Format: "2026-01-01T12:00:00.123Z broker 1: leader orders/0 -> 2 ...".
 */
#ifndef STREAMLAB_REAL_LOG_H
#define STREAMLAB_REAL_LOG_H

#include <stdint.h>

#include "observe.h"

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void real_log(int32_t node_id, const char *fmt, ...);

/* Logs ev when it is one of the important kinds; silent otherwise. */
void real_log_event(int32_t node_id, const observe_event *ev);

#endif
