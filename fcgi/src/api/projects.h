/* projects: projects, their members and their producer tokens. */
#ifndef RW_API_PROJECTS_H
#define RW_API_PROJECTS_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "req.h"

/* The rows of DB_STMT_MY_PROJECTS as the API's project items: GET /projects lists them
 * and GET /auth/me embeds them, so both say the same about a project. */
json_object *projects_mine_json(PGresult *res);

int projects_list(struct req *r);
int projects_create(struct req *r);
int projects_get(struct req *r);
int projects_update(struct req *r);
int members_list(struct req *r);
int members_add(struct req *r);
int members_update(struct req *r);
int members_remove(struct req *r);
int tokens_list(struct req *r);
int tokens_create(struct req *r);
int tokens_revoke(struct req *r);

#endif
