-- The directory's version: every change to users, teams, contact methods, notification rules
-- or escalation policies counts it up (statement triggers), so that the engine can keep what
-- it loaded from them between rounds and load again only after a change, by any process.
INSERT INTO counters (name, value) VALUES ('directory', 0);

CREATE FUNCTION klaxon_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
    RETURN NULL;
END
$$;

CREATE TRIGGER users_directory_version AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION klaxon_directory_changed();
CREATE TRIGGER teams_directory_version AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION klaxon_directory_changed();
CREATE TRIGGER contact_methods_directory_version AFTER INSERT OR UPDATE OR DELETE ON contact_methods
    FOR EACH STATEMENT EXECUTE FUNCTION klaxon_directory_changed();
CREATE TRIGGER notification_rules_directory_version AFTER INSERT OR UPDATE OR DELETE ON notification_rules
    FOR EACH STATEMENT EXECUTE FUNCTION klaxon_directory_changed();
CREATE TRIGGER escalations_directory_version AFTER INSERT OR UPDATE OR DELETE ON escalations
    FOR EACH STATEMENT EXECUTE FUNCTION klaxon_directory_changed();
