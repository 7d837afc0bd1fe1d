-- The directory's version: every change to users, teams, contact methods, notification rules
-- or escalation policies counts it up (row triggers), so that the engine can keep what it
-- loaded from them between rounds and load again only after a change.
INSERT INTO counters (name, value) VALUES ('directory', 0);

CREATE TRIGGER users_directory_insert AFTER INSERT ON users BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER users_directory_update AFTER UPDATE ON users BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER users_directory_delete AFTER DELETE ON users BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER teams_directory_insert AFTER INSERT ON teams BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER teams_directory_update AFTER UPDATE ON teams BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER teams_directory_delete AFTER DELETE ON teams BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER contact_methods_directory_insert AFTER INSERT ON contact_methods BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER contact_methods_directory_update AFTER UPDATE ON contact_methods BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER contact_methods_directory_delete AFTER DELETE ON contact_methods BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER notification_rules_directory_insert AFTER INSERT ON notification_rules BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER notification_rules_directory_update AFTER UPDATE ON notification_rules BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER notification_rules_directory_delete AFTER DELETE ON notification_rules BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER escalations_directory_insert AFTER INSERT ON escalations BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER escalations_directory_update AFTER UPDATE ON escalations BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
CREATE TRIGGER escalations_directory_delete AFTER DELETE ON escalations BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'directory';
END;
