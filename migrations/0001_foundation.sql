-- Accounts, quotas, API tokens and the append-only audit log. Times are Unix milliseconds.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'user', 'auditor')),
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    language TEXT NOT NULL DEFAULT 'en',
    avatar BLOB,
    avatar_type TEXT,
    password_changed_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE quotas (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    max_vms INTEGER NOT NULL CHECK (max_vms >= 0),
    max_vcpus INTEGER NOT NULL CHECK (max_vcpus >= 0),
    max_memory_mib INTEGER NOT NULL CHECK (max_memory_mib >= 0),
    max_disk_gib INTEGER NOT NULL CHECK (max_disk_gib >= 0),
    used_vms INTEGER NOT NULL DEFAULT 0 CHECK (used_vms >= 0),
    used_vcpus INTEGER NOT NULL DEFAULT 0 CHECK (used_vcpus >= 0),
    used_memory_mib INTEGER NOT NULL DEFAULT 0 CHECK (used_memory_mib >= 0),
    used_disk_gib INTEGER NOT NULL DEFAULT 0 CHECK (used_disk_gib >= 0)
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- actor_id is deliberately not a foreign key: records outlive the accounts they name.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_id INTEGER,
    actor TEXT,
    source TEXT,
    action TEXT NOT NULL,
    target TEXT,
    result TEXT NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
