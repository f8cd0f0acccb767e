/* housekeep: the housekeeping process (`runwatch-api housekeeper`, exec'd and restarted
 * by serve's master like a worker) and `runwatch-api housekeep --once`. It runs the
 * periodic tasks of the housekeeping_tasks table, each one SQL function
 * (sql/functions/70_housekeeping.sql): fold the report rollups, expire leases on every
 * queue, prune worker samples, keep time partitions ahead and past their retention. */
#ifndef RW_HOUSEKEEP_H
#define RW_HOUSEKEEP_H

#include "config.h"

/* The process: leads when it wins the advisory lock (a non-leader stands by and
 * retries), then runs each task when it is due, until SIGTERM. Returns the exit code. */
int housekeep_main(const struct config *cfg);
/* Runs every task once, whether due or not, without leadership (each task is safe beside
 * a running housekeeper). 0 when every task succeeded, 1 otherwise. */
int housekeep_once(const struct config *cfg);

#endif
