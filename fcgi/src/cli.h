/* cli: `runwatch-api user …` and `runwatch-api token …`, run on a struct op of their
 * own (no request). Each returns the process exit status. */
#ifndef RW_CLI_H
#define RW_CLI_H

struct config;

/* `runwatch-api user add|reset-password|bootstrap …` */
int cli_user(const struct config *cfg, int argc, char **argv);
/* `runwatch-api token create …` */
int cli_token(const struct config *cfg, int argc, char **argv);

#endif
