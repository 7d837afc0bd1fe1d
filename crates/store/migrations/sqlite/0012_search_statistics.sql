-- PostgreSQL gets expression statistics on lower(message) in this migration. SQLite's planner
-- does not use column statistics that way; the number is kept so both backends share a history.
SELECT 1;
