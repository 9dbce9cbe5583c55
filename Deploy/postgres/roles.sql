-- Least-privilege roles of the employment monitor. Run as a superuser after `empmon db migrate` (which the
-- owner role runs). Passwords are set separately: \password empmon_processor, …
CREATE ROLE empmon_owner LOGIN;          -- owns the schema; runs migrations; nothing else logs in as it
CREATE ROLE empmon_processor LOGIN;      -- the stream processor (and its alert evaluation)
CREATE ROLE empmon_api LOGIN;            -- empmon serve: reads, and stamps its tokens' last use
CREATE ROLE empmon_reader LOGIN;         -- Grafana and analysts' SQL: reads indicators, never the ledger
CREATE ROLE empmon_backup LOGIN REPLICATION;

GRANT CONNECT ON DATABASE empmon TO empmon_processor, empmon_api, empmon_reader;
GRANT USAGE ON SCHEMA public TO empmon_processor, empmon_api, empmon_reader;

-- The processor writes the ledger, the indicators, offsets, rejections, control totals, receipts, forecasts and alerts;
-- it reads agents.
GRANT SELECT, INSERT, UPDATE, DELETE ON consumer_offsets, person_ledger, person_ledger_superseded, person_ledger_displaced, household_members,
    village_reports, activity_ledger, activity_ledger_superseded, monitored_periods, unit_month_counts,
    unit_month_count_history, rejections, submission_manifests, receipt_outbox, forecast_runs, forecasts, alerts, alert_events,
    alert_deliveries
    TO empmon_processor;
GRANT SELECT ON agents, city_keys TO empmon_processor;
-- It registers the keys agents announce, and ends a one-time enrolment code when it is used.
GRANT SELECT, INSERT, UPDATE ON agent_keys TO empmon_processor;
GRANT UPDATE (enrolment_code_sha256, enrolment_expires_at) ON agents TO empmon_processor;
-- Until `empmon agent end-hmac` drops it (then this grant goes with the table).
GRANT SELECT ON legacy_hmac_secrets TO empmon_processor;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO empmon_processor;
-- It reads where the count of ledger writes stands (its cache of recent persons, see docs/architecture.md).
GRANT SELECT ON SEQUENCE ledger_writes TO empmon_processor;
GRANT EXECUTE ON FUNCTION empmon_ensure_month(date) TO empmon_processor;
-- Monthly partitions are created by empmon_ensure_month, which must own them: make it SECURITY DEFINER.
ALTER FUNCTION empmon_ensure_month(date) SECURITY DEFINER;
ALTER FUNCTION empmon_ensure_month(date) SET search_path = public;

-- The villages' data-quality measures are recomputed by a function of the owner's, which reads the ledger and writes
-- only per-village counts: the API, which may not read persons, has them recomputed through it (and reads the counts).
ALTER FUNCTION empmon_refresh_village_quality(date) SECURITY DEFINER;
ALTER FUNCTION empmon_refresh_village_quality(date) SET search_path = public;
ALTER FUNCTION empmon_quality_versions(date) SECURITY DEFINER;
ALTER FUNCTION empmon_quality_versions(date) SET search_path = public;
REVOKE EXECUTE ON FUNCTION empmon_refresh_village_quality(date), empmon_quality_versions(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION empmon_refresh_village_quality(date), empmon_quality_versions(date)
    TO empmon_processor, empmon_api;
GRANT SELECT ON village_month_quality, quality_refreshes TO empmon_processor, empmon_api, empmon_reader;

-- The API and the readers see indicators, forecasts, alerts; never persons, households, agents' secrets or keys.
GRANT SELECT ON unit_month_counts, unit_month_count_history, indicator_values, monitored_periods, forecast_runs, forecasts,
    alerts TO empmon_api, empmon_reader;
GRANT SELECT (id, unit_code, agent_id, reason_code, field, message_zh, message_en, rejected_at) ON rejections TO empmon_api;
GRANT SELECT, INSERT ON api_tokens TO empmon_api;
GRANT UPDATE (last_used_at) ON api_tokens TO empmon_api;
GRANT USAGE ON SEQUENCE api_tokens_id_seq TO empmon_api;

-- Connection caps keep one misbehaving client from starving the others.
ALTER ROLE empmon_api CONNECTION LIMIT 40;
ALTER ROLE empmon_reader CONNECTION LIMIT 20;
ALTER ROLE empmon_processor SET lock_timeout = '30s';
