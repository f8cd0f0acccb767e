/* accounts: the writes that both the API and the operator's CLI make (users, their
 * passwords, producer tokens), so each is written, audited and validated in one place.
 * Each runs in the caller's open transaction on a struct op and sets its error. */
#ifndef RW_ACCOUNTS_H
#define RW_ACCOUNTS_H

#include <libpq-fe.h>

#include "op.h"

/* Inserts a user and its audit entry; the user's row (for users_row_json), or NULL. */
PGresult *accounts_user_create(struct op *o, const char *email, const char *name,
                               const char *password, int is_admin);
/* Sets the password of the user with this email and ends their sessions (audited as a
 * reset, "via" naming who did it). */
int accounts_password_reset(struct op *o, const char *email, const char *password, const char *via);
/* A new token of the project, hashed, with its audit entry: *token is the whole token
 * (shown once), *tid its id. `scopes` is a text[] literal made only from the fixed
 * scope names; expires may be NULL. */
int accounts_token_create(struct op *o, const char *project_id, const char *name,
                          const char *scopes, const char *expires, const char **token,
                          const char **tid);
/* 1 when s is a project slug: lowercase letters, digits and dashes, 1 to 63, not
 * starting with a dash. */
int accounts_slug_ok(const char *s);

#endif
