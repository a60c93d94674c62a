/*
 * sim_run.c — builds the simulated world from a scenario and runs it.
 *
 * Node ids: brokers 1..N, then producers, consumers from WORLD_CLIENT_ID_BASE in
 * scenario order.  Scripted faults are scheduled as world actions at creation, so
 * their engine sequence numbers are fixed by the scenario; live actions are
 * applied between events and recorded with the engine sequence at that point.
 */
#include "sim_run_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "digest.h"
#include "mem_storage.h"
#include "chaos.h"
#include "sim_admin.h"
#include "sim_consumer.h"
#include "sim_producer.h"
#include "trace.h"
#include "world.h"

/* ---- broker nodes -------------------------------------------------------------------- */

static void b_accept(void *impl, conn_id c) {
    broker_on_accept(impl, c);
}
static void b_connected(void *impl, conn_id c) {
    broker_on_connected(impl, c);
}
static void b_closed(void *impl, conn_id c) {
    broker_on_closed(impl, c);
}
static void b_bytes(void *impl, conn_id c, const uint8_t *p, size_t n) {
    broker_on_bytes(impl, c, p, n);
}
static int64_t b_deadline(const void *impl) {
    return broker_next_deadline_us(impl);
}
static void b_timer(void *impl) {
    broker_on_timer(impl);
}

static const sim_node_ops broker_ops = {b_accept, b_connected, b_closed,
                                        b_bytes,  b_deadline,  b_timer};

static void c_accept(void *impl, conn_id c) {
    (void)impl;
    (void)c;
}

static const sim_node_ops producer_ops = {c_accept,
                                          sim_producer_on_connected,
                                          sim_producer_on_closed,
                                          sim_producer_on_bytes,
                                          sim_producer_next_deadline_us,
                                          sim_producer_on_timer};
static const sim_node_ops admin_ops = {
    c_accept,           sim_admin_on_connected,     sim_admin_on_closed,
    sim_admin_on_bytes, sim_admin_next_deadline_us, sim_admin_on_timer};
static const sim_node_ops consumer_ops = {c_accept,
                                          sim_consumer_on_connected,
                                          sim_consumer_on_closed,
                                          sim_consumer_on_bytes,
                                          sim_consumer_next_deadline_us,
                                          sim_consumer_on_timer};

static int32_t brokers_up(const sim_run *r) {
    int32_t n = 0;
    for (int32_t i = 1; i <= r->s->cluster.brokers; i++) n += r->brokers[i].node->up;
    return n;
}

static void note_online(sim_run *r) {
    int32_t n = brokers_up(r);
    if (r->online_count && r->online[r->online_count - 1].count == n) return;
    if (r->online_count && r->online[r->online_count - 1].t_us == r->w.now_us) {
        r->online[r->online_count - 1].count = n;
        return;
    }
    if (r->online_count == ONLINE_POINTS_MAX) return;
    r->online[r->online_count].t_us = r->w.now_us;
    r->online[r->online_count++].count = n;
}

static void broker_start(sim_run *r, int32_t id) {
    run_broker *rb = &r->brokers[id];
    if (rb->node->up) return;
    rb->b = broker_open(&rb->node->env, &rb->cfg);
    assert(rb->b);
    world_node_start(&r->w, rb->node, rb->b, &broker_ops);
    note_online(r);
}

static void broker_stop(sim_run *r, int32_t id, int power_off) {
    run_broker *rb = &r->brokers[id];
    if (!rb->node->up) return;
    world_node_stop(&r->w, rb->node);
    broker_destroy(rb->b);
    rb->b = NULL;
    if (power_off) mem_storage_power_off(r->store, id, prng_next(&r->w.rng));
    world_observe(&r->w, &(observe_event){.kind = OBSERVE_BROKER_STOP,
                                          .node = id,
                                          .detail = power_off ? "power_off" : "crash"});
    note_online(r);
}

/* ---- faults ------------------------------------------------------------------------------ */

/* Static metadata until the controller lands: the lowest live broker stands in for
 * the controller, replica 0 leads. */
