/* users: instance-level user management (instance admins). */
#ifndef RW_API_USERS_H
#define RW_API_USERS_H

#include <libpq-fe.h>

#include "req.h"

int users_list(struct req *r);
int users_create(struct req *r);
int users_update(struct req *r);
int users_password(struct req *r);

/* The public JSON of a user row (id, email, display_name, is_admin, disabled, created_at). */
json_object *users_row_json(PGresult *res, int row);

#endif
