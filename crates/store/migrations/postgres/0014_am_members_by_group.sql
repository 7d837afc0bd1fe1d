-- Alertmanager API ingest (issue 5): memberships are read by group (their primary key). The
-- index by fingerprint served only the minute-ly garbage collection of resolved alerts, and
-- cost every ingested alert one more random-position index insert (a page written to the WAL
-- per batch); the collection now finds the members with one pass over the table instead.
DROP INDEX am_group_alerts_fingerprint;
