/* tls.h: rediss:// for runwatch-celery with a hiredis that has no SSL (Debian's 0.14). */
#ifndef RW_CELERY_TLS_H
#define RW_CELERY_TLS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/* A rediss:// URL's TLS settings, named as redis-py and kombu name them in the URL's query
 * (?ssl_cert_reqs=none&ssl_ca_certs=/path/ca.pem&ssl_certfile=...&ssl_keyfile=...). */
struct celery_tls {
    int on;              /* rediss:// */
    int verify;          /* ssl_cert_reqs: required (default) or optional: 1; none: 0 */
    int check_hostname;  /* ssl_check_hostname (default true; only while verifying) */
    char ca_file[512];   /* ssl_ca_certs; empty: the system's trust store */
    char cert_file[512]; /* ssl_certfile: a client certificate (Redis' tls-auth-clients) */
    char key_file[512];  /* ssl_keyfile */
};

/* Parses the query string after '?' (without it) of a rediss:// URL into t. Unknown names
 * are refused (a typo must not silently weaken verification). 0, or -1 after logging. */
int celery_tls_query(const char *query, size_t len, struct celery_tls *t);

/* Connects to host:port over TLS (handshake and verification done before it returns) and
 * gives hiredis the plain end of a socketpair, a thread pumping bytes between the two. The
 * pump ends when hiredis closes its end (redisFree) or the broker closes the connection.
 * NULL after logging why (a refused certificate says so). */
redisContext *celery_tls_connect(const struct celery_tls *t, const char *host, int port,
                                 int timeout_s);

/* Waits for every pump to end (their hiredis contexts must be freed first) and frees them:
 * at exit, so nothing is left behind. */
void celery_tls_fini(void);

#endif