/* A fault's broker, as the cluster is at this moment: the controller is the
 * broker that leads the quorum; a partition's leader comes from the controller's
 * committed metadata (or any live broker's). */
static int32_t resolve_target(const sim_run *r, const scenario_target *t) {
    int32_t n = r->s->cluster.brokers, controller = -1;
    for (int32_t i = 1; i <= n; i++)
        if (r->brokers[i].b && broker_active_controller(r->brokers[i].b) == i) controller = i;
    switch (t->kind) {
    case SCENARIO_TARGET_BROKER:
        return t->broker;
    case SCENARIO_TARGET_CONTROLLER:
        if (controller > 0) return controller;
        for (int32_t i = 1; i <= n; i++)
            if (r->brokers[i].b) return i;
        return 1;
    case SCENARIO_TARGET_LEADER:
    case SCENARIO_TARGET_COORDINATOR: {
        int32_t leader = controller > 0 ? broker_partition_leader(r->brokers[controller].b,
                                                                  t->topic, t->partition)
                                        : -1;
        for (int32_t i = 1; i <= n && leader < 0; i++)
            if (r->brokers[i].b)
                leader = broker_partition_leader(r->brokers[i].b, t->topic, t->partition);
        return leader > 0 ? leader : 1;
    }
    default:
        return -1;
    }
}

static void record_action(sim_run *r, const char *origin, const char *text, const char *json,
                          uint64_t seq) {
    world_fold_action(&r->w, digest_bytes(json, strlen(json)));
    checker_note_fault(r->chk, r->w.now_us, text);
    if (r->trace) trace_write_action(r->trace, r->w.now_us, seq, origin, json);
}

/* An action in words ("crash 2") and in the scenario's fault syntax ({"crash":2}). */
typedef struct action_text {
    char text[160];
    char json[256];
} action_text;

static void describe_split(const sim_run *r, const scenario_fault *f, action_text *a) {
    int n = snprintf(a->json, sizeof a->json, "{\"split\":[");
    int sides = 0;
    for (int32_t side = 1; side <= r->s->cluster.brokers; side++) {
        int first = 1;
        for (int32_t x = 1; x <= r->s->cluster.brokers; x++) {
            if (f->split_side[x] != side) continue;
            n += snprintf(a->json + n, sizeof a->json - (size_t)n, "%s%s%d",
                          first && sides ? "," : "", first ? "[" : ",", (int)x);
            first = 0;
        }
        if (!first) {
            n += snprintf(a->json + n, sizeof a->json - (size_t)n, "]");
            sides++;
        }
    }
    snprintf(a->json + n, sizeof a->json - (size_t)n, "]}");
    snprintf(a->text, sizeof a->text, "split %s", a->json + 10);
}

static void apply_cut_pairs(sim_run *r, const scenario_fault *f) {
    int32_t b = r->s->cluster.brokers;
    for (int32_t x = 1; x <= b; x++)
        for (int32_t y = x + 1; y <= b; y++)
            if (f->split_side[x] != f->split_side[y] || f->split_side[x] == 0)
                world_link_cut(&r->w, x, y);
}

/* ---- consumers ------------------------------------------------------------------------- */

static run_client *consumer_find(sim_run *r, const char *group, int32_t number) {
    for (int32_t i = 0; i < r->consumer_count; i++) {
        run_client *rc = &r->consumers[i];
        if (rc->number == number && strcmp(r->s->groups[rc->group].name, group) == 0) return rc;
    }
    return NULL;
}

static void consumer_start(sim_run *r, run_client *rc) {
    const scenario_group *g = &r->s->groups[rc->group];
    rc->impl =
        sim_consumer_create(&rc->node->env, rc->node->id, g, rc->number, r->s->cluster.brokers);
    world_node_start(&r->w, rc->node, rc->impl, &consumer_ops);
}

/* kill -9 of a consumer process: its connections break, it sends no LeaveGroup;
 * the coordinator learns of it when the session times out. */
