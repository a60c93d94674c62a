/*
 * chaos.h — the faults of a scenario's "chaos" block (DESIGN.md §4), planned up
 * front from the run's prng.
 *
 * Three independent processes, each only when configured: crashes (kill -9 of a
 * broker), power-offs (only when power_off_every_s is set) and splits of the
 * brokers into two non-empty sides.  Rules:
 *
 *  - Times.  Each process's first event is at from_us + draw(its every range),
 *    the next one draw(every) after that (for splits: after the previous heal, so
 *    splits never overlap).  Events happen strictly before until_us.  A crashed
 *    or powered-off broker restarts draw(down_s) later, a split heals (heal: true)
 *    draw(down_s) later; when that is at or after until_us the restart or heal is
 *    left to until_us.  Every range is inclusive, drawn with prng_range in ms and
 *    turned into µs: integer arithmetic only.
 *  - Quorum.  At most floor((brokers - 1) / 2) brokers are down (crashed or
 *    powered off) at once, so a majority always survives; a crash or power-off
 *    due while that many are down is skipped (its next one is still drawn).  The
 *    victim is drawn uniformly among the brokers up at that time in the plan.
 *    With 1 or 2 brokers nothing is ever crashed or powered off.
 *  - Splits.  Broker 1 is always on side 1; every other broker is on side 1 or 2,
 *    drawn so both sides are non-empty (every such split equally likely).  Every
 *    broker is listed (split_side[id] is 1 or 2).  With one broker no split.
 *  - until_us.  The plan ends with a heal-all at until_us, then a restart at
 *    until_us of each broker the plan still has down, in ascending id.
 *  - The plan knows nothing of the scripted faults: it only undoes its own.
 *
 * Draw order (fixed, so a seed fixes the plan): first the first-event times of
 * crash, power-off, split (those configured, in that order); then events in time
 * order, ties in that same order; a crash or power-off draws its broker, then its
 * down time, then the time of the next one; a split draws its sides, its down time,
 * then (if it heals before until_us) the time of the next split.
 *
 * Faults are written exactly as scenario_load() writes scripted ones: crash,
 * power_off and restart with target.kind = SCENARIO_TARGET_BROKER, split with
 * split_side[], heal with heal_all = 1; every other field zero.
 */
#ifndef STREAMLAB_CHAOS_H
#define STREAMLAB_CHAOS_H

#include <stdint.h>

#include "prng.h"
#include "scenario.h"

/* Writes the plan of s->chaos into out, sorted by at_us.  Ties keep the order in
 * which the planner made them (it walks time forward): a restart or heal already
 * scheduled comes before a new fault at the same instant, a fault comes before its
 * own restart or heal when down_s drew 0, faults due together come crash,
 * power_off, split, and at until_us the heal-all comes before the restarts.
 * Returns the number of faults (0 when chaos is not enabled), or -1 when out_max
 * is too small (out then holds a partial plan and rng has moved on). */
int chaos_plan(const scenario *s, prng *rng, scenario_fault *out, int32_t out_max);

#endif
