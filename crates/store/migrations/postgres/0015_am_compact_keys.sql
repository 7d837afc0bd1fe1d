-- Alertmanager API ingest (issue 5): smaller keys (see the SQLite migration of this number).
-- `am_alerts.fingerprint` is the 64-bit fingerprint as a BIGINT, offset by 2^63 (the u64 minus
-- 2^63, as a signed integer) so that integer order is the order of the hex strings the API
-- shows. `am_groups` gets a short integer `id`, and memberships reference it instead of
-- repeating the group key text in every row. Existing rows are carried over.

ALTER TABLE am_alerts ALTER COLUMN fingerprint TYPE BIGINT
    USING (('x' || lpad(lower(fingerprint), 16, '0'))::bit(64)::bigint # '-9223372036854775808'::bigint);

ALTER TABLE am_groups ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE am_groups ADD CONSTRAINT am_groups_id UNIQUE (id);

CREATE TABLE am_group_alerts_new (
    group_id BIGINT NOT NULL,
    fingerprint BIGINT NOT NULL,
    CONSTRAINT am_group_alerts_key PRIMARY KEY (group_id, fingerprint),
    CONSTRAINT am_group_alerts_group FOREIGN KEY (group_id) REFERENCES am_groups (id) ON DELETE CASCADE
);
INSERT INTO am_group_alerts_new (group_id, fingerprint)
SELECT g.id, ('x' || lpad(lower(m.fingerprint), 16, '0'))::bit(64)::bigint # '-9223372036854775808'::bigint
FROM am_group_alerts m JOIN am_groups g ON g.group_key = m.group_key;
DROP TABLE am_group_alerts;
ALTER TABLE am_group_alerts_new RENAME TO am_group_alerts;
