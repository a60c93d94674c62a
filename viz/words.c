/*
 * words.c — observe events and injected actions told in plain words.
 */
#include "words.h"
#include "offsets_topic.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static viz_words_partition *part_of(viz_words *w, const char *topic, int32_t partition) {
    for (int i = 0; i < w->count; i++)
        if (w->parts[i].partition == partition && !strcmp(w->parts[i].topic, topic))
            return &w->parts[i];
    if (w->count == VIZ_WORDS_PARTITIONS_MAX) return NULL;
    viz_words_partition *p = &w->parts[w->count++];
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->partition = partition;
    p->leader = -1;
    p->isr_count = 0;
    return p;
}

void viz_words_seed(viz_words *w, const cluster_view *v) {
    memset(w, 0, sizeof *w);
    if (!v) return;
    for (int i = 0; i < v->brokers_count; i++)
        if (v->brokers[i].id >= 0 && v->brokers[i].id <= CLUSTER_VIEW_BROKERS_MAX)
            w->broker_stopped[v->brokers[i].id] = !v->brokers[i].up && v->brokers[i].since_us > 0;
    for (int t = 0; t < v->topics_count; t++)
        for (int p = 0; p < v->topics[t].partitions_count; p++) {
            viz_words_partition *wp = part_of(w, v->topics[t].name, p);
            if (!wp) return;
            wp->leader = v->topics[t].partitions[p].leader;
            wp->isr_count = v->topics[t].partitions[p].isr_count;
        }
}

#define SAY(...) snprintf(out->text, sizeof out->text, __VA_ARGS__)

static void isr_text(const observe_event *ev, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < ev->isr_count && used + 12 < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%d", i ? "," : "", (int)ev->isr[i]);
}

static int say_broker(viz_words *w, const observe_event *ev, viz_line *out) {
    int32_t id = ev->node;
    int known = id >= 0 && id <= CLUSTER_VIEW_BROKERS_MAX;
    if (ev->kind == OBSERVE_BROKER_STOP) {
        int power = ev->detail && !strcmp(ev->detail, "power_off");
        SAY("broker %d %s", (int)id, power ? "lost power" : "crashed");
        out->tone = VIZ_TONE_BAD;
        if (known) w->broker_stopped[id] = 1;
        return 1;
    }
    SAY("broker %d %s", (int)id, known && w->broker_stopped[id] ? "is back up" : "started");
    out->tone = VIZ_TONE_GOOD;
    if (known) w->broker_stopped[id] = 0;
    return 1;
}

static int say_leader(viz_words *w, const observe_event *ev, viz_line *out) {
    viz_words_partition *p = ev->topic ? part_of(w, ev->topic, ev->partition) : NULL;
    int32_t before = p ? p->leader : -1;
    if (p) p->leader = ev->leader, p->isr_count = ev->isr_count;
    const char *t = ev->topic ? ev->topic : "?";
    if (before < 0)
        SAY("%s/%d: leader is broker %d, epoch %d", t, (int)ev->partition, (int)ev->leader,
            (int)ev->leader_epoch);
    else if (before == ev->leader)
        SAY("%s/%d: broker %d leads again, epoch %d", t, (int)ev->partition, (int)ev->leader,
            (int)ev->leader_epoch);
    else
        SAY("%s/%d: leader %d \xe2\x86\x92 %d, epoch %d", t, (int)ev->partition, (int)before,
            (int)ev->leader, (int)ev->leader_epoch);
    out->tone = before >= 0 && before != ev->leader ? VIZ_TONE_ACTION : VIZ_TONE_INFO;
    return 1;
}

static int say_isr(viz_words *w, const observe_event *ev, viz_line *out) {
    viz_words_partition *p = ev->topic ? part_of(w, ev->topic, ev->partition) : NULL;
    int32_t before = p ? p->isr_count : 0;
    if (p) p->isr_count = ev->isr_count;
    char isr[96];
    isr_text(ev, isr, sizeof isr);
    SAY("%.40s/%d: ISR %s {%.40s}", ev->topic ? ev->topic : "?", (int)ev->partition,
        ev->isr_count < before ? "shrank to" : "grew to", isr);
    out->tone = ev->isr_count < before ? VIZ_TONE_BAD : VIZ_TONE_GOOD;
    return 1;
}