static void consumer_crash(sim_run *r, run_client *rc) {
    if (!rc || !rc->impl) return;
    const char *group = r->s->groups[rc->group].name;
    int32_t generation = sim_consumer_generation(rc->impl);
    world_node_stop(&r->w, rc->node);
    if (generation >= 0)
        world_observe(&r->w, &(observe_event){.kind = OBSERVE_REVOKE,
                                              .node = rc->node->id,
                                              .partition = -1,
                                              .leader_epoch = generation,
                                              .detail = group});
    checker_note_consumer_crash(r->chk, r->w.now_us, group);
    sim_consumer_destroy(rc->impl);
    rc->impl = NULL;
}

/* The group's next consumer number not started yet (made at creation). */
static void consumer_add(sim_run *r, const char *group) {
    for (int32_t i = 0; i < r->consumer_count; i++) {
        run_client *rc = &r->consumers[i];
        if (!rc->impl && !rc->node->up && rc->number > r->s->groups[rc->group].consumers &&
            strcmp(r->s->groups[rc->group].name, group) == 0 && !rc->started) {
            rc->started = 1;
            consumer_start(r, rc);
            return;
        }
    }
}

static void apply_fault(sim_run *r, const scenario_fault *f, action_text *a) {
    int32_t target = resolve_target(r, &f->target);
    int32_t b = r->s->cluster.brokers;
#define DESCRIBE(...) (snprintf(a->text, sizeof a->text, __VA_ARGS__))
    switch (f->kind) {
    case SCENARIO_FAULT_CRASH:
        DESCRIBE("crash %d", (int)target);
        snprintf(a->json, sizeof a->json, "{\"crash\":%d}", (int)target);
        broker_stop(r, target, 0);
        break;
    case SCENARIO_FAULT_POWER_OFF:
        DESCRIBE("power_off %d", (int)target);
        snprintf(a->json, sizeof a->json, "{\"power_off\":%d}", (int)target);
        broker_stop(r, target, 1);
        break;
    case SCENARIO_FAULT_RESTART:
        if (f->target.kind == SCENARIO_TARGET_CRASHED) {
            DESCRIBE("restart crashed");
            snprintf(a->json, sizeof a->json, "{\"restart\":\"crashed\"}");
            for (int32_t i = 1; i <= b; i++) broker_start(r, i);
        } else {
            DESCRIBE("restart %d", (int)target);
            snprintf(a->json, sizeof a->json, "{\"restart\":%d}", (int)target);
            broker_start(r, target);
        }
        break;
    case SCENARIO_FAULT_SPLIT:
        describe_split(r, f, a);
        apply_cut_pairs(r, f);
        break;
    case SCENARIO_FAULT_ISOLATE:
        DESCRIBE("isolate %d", (int)target);
        snprintf(a->json, sizeof a->json, "{\"isolate\":%d}", (int)target);
        for (int32_t i = 1; i <= b; i++)
            if (i != target) world_link_cut(&r->w, target, i);
        break;
    case SCENARIO_FAULT_CUT:
        DESCRIBE("cut %d-%d", (int)f->link[0], (int)f->link[1]);
        snprintf(a->json, sizeof a->json, "{\"cut\":[%d,%d]}", (int)f->link[0], (int)f->link[1]);
        world_link_cut(&r->w, f->link[0], f->link[1]);
        break;
    case SCENARIO_FAULT_SLOW:
        DESCRIBE("slow %d-%d", (int)f->link[0], (int)f->link[1]);
        snprintf(a->json, sizeof a->json,
                 "{\"slow\":{\"link\":[%d,%d],\"latency_ms\":[%lld,%lld]}}", (int)f->link[0],
                 (int)f->link[1], (long long)f->slow_latency_ms_min,
                 (long long)f->slow_latency_ms_max);
        world_link_slow(&r->w, f->link[0], f->link[1], f->slow_latency_ms_min * 1000,
                        f->slow_latency_ms_max * 1000);
        break;
    case SCENARIO_FAULT_HEAL:
        if (f->heal_all) {
            DESCRIBE("heal");
            snprintf(a->json, sizeof a->json, "{\"heal\":true}");
            world_heal_all(&r->w);
        } else {
            DESCRIBE("heal %d-%d", (int)f->link[0], (int)f->link[1]);
            snprintf(a->json, sizeof a->json, "{\"heal\":[%d,%d]}", (int)f->link[0],
                     (int)f->link[1]);
            world_link_heal(&r->w, f->link[0], f->link[1]);
        }
        break;
    case SCENARIO_FAULT_CRASH_CONSUMER:
        DESCRIBE("crash_consumer %s/%d", f->group, (int)f->consumer);
        snprintf(a->json, sizeof a->json, "{\"crash_consumer\":\"%s/%d\"}", f->group,
                 (int)f->consumer);
        consumer_crash(r, consumer_find(r, f->group, f->consumer));
        break;
    case SCENARIO_FAULT_ADD_CONSUMER:
        DESCRIBE("add_consumer %s", f->group);
        snprintf(a->json, sizeof a->json, "{\"add_consumer\":\"%s\"}", f->group);
        consumer_add(r, f->group);
        break;
    }
#undef DESCRIBE
}

