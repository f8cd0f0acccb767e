/* migrate: `runwatch-api migrate`. Applies sql/migrations/NNNN_name.sql in order, each
 * once, each in its own transaction, recorded in schema_migrations with a checksum so
 * an edited, already-applied migration is an error rather than silently ignored. Then
 * re-applies the CREATE OR REPLACE files of sql/functions/ whose checksum changed
 * (recorded in schema_functions), all in one transaction, in name order. */
#ifndef RW_MIGRATE_H
#define RW_MIGRATE_H

#include "config.h"

int migrate_run(const struct config *cfg);
/* 1 when name looks like a migration file (NNNN_something.sql), else 0. */
int migrate_is_migration_name(const char *name);
/* 1 when name looks like a function file (something.sql, not hidden), else 0. */
int migrate_is_function_name(const char *name);

#endif
