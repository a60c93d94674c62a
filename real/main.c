/*
 * main.c — streamlab-broker: one broker of the streamlab core on real sockets.
 *
 *   streamlab-broker --config server.properties [--override key=value]...
 *
 * Exit status: 0 after a clean stop (SIGTERM, SIGINT), 1 when the broker could
 * not start, 2 for a bad command line or properties file.
 */
#include <stdio.h>
#include <string.h>

#include "broker_loop.h"
#include "server_properties.h"

static int usage(FILE *out, int status) {
    fprintf(out, "usage: streamlab-broker --config server.properties [--override key=value]...\n"
                 "Properties use Kafka's names; see docs/real.md.\n");
    return status;
}

int main(int argc, char **argv) {
    static server_properties props;
    char err[1024];
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return usage(stdout, 0);
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--override") == 0 && i + 1 < argc)
            i++; /* applied after the file, below */
        else {
            fprintf(stderr, "streamlab-broker: unexpected argument '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    if (!config) return usage(stderr, 2);
    server_properties_init(&props);
    if (server_properties_load(&props, config, err, sizeof err) != 0) {
        fprintf(stderr, "streamlab-broker: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--override") != 0) continue;
        char kv[4096];
        snprintf(kv, sizeof kv, "%s", argv[++i]);
        char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "streamlab-broker: --override %s: expected key=value\n", kv);
            return 2;
        }
        *eq = 0;
        if (server_properties_set(&props, kv, eq + 1, "--override", err, sizeof err) != 0) {
            fprintf(stderr, "streamlab-broker: %s\n", err);
            return 2;
        }
    }
    if (server_properties_finish(&props, err, sizeof err) != 0) {
        fprintf(stderr, "streamlab-broker: %s: %s\n", config, err);
        return 2;
    }
    if (broker_loop_run(&props, err, sizeof err) != 0) {
        fprintf(stderr, "streamlab-broker: %s\n", err);
        return 1;
    }
    return 0;
}
