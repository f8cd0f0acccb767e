/* projects: projects, their members and their producer tokens. */
#ifndef RW_API_PROJECTS_H
#define RW_API_PROJECTS_H

#include "req.h"

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