/* Actions below fault_count are the scenario's faults, the rest chaos's. */
static void on_action(void *ctx, uint32_t index, int64_t t_us, uint64_t seq) {
    sim_run *r = ctx;
    (void)t_us;
    int scripted = index < (uint32_t)r->s->fault_count;
    assert(scripted || index - (uint32_t)r->s->fault_count < (uint32_t)r->chaos_count);
    const scenario_fault *f =
        scripted ? &r->s->faults[index] : &r->chaos[index - (uint32_t)r->s->fault_count];
    action_text a;
    apply_fault(r, f, &a);
    record_action(r, scripted ? "script" : "chaos", a.text, a.json, seq);
}

/* Chaos is drawn first thing, so the plan depends on the seed alone. */
static void plan_chaos(sim_run *r) {
    if (!r->s->chaos.enabled) return;
    for (int32_t cap = 1024;; cap *= 4) {
        r->chaos = realloc(r->chaos, (size_t)cap * sizeof *r->chaos);
        if (!r->chaos) abort();
        prng saved = r->w.rng;
        r->chaos_count = chaos_plan(r->s, &r->w.rng, r->chaos, cap);
        if (r->chaos_count >= 0) return;
        r->w.rng = saved;
    }
}

/* ---- live actions ------------------------------------------------------------------------ */

/* Parses {"crash":N}, {"restart":N}, {"power_off":N}, {"cut":[a,b]}, {"heal":[a,b]} or
 * {"heal":true} into a fault. */
static int parse_live(const sim_run *r, const char *json, scenario_fault *f, char *err, size_t n) {
    memset(f, 0, sizeof *f);
    cJSON *root = cJSON_Parse(json);
    cJSON *item = root && cJSON_IsObject(root) ? root->child : NULL;
    int rc = -1;
    int32_t b = r->s->cluster.brokers;
    if (!item || item->next) {
        snprintf(err, n,
                 "live action: expected one of {\"crash\":N}, {\"restart\":N}, {\"cut\":[A,B]}, "
                 "{\"heal\":[A,B]} (got %s)",
                 json);
    } else if (!strcmp(item->string, "crash") || !strcmp(item->string, "restart") ||
               !strcmp(item->string, "power_off")) {
        f->kind = !strcmp(item->string, "crash")     ? SCENARIO_FAULT_CRASH
                  : !strcmp(item->string, "restart") ? SCENARIO_FAULT_RESTART
                                                     : SCENARIO_FAULT_POWER_OFF;
        f->target.kind = SCENARIO_TARGET_BROKER;
        f->target.broker = cJSON_IsNumber(item) ? item->valueint : -1;
        rc = f->target.broker >= 1 && f->target.broker <= b ? 0 : -1;
        if (rc)
            snprintf(err, n, "live action %s: expected a broker id 1..%d", item->string, (int)b);
    } else if (!strcmp(item->string, "cut") || !strcmp(item->string, "heal")) {
        f->kind = !strcmp(item->string, "cut") ? SCENARIO_FAULT_CUT : SCENARIO_FAULT_HEAL;
        f->heal_all = cJSON_IsTrue(item) && f->kind == SCENARIO_FAULT_HEAL;
        if (f->heal_all)
            rc = 0;
        else if (cJSON_GetArraySize(item) == 2) {
            f->link[0] = cJSON_GetArrayItem(item, 0)->valueint;
            f->link[1] = cJSON_GetArrayItem(item, 1)->valueint;
            rc = f->link[0] >= 1 && f->link[0] <= b && f->link[1] >= 1 && f->link[1] <= b &&
                         f->link[0] != f->link[1]
                     ? 0
                     : -1;
        }
        if (rc)
            snprintf(err, n, "live action %s: expected two different broker ids 1..%d",
                     item->string, (int)b);
    } else {
        snprintf(err, n, "live action: unknown action \"%s\"", item->string);
    }
    cJSON_Delete(root);
    return rc;
}

