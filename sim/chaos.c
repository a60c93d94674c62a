/*
 * chaos.c — plans the chaos block's crashes, power-offs and splits (rules in
 * chaos.h).  A small walk over virtual time: the earliest due event of the three
 * processes is handled next; restarts and heals are written as soon as their
 * time is drawn and kept in place by a stable insertion, so out stays sorted.
 */
#include "chaos.h"

#include <assert.h>
#include <string.h>

enum chaos_process { CHAOS_CRASH, CHAOS_POWER_OFF, CHAOS_SPLIT, CHAOS_PROCESSES };

#define CHAOS_NEVER INT64_MAX

typedef struct chaos_planner {
    const scenario_chaos *ch;
    prng *rng;
    scenario_fault *out;
    int32_t n, max;
    int overflow;
    int32_t brokers;
    int32_t down_max;                             /* floor((brokers - 1) / 2) */
    int64_t down_until[SCENARIO_BROKERS_MAX + 1]; /* restart time; 0 = never went down */
    int64_t next[CHAOS_PROCESSES];                /* CHAOS_NEVER = off or done */
} chaos_planner;

/* Uniform in [min_ms, max_ms], as µs. */
static int64_t draw_ms(chaos_planner *p, int64_t min_ms, int64_t max_ms) {
    assert(0 <= min_ms && min_ms <= max_ms);
    return (int64_t)prng_range(p->rng, (uint64_t)min_ms, (uint64_t)max_ms) * 1000;
}

static int64_t draw_every(chaos_planner *p, enum chaos_process k) {
    const scenario_chaos *ch = p->ch;
    switch (k) {
    case CHAOS_CRASH:
        return draw_ms(p, ch->crash_every_ms_min, ch->crash_every_ms_max);
    case CHAOS_POWER_OFF:
        return draw_ms(p, ch->power_off_every_ms_min, ch->power_off_every_ms_max);
    default:
        return draw_ms(p, ch->split_every_ms_min, ch->split_every_ms_max);
    }
}

static int process_enabled(const chaos_planner *p, enum chaos_process k) {
    const scenario_chaos *ch = p->ch;
    switch (k) {
    case CHAOS_CRASH:
        return ch->crash_every_ms_max > 0 && p->down_max > 0;
    case CHAOS_POWER_OFF:
        return ch->power_off_every_ms_max > 0 && p->down_max > 0;
    default:
        return ch->split_every_ms_max > 0 && p->brokers >= 2;
    }
}

/* Appends f keeping out sorted by at_us; equal times keep the order of making. */
static void emit(chaos_planner *p, const scenario_fault *f) {
    if (p->n == p->max) {
        p->overflow = 1;
        return;
    }
    int32_t i = p->n++;
    while (i > 0 && p->out[i - 1].at_us > f->at_us) {
        p->out[i] = p->out[i - 1];
        i--;
    }
    p->out[i] = *f;
}

static void emit_broker(chaos_planner *p, int64_t at_us, enum scenario_fault_kind kind,
                        int32_t broker) {
    assert(broker >= 1 && broker <= p->brokers);
    scenario_fault f;
    memset(&f, 0, sizeof f);
    f.at_us = at_us;
    f.kind = kind;
    f.target.kind = SCENARIO_TARGET_BROKER;
    f.target.broker = broker;
    emit(p, &f);
}

static void emit_heal_all(chaos_planner *p, int64_t at_us) {
    scenario_fault f;
    memset(&f, 0, sizeof f);
    f.at_us = at_us;
    f.kind = SCENARIO_FAULT_HEAL;
    f.heal_all = 1;
    emit(p, &f);
}

/* Brokers up at t in the plan, ascending, into up[]; returns how many. */
static int32_t brokers_up(const chaos_planner *p, int64_t t, int32_t up[SCENARIO_BROKERS_MAX]) {
    int32_t n = 0;
    for (int32_t b = 1; b <= p->brokers; b++)
        if (p->down_until[b] <= t) up[n++] = b;
    return n;
}

