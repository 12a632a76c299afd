//! Configuration: defaults, then a TOML file, then `HANGAR_*` environment variables (which win).
use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Database, uploads and everything else Hangar keeps.
    pub data_dir: PathBuf,
    /// Password of the `admin` account created at first start; random (and printed once) when unset.
    pub admin_password: Option<Secret>,
    /// Log filter, e.g. `info` or `hangar=debug,info`.
    pub log: String,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
    /// Mark cookies `Secure` (set when Hangar is served over HTTPS).
    pub secure_cookies: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub password_min_length: usize,
    pub avatar_max_bytes: usize,
    pub login_throttle: ThrottleConfig,
    pub http: HttpLimits,
    pub default_quota: DefaultQuota,
    pub storage: StorageConfig,
    pub uploads: UploadConfig,
    pub vms: VmConfig,
    pub consoles: ConsoleConfig,
    pub monitoring: MonitoringConfig,
    pub notifications: NotificationConfig,
    /// The host registered at first start: `auto` (the local daemon, else libvirt's demo driver),
    /// `none`, or a libvirt URI.
    pub bootstrap_host: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Failed logins per account within `window_seconds` before further attempts get `429`.
    pub per_account: u32,
    /// Failed logins per source address within `window_seconds` before further attempts get `429`.
    pub per_address: u32,
    pub window_seconds: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Seconds a client has to send a request's headers; also how long a quiet keep-alive connection stays.
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may pass with nothing sent either way (event streams send a keep-alive every 15 s).
    pub idle_timeout_seconds: u64,
    /// Connections open at once; more wait until one closes.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout_seconds: 15,
            idle_timeout_seconds: 60,
            max_connections: 1024,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directories under which new `dir`, `fs` and `netfs` pools may put their target path.
    pub pool_roots: Vec<PathBuf>,
    /// Where a host's images pool (`hangar-images`) is made when the host has none.
    pub images_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            pool_roots: vec![
                PathBuf::from("/var/lib/libvirt/images"),
                PathBuf::from("/srv"),
                PathBuf::from("/mnt"),
            ],
            images_dir: PathBuf::from("/var/lib/libvirt/images/hangar-images"),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadConfig {
    /// Where unfinished uploads are kept; `<data_dir>/uploads` when empty.
    pub staging_dir: Option<PathBuf>,
    /// Largest upload accepted, in bytes.
    pub max_bytes: i64,
    /// Hours an unfinished upload is kept after its creation.
    pub expiry_hours: i64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            staging_dir: None,
            max_bytes: 64 << 30,
            expiry_hours: 24,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmConfig {
    /// Domain type of new VMs: `kvm`, `qemu` (emulation) or `auto` (`kvm` when the host offers it, except
    /// on machines whose KVM is known not to run guests: a `kvm_pvm` module here means `qemu` everywhere).
    pub domain_type: String,
}

impl Default for VmConfig {
    fn default() -> Self {
        Self {
            domain_type: "auto".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Seconds a console ticket waits for its WebSocket.
    pub ticket_seconds: u64,
    /// Console sessions open at once, in all.
    pub max_sessions: usize,
    /// Console sessions one account (or one share link) may have open at once.
    pub max_sessions_per_user: usize,
    /// A session in which nothing moves either way for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Largest WebSocket message a browser may send (bytes); a larger one ends the session.
    pub max_frame_bytes: usize,
    /// Longest lifetime of a share link, in hours.
    pub link_max_hours: i64,
    /// Where the VNC server of a new VM on a remote host listens (with a random password, which the bridge
    /// answers): that host's address must be reachable from Hangar. Local VMs listen on 127.0.0.1 only.
    pub remote_vnc_listen: String,
    /// Origins allowed to open a console besides the one the request was addressed to (e.g. a reverse proxy's
    /// public `https://hangar.example.com`).
    pub allowed_origins: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// Seconds between two collections of every host's figures (alert rules are evaluated on each).
    pub interval_seconds: u64,
    /// `/metrics` on the main address answers only with this bearer token (none: it is not served there).
    pub metrics_token: Option<Secret>,
    /// A second address serving only `/metrics`, without authentication (e.g. `0.0.0.0:8066`).
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            interval_seconds: 10,
            metrics_token: None,
            metrics_listen: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationConfig {
    /// The address people reach Hangar at, for links in messages (e.g. `https://hangar.example.com`); none:
    /// `http://` and the address Hangar listens on.
    pub public_url: Option<String>,
    /// Allow webhooks and robots at loopback, private and link-local addresses (and Hangar itself).
    pub allow_private_webhooks: bool,
    /// Seconds to wait before each retry of a failed delivery (its length is the number of retries).
    pub retry_seconds: Vec<u64>,
    /// Seconds one delivery attempt may take.
    pub timeout_seconds: u64,
    pub smtp: SmtpConfig,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            allow_private_webhooks: false,
            retry_seconds: vec![10, 60, 300],
            timeout_seconds: 10,
            smtp: SmtpConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The mail server (none: email channels cannot send).
    pub host: Option<String>,
    pub port: u16,
    /// `starttls` (required), `tls` (implicit, port 465) or `none` (only for a relay on this machine).
    pub security: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    /// A PEM file of the CA that signed the server's certificate, besides the usual public ones.
    pub ca_file: Option<PathBuf>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: 587,
            security: "starttls".into(),
            username: None,
            password: None,
            from: "Hangar <hangar@localhost>".into(),
            ca_file: None,
        }
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            ticket_seconds: 30,
            max_sessions: 256,
            max_sessions_per_user: 8,
            idle_timeout_seconds: 1800,
            max_frame_bytes: 1 << 20,
            link_max_hours: 24,
            remote_vnc_listen: "0.0.0.0".into(),
            allowed_origins: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultQuota {
    pub max_vms: i64,
    pub max_vcpus: i64,
    pub max_memory_mib: i64,
    pub max_disk_gib: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            admin_password: None,
            log: "info".into(),
            log_json: false,
            secure_cookies: false,
            session_idle_minutes: 120,
            session_absolute_hours: 24,
            password_min_length: 10,
            avatar_max_bytes: 512 * 1024,
            login_throttle: ThrottleConfig::default(),
            http: HttpLimits::default(),
            default_quota: DefaultQuota::default(),
            storage: StorageConfig::default(),
            uploads: UploadConfig::default(),
            vms: VmConfig::default(),
            consoles: ConsoleConfig::default(),
            monitoring: MonitoringConfig::default(),
            notifications: NotificationConfig::default(),
            bootstrap_host: "auto".into(),
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
            window_seconds: 900,
        }
    }
}

impl Default for DefaultQuota {
    fn default() -> Self {
        Self {
            max_vms: 5,
            max_vcpus: 8,
            max_memory_mib: 8192,
            max_disk_gib: 100,
        }
    }
}

impl Config {
    /// Reads the file (if any), then applies the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(key: &str, v: &str) -> anyhow::Result<T> {
            v.parse().map_err(|_| anyhow::anyhow!("{key}: cannot parse {v:?}"))
        }
        fn flag(key: &str, v: &str) -> anyhow::Result<bool> {
            match v {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" | "" => Ok(false),
                _ => bail!("{key}: expected true or false, got {v:?}"),
            }
        }
        if let Some(v) = get("HANGAR_LISTEN") {
            self.listen = parse("HANGAR_LISTEN", &v)?;
        }
        if let Some(v) = get("HANGAR_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HANGAR_ADMIN_PASSWORD") {
            self.admin_password = Some(Secret(v));
        }
        if let Some(v) = get("HANGAR_LOG") {
            self.log = v;
        }
        if let Some(v) = get("HANGAR_LOG_JSON") {
            self.log_json = flag("HANGAR_LOG_JSON", &v)?;
        }
        if let Some(v) = get("HANGAR_SECURE_COOKIES") {
            self.secure_cookies = flag("HANGAR_SECURE_COOKIES", &v)?;
        }
        if let Some(v) = get("HANGAR_BOOTSTRAP_HOST") {
            self.bootstrap_host = v;
        }
        if let Some(v) = get("HANGAR_HTTP_HEADER_READ_TIMEOUT_SECONDS") {
            self.http.header_read_timeout_seconds = parse("HANGAR_HTTP_HEADER_READ_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = get("HANGAR_HTTP_IDLE_TIMEOUT_SECONDS") {
            self.http.idle_timeout_seconds = parse("HANGAR_HTTP_IDLE_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = get("HANGAR_HTTP_MAX_CONNECTIONS") {
            self.http.max_connections = parse("HANGAR_HTTP_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("HANGAR_DOMAIN_TYPE") {
            self.vms.domain_type = v;
        }
        if let Some(v) = get("HANGAR_UPLOADS_STAGING_DIR") {
            self.uploads.staging_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HANGAR_UPLOADS_MAX_BYTES") {
            self.uploads.max_bytes = parse("HANGAR_UPLOADS_MAX_BYTES", &v)?;
        }
        if let Some(v) = get("HANGAR_UPLOADS_EXPIRY_HOURS") {
            self.uploads.expiry_hours = parse("HANGAR_UPLOADS_EXPIRY_HOURS", &v)?;
        }
        if let Some(v) = get("HANGAR_STORAGE_POOL_ROOTS") {
            self.storage.pool_roots = v.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect();
        }
        if let Some(v) = get("HANGAR_CONSOLE_MAX_SESSIONS") {
            self.consoles.max_sessions = parse("HANGAR_CONSOLE_MAX_SESSIONS", &v)?;
        }
        if let Some(v) = get("HANGAR_CONSOLE_MAX_SESSIONS_PER_USER") {
            self.consoles.max_sessions_per_user = parse("HANGAR_CONSOLE_MAX_SESSIONS_PER_USER", &v)?;
        }
        if let Some(v) = get("HANGAR_CONSOLE_IDLE_TIMEOUT_SECONDS") {
            self.consoles.idle_timeout_seconds = parse("HANGAR_CONSOLE_IDLE_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = get("HANGAR_CONSOLE_MAX_FRAME_BYTES") {
            self.consoles.max_frame_bytes = parse("HANGAR_CONSOLE_MAX_FRAME_BYTES", &v)?;
        }
        if let Some(v) = get("HANGAR_CONSOLE_LINK_MAX_HOURS") {
            self.consoles.link_max_hours = parse("HANGAR_CONSOLE_LINK_MAX_HOURS", &v)?;
        }
        if let Some(v) = get("HANGAR_CONSOLE_REMOTE_VNC_LISTEN") {
            self.consoles.remote_vnc_listen = v;
        }
        if let Some(v) = get("HANGAR_CONSOLE_ALLOWED_ORIGINS") {
            self.consoles.allowed_origins = v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = get("HANGAR_MONITORING_INTERVAL_SECONDS") {
            self.monitoring.interval_seconds = parse("HANGAR_MONITORING_INTERVAL_SECONDS", &v)?;
        }
        if let Some(v) = get("HANGAR_METRICS_TOKEN") {
            self.monitoring.metrics_token = Some(Secret(v));
        }
        if let Some(v) = get("HANGAR_METRICS_LISTEN") {
            self.monitoring.metrics_listen = Some(parse("HANGAR_METRICS_LISTEN", &v)?);
        }
        if let Some(v) = get("HANGAR_PUBLIC_URL") {
            self.notifications.public_url = Some(v);
        }
        if let Some(v) = get("HANGAR_ALLOW_PRIVATE_WEBHOOKS") {
            self.notifications.allow_private_webhooks = flag("HANGAR_ALLOW_PRIVATE_WEBHOOKS", &v)?;
        }
        if let Some(v) = get("HANGAR_NOTIFY_RETRY_SECONDS") {
            self.notifications.retry_seconds = v
                .split(',')
                .map(|s| parse("HANGAR_NOTIFY_RETRY_SECONDS", s.trim()))
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = get("HANGAR_SMTP_HOST") {
            self.notifications.smtp.host = Some(v);
        }
        if let Some(v) = get("HANGAR_SMTP_PORT") {
            self.notifications.smtp.port = parse("HANGAR_SMTP_PORT", &v)?;
        }
        if let Some(v) = get("HANGAR_SMTP_SECURITY") {
            self.notifications.smtp.security = v;
        }
        if let Some(v) = get("HANGAR_SMTP_USERNAME") {
            self.notifications.smtp.username = Some(v);
        }
        if let Some(v) = get("HANGAR_SMTP_PASSWORD") {
            self.notifications.smtp.password = Some(Secret(v));
        }
        if let Some(v) = get("HANGAR_SMTP_FROM") {
            self.notifications.smtp.from = v;
        }
        if let Some(v) = get("HANGAR_SMTP_CA_FILE") {
            self.notifications.smtp.ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HANGAR_SESSION_IDLE_MINUTES") {
            self.session_idle_minutes = parse("HANGAR_SESSION_IDLE_MINUTES", &v)?;
        }
        if let Some(v) = get("HANGAR_SESSION_ABSOLUTE_HOURS") {
            self.session_absolute_hours = parse("HANGAR_SESSION_ABSOLUTE_HOURS", &v)?;
        }
        Ok(())
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.password_min_length < 8 {
            bail!("password_min_length must be at least 8");
        }
        if !(1..=3600).contains(&self.monitoring.interval_seconds) {
            bail!("monitoring.interval_seconds must be between 1 and 3600");
        }
        if !matches!(self.notifications.smtp.security.as_str(), "starttls" | "tls" | "none") {
            bail!("notifications.smtp.security must be starttls, tls or none");
        }
        if !matches!(self.vms.domain_type.as_str(), "auto" | "kvm" | "qemu") {
            bail!("vms.domain_type must be auto, kvm or qemu");
        }
        if self.session_idle_minutes < 1 || self.session_absolute_hours < 1 {
            bail!("session lifetimes must be positive");
        }
        if self.http.header_read_timeout_seconds < 1
            || self.http.idle_timeout_seconds < 1
            || self.http.max_connections < 1
        {
            bail!("http timeouts and max_connections must be positive");
        }
        let c = &self.consoles;
        if c.max_sessions < 1
            || c.ticket_seconds < 1
            || c.max_sessions_per_user < 1
            || c.idle_timeout_seconds < 1
            || c.max_frame_bytes < 1024
            || c.link_max_hours < 1
        {
            bail!("consoles: limits must be positive and max_frame_bytes at least 1024");
        }
        if c.remote_vnc_listen.parse::<std::net::IpAddr>().is_err() {
            bail!("consoles.remote_vnc_listen must be an IP address");
        }
        if self.uploads.max_bytes < 1 || self.uploads.expiry_hours < 1 {
            bail!("uploads.max_bytes and uploads.expiry_hours must be positive");
        }
        if self.storage.pool_roots.iter().any(|r| !r.is_absolute()) || !self.storage.images_dir.is_absolute() {
            bail!("storage.pool_roots and storage.images_dir must be absolute paths");
        }
        if let Some(p) = &self.admin_password {
            if p.0.chars().count() < self.password_min_length {
                bail!(
                    "HANGAR_ADMIN_PASSWORD is shorter than the minimum of {} characters",
                    self.password_min_length
                );
            }
        }
        Ok(())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("hangar.db")
    }

    pub fn staging_dir(&self) -> PathBuf {
        self.uploads
            .staging_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("uploads"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_file_and_secrets_stay_hidden() {
        let mut cfg: Config = toml::from_str("listen = \"0.0.0.0:9000\"\nlog = \"debug\"").unwrap();
        cfg.apply_env(|k| match k {
            "HANGAR_LISTEN" => Some("127.0.0.1:7000".into()),
            "HANGAR_ADMIN_PASSWORD" => Some("correct horse battery".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.listen.port(), 7000);
        assert_eq!(cfg.log, "debug");
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("correct horse"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn rejects_unknown_keys_and_short_admin_password() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        let mut cfg = Config::default();
        cfg.apply_env(|k| (k == "HANGAR_ADMIN_PASSWORD").then(|| "short".into()))
            .unwrap();
        assert!(cfg.validate().is_err());
        assert!(Config::default()
            .apply_env(|k| (k == "HANGAR_LISTEN").then(|| "nope".into()))
            .is_err());
    }
}
