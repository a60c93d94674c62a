/*
 * source_live.c — a run simulated while it is shown (see source_live.h).
 *
 * Live mode always records a trace (to a temporary file unless --trace names one):
 * the trace writer keeps the cluster_view the viewer draws, and a trace is what makes
 * the trainer's clicks replayable.
 */
#include "source_live.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "live_hooks.h"
#include "scenario.h"
#include "sim_run.h"
#include "words.h"

#define S_US 1000000LL
#define STEP_US 20000 /* virtual time per sim_run_advance call */
#define MSGS_RING 32768
#define LINES_MAX 2048
#define SAMPLES 64
#define POSITIONS_MAX 256

typedef struct rate_sample {
    int64_t t_us, acked, consumed;
} rate_sample;

struct viz_live {
    scenario scn;
    sim_run *run;
    viz_hooks hooks;
    char trace_path[512];
    int temp_trace;
    viz_node nodes[VIZ_NODES_MAX];
    int node_count;
    viz_msg ring[MSGS_RING];
    uint64_t ring_next;
    viz_msg *window;
    viz_words words;
    viz_line lines[LINES_MAX];
    int line_count;
    viz_mark marks[SCENARIO_FAULTS_MAX + 256];
    int mark_count;
    viz_position positions[POSITIONS_MAX];
    int position_count;
    int64_t acked, consumed;
    rate_sample samples[SAMPLES];
    int sample_next;
    viz_input in;
};

static double wall_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- observing the run ---------------------------------------------------------------------- */

static void add_line(viz_live *l, const viz_line *line) {
    if (l->line_count == LINES_MAX) {
        memmove(l->lines, l->lines + LINES_MAX / 2, LINES_MAX / 2 * sizeof *l->lines);
        l->line_count = LINES_MAX / 2;
    }
    l->lines[l->line_count++] = *line;
}

static void note_position(viz_live *l, int64_t t_us, const observe_event *ev) {
    int i = 0;
    while (i < l->position_count &&
           !(l->positions[i].node == ev->node && l->positions[i].partition == ev->partition &&
             !strcmp(l->positions[i].topic, ev->topic)))
        i++;
    if (i == POSITIONS_MAX) return;
    if (i == l->position_count) l->position_count++;
    viz_position *p = &l->positions[i];
    p->node = ev->node;
    snprintf(p->topic, sizeof p->topic, "%s", ev->topic);
    p->partition = ev->partition;
    p->next_offset = ev->offset_last + 1;
    p->t_us = t_us;
}

static void on_event(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    viz_live *l = ctx;
    (void)seq;
    viz_line line;
    if (viz_words_event(&l->words, t_us, ev, &line)) add_line(l, &line);
    if (ev->kind == OBSERVE_PRODUCE_ACK) l->acked += ev->count;
    if (ev->kind == OBSERVE_CONSUME && ev->topic) {
        l->consumed += ev->offset_last - ev->offset + 1;
        note_position(l, t_us, ev);
    }
}

static void on_message(void *ctx, const trace_message *m) {
    viz_live *l = ctx;
    l->ring[l->ring_next++ % MSGS_RING] = (viz_msg){.send_us = m->send_us,
                                                    .deliver_us = m->deliver_us,
                                                    .src = m->src,
                                                    .dst = m->dst,
                                                    .api_key = m->api_key,
                                                    .lost = (uint8_t)m->lost,
                                                    .is_response = (uint8_t)m->is_response};
}

/* ---- opening ----------------------------------------------------------------------------------
 */

static void add_node(viz_live *l, int32_t id, enum viz_node_kind kind, const char *name,
                     const char *topic, const char *group) {
    if (l->node_count == VIZ_NODES_MAX) return;
    viz_node *n = &l->nodes[l->node_count++];
    *n = (viz_node){.id = id, .kind = kind};
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->topic, sizeof n->topic, "%s", topic);
    snprintf(n->group, sizeof n->group, "%s", group);
}

