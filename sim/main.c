/*
 * main.c — the `streamlab` command line: run, check, replay, help.
 *
 * Only this file reads the wall clock (for wall_s, speedup and progress); the
 * engine and everything it drives run on virtual time.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "digest.h"
#include "scenario.h"
#include "sim_run.h"
#include "trace.h"

#define EXIT_OK 0
#define EXIT_VIOLATIONS 1
#define EXIT_BAD_INPUT 2
#define OVERRIDES_MAX 64

static const char usage_main[] =
    "usage: streamlab <command> [options]\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.json     simulate a scenario and print its summary\n"
    "  check SCENARIO.json   run many seeds and report the failing ones\n"
    "  replay TRACE.db       re-run a recorded trace and compare digests\n"
    "  help [COMMAND]        show help for a command\n"
    "\n"
    "options: --help, --version\n";

static const char usage_run[] =
    "usage: streamlab run SCENARIO.json [--seed N] [--trace FILE.db] [--until SECONDS]\n"
    "                     [--set KEY=VALUE]... [--json]\n"
    "\n"
    "  --seed N          seed of the run (default: the scenario's \"seed\", else 1)\n"
    "  --trace FILE.db   record the run to a SQLite trace (docs/trace.md)\n"
    "  --until SECONDS   run this long instead of the scenario's duration_s\n"
    "  --set KEY=VALUE   override one scenario value, e.g. --set cluster.min_insync_replicas=2\n"
    "  --json            print the summary as one JSON object\n"
    "\n"
    "exit status: 0 no violation, 1 violations found, 2 bad input\n";

static const char usage_check[] =
    "usage: streamlab check SCENARIO.json --seeds A-B [--jobs N] [--until SECONDS]\n"
    "                       [--set KEY=VALUE]...\n"
    "\n"
    "Runs every seed from A to B on N processes (default: all cores), prints each\n"
    "failing seed with its first violation and the command that replays it, and\n"
    "ends with \"checked N seeds: K failed\".\n"
    "\n"
    "exit status: 0 no seed failed, 1 some failed, 2 bad input\n";

static const char usage_replay[] =
    "usage: streamlab replay TRACE.db [--json]\n"
    "\n"
    "Re-runs the scenario, seed, overrides and live actions stored in a trace and\n"
    "says whether the new digest equals the recorded one.\n"
    "\n"
    "exit status: 0 the digest matches, 1 it differs, 2 bad input\n";

typedef struct run_args {
    const char *scenario_path;
    uint64_t seed;
    int seed_set;
    const char *trace_path;
    int64_t until_us; /* -1 = not given */
    scenario_override overrides[OVERRIDES_MAX];
    int override_count;
    int json;
    /* check */
    uint64_t seed_from, seed_to;
    int seeds_set;
    int jobs;
} run_args;

static double wall_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- argument parsing -------------------------------------------------------------- */

static int bad_usage(const char *usage, const char *fmt, const char *arg) {
    fprintf(stderr, "streamlab: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return EXIT_BAD_INPUT;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, int64_t *out_us) {
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : -1;
    if (!s || errno || *end || !(v > 0) || v > 1e7) return -1;
    *out_us = (int64_t)(v * 1e6 + 0.5);
    return 0;
}

static int parse_seed_range(const char *s, run_args *a) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    char *dash = strchr(buf, '-');
    if (!dash) return parse_u64(buf, &a->seed_from) || (a->seed_to = a->seed_from, 0);
    *dash = 0;
    if (parse_u64(buf, &a->seed_from) || parse_u64(dash + 1, &a->seed_to)) return -1;
    return a->seed_to >= a->seed_from ? 0 : -1;
}