int sim_run_live_action(sim_run *r, const char *action_json, char *err, size_t err_len) {
    scenario_fault f;
    if (parse_live(r, action_json, &f, err, err_len) != 0) return -1;
    action_text a;
    uint64_t seq = r->w.queue.seq_next; /* the engine position this action takes */
    apply_fault(r, &f, &a);
    record_action(r, "live", a.text, a.json, seq);
    return 0;
}

int sim_run_replay_action(sim_run *r, int64_t t_us, uint64_t seq, const char *action_json,
                          char *err, size_t err_len) {
    sim_run_advance(r, t_us);
    if (r->w.now_us != t_us || r->w.queue.seq_next != seq) {
        snprintf(err, err_len, "live action %s at %lld us: the run reached sequence %llu, not %llu",
                 action_json, (long long)t_us, (unsigned long long)r->w.queue.seq_next,
                 (unsigned long long)seq);
        return -1;
    }
    return sim_run_live_action(r, action_json, err, err_len);
}

/* ---- observers ------------------------------------------------------------------------------ */

static void on_observe(void *ctx, int64_t t_us, uint64_t seq, const observe_event *ev) {
    sim_run *r = ctx;
    checker_observe(r->chk, t_us, ev);
    if (r->trace) trace_write_event(r->trace, t_us, seq, ev);
    if (r->watch_event) r->watch_event(r->watch_ctx, t_us, seq, ev);
}

static void on_message_seen(void *ctx, const trace_message *m) {
    sim_run *r = ctx;
    if (r->trace) {
        trace_write_time(r->trace, r->w.now_us);
        trace_write_message(r->trace, m);
    }
    if (r->watch_message) r->watch_message(r->watch_ctx, m);
}

/* ---- creation ------------------------------------------------------------------------------ */

static void configure_broker(sim_run *r, int32_t id) {
    const scenario_cluster *k = &r->s->cluster;
    broker_config *cfg = &r->brokers[id].cfg;
    broker_config_defaults(cfg, id, k->brokers);
    cfg->min_insync_replicas = k->min_insync_replicas;
    cfg->replica_lag_time_max_ms = k->replica_lag_time_max_ms;
    cfg->unclean_leader_election = k->unclean_leader_election;
    cfg->truncation = (enum broker_truncation)k->truncation;
    cfg->flush_interval_ms = k->flush_interval_ms;
    cfg->offsets_topic_partitions = k->offsets_topic_partitions;
    cfg->retention_ms = k->retention_ms;
    cfg->retention_bytes = k->retention_bytes;
    cfg->segment_bytes = k->segment_bytes;
    cfg->auto_create_topics = k->auto_create_topics;
    cfg->default_partitions = k->default_partitions;
    cfg->default_replication_factor = k->default_replication_factor;
    cfg->metadata_quorum = 1; /* topics come from the admin client's CreateTopics */
}

