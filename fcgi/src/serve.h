/* serve: one runwatch-api worker process. It owns the libfcgi boundary: accepts a
 * FastCGI request, fills a struct req, dispatches through the routing table, writes
 * the response and the access log line, then resets the request's arena. */
#ifndef RW_SERVE_H
#define RW_SERVE_H

#include <stddef.h>

#include "config.h"

/* libfcgi's output buffer (fcgiapp.c: 8 KB, a record's header included): what fits is left
 * to it, a longer response goes through serve_put_records. */
#define SERVE_STREAM_BUF (8192 - 8)
/* The longest record content (FastCGI's length is 16 bits). */
#define SERVE_RECORD_MAX 65535

/* a then b (alen + blen bytes, any of them 0) as FCGI_STDOUT records of request_id on fd, in
 * as few writev calls as the iovec limit allows (one up to 16 MiB); 0, or -1 with errno. */
int serve_put_records(int fd, int request_id, const char *a, size_t alen, const char *b,
                      size_t blen);

/* The worker loop on an already bound listening socket; returns the exit code. */
int serve_worker(const struct config *cfg, int listen_fd);

#endif
