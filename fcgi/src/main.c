/* main: runwatch-api's subcommands. `serve` is the supervisor nginx talks to through
 * its workers; `worker` and `housekeeper` are what serve execs (not for operators);
 * `migrate` brings the schema up to date. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "housekeep.h"
#include "log.h"
#include "master.h"
#include "migrate.h"
#include "serve.h"

#ifndef RUNWATCH_VERSION
#define RUNWATCH_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: runwatch-api serve | migrate | housekeep --once | user … | token … | "
               "config | version\n"
               "  serve    bind RUNWATCH_API_SOCKET and run RUNWATCH_API_WORKERS FastCGI workers\n"
               "  migrate  apply the migrations, then the changed files of RUNWATCH_FUNCTIONS_DIR\n"
               "  housekeep --once  run every housekeeping task once (serve runs them itself)\n"
               "  user     add | reset-password | bootstrap (run `runwatch-api user` for help)\n"
               "  token    create: a project's producer token (run `runwatch-api token` for help)\n"
               "  config   every setting with its effective value, as shell assignments\n"
               "  version  print the version\n"
               "Configuration comes from RUNWATCH_* environment variables (see README).\n");
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[256];
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("runwatch-api %s\n", RUNWATCH_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (config_load(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "runwatch-api: %s\n", err);
        return 2;
    }
    if (strcmp(cmd, "serve") == 0) {
        log_init("api-master", cfg.log_level);
        return master_run(&cfg);
    }
    if (strcmp(cmd, "worker") == 0) {
        const char *fd = getenv("RUNWATCH_LISTEN_FD");
        char *end;
        long v = fd ? strtol(fd, &end, 10) : -1;
        log_init("api", cfg.log_level);
        if (!fd || *end || v < 0 || v > 1023) {
            fprintf(stderr, "runwatch-api: worker is started by `runwatch-api serve`\n");
            return 2;
        }
        return serve_worker(&cfg, (int)v);
    }
    if (strcmp(cmd, "housekeeper") == 0) { /* exec'd by serve */
        log_init("housekeeper", cfg.log_level);
        return housekeep_main(&cfg);
    }
    if (strcmp(cmd, "housekeep") == 0) {
        if (argc != 3 || strcmp(argv[2], "--once") != 0) {
            fprintf(stderr, "usage: runwatch-api housekeep --once\n");
            return 2;
        }
        log_init("housekeep", cfg.log_level);
        return housekeep_once(&cfg);
    }
    if (strcmp(cmd, "migrate") == 0) {
        log_init("migrate", cfg.log_level);
        return migrate_run(&cfg);
    }
    if (strcmp(cmd, "user") == 0) {
        log_init("cli", LOG_LEVEL_WARN);
        return cli_user(&cfg, argc - 2, argv + 2);
    }
    if (strcmp(cmd, "token") == 0) {
        log_init("cli", LOG_LEVEL_WARN);
        return cli_token(&cfg, argc - 2, argv + 2);
    }
    if (strcmp(cmd, "config") == 0)
        return config_cli(&cfg, argc - 2, argv + 2);
    usage(stderr);
    return 2;
}
