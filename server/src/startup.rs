//! Builds the application from [`Settings`] and serves it: what `main` and
//! the tests share.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

use crate::agent::{self, Agent};
use crate::api;
use crate::runtime::Runtime;
use crate::settings::{Settings, Storage};
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<Runtime>,
    pub leptos: LeptosOptions,
    /// Assets change on disk while serving (`cargo leptos watch`).
    pub watch: bool,
    pub shutdown: CancellationToken,
    /// Open WebSocket connections, so shutdown can wait for their close frames.
    pub connections: TaskTracker,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let pages = generate_route_list(app::App);
    let shell = {
        let options = state.leptos.clone();
        move || app::shell(options.clone())
    };
    // Pages and their assets (a megabyte of WebAssembly) go out compressed;
    // the API and the WebSocket upgrade are left alone.
    let assets = ServeDir::new(pkg_dir(&state.leptos));
    // The build writes a brotli copy beside each asset (scripts/build.sh);
    // under `cargo leptos watch` those would be stale.
    let assets = match state.watch {
        true => assets,
        false => assets.precompressed_br(),
    };
    let site = Router::new()
        .nest_service(&format!("/{}", state.leptos.site_pkg_dir), assets)
        .leptos_routes(&state, pages, shell)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(CompressionLayer::new());
    Router::new()
        .route("/healthz", get(api::healthz))
        .route(
            "/api/threads",
            post(api::create_thread).get(api::list_threads),
        )
        .route("/api/threads/{thread_id}", get(api::get_thread))
        .route(
            "/api/threads/{thread_id}/decisions",
            get(api::list_decisions),
        )
        .route("/ws/threads/{thread_id}", get(api::connect))
        .merge(site)
        .with_state(state)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// A server, bound and with its storage open, ready to serve.
pub struct Application {
    listener: TcpListener,
    runtime: Arc<Runtime>,
    leptos: LeptosOptions,
    watch: bool,
}

impl Application {
    /// Binds the address, opens storage (recovering what the last process
    /// left) and starts the agent the settings name.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let agent = agent::from_settings(&settings.agent);
        Self::build_with(settings, agent).await
    }

    /// [`Application::build`] with an agent of the caller's (tests).
    pub async fn build_with(settings: Settings, agent: Arc<dyn Agent>) -> Result<Self, StartError> {
        let addr = settings.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        let runtime = match settings.storage {
            Storage::Memory => Runtime::new(settings.runs, agent),
            Storage::Database(db) => {
                let server_id = db.server_id.unwrap_or_else(|| default_server_id(bound));
                let store = Store::open(&db.url, &server_id, db.lease).await?;
                Runtime::durable(settings.runs, agent, store).await?
            }
        };
        let mut leptos = settings.site.leptos;
        leptos.site_addr = bound;
        Ok(Self {
            listener,
            runtime,
            leptos,
            watch: settings.site.watch,
        })
    }

    /// Where it listens (the real port when the settings said 0).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.leptos.site_addr
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Serves until `shutdown` fires, then closes every WebSocket with 1001,
    /// waits (briefly) for the close frames to go out, and closes storage.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let state = AppState {
            runtime: self.runtime.clone(),
            leptos: self.leptos,
            watch: self.watch,
            shutdown: shutdown.clone(),
            connections: TaskTracker::new(),
        };
        let connections = state.connections.clone();
        // Without TCP_NODELAY two small frames sent back to back stall ~40 ms.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await?;
        connections.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), connections.wait()).await;
        if let Some(store) = self.runtime.store() {
            store.close().await;
        }
        Ok(())
    }
}

/// This server's name to the others on one database: host and port.
fn default_server_id(addr: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", addr.port())
}

/// Where cargo-leptos writes the WebAssembly, JavaScript and CSS.
fn pkg_dir(options: &LeptosOptions) -> std::path::PathBuf {
    std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir)
}
