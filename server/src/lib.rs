//! The hangar server: configuration, start-up, and the modules behind the HTTP API and the UI.
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod services;
pub mod state;
pub mod virt;

use auth::throttle::Throttle;
use config::Config;
use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_sessions_sqlx_store::SqliteStore;

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The admin password when it was generated at this start (printed once by `hangar serve`).
    pub generated_admin_password: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The separate `/metrics` listener, if configured: it ends with the server.
    metrics: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Collection and notification delivery: they end with the server (pending deliveries resume at the next
    /// start).
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        if let Some(m) = self.metrics.take() {
            m.abort();
            let _ = m.await;
        }
        for t in self.background.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }

    /// Serves until the process is asked to stop (Ctrl-C or SIGTERM).
    pub async fn wait(self) -> anyhow::Result<()> {
        Ok(self.task.await??)
    }
}

/// Makes allocations of 1 MiB and more (a password hash takes 19 MiB) come straight from the OS and go back to
/// it when freed. glibc otherwise raises that threshold after the first such free and keeps the memory in each
/// thread's arena: 200 sign-ins left the process 300 MiB larger for good.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Opens the data directory and database, creates the first admin if needed, and starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    return_large_allocations();
    std::fs::create_dir_all(&config.data_dir)?;
    let pool = db::open(&config.db_path()).await?;
    let store = SqliteStore::new(pool.clone())
        .with_table_name("sessions")
        .map_err(|e| anyhow::anyhow!(e))?;
    store.migrate().await?;
    tokio::spawn({
        use tower_sessions::ExpiredDeletion;
        let store = store.clone();
        async move {
            store
                .continuously_delete_expired(tokio::time::Duration::from_secs(600))
                .await
        }
    });
    let config = Arc::new(config);
    let (virt_tx, virt_rx) = tokio::sync::mpsc::unbounded_channel();
    let state = AppState {
        db: pool.clone(),
        throttle: Arc::new(Throttle::new(config.login_throttle.clone())),
        config: config.clone(),
        virt: Arc::new(virt::Virt::new(virt_tx)),
        events: tokio::sync::broadcast::channel(1024).0,
        principals: tokio::sync::broadcast::channel(256).0,
        vm_list: Arc::new(services::vm_list::VmSnapshot::open(&config.db_path()).await?),
        installation: db::meta::installation_id(&pool).await?.into(),
        tasks: Arc::default(),
        uploads: Arc::default(),
        consoles: Arc::default(),
        monitor: Arc::new(services::monitoring::Monitor::new(config.monitoring.interval_seconds)),
        alerts: Arc::default(),
        deliverer: Arc::new(services::deliver::Deliverer::new(
            services::secrets::SecretBox::open_or_create(&config.data_dir)?,
        )),
    };
    std::fs::create_dir_all(config.staging_dir())?;
    let generated_admin_password = services::users::bootstrap_admin(&state).await?;
    services::auth::seed_throttle(&state).await?;
    for d in services::quota::check_usage(&state.db, &auth::Caller::system("startup"), true).await? {
        tracing::warn!(user = %d.username, recorded = ?d.recorded, actual = ?d.actual, "quota usage repaired");
    }
    services::hosts::bootstrap(&state, &config.bootstrap_host).await?;
    for h in db::hosts::list(&state.db).await? {
        state.virt.add(h.id, &h.uri);
    }
    tokio::spawn(services::inventory::run(state.clone(), virt_rx));
    services::tasks::recover(&state).await?;
    let interrupted = db::consoles::close_interrupted(&state.db, db::now_ms()).await?;
    if interrupted > 0 {
        tracing::info!(
            sessions = interrupted,
            "console sessions of the previous run closed as interrupted"
        );
    }
    tokio::spawn(services::consoles::watch_principals(state.clone()));
    tokio::spawn(services::consoles::revalidate_loop(state.clone()));
    tokio::spawn(services::uploads::expire_loop(state.clone()));
    let api = http::api_router(state.clone(), auth::session::layer(store, &config));
    let app = http::app(api);
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let mut own = vec![addr];
    let mut metrics = None;
    if let Some(m) = config.monitoring.metrics_listen {
        let l = TcpListener::bind(m).await?;
        own.push(l.local_addr()?);
        tracing::info!(addr = %l.local_addr()?, "serving /metrics without authentication");
        let router = http::monitoring::open_router(state.clone());
        metrics = Some(tokio::spawn(async move { axum::serve(l, router).await }));
    }
    *state.deliverer.own.write().unwrap_or_else(|p| p.into_inner()) = own;
    let background = vec![
        tokio::spawn(services::collector::run(state.clone())),
        tokio::spawn(services::deliver::run(state.clone())),
    ];
    let (tx, rx) = oneshot::channel::<()>();
    let limits = http::serve::Limits {
        header_read: std::time::Duration::from_secs(config.http.header_read_timeout_seconds),
        idle: std::time::Duration::from_secs(config.http.idle_timeout_seconds),
        max_connections: config.http.max_connections,
    };
    let task = tokio::spawn(http::serve::serve(listener, app, limits, async move {
        tokio::select! {
            _ = rx => {}
            _ = shutdown_signal() => {}
        }
    }));
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "hangar listening");
    Ok(Running {
        addr,
        state,
        generated_admin_password,
        shutdown: Some(tx),
        task,
        metrics,
        background,
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
