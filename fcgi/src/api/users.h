/* users: instance-level user management (instance admins) and the operator CLI. */
#ifndef RW_API_USERS_H
#define RW_API_USERS_H

#include "config.h"
#include "req.h"

int users_list(struct req *r);
int users_create(struct req *r);
int users_update(struct req *r);

/* `runwatch-api user add|reset-password|bootstrap …`; returns the exit code. */
int users_cli(const struct config *cfg, int argc, char **argv);

#endif
