-- Searches compare lower(message) (OpsGenie queries are case-insensitive). Without statistics
-- on that expression the planner guesses ~10 matches for any pattern and walks the whole
-- created_at index (or scans and sorts) where the newest matching page is a few rows away
-- (docs/benchmarks.md, web UI list: message search 110 ms -> 2.3 ms at 100,000 alerts).
CREATE STATISTICS IF NOT EXISTS alerts_lower_message ON (lower(message)) FROM alerts;
ANALYZE alerts;
