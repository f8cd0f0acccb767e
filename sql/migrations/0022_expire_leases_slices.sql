-- 0022: expire_leases() (sql/functions/25_leases.sql) takes a third argument, the most
-- runs one call moves, so the housekeeper requeues lapsed leases in bounded slices. The
-- two-argument version goes: beside the new one, every call that leaves the third
-- argument to its default would be ambiguous. The functions are applied after the
-- migrations, so the new version exists again before anything calls it.
DROP FUNCTION IF EXISTS expire_leases(bigint, text);
