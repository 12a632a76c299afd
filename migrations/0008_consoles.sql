-- Console share links: a secret link to one VM's console, for people without an account. Only the hash of the
-- secret is kept; a link ends at its expiry or when revoked. AUTOINCREMENT: ids are never reused.
CREATE TABLE console_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    vm_uuid TEXT NOT NULL,
    kind TEXT NOT NULL,
    view_only INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    uses INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX console_links_vm ON console_links (vm_uuid);

-- Console sessions: one row from open to close (who, which VM, kind, from where, bytes each way). A row still
-- open at start-up belonged to a process that stopped; it is closed as `interrupted`.
CREATE TABLE console_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vm_uuid TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id INTEGER,
    user_name TEXT NOT NULL,
    link_id INTEGER,
    view_only INTEGER NOT NULL,
    source TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT,
    bytes_to_vm INTEGER NOT NULL DEFAULT 0,
    bytes_from_vm INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX console_sessions_vm ON console_sessions (vm_uuid, ended_at);
