//! Builds the application from [`Settings`] and serves it: what `main` and
//! the tests share.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, delete, get, post};
use axum::Router;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;

use crate::agent::{self, Agent};
use crate::api;
use crate::auth::{self, AuthState};
use crate::metrics::Metrics;
use crate::pages;
use crate::quotas::Quotas;
use crate::receipts::{ReceiptError, Signer};
use crate::runtime::Runtime;
use crate::serve::{self, Gauge};
use crate::settings::{Http, Limits, Settings, Storage};
use crate::store::{self, Store, StoreError};

#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<Runtime>,
    pub auth: Arc<AuthState>,
    /// What each person may start per minute.
    pub quotas: Arc<Quotas>,
    /// Open HTTP connections (WebSockets are in `connections`).
    pub http_open: Gauge,
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

impl FromRef<AppState> for Arc<AuthState> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
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
    // The app's pages: signed-in only.
    let site = Router::new()
        .leptos_routes(&state, pages, shell)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .route("/account", get(pages::account))
        .route("/account/tokens", post(pages::create_token))
        .route(
            "/account/tokens/{token_id}/revoke",
            post(pages::revoke_token),
        )
        .route("/admin/users", get(pages::users).post(pages::create_user))
        .route("/admin/users/{user_id}", post(pages::change_user))
        .route("/threads/{thread_id}/audit", get(pages::audit))
        .route("/tools", get(pages::tools))
        .layer(from_fn(auth::http::require_page))
        .layer(CompressionLayer::new());
    use api::{accounts, session, threads};
    let api = Router::new()
        .route(
            "/api/threads",
            post(threads::create_thread)
                // Its body is not read: anything past a little is a mistake.
                .layer(RequestBodyLimitLayer::new(NEW_THREAD_BODY_LIMIT))
                .get(threads::list_threads),
        )
        .route("/api/threads/{thread_id}", get(threads::get_thread))
        .route("/api/tools", get(threads::tool_servers))
        .route(
            "/api/threads/{thread_id}/decisions",
            get(threads::list_decisions),
        )
        .route("/ws/threads/{thread_id}", get(threads::connect))
        .route(
            "/api/tokens",
            post(accounts::create_token).get(accounts::list_tokens),
        )
        .route("/api/tokens/{token_id}", delete(accounts::revoke_token))
        .route(
            "/api/users",
            post(accounts::create_user).get(accounts::list_users),
        )
        .route(
            "/api/users/{user_id}",
            axum::routing::patch(accounts::change_user),
        )
        .route_layer(from_fn(auth::http::require))
        // No endpoint takes more than a small JSON body.
        .layer(RequestBodyLimitLayer::new(API_BODY_LIMIT));
    // Reachable signed out.
    let open = Router::new()
        .route(
            "/api/session",
            post(session::sign_in)
                .delete(session::sign_out)
                .get(session::me),
        )
        .route("/api/receipts/key", get(session::receipt_key))
        .route("/api/receipts/keys", get(session::receipt_keys))
        .layer(RequestBodyLimitLayer::new(API_BODY_LIMIT));
    // Pages reachable signed out: their errors are pages, not JSON.
    let open_pages = Router::new()
        .route("/signin", get(pages::sign_in).post(pages::sign_in_form))
        .route("/signout", post(pages::sign_out))
        .route("/setup", get(pages::setup).post(pages::setup_form))
        .layer(RequestBodyLimitLayer::new(API_BODY_LIMIT));
    // Every error of the API is JSON, unknown paths under it included.
    let api = Router::new()
        .merge(api)
        .merge(open)
        .route("/api/{*rest}", any(api::no_such_endpoint))
        .route("/ws/{*rest}", any(api::no_such_endpoint))
        .layer(from_fn(api::json_errors));
    let signed = Router::new()
        .merge(api)
        .merge(open_pages)
        .merge(site)
        .layer(from_fn_with_state(state.auth.clone(), auth::http::identify))
        .layer(state.auth.layer());
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .nest_service(&format!("/{}", state.leptos.site_pkg_dir), assets)
        .merge(signed)
        .layer(from_fn_with_state(
            state.auth.clone(),
            auth::http::check_origin,
        ))
        .with_state(state)
}

/// The largest body an API endpoint takes (a sign-in, a new account).
const API_BODY_LIMIT: usize = 16 * 1024;
/// `POST /api/threads` reads no body.
const NEW_THREAD_BODY_LIMIT: usize = 1024;

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
    #[error(transparent)]
    Receipts(#[from] ReceiptError),
}

/// A server, bound and with its storage open, ready to serve.
pub struct Application {
    listener: TcpListener,
    runtime: Arc<Runtime>,
    auth: Arc<AuthState>,
    http: Http,
    limits: Limits,
    leptos: LeptosOptions,
    watch: bool,
}

impl Application {
    /// Binds the address, opens storage (recovering what the last process
    /// left) and starts the agent the settings name.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::default());
        let agent = agent::from_settings(&settings.agent, &metrics);
        Self::build_with_metrics(settings, agent, metrics).await
    }

    /// [`Application::build`] with an agent of the caller's (tests).
    pub async fn build_with(settings: Settings, agent: Arc<dyn Agent>) -> Result<Self, StartError> {
        Self::build_with_metrics(settings, agent, Arc::default()).await
    }

    async fn build_with_metrics(
        settings: Settings,
        agent: Arc<dyn Agent>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StartError> {
        let addr = settings.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        let (runtime, auth) = match settings.storage {
            Storage::Memory => {
                // Accounts need a database even when threads are kept in
                // memory: a private one, gone with the process.
                let (pool, backend) = store::connect("sqlite::memory:").await?;
                let auth =
                    AuthState::open(&settings.auth, pool, backend, "memory", &metrics).await?;
                (Runtime::new(settings.runs, agent, metrics), auth)
            }
            Storage::Database(db) => {
                let server_id = db
                    .server_id
                    .clone()
                    .unwrap_or_else(|| default_server_id(bound));
                let signer = Signer::load(settings.auth.receipt_key.as_ref(), &settings.data_dir)?;
                let store = Store::open(&db, &server_id, Arc::new(signer), metrics.clone()).await?;
                let auth = AuthState::open(
                    &settings.auth,
                    store.pool().clone(),
                    store.backend(),
                    &server_id,
                    &metrics,
                )
                .await?;
                auth.follow_revocations(store.revocations());
                (Runtime::durable(settings.runs, agent, store).await?, auth)
            }
        };
        let mut leptos = settings.site.leptos;
        leptos.site_addr = bound;
        Ok(Self {
            listener,
            runtime,
            auth,
            http: settings.http,
            limits: settings.limits,
            leptos,
            watch: settings.site.watch,
        })
    }

    /// The one-time link that creates the first admin, while no account
    /// exists and none was configured.
    pub fn setup_link(&self) -> Option<String> {
        let base = match self.auth.public_url() {
            Some(url) => url.to_owned(),
            None => format!("http://{}", self.leptos.site_addr),
        };
        self.auth.setup_link(&base)
    }

    pub fn auth(&self) -> &Arc<AuthState> {
        &self.auth
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
            auth: self.auth.clone(),
            quotas: Arc::new(Quotas::new(&self.limits)),
            http_open: Gauge::default(),
            leptos: self.leptos,
            watch: self.watch,
            shutdown: shutdown.clone(),
            connections: TaskTracker::new(),
        };
        let connections = state.connections.clone();
        let websockets = state.connections.clone();
        let http_open = state.http_open.clone();
        serve::serve(
            self.listener,
            router(state),
            self.http,
            http_open,
            move || websockets.len(),
            shutdown,
        )
        .await;
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