/* A group's consumers: those of the scenario, then one per add_consumer fault. */
static int32_t consumers_planned(const scenario *s, int32_t g) {
    int32_t n = s->groups[g].consumers;
    for (int32_t i = 0; i < s->fault_count; i++)
        n += s->faults[i].kind == SCENARIO_FAULT_ADD_CONSUMER &&
             strcmp(s->faults[i].group, s->groups[g].name) == 0;
    return n;
}

static int32_t consumers_total(const scenario *s) {
    int32_t n = 0;
    for (int32_t g = 0; g < s->group_count; g++) n += consumers_planned(s, g);
    return n;
}

static void add_clients(sim_run *r) {
    const scenario *s = r->s;
    int32_t next_id = WORLD_CLIENT_ID_BASE;
    for (int32_t i = 0; i < s->producer_count; i++) {
        run_client *rc = &r->producers[i];
        rc->node = world_add_node(&r->w, next_id, SIM_NODE_PRODUCER, s->producers[i].name);
        rc->impl = sim_producer_create(&rc->node->env, next_id, &s->producers[i],
                                       s->cluster.brokers, r->opt.end_us);
        world_node_start(&r->w, rc->node, rc->impl, &producer_ops);
        checker_add_producer(r->chk, next_id, sim_producer_idempotent(rc->impl));
        next_id++;
    }
    for (int32_t g = 0; g < s->group_count; g++)
        for (int32_t m = 1; m <= consumers_planned(s, g); m++) {
            run_client *rc = &r->consumers[r->consumer_count++];
            char name[SCENARIO_NAME_BYTES_MAX + 16];
            snprintf(name, sizeof name, "%s/%d", s->groups[g].name, (int)m);
            rc->node = world_add_node(&r->w, next_id, SIM_NODE_CONSUMER, name);
            rc->group = g;
            rc->number = m;
            if (m <= s->groups[g].consumers) { /* the others wait for their add_consumer */
                rc->started = 1;
                consumer_start(r, rc);
            }
            next_id++;
        }
    r->admin.node = world_add_node(&r->w, next_id, SIM_NODE_ADMIN, "admin");
    r->admin.impl = sim_admin_create(&r->admin.node->env, next_id, s);
    world_node_start(&r->w, r->admin.node, r->admin.impl, &admin_ops);
}

static int open_trace(sim_run *r, char *err, size_t err_len) {
    r->trace = trace_writer_open(r->opt.trace_path, err, err_len);
    if (!r->trace) return -1;
    trace_write_run(r->trace, r->s->name, r->s->source_json, r->opt.seed,
                    r->opt.overrides_json ? r->opt.overrides_json : "[]", r->opt.until_us_override,
                    STREAMLAB_VERSION);
    for (int32_t i = 0; i < r->w.node_count; i++) {
        const sim_node *n = r->w.nodes[i];
        static const char *kinds[] = {"", "broker", "producer", "consumer", "admin"};
        trace_write_node(r->trace, n->id, kinds[n->kind], n->name);
    }
    r->w.message_observer = on_message_seen;
    r->w.message_observer_ctx = r;
    return 0;
}