static int parse_option(run_args *a, int argc, char **argv, int *i, const char *usage, int check) {
    const char *opt = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    static const char *const run_opts[] = {"--json", "--seed", "--trace", "--until", "--set", NULL};
    static const char *const check_opts[] = {"--until", "--set", "--seeds", "--jobs", NULL};
    int known = 0;
    for (const char *const *o = check ? check_opts : run_opts; *o; o++) known |= !strcmp(*o, opt);
    if (!known) return bad_usage(usage, "unknown option %s", opt);
    int takes = strcmp(opt, "--json") != 0;
    if (takes && !val) return bad_usage(usage, "option %s needs a value", opt);
    if (!strcmp(opt, "--json") && !check)
        a->json = 1;
    else if (!strcmp(opt, "--seed") && !check) {
        if (parse_u64(val, &a->seed))
            return bad_usage(usage, "--seed: expected a non-negative integer (got %s)", val);
        a->seed_set = 1;
    } else if (!strcmp(opt, "--trace") && !check)
        a->trace_path = val;
    else if (!strcmp(opt, "--until")) {
        if (parse_seconds(val, &a->until_us))
            return bad_usage(usage, "--until: expected a positive number of seconds (got %s)", val);
    } else if (!strcmp(opt, "--set")) {
        if (a->override_count == OVERRIDES_MAX)
            return bad_usage(usage, "too many --set options%s", "");
        if (scenario_override_parse(argv[*i + 1], &a->overrides[a->override_count]) != 0)
            return bad_usage(usage, "--set: expected KEY=VALUE (got %s)", val);
        a->override_count++;
    } else if (!strcmp(opt, "--seeds") && check) {
        if (parse_seed_range(val, a))
            return bad_usage(usage, "--seeds: expected A-B with A <= B (got %s)", val);
        a->seeds_set = 1;
    } else if (!strcmp(opt, "--jobs") && check) {
        uint64_t j;
        if (parse_u64(val, &j) || j == 0 || j > 256)
            return bad_usage(usage, "--jobs: expected 1..256 (got %s)", val);
        a->jobs = (int)j;
    } else
        return bad_usage(usage, "unknown option %s", opt);
    *i += takes ? 2 : 1;
    return EXIT_OK;
}

static int parse_args(run_args *a, int argc, char **argv, const char *usage, int check) {
    memset(a, 0, sizeof *a);
    a->until_us = -1;
    for (int i = 0; i < argc;) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            exit(EXIT_OK);
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            int rc = parse_option(a, argc, argv, &i, usage, check);
            if (rc) return rc;
            continue;
        }
        if (a->scenario_path) return bad_usage(usage, "unexpected argument %s", argv[i]);
        a->scenario_path = argv[i++];
    }
    if (!a->scenario_path)
        return bad_usage(usage, "missing %s", check ? "SCENARIO.json" : "SCENARIO.json");
    if (check && !a->seeds_set) return bad_usage(usage, "missing --seeds A-B%s", "");
    return EXIT_OK;
}

/* ---- run ------------------------------------------------------------------------------ */

static char *overrides_json(const run_args *a) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < a->override_count; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s=%s", a->overrides[i].key, a->overrides[i].value);
        cJSON_AddItemToArray(arr, cJSON_CreateString(kv));
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static void progress(const sim_run *r, double started, double *last) {
    double now = wall_now_s();
    if (now - *last < 0.25) return;
    *last = now;
    fprintf(stderr, "\r  %.0f / %.0f virtual s, %" PRIu64 " events, %.1f wall s   ",
            (double)sim_run_now_us(r) / 1e6, (double)sim_run_end_us(r) / 1e6, sim_run_events(r),
            now - started);
}

/* Runs r to its end (live actions for replay come in through `actions`). */
static int drive(sim_run *r, const trace_action *actions, int action_count, char *err, size_t n) {
    int tty = isatty(2);
    double started = wall_now_s(), last = started;
    for (int i = 0; i < action_count; i++) {
        if (strcmp(actions[i].origin, "live") != 0) continue;
        if (sim_run_replay_action(r, actions[i].t_us, actions[i].seq, actions[i].action_json, err,
                                  n))
            return -1;
    }
    while (!sim_run_done(r)) {
        sim_run_advance(r, sim_run_now_us(r) + 1000000);
        if (tty) progress(r, started, &last);
    }
    if (tty && wall_now_s() - started >= 0.25) fprintf(stderr, "\r%60s\r", "");
    return 0;
}

typedef struct run_outcome {
    uint64_t digest;
    int violations;
} run_outcome;

