/* Shared helpers of the integration suites: HTTP through nginx with libcurl, the
 * stack's control script, and a look at the api processes in /proc. */
#ifndef RW_ITEST_H
#define RW_ITEST_H

#include <CUnit/CUnit.h>
#include <json-c/json.h>
#include <stddef.h>
#include <sys/types.h>

struct http_resp {
    long status;
    char *body;
    size_t len;
    char headers[8192];
    size_t hlen;
    json_object *json; /* parsed body when it is JSON, else NULL */
};

/* Sends a request to RUNWATCH_TEST_URL + path. headers is a NULL-terminated list of
 * "Name: value" lines (or NULL). Returns 0 when a response arrived. */
int http_do(const char *method, const char *path, const char *body, size_t body_len,
            const char *const *headers, struct http_resp *out);
int http_get(const char *path, struct http_resp *out);
void http_resp_free(struct http_resp *r);
/* Value of a response header (case-insensitive name) copied into buf, or NULL. */
const char *http_header(const struct http_resp *r, const char *name, char *buf, size_t cap);
/* The error code of a DESIGN.md section 4 error body, or NULL. */
const char *http_error_code(const struct http_resp *r);
const char *http_json_string(const struct http_resp *r, const char *key);

/* Runs `$RUNWATCH_TEST_STACK <cmd>`; returns its exit status. */
int stack_cmd(const char *cmd);
/* Reads the master's pid and fills pids with its live children; returns the count. */
int api_master_pid(void);
int api_worker_pids(pid_t *pids, int max);
/* Path of a file under RUNWATCH_VAR_DIR. */
const char *var_path(const char *rel, char *buf, size_t cap);

int suite_foundation_register(void);

#endif