/* The same ids sim_run gives: brokers 1..N, then producers and consumers from 100. */
static void make_nodes(viz_live *l) {
    const scenario *s = &l->scn;
    char name[VIZ_NAME_BYTES_MAX + 16];
    for (int32_t b = 1; b <= s->cluster.brokers; b++) {
        snprintf(name, sizeof name, "broker-%d", (int)b);
        add_node(l, b, VIZ_NODE_BROKER, name, "", "");
    }
    int32_t id = 100;
    for (int i = 0; i < s->producer_count; i++)
        add_node(l, id++, VIZ_NODE_PRODUCER, s->producers[i].name, s->producers[i].topic, "");
    for (int g = 0; g < s->group_count; g++)
        for (int m = 0; m < s->groups[g].consumers; m++) {
            snprintf(name, sizeof name, "%s/%d", s->groups[g].name, m + 1);
            add_node(l, id++, VIZ_NODE_CONSUMER, name, "", s->groups[g].name);
        }
}

static void make_marks(viz_live *l) {
    for (int i = 0; i < l->scn.fault_count; i++) {
        viz_mark *m = &l->marks[l->mark_count++];
        enum scenario_fault_kind k = l->scn.faults[i].kind;
        m->t_us = l->scn.faults[i].at_us;
        m->tone =
            k == SCENARIO_FAULT_RESTART || k == SCENARIO_FAULT_HEAL ? VIZ_TONE_GOOD : VIZ_TONE_BAD;
        snprintf(m->label, sizeof m->label, "%s", scenario_fault_kind_name(k));
    }
}

static int start_run(viz_live *l, const viz_live_options *o, char *err, size_t err_len) {
    if (o->trace_path)
        snprintf(l->trace_path, sizeof l->trace_path, "%s", o->trace_path);
    else {
        snprintf(l->trace_path, sizeof l->trace_path, "/tmp/streamlab-viz-live-%d.db",
                 (int)getpid());
        l->temp_trace = 1;
    }
    sim_run_options opt = {.seed = o->seed_set ? o->seed : l->scn.seed,
                           .end_us = l->scn.duration_us,
                           .trace_path = l->trace_path,
                           .overrides_json = "[]",
                           .until_us_override = -1};
    l->run = sim_run_create(&l->scn, &opt, err, err_len);
    if (!l->run) return -1;
    l->hooks = (viz_hooks){.on_event = on_event, .on_message = on_message, .ctx = l};
    viz_hooks_install(l->run, &l->hooks);
    viz_words_seed(&l->words, viz_hooks_view(l->run));
    return 0;
}

viz_live *viz_live_open(const viz_live_options *o, char *err, size_t err_len) {
    viz_live *l = calloc(1, sizeof *l);
    if (!l) abort();
    if (scenario_load(&l->scn, o->scenario_path, NULL, NULL, 0, err, err_len) != 0) {
        free(l);
        return NULL;
    }
    sim_run_mark_not_simulated(&l->scn);
    make_nodes(l);
    make_marks(l);
    if (start_run(l, o, err, err_len) != 0) {
        scenario_free(&l->scn);
        free(l);
        return NULL;
    }
    return l;
}

int viz_live_close(viz_live *l, char *err, size_t err_len) {
    if (!l) return 0;
    int rc = sim_run_finish(l->run, 0, err, err_len);
    sim_run_destroy(l->run);
    if (l->temp_trace) unlink(l->trace_path);
    scenario_free(&l->scn);
    free(l->window);
    free(l);
    return rc;
}

/* ---- running ------------------------------------------------------------------------------------
 */

static void sample_rates(viz_live *l) {
    l->samples[l->sample_next++ % SAMPLES] =
        (rate_sample){sim_run_now_us(l->run), l->acked, l->consumed};
}

int64_t viz_live_advance(viz_live *l, int64_t t_us, double wall_budget_s) {
    double until = wall_now_s() + wall_budget_s;
    while (sim_run_now_us(l->run) < t_us && !sim_run_done(l->run)) {
        int64_t next = sim_run_now_us(l->run) + STEP_US;
        sim_run_advance(l->run, next < t_us ? next : t_us);
        if (wall_now_s() > until) break;
    }
    sample_rates(l);
    return sim_run_now_us(l->run);
}

