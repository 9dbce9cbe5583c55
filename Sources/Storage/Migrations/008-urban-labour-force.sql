-- The bureau's registered unemployment rate (城镇登记失业率) is over the urban labour force: two counts
-- of persons of urban communities. Months stored before this migration hold 0 in both, so their urban
-- rate is absent (0 of 0) until the months are recomputed, never wrong.
ALTER TABLE unit_month_counts
    ADD COLUMN urban_labour_force bigint NOT NULL DEFAULT 0,
    ADD COLUMN urban_registered_unemployed bigint NOT NULL DEFAULT 0;
ALTER TABLE unit_month_count_history
    ADD COLUMN urban_labour_force bigint NOT NULL DEFAULT 0,
    ADD COLUMN urban_registered_unemployed bigint NOT NULL DEFAULT 0;
-- The history's columns now end with recorded_at before the new ones: name them.
CREATE OR REPLACE FUNCTION empmon_keep_count_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unit_month_count_history (period, unit_code, labour_force, employed, unemployed, registered_unemployed, new_employment, new_urban_employment, reemployed, hard_to_employ_reemployed, rural_labour_employed, rural_labour_employed_local, rural_labour_employed_in_province, rural_labour_employed_out_of_province, zero_employment_households, trained, assisted, assistance_target, unemployed_last_month, college_graduates, college_graduates_employed, reporting_units, expected_units, jobs_collected, recruitment_events, internship_posts, gig_market_services, entrepreneurship_trainees, jobs_created_by_entrepreneurship, training_completions, labour_disputes_handled, wage_arrears_cases, urban_labour_force, urban_registered_unemployed, updated_at, recorded_at)
    SELECT period, unit_code, labour_force, employed, unemployed, registered_unemployed, new_employment, new_urban_employment, reemployed, hard_to_employ_reemployed, rural_labour_employed, rural_labour_employed_local, rural_labour_employed_in_province, rural_labour_employed_out_of_province, zero_employment_households, trained, assisted, assistance_target, unemployed_last_month, college_graduates, college_graduates_employed, reporting_units, expected_units, jobs_collected, recruitment_events, internship_posts, gig_market_services, entrepreneurship_trainees, jobs_created_by_entrepreneurship, training_completions, labour_disputes_handled, wage_arrears_cases, urban_labour_force, urban_registered_unemployed, updated_at, now() FROM changed;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE VIEW indicator_values AS
    SELECT c.period, c.unit_code, v.indicator, v.value, c.updated_at
    FROM unit_month_counts AS c CROSS JOIN LATERAL (VALUES
        ('labour_force', c.labour_force),
        ('employed', c.employed),
        ('unemployed', c.unemployed),
        ('registered_unemployed', c.registered_unemployed),
        ('new_employment', c.new_employment),
        ('new_urban_employment', c.new_urban_employment),
        ('reemployed', c.reemployed),
        ('hard_to_employ_reemployed', c.hard_to_employ_reemployed),
        ('rural_labour_employed', c.rural_labour_employed),
        ('rural_labour_employed_local', c.rural_labour_employed_local),
        ('rural_labour_employed_in_province', c.rural_labour_employed_in_province),
        ('rural_labour_employed_out_of_province', c.rural_labour_employed_out_of_province),
        ('zero_employment_households', c.zero_employment_households),
        ('trained', c.trained),
        ('assisted', c.assisted),
        ('assistance_target', c.assistance_target),
        ('unemployed_last_month', c.unemployed_last_month),
        ('college_graduates', c.college_graduates),
        ('college_graduates_employed', c.college_graduates_employed),
        ('reporting_units', c.reporting_units),
        ('expected_units', c.expected_units),
        ('jobs_collected', c.jobs_collected),
        ('recruitment_events', c.recruitment_events),
        ('internship_posts', c.internship_posts),
        ('gig_market_services', c.gig_market_services),
        ('entrepreneurship_trainees', c.entrepreneurship_trainees),
        ('jobs_created_by_entrepreneurship', c.jobs_created_by_entrepreneurship),
        ('training_completions', c.training_completions),
        ('labour_disputes_handled', c.labour_disputes_handled),
        ('wage_arrears_cases', c.wage_arrears_cases),
        ('urban_labour_force', c.urban_labour_force),
        ('urban_registered_unemployed', c.urban_registered_unemployed)
    ) AS v (indicator, value);
