/* audit_log: one statement, shared by every writer (handlers, login, the CLI). The
 * address is the op's origin: the client's for a request, none for the CLI. */
#include "audit_log.h"

#include "access.h"
#include "db.h"

int audit_log_write_user(struct op *o, const char *user_id, const char *action,
                         const char *project_id, const char *target, const char *details_json)
{
    const struct access_ident *id = o->ident;
    const char *token = id && id->kind == ACCESS_TOKEN ? id->token_id : NULL;
    const char *p[AUDIT_INSERT__NIN] = {
        [AUDIT_INSERT_IN_ACTOR_USER] = user_id,    [AUDIT_INSERT_IN_ACTOR_TOKEN] = token,
        [AUDIT_INSERT_IN_PROJECT_ID] = project_id, [AUDIT_INSERT_IN_ACTION] = action,
        [AUDIT_INSERT_IN_TARGET] = target,         [AUDIT_INSERT_IN_DETAILS] = details_json,
        [AUDIT_INSERT_IN_IP] = o->origin};
    return DB_EXEC(o, DB_STMT_AUDIT_INSERT, p) ? 0 : -1;
}

int audit_log_write(struct op *o, const char *action, const char *project_id, const char *target,
                    const char *details_json)
{
    const char *user = o->ident && o->ident->kind == ACCESS_SESSION ? o->ident->user_id : NULL;
    return audit_log_write_user(o, user, action, project_id, target, details_json);
}
