-- 0006 down: remove card CSV import jobs and mapping profiles.
DROP TABLE IF EXISTS import_jobs, import_profiles;
