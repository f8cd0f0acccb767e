/* audit_log: writes who did what, when, from where. Entries are written inside the
 * caller's transaction, so an action and its audit row commit or vanish together.
 * Details never hold secrets: callers pass what was done, not the credential that did
 * it. (Reading the log is an endpoint: api/audit.c.) */
#ifndef RW_AUDIT_LOG_H
#define RW_AUDIT_LOG_H

#include "op.h"

/* Actor taken from o's identity. project_id, target, details_json may be NULL. */
int audit_log_write(struct op *o, const char *action, const char *project_id, const char *target,
                    const char *details_json);
/* With an explicit acting user (logins, where the request has no identity yet). */
int audit_log_write_user(struct op *o, const char *user_id, const char *action,
                         const char *project_id, const char *target, const char *details_json);

#endif
