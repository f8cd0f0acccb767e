/* audit: reading the audit log over HTTP (audit_log.h writes it). */
#ifndef RW_API_AUDIT_H
#define RW_API_AUDIT_H

#include "req.h"

int audit_list(struct req *r);

#endif
