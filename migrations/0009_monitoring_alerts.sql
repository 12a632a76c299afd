-- Monitoring history: rolled-up points (average and maximum of every series over the step) per target
-- (`vm:<uuid>`, `host:<id>`) and tier (0: 1 min, 1: 30 min, 2: 6 h). Each tier keeps a bounded number of steps;
-- a VM's points go with the VM.
CREATE TABLE metric_points (
    target TEXT NOT NULL,
    tier INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    avg TEXT NOT NULL,
    max TEXT NOT NULL,
    PRIMARY KEY (target, tier, ts)
) WITHOUT ROWID;
-- Pruning each tier by age.
CREATE INDEX metric_points_age ON metric_points (tier, ts);

CREATE TRIGGER vms_delete_metrics AFTER DELETE ON vms
BEGIN DELETE FROM metric_points WHERE target = 'vm:' || OLD.uuid; END;

-- Notification channels. The configuration (addresses, URLs, secrets) is stored sealed with the installation's
-- key; `target` is what may be shown (secrets hidden). AUTOINCREMENT: ids are never reused.
CREATE TABLE notification_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config_sealed TEXT NOT NULL,
    target TEXT NOT NULL,
    has_secret INTEGER NOT NULL,
    language TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    metric TEXT NOT NULL,
    comparison TEXT NOT NULL,
    threshold REAL NOT NULL,
    for_seconds INTEGER NOT NULL,
    scope TEXT NOT NULL,
    severity TEXT NOT NULL,
    channels TEXT NOT NULL DEFAULT '[]',
    repeat_seconds INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    silenced_until INTEGER,
    created_at INTEGER NOT NULL
);

-- Alerts: pending (condition holds, not yet for long enough; dropped if it stops holding), firing, resolved.
-- The rule's name and the target's name are copied: the history outlives both.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id INTEGER NOT NULL,
    rule_name TEXT NOT NULL,
    rule_owner INTEGER NOT NULL,
    metric TEXT NOT NULL,
    severity TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL,
    vm_uuid TEXT,
    vm_owner INTEGER,
    state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    value REAL NOT NULL,
    peak REAL NOT NULL,
    threshold REAL NOT NULL,
    comparison TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    fired_at INTEGER,
    resolved_at INTEGER,
    notified_at INTEGER,
    acknowledged_by TEXT,
    acknowledged_at INTEGER
);
CREATE INDEX alerts_state ON alerts (state, rule_id);
CREATE INDEX alerts_vm ON alerts (vm_uuid, id);

-- Per VM and per person who silenced it: no notifications of their rules about the VM until then (of every
-- rule's, when `all_rules`: set by an operator or admin). A VM's owner cannot mute the operators' rules.
CREATE TABLE vm_alert_silences (
    vm_uuid TEXT NOT NULL,
    set_by INTEGER NOT NULL,
    all_rules INTEGER NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY (vm_uuid, set_by)
);

-- Each notification to each channel: its attempts and the remote end's last answer. A row still `pending` at
-- start-up is sent again: nothing acknowledged is lost.
CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER,
    channel_id INTEGER NOT NULL,
    channel_name TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    response TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_alert ON notification_deliveries (alert_id);
CREATE INDEX deliveries_channel ON notification_deliveries (channel_id, id);
CREATE INDEX deliveries_pending ON notification_deliveries (status) WHERE status = 'pending';