/* A crash or power-off at t, skipped when down_max brokers are already down. */
static void take_down(chaos_planner *p, int64_t t, enum scenario_fault_kind kind) {
    int32_t up[SCENARIO_BROKERS_MAX];
    int32_t n_up = brokers_up(p, t, up);
    if (p->brokers - n_up >= p->down_max) return;
    assert(n_up > 0);
    int32_t victim = up[prng_range(p->rng, 0, (uint64_t)n_up - 1)];
    int64_t back = t + draw_ms(p, p->ch->down_ms_min, p->ch->down_ms_max);
    emit_broker(p, t, kind, victim);
    p->down_until[victim] = back;
    if (back < p->ch->until_us) emit_broker(p, back, SCENARIO_FAULT_RESTART, victim);
}

/* A split at t; returns when it heals. */
static int64_t split(chaos_planner *p, int64_t t) {
    assert(p->brokers >= 2 && p->brokers <= SCENARIO_BROKERS_MAX);
    /* Bit b-2 set: broker b (>= 2) joins broker 1 on side 1.  All bits set would
     * leave side 2 empty, so the draw stops one short. */
    uint64_t mask = prng_range(p->rng, 0, (UINT64_C(1) << (p->brokers - 1)) - 2);
    scenario_fault f;
    memset(&f, 0, sizeof f);
    f.at_us = t;
    f.kind = SCENARIO_FAULT_SPLIT;
    f.split_side[1] = 1;
    for (int32_t b = 2; b <= p->brokers; b++) f.split_side[b] = (mask >> (b - 2)) & 1 ? 1 : 2;
    emit(p, &f);
    int64_t heal = t + draw_ms(p, p->ch->down_ms_min, p->ch->down_ms_max);
    if (heal < p->ch->until_us) emit_heal_all(p, heal);
    return heal;
}

/* The process with the earliest due event; ties go to the lower index. */
static enum chaos_process earliest(const chaos_planner *p) {
    enum chaos_process best = CHAOS_CRASH;
    for (int k = CHAOS_CRASH + 1; k < CHAOS_PROCESSES; k++)
        if (p->next[k] < p->next[best]) best = (enum chaos_process)k;
    return best;
}

/* Handles the due event of process k at t and schedules its next one. */
static void step(chaos_planner *p, enum chaos_process k, int64_t t) {
    switch (k) {
    case CHAOS_CRASH:
        take_down(p, t, SCENARIO_FAULT_CRASH);
        p->next[k] = t + draw_every(p, k);
        break;
    case CHAOS_POWER_OFF:
        take_down(p, t, SCENARIO_FAULT_POWER_OFF);
        p->next[k] = t + draw_every(p, k);
        break;
    default: {
        int64_t heal = split(p, t);
        p->next[k] = heal < p->ch->until_us ? heal + draw_every(p, k) : CHAOS_NEVER;
        break;
    }
    }
    assert(p->next[k] > t); /* every range starts at 1 ms: time moves on */
}

static void finish(chaos_planner *p) {
    int64_t until = p->ch->until_us;
    emit_heal_all(p, until);
    for (int32_t b = 1; b <= p->brokers; b++)
        if (p->down_until[b] >= until) emit_broker(p, until, SCENARIO_FAULT_RESTART, b);
}

int chaos_plan(const scenario *s, prng *rng, scenario_fault *out, int32_t out_max) {
    assert(s != NULL && rng != NULL && (out != NULL || out_max == 0) && out_max >= 0);
    const scenario_chaos *ch = &s->chaos;
    if (!ch->enabled) return 0;
    assert(ch->from_us >= 0 && ch->from_us <= ch->until_us);
    assert(s->cluster.brokers >= 1 && s->cluster.brokers <= SCENARIO_BROKERS_MAX);
    chaos_planner p = {.ch = ch, .rng = rng, .out = out, .max = out_max};
    p.brokers = s->cluster.brokers;
    p.down_max = (p.brokers - 1) / 2;
    for (int k = 0; k < CHAOS_PROCESSES; k++)
        p.next[k] = process_enabled(&p, (enum chaos_process)k)
                        ? ch->from_us + draw_every(&p, (enum chaos_process)k)
                        : CHAOS_NEVER;
    for (;;) {
        enum chaos_process k = earliest(&p);
        if (p.next[k] >= ch->until_us || p.overflow) break;
        step(&p, k, p.next[k]);
    }
    finish(&p);
    return p.overflow ? -1 : p.n;
}
