-- The same history rows as migration 4's trigger, written once per statement from its transition
-- table instead of once per row: a batch changes ~8,000 unit-month rows, and the row trigger's
-- per-row PL/pgSQL call was most of the time of its indicator upsert.
DROP TRIGGER unit_month_counts_history ON unit_month_counts;
DROP FUNCTION empmon_keep_count_history();
CREATE FUNCTION empmon_keep_count_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unit_month_count_history SELECT changed.*, now() FROM changed;
    RETURN NULL;
END;
$$;
-- One trigger per event: a trigger with transition tables may have only one. An INSERT … ON CONFLICT
-- DO UPDATE fires both, each with its own rows.
CREATE TRIGGER unit_month_counts_history_inserted AFTER INSERT ON unit_month_counts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION empmon_keep_count_history();
CREATE TRIGGER unit_month_counts_history_updated AFTER UPDATE ON unit_month_counts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION empmon_keep_count_history();
