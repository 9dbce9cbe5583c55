-- A processor keeps the person records of recent months it read or wrote in memory, and may use
-- them only while nobody else has written since. Every statement that writes the person ledger,
-- the household counts or the village counts draws a number from ledger_writes (a draw is seen by
-- every session at once and is never rolled back) and counts its own draws in a setting local to
-- its transaction: a transaction reads last_value minus its own draws, and that stays the same
-- exactly as long as no other statement wrote these tables. Statement triggers on the partitioned
-- parents: a statement that names a month's partition directly is not counted.
CREATE SEQUENCE ledger_writes;
SELECT setval('ledger_writes', 1, true);
CREATE FUNCTION empmon_count_ledger_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('ledger_writes');
    PERFORM set_config('empmon.own_ledger_writes',
        (coalesce(nullif(current_setting('empmon.own_ledger_writes', true), ''), '0')::bigint + 1)::text,
        true);
    RETURN NULL;
END $$;
CREATE TRIGGER person_ledger_writes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON person_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION empmon_count_ledger_write();
CREATE TRIGGER household_members_writes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON household_members
    FOR EACH STATEMENT EXECUTE FUNCTION empmon_count_ledger_write();
CREATE TRIGGER village_reports_writes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON village_reports
    FOR EACH STATEMENT EXECUTE FUNCTION empmon_count_ledger_write();
