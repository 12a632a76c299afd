-- libvirt hosts, the index of their domains (libvirt stays the source of truth), and lifecycle events.
CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    uri TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    maintenance INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1)),
    created_at INTEGER NOT NULL
);

-- q_* hold what is counted against the owner's quota, so giving it back is exact.
CREATE TABLE vms (
    uuid TEXT PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    vcpus INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL,
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    q_vcpus INTEGER NOT NULL DEFAULT 0,
    q_memory_mib INTEGER NOT NULL DEFAULT 0,
    q_disk_gib INTEGER NOT NULL DEFAULT 0,
    seen_at INTEGER NOT NULL
);
CREATE INDEX vms_host ON vms (host_id);
CREATE INDEX vms_owner ON vms (owner_id);
CREATE INDEX vms_name ON vms (name);

CREATE TABLE vm_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vm_events_uuid ON vm_events (uuid, id);
