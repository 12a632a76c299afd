-- What a VM was made with: its cloud-init settings (the password only as "set") and its seed, for the VM page,
-- a password reset through cloud-init, and removing the seed with the VM.
CREATE TABLE vm_cloud_init (
    uuid TEXT PRIMARY KEY,
    -- `VmCloudInit` as JSON.
    settings TEXT NOT NULL,
    -- The merged user-data mapping as YAML (a password appears only as its crypt hash).
    user_data TEXT NOT NULL,
    network_config TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    host_id INTEGER NOT NULL,
    pool_uuid TEXT NOT NULL,
    seed_volume TEXT NOT NULL
);

-- Creations in flight hold a name on a host and a quota reservation (in their params); finding them is cheap.
CREATE INDEX tasks_kind_state ON tasks (kind, state);