int64_t viz_live_now_us(const viz_live *l) {
    return sim_run_now_us(l->run);
}
int64_t viz_live_end_us(const viz_live *l) {
    return sim_run_end_us(l->run);
}
const char *viz_live_scenario_name(const viz_live *l) {
    return l->scn.name;
}

/* Records per second over the last second of samples. */
static void rates(const viz_live *l, double *in, double *out) {
    int64_t now = sim_run_now_us(l->run);
    const rate_sample *old = NULL;
    for (int i = 1; i <= SAMPLES && i <= l->sample_next; i++) {
        const rate_sample *s = &l->samples[(l->sample_next - i) % SAMPLES];
        old = s;
        if (now - s->t_us >= S_US) break;
    }
    double dt = old && now > old->t_us ? (double)(now - old->t_us) / 1e6 : 0;
    *in = dt > 0 ? (double)(l->acked - old->acked) / dt : 0;
    *out = dt > 0 ? (double)(l->consumed - old->consumed) / dt : 0;
}

static int collect_window(viz_live *l, int64_t from_us) {
    if (!l->window) l->window = malloc(MSGS_RING * sizeof *l->window);
    if (!l->window) abort();
    int n = 0;
    uint64_t first = l->ring_next > MSGS_RING ? l->ring_next - MSGS_RING : 0;
    for (uint64_t i = first; i < l->ring_next; i++)
        if (l->ring[i % MSGS_RING].send_us >= from_us) l->window[n++] = l->ring[i % MSGS_RING];
    return n;
}

const viz_input *viz_live_input(viz_live *l, int64_t dot_window_us) {
    viz_input *in = &l->in;
    memset(in, 0, sizeof *in);
    in->view = viz_hooks_view(l->run);
    assert(in->view);
    in->t_us = sim_run_now_us(l->run);
    in->end_us = sim_run_end_us(l->run);
    in->nodes = l->nodes;
    in->node_count = l->node_count;
    in->positions = l->positions;
    in->position_count = l->position_count;
    in->msg_count = collect_window(l, in->t_us - 2 * dot_window_us);
    in->msgs = l->window;
    in->lines = l->lines;
    in->line_count = l->line_count;
    in->marks = l->marks;
    in->mark_count = l->mark_count;
    rates(l, &in->records_in_per_s, &in->records_out_per_s);
    in->replication_factor = l->scn.topic_count ? l->scn.topics[0].replication_factor : 1;
    for (int32_t a = 1; a <= l->scn.cluster.brokers && a <= VIZ_BROKERS_MAX; a++)
        for (int32_t b = 1; b <= l->scn.cluster.brokers && b <= VIZ_BROKERS_MAX; b++)
            in->link_cut[a][b] = a != b && viz_hooks_link_cut(l->run, a, b);
    in->live = 1;
    in->dot_window_us = dot_window_us;
    return in;
}

/* ---- clicks
 * --------------------------------------------------------------------------------------- */

static int act(viz_live *l, const char *json, char *what, size_t what_len) {
    char err[256];
    viz_line line;
    if (sim_run_live_action(l->run, json, err, sizeof err) != 0) {
        snprintf(what, what_len, "%s", err);
        return -1;
    }
    if (l->mark_count < (int)(sizeof l->marks / sizeof l->marks[0])) {
        viz_words_action(sim_run_now_us(l->run), "live", json, &line, &l->marks[l->mark_count++]);
        add_line(l, &line);
        snprintf(what, what_len, "%s at %.3f s", line.text, (double)line.t_us / 1e6);
    }
    return 0;
}

int viz_live_toggle_broker(viz_live *l, int32_t id, char *what, size_t what_len) {
    char json[64];
    snprintf(json, sizeof json, "{\"%s\":%d}", sim_run_broker_up(l->run, id) ? "crash" : "restart",
             (int)id);
    return act(l, json, what, what_len);
}

int viz_live_toggle_link(viz_live *l, int32_t a, int32_t b, char *what, size_t what_len) {
    char json[64];
    snprintf(json, sizeof json, "{\"%s\":[%d,%d]}",
             viz_hooks_link_cut(l->run, a, b) ? "heal" : "cut", (int)a, (int)b);
    return act(l, json, what, what_len);
}
