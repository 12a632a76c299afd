-- Ids are never reused: users, hosts and API tokens take the next id from id_sequences, which only grows.
-- (Rebuilding the tables with AUTOINCREMENT would need foreign keys off, which a migration cannot do.)
CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

-- Ids handed out before this migration may have been deleted since: the audit log remembers the highest.
INSERT INTO id_sequences (name, last) VALUES
    ('users', MAX(
        COALESCE((SELECT MAX(id) FROM users), 0),
        COALESCE((SELECT MAX(actor_id) FROM audit_log), 0),
        COALESCE((SELECT MAX(CAST(substr(target, 6) AS INTEGER)) FROM audit_log
                  WHERE target LIKE 'user:%' AND action LIKE 'user.%'), 0))),
    ('hosts', MAX(
        COALESCE((SELECT MAX(id) FROM hosts), 0),
        COALESCE((SELECT MAX(CAST(substr(target, 6) AS INTEGER)) FROM audit_log WHERE target LIKE 'host:%'), 0))),
    ('api_tokens', MAX(
        COALESCE((SELECT MAX(id) FROM api_tokens), 0),
        COALESCE((SELECT MAX(CAST(substr(target, 7) AS INTEGER)) FROM audit_log WHERE target LIKE 'token:%'), 0)));

CREATE TRIGGER users_id_fresh BEFORE INSERT ON users
WHEN NEW.id <= (SELECT last FROM id_sequences WHERE name = 'users')
BEGIN SELECT RAISE(ABORT, 'users: ids are never reused'); END;
CREATE TRIGGER users_id_advance AFTER INSERT ON users
BEGIN UPDATE id_sequences SET last = NEW.id WHERE name = 'users'; END;

CREATE TRIGGER hosts_id_fresh BEFORE INSERT ON hosts
WHEN NEW.id <= (SELECT last FROM id_sequences WHERE name = 'hosts')
BEGIN SELECT RAISE(ABORT, 'hosts: ids are never reused'); END;
CREATE TRIGGER hosts_id_advance AFTER INSERT ON hosts
BEGIN UPDATE id_sequences SET last = NEW.id WHERE name = 'hosts'; END;

CREATE TRIGGER api_tokens_id_fresh BEFORE INSERT ON api_tokens
WHEN NEW.id <= (SELECT last FROM id_sequences WHERE name = 'api_tokens')
BEGIN SELECT RAISE(ABORT, 'api_tokens: ids are never reused'); END;
CREATE TRIGGER api_tokens_id_advance AFTER INSERT ON api_tokens
BEGIN UPDATE id_sequences SET last = NEW.id WHERE name = 'api_tokens'; END;

-- Settings of this installation; `installation_id` is written into the metadata of every domain Hangar owns.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- What a domain's metadata says about its owner when Hangar does not honour it (another installation, an
-- unknown or deleted user): shown to admins, never granted. Ownership comes from vms.owner_id alone.
ALTER TABLE vms ADD COLUMN claimed_owner TEXT;

-- A deleted user's VMs are no longer counted anywhere.
CREATE TRIGGER users_delete_uncount BEFORE DELETE ON users
BEGIN UPDATE vms SET q_vcpus = 0, q_memory_mib = 0, q_disk_gib = 0 WHERE owner_id = OLD.id; END;
