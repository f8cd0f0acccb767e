/* policies: a queue's retry policy, which the housekeeper's watchdog enforces. */
#ifndef RW_API_POLICIES_H
#define RW_API_POLICIES_H

#include "req.h"

/* A retry policy's four fields of a request body, as text for a statement (NULL: not set):
 * max_attempts an integer 1..1000, retry_on a text[] literal of failed, timeout and
 * unresponsive, timeout_s and unresponsive_s seconds > 0. Answers 422 naming the field and
 * returns -1 when one is wrong. */
struct policy_in {
    const char *max_attempts, *retry_on, *timeout_s, *unresponsive_s;
};
int policies_parse(struct req *r, json_object *b, struct policy_in *out);

int policies_get(struct req *r);
int policies_put(struct req *r);

#endif