static int run_once(scenario *s, const run_args *a, const trace_action *actions, int action_count,
                    int print, run_outcome *out) {
    char err[512] = "";
    char *ov = overrides_json(a);
    sim_run_options o = {.seed = a->seed_set ? a->seed : s->seed,
                         .end_us = a->until_us > 0 ? a->until_us : s->duration_us,
                         .trace_path = a->trace_path,
                         .overrides_json = ov,
                         .until_us_override = a->until_us};
    double started = wall_now_s();
    sim_run *r = sim_run_create(s, &o, err, sizeof err);
    free(ov);
    if (!r) {
        fprintf(stderr, "streamlab: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    int rc = drive(r, actions, action_count, err, sizeof err);
    double wall_s = wall_now_s() - started;
    if (rc == 0) rc = sim_run_finish(r, wall_s, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "streamlab: %s\n", err);
        sim_run_destroy(r);
        return EXIT_BAD_INPUT;
    }
    if (print) {
        char *text = a->json ? sim_run_summary_json(r, wall_s) : sim_run_summary_text(r, wall_s);
        printf("%s%s", text, a->json ? "\n" : "");
        free(text);
        if (a->trace_path && !a->json) printf("trace: %s\n", a->trace_path);
    }
    out->digest = sim_run_digest(r);
    out->violations = checker_violations_total(sim_run_checker(r)) > 0;
    sim_run_destroy(r);
    return out->violations ? EXIT_VIOLATIONS : EXIT_OK;
}

static int load(scenario *s, const char *path, const char *text, const run_args *a) {
    char err[1024];
    if (scenario_load(s, path, text, a->overrides, a->override_count, err, sizeof err) != 0) {
        fprintf(stderr, "streamlab: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    sim_run_mark_not_simulated(s);
    return EXIT_OK;
}

static int cmd_run(int argc, char **argv) {
    run_args a;
    int rc = parse_args(&a, argc, argv, usage_run, 0);
    if (rc) return rc;
    scenario *s = calloc(1, sizeof *s);
    if (!s) return EXIT_BAD_INPUT;
    rc = load(s, a.scenario_path, NULL, &a);
    run_outcome out;
    if (rc == EXIT_OK) rc = run_once(s, &a, NULL, 0, 1, &out);
    scenario_free(s);
    free(s);
    return rc;
}

/* ---- replay ----------------------------------------------------------------------------- */

static int replay_overrides(const char *json, run_args *a, char *store, size_t store_len) {
    cJSON *arr = cJSON_Parse(json ? json : "[]");
    size_t used = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsString(item) || a->override_count == OVERRIDES_MAX) continue;
        size_t n = strlen(item->valuestring) + 1;
        if (used + n > store_len) break;
        char *kv = memcpy(store + used, item->valuestring, n);
        used += n;
        if (scenario_override_parse(kv, &a->overrides[a->override_count]) == 0) a->override_count++;
    }
    cJSON_Delete(arr);
    return 0;
}

static int cmd_replay(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_replay, stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] == '-')
            return bad_usage(usage_replay, "unknown option %s", argv[i]);
        else if (path)
            return bad_usage(usage_replay, "unexpected argument %s", argv[i]);
        else
            path = argv[i];
    }
    if (!path) return bad_usage(usage_replay, "missing TRACE.db%s", "");
    char err[512];
    trace_run_info info;
    if (trace_read_run(path, &info, err, sizeof err) != 0) {
        fprintf(stderr, "streamlab: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    trace_action *actions = NULL;
    int action_count = 0;
    if (trace_read_actions(path, &actions, &action_count, err, sizeof err) != 0) {
        fprintf(stderr, "streamlab: %s\n", err);
        trace_run_info_free(&info);
        return EXIT_BAD_INPUT;
    }
    run_args a;
    memset(&a, 0, sizeof a);
    static char store[16384];
    replay_overrides(info.overrides_json, &a, store, sizeof store);
    a.seed = info.seed;
    a.seed_set = 1;
    a.until_us = info.until_us;
    char label[600];
    snprintf(label, sizeof label, "%s (recorded scenario)", path);
    scenario *s = calloc(1, sizeof *s);
    int rc = load(s, label, info.scenario_json, &a);
    run_outcome out = {0};
    if (rc == EXIT_OK) {
        int run_rc = run_once(s, &a, actions, action_count, 0, &out);
        rc = run_rc == EXIT_BAD_INPUT ? EXIT_BAD_INPUT : EXIT_OK;
    }
    if (rc == EXIT_OK) {
        char hex[17];
        digest_hex(out.digest, hex);
        int same = info.digest && strcmp(info.digest, hex) == 0;
        if (json)
            printf("{\"trace\":\"%s\",\"recorded\":\"%s\",\"replayed\":\"%s\",\"match\":%s}\n",
                   path, info.digest ? info.digest : "", hex, same ? "true" : "false");
        else
            printf("%s: recorded digest %s, replayed %s: %s\n", path,
                   info.digest ? info.digest : "(none)", hex, same ? "match" : "DIFFERENT");
        rc = same ? EXIT_OK : EXIT_VIOLATIONS;
    }
    scenario_free(s);
    free(s);
    trace_actions_free(actions, action_count);
    trace_run_info_free(&info);
    return rc;
}

/* ---- check ---------------------------------------------------------------------------------- */

static void print_failure(const run_args *a, uint64_t seed, const char *first) {
    printf("seed %" PRIu64 ": %s\n  replay: streamlab run %s --seed %" PRIu64, seed, first,
           a->scenario_path, seed);
    for (int i = 0; i < a->override_count; i++)
        printf(" --set %s=%s", a->overrides[i].key, a->overrides[i].value);
    if (a->until_us > 0) printf(" --until %g", (double)a->until_us / 1e6);
    printf("\n");
}

/* Runs one seed in this process; writes "OK" or the first violation to fd. */
static void check_child(scenario *s, run_args *a, uint64_t seed, int fd) {
    a->seed = seed;
    a->seed_set = 1;
    a->trace_path = NULL;
    char err[256];
    sim_run_options o = {.seed = seed,
                         .end_us = a->until_us > 0 ? a->until_us : s->duration_us,
                         .until_us_override = -1};
    sim_run *r = sim_run_create(s, &o, err, sizeof err);
    char line[512] = "OK";
    if (r) {
        sim_run_finish(r, 0, err, sizeof err);
        const checker *c = sim_run_checker(r);
        if (checker_violation_count(c) > 0) {
            const checker_violation *v = checker_violation_get(c, 0);
            snprintf(line, sizeof line, "%.3fs %s %s/%d offset %lld (allowed by %s): %s",
                     (double)v->t_us / 1e6, v->invariant, v->topic, (int)v->partition,
                     (long long)v->offset, v->allowed_by[0] ? v->allowed_by : "nothing", v->detail);
        }
        sim_run_destroy(r);
    } else
        snprintf(line, sizeof line, "could not start: %s", err);
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
}

typedef struct check_job {
    pid_t pid;
    uint64_t seed;
    int fd;
} check_job;

static int collect(const run_args *a, check_job *job) {
    char buf[512];
    ssize_t n = read(job->fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(job->fd);
    int status;
    waitpid(job->pid, &status, 0);
    if (n > 0 && strcmp(buf, "OK") == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    print_failure(a, job->seed, n > 0 ? buf : "crashed");
    fflush(stdout);
    return 1;
}

static int cmd_check(int argc, char **argv) {
    run_args a;
    int rc = parse_args(&a, argc, argv, usage_check, 1);
    if (rc) return rc;
    scenario *s = calloc(1, sizeof *s);
    if (load(s, a.scenario_path, NULL, &a) != EXIT_OK) return EXIT_BAD_INPUT;
    int jobs = a.jobs ? a.jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    check_job *running = calloc((size_t)jobs, sizeof *running);
    int active = 0;
    uint64_t failed = 0, total = a.seed_to - a.seed_from + 1;
    fflush(stdout);
    for (uint64_t seed = a.seed_from;; seed++) {
        while (active == jobs || (seed > a.seed_to && active > 0)) {
            failed += (uint64_t)collect(&a, &running[0]);
            memmove(&running[0], &running[1], (size_t)(--active) * sizeof running[0]);
        }
        if (seed > a.seed_to) break;
        int fds[2];
        if (pipe(fds) != 0) return EXIT_BAD_INPUT;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            check_child(s, &a, seed, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        running[active++] = (check_job){pid, seed, fds[0]};
    }
    printf("checked %" PRIu64 " seeds: %" PRIu64 " failed\n", total, failed);
    free(running);
    scenario_free(s);
    free(s);
    return failed ? EXIT_VIOLATIONS : EXIT_OK;
}

/* ---- main ----------------------------------------------------------------------------------- */

static int cmd_help(int argc, char **argv) {
    const char *topic = argc > 0 ? argv[0] : NULL;
    if (!topic)
        fputs(usage_main, stdout);
    else if (!strcmp(topic, "run"))
        fputs(usage_run, stdout);
    else if (!strcmp(topic, "check"))
        fputs(usage_check, stdout);
    else if (!strcmp(topic, "replay"))
        fputs(usage_replay, stdout);
    else
        return bad_usage(usage_main, "no help for unknown command %s", topic);
    return EXIT_OK;
}

int main(int argc, char **argv) {
    /* SQLite's memory statistics take a global mutex on every allocation; nothing
     * here reads them (set before SQLite initialises). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_BAD_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("streamlab %s\n", STREAMLAB_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) return cmd_help(0, NULL);
    if (!strcmp(cmd, "help")) return cmd_help(argc - 2, argv + 2);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "check")) return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "replay")) return cmd_replay(argc - 2, argv + 2);
    return bad_usage(usage_main, cmd[0] == '-' ? "unknown option %s" : "unknown command %s", cmd);
}
