/*
 * broker_loop.h — one broker of the core driven by a libuv event loop.
 *
 * The loop is the second driver of core/broker.h (the simulator is the first):
 * accepted sockets and dialled peers become conn_ids, what read() returns goes to
 * broker_on_bytes unchanged (the core does the framing), env->send becomes a
 * write, and one timer follows broker_next_deadline_us.  Time is CLOCK_MONOTONIC
 * (timeouts) and CLOCK_REALTIME (record timestamps, retention); randomness is
 * getrandom(2).  Nothing here is deterministic, and nothing needs to be.
 *
 * The loop also owns what only a real broker has: the idle-connection timeout
 * (connections.max.idle.ms, which also ends clients that stall half-way through
 * a frame), a bound on the bytes queued for a client that does not read, the
 * /metrics responder, and SIGTERM/SIGINT, which stop the loop cleanly.
 */
#ifndef STREAMLAB_BROKER_LOOP_H
#define STREAMLAB_BROKER_LOOP_H

#include <stddef.h>

#include "server_properties.h"

/* Runs the broker until SIGTERM or SIGINT; 0 on a clean stop, -1 with err filled
 * when it could not start (storage, listener, metrics port). */
int broker_loop_run(const server_properties *props, char *err, size_t err_len);

#endif