static int say_other(const observe_event *ev, viz_line *out) {
    const char *t = ev->topic ? ev->topic : "?";
    const char *g = ev->detail ? ev->detail : "?";
    out->tone = VIZ_TONE_INFO;
    switch (ev->kind) {
    case OBSERVE_CONTROLLER:
        SAY("broker %d is the controller, epoch %d", (int)ev->node, (int)ev->leader_epoch);
        return 1;
    case OBSERVE_TOPIC_CREATE:
        SAY("topic %s created: %d partitions x %lld replicas", t, (int)ev->partition,
            (long long)ev->offset);
        return 1;
    case OBSERVE_REBALANCE:
        SAY("%s rebalanced, generation %d with %d member(s)", g, (int)ev->leader_epoch,
            (int)ev->count);
        out->tone = VIZ_TONE_ACTION;
        return 1;
    case OBSERVE_TRUNCATE:
        SAY("broker %d cut %s/%d back to offset %lld", (int)ev->node, t, (int)ev->partition,
            (long long)ev->offset);
        out->tone = VIZ_TONE_BAD;
        return 1;
    case OBSERVE_PRODUCE_FAIL:
        SAY("client %d: %d record(s) to %s/%d failed (error %d)", (int)ev->node, (int)ev->count, t,
            (int)ev->partition, (int)ev->error);
        out->tone = VIZ_TONE_BAD;
        return 1;
    default:
        return 0;
    }
}

int viz_words_event(viz_words *w, int64_t t_us, const observe_event *ev, viz_line *out) {
    out->t_us = t_us;
    /* the offsets topic's 50 leaders would drown the lab's own story */
    if (offsets_topic_is_internal(ev->topic) && ev->kind != OBSERVE_TOPIC_CREATE) return 0;
    switch (ev->kind) {
    case OBSERVE_BROKER_START:
    case OBSERVE_BROKER_STOP:
        return say_broker(w, ev, out);
    case OBSERVE_LEADER:
        return say_leader(w, ev, out);
    case OBSERVE_ISR:
        return say_isr(w, ev, out);
    default:
        return say_other(ev, out);
    }
}

/* "crash 2", "cut 1-2", "heal all" from {"crash":2}, {"cut":[1,2]}, {"heal":true}. */
static void action_short(const char *json, char *buf, size_t n) {
    cJSON *root = cJSON_Parse(json);
    cJSON *item = root && cJSON_IsObject(root) ? root->child : NULL;
    if (!item)
        snprintf(buf, n, "%s", json);
    else if (cJSON_IsNumber(item))
        snprintf(buf, n, "%s %d", item->string, item->valueint);
    else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) == 2 &&
             cJSON_IsNumber(cJSON_GetArrayItem(item, 0)))
        snprintf(buf, n, "%s %d-%d", item->string, cJSON_GetArrayItem(item, 0)->valueint,
                 cJSON_GetArrayItem(item, 1)->valueint);
    else if (cJSON_IsString(item))
        snprintf(buf, n, "%s %s", item->string, item->valuestring);
    else
        snprintf(buf, n, "%s%s", item->string, cJSON_IsTrue(item) ? " all" : "");
    cJSON_Delete(root);
}

void viz_words_action(int64_t t_us, const char *origin, const char *action_json, viz_line *out,
                      viz_mark *mark) {
    char what[32];
    action_short(action_json, what, sizeof what);
    int live = !strcmp(origin, "live");
    int good = !strncmp(what, "restart", 7) || !strncmp(what, "heal", 4);
    out->t_us = t_us;
    out->tone = VIZ_TONE_ACTION;
    SAY("%s: %s", live ? "trainer" : !strcmp(origin, "chaos") ? "chaos" : "fault", what);
    mark->t_us = t_us;
    mark->tone = good ? VIZ_TONE_GOOD : VIZ_TONE_BAD;
    snprintf(mark->label, sizeof mark->label, "%.31s", what);
}
