/* audit: who did what, when, from where. Entries are written inside the request's
 * transaction, so an action and its audit row commit or vanish together. */
#ifndef RW_API_AUDIT_H
#define RW_API_AUDIT_H

#include "req.h"

/* Actor taken from the request's identity. project_id, target, details_json may be NULL. */
int audit_write(struct req *r, const char *action, const char *project_id, const char *target,
                const char *details_json);
/* With an explicit acting user (logins, where the request has no identity yet). */
int audit_write_user(struct req *r, const char *user_id, const char *action, const char *project_id,
                     const char *target, const char *details_json);

int audit_list(struct req *r);

#endif
