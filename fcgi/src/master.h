/* master: `runwatch-api serve`. Binds the FastCGI socket once and keeps N worker
 * processes on it, and one housekeeper (housekeep.c): restarts either when it dies, reloads on
 * SIGHUP without dropping a request, stops on SIGTERM/SIGINT. Workers are exec'd, so a reload runs
 * the binary now on disk and each worker starts with no inherited descriptors but the socket. */
#ifndef RW_MASTER_H
#define RW_MASTER_H

#include "config.h"

int master_run(const struct config *cfg);

#endif
