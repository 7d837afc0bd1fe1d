-- Web UI profile: the test pages a person sent themselves ("send me a test page") are outbox
-- deliveries without an alert; the profile lists a user's latest ones with their state.
CREATE INDEX deliveries_user_tests ON deliveries (user_id, created_at) WHERE alert_id IS NULL;
