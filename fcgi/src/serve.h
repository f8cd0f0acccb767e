/* serve: one runwatch-api worker process. It owns the libfcgi boundary: accepts a
 * FastCGI request, fills a struct req, dispatches through the routing table, writes
 * the response and the access log line, then resets the request's arena. */
#ifndef RW_SERVE_H
#define RW_SERVE_H

#include "config.h"

/* The worker loop on an already bound listening socket; returns the exit code. */
int serve_worker(const struct config *cfg, int listen_fd);

#endif
