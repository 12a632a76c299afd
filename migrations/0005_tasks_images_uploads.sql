-- Long operations (tasks), the image library, and resumable uploads. New tables use AUTOINCREMENT (or random
-- ids): their ids are never reused.

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    -- What the task works on, as `pool:<uuid>/<volume>`, `image:<id>`, `upload:<id>`.
    target TEXT NOT NULL,
    -- No foreign key: a task's record outlives the account that started it.
    owner_id INTEGER,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress REAL NOT NULL DEFAULT 0,
    bytes_done INTEGER,
    bytes_total INTEGER,
    step TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    error_code TEXT,
    cancellable INTEGER NOT NULL DEFAULT 0,
    -- What the worker needs to run, resume or clean up (JSON).
    params TEXT NOT NULL DEFAULT '{}',
    -- What it made (JSON), e.g. `{"image_id": 4}`.
    result TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
);
CREATE INDEX tasks_owner ON tasks (owner_id, id);
CREATE INDEX tasks_state ON tasks (state);

-- ISOs and templates. The bytes live in a libvirt volume on one or more hosts (image_copies).
CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('iso', 'template')),
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    format TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    virtual_size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    os_family TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT 'x86_64',
    firmware TEXT NOT NULL DEFAULT 'bios',
    disk_bus TEXT NOT NULL DEFAULT 'virtio',
    min_disk_gib INTEGER NOT NULL DEFAULT 0,
    min_memory_mib INTEGER NOT NULL DEFAULT 0,
    cloud_init INTEGER NOT NULL DEFAULT 0,
    default_user TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    -- Disk quota this image counts against its owner (private images only).
    q_disk_gib INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE image_copies (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    pool_uuid TEXT NOT NULL,
    pool_name TEXT NOT NULL,
    volume TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (image_id, host_id)
);
CREATE INDEX image_copies_path ON image_copies (host_id, path);

-- tus uploads: the bytes are staged in the data directory until complete, then imported as a task.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    length INTEGER NOT NULL,
    -- Bytes durably received (synced to disk before this row says so).
    received INTEGER NOT NULL DEFAULT 0,
    -- The decoded Upload-Metadata, and what was validated from it (JSON).
    metadata TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('receiving', 'importing', 'imported', 'failed')),
    task_id INTEGER,
    image_id INTEGER,
    error_code TEXT,
    q_disk_gib INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX uploads_owner ON uploads (owner_id);

-- The pool (libvirt UUID) where a host's images are kept; made on first use when unset.
ALTER TABLE hosts ADD COLUMN images_pool TEXT;