sim_run *sim_run_create(const scenario *s, const sim_run_options *o, char *err, size_t err_len) {
    assert(s->cluster.brokers >= 1 && s->cluster.brokers <= SCENARIO_BROKERS_MAX);
    if (consumers_total(s) > RUN_CONSUMERS_MAX ||
        s->producer_count + consumers_total(s) + s->cluster.brokers + 1 > WORLD_NODES_MAX) {
        snprintf(err, err_len,
                 "%s: groups: expected at most %d consumers in all (and %d nodes), got %d", s->name,
                 RUN_CONSUMERS_MAX, WORLD_NODES_MAX, (int)consumers_total(s));
        return NULL;
    }
    sim_run *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->s = s;
    r->opt = *o;
    world_init(&r->w, o->seed, s->network.latency_ms_min * 1000, s->network.latency_ms_max * 1000,
               s->network.drop_rate_ppm);
    plan_chaos(r);
    r->store = mem_storage_create();
    r->chk = checker_create(s);
    r->w.observer = on_observe;
    r->w.observer_ctx = r;
    r->w.action_handler = on_action;
    r->w.action_ctx = r;
    for (int32_t t = 0; t < s->topic_count; t++)
        r->topic_cfgs[t] = (broker_topic_config){s->topics[t].name, s->topics[t].partitions,
                                                 s->topics[t].replication_factor};
    for (int32_t id = 1; id <= s->cluster.brokers; id++) {
        char name[16];
        snprintf(name, sizeof name, "broker-%d", (int)id);
        r->brokers[id].node = world_add_node(&r->w, id, SIM_NODE_BROKER, name);
        r->brokers[id].node->env.fs = mem_storage_view(r->store, id);
        configure_broker(r, id);
    }
    add_clients(r);
    if (o->trace_path && open_trace(r, err, err_len) != 0) {
        sim_run_destroy(r);
        return NULL;
    }
    for (int32_t id = 1; id <= s->cluster.brokers; id++) broker_start(r, id);
    for (int32_t i = 0; i < s->fault_count; i++)
        if (s->faults[i].at_us <= o->end_us)
            world_schedule_action(&r->w, s->faults[i].at_us, (uint32_t)i);
    for (int32_t i = 0; i < r->chaos_count; i++)
        if (r->chaos[i].at_us <= o->end_us)
            world_schedule_action(&r->w, r->chaos[i].at_us, (uint32_t)(s->fault_count + i));
    return r;
}

void sim_run_destroy(sim_run *r) {
    if (!r) return;
    for (int32_t id = 1; id <= r->s->cluster.brokers; id++)
        if (r->brokers[id].b) broker_destroy(r->brokers[id].b);
    for (int32_t i = 0; i < r->s->producer_count; i++) sim_producer_destroy(r->producers[i].impl);
    for (int32_t i = 0; i < r->consumer_count; i++)
        if (r->consumers[i].impl) sim_consumer_destroy(r->consumers[i].impl);
    sim_admin_destroy(r->admin.impl);
    if (r->trace) trace_writer_close(r->trace, NULL, 0);
    checker_destroy(r->chk);
    free(r->chaos);
    mem_storage_destroy(r->store);
    world_deinit(&r->w);
    free(r);
}

/* ---- running ------------------------------------------------------------------------------------
 */

void sim_run_advance(sim_run *r, int64_t t_us) {
    if (t_us > r->opt.end_us) t_us = r->opt.end_us;
    if (t_us > r->w.now_us) world_run_until(&r->w, t_us);
}

int64_t sim_run_now_us(const sim_run *r) {
    return r->w.now_us;
}
int64_t sim_run_end_us(const sim_run *r) {
    return r->opt.end_us;
}
int sim_run_done(const sim_run *r) {
    return r->w.now_us >= r->opt.end_us;
}
uint64_t sim_run_digest(const sim_run *r) {
    return r->w.digest;
}
uint64_t sim_run_events(const sim_run *r) {
    return r->w.stats.events;
}
uint64_t sim_run_messages(const sim_run *r) {
    return r->w.stats.messages;
}
const checker *sim_run_checker(const sim_run *r) {
    return r->chk;
}

int32_t sim_run_broker_up(const sim_run *r, int32_t broker_id) {
    if (broker_id < 1 || broker_id > r->s->cluster.brokers) return 0;
    return r->brokers[broker_id].node->up;
}

void sim_run_mark_not_simulated(scenario *s) {
    /* Each key listed here is accepted and reported, not acted on (none today). */
    (void)s;
}

void sim_run_watch(sim_run *r, sim_run_event_fn *on_event, sim_run_message_fn *on_message,
                   void *ctx) {
    r->watch_event = on_event;
    r->watch_message = on_message;
    r->watch_ctx = ctx;
    r->w.message_observer = on_message_seen;
    r->w.message_observer_ctx = r;
}

const cluster_view *sim_run_view(const sim_run *r) {
    return r->trace ? trace_writer_view(r->trace) : NULL;
}

int sim_run_link_is_cut(const sim_run *r, int32_t a, int32_t b) {
    return world_link_is_cut(&r->w, a, b);
}
