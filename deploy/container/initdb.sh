#!/bin/bash
# initdb.sh: the roles and database Runwatch needs, made once when the postgres
# container initialises its data directory (/docker-entrypoint-initdb.d). The same
# roles deploy/stack/postgres.sh makes for the dev stack (tests/deploy checks that the
# runwatch_report settings agree), with passwords (from the runwatch_db_password
# secret) since here they connect over the network; and a replication login for the
# streaming replica (postgres-replica), which pg_basebackup's the primary.
set -euo pipefail
pw=$(</run/secrets/runwatch_db_password)
psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -X -q)
"${psql[@]}" -d postgres -v pw="$pw" <<'SQL'
CREATE ROLE runwatch LOGIN PASSWORD :'pw';
CREATE ROLE runwatch_report LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 64 PASSWORD :'pw';
ALTER ROLE runwatch_report SET default_transaction_read_only = on;
ALTER ROLE runwatch_report SET statement_timeout = '5s';
ALTER ROLE runwatch_report SET search_path = report;
ALTER ROLE runwatch_report SET work_mem = '16MB';
ALTER ROLE runwatch_report SET temp_file_limit = '256MB';
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'pw';
ALTER DATABASE runwatch OWNER TO runwatch;
SQL
"${psql[@]}" -d runwatch -v app_role=runwatch -f /runwatch-sql-setup/report_confine.sql
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
