//! Builds the application and serves it: what `main` and the tests share.

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

use crate::api;
use crate::runtime::Runtime;

#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<Runtime>,
    pub leptos: LeptosOptions,
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
    let assets = match crate::assets::rebuilt_while_serving() {
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

/// Serves until `shutdown` fires, then closes every WebSocket with 1001
/// and waits (briefly) for the close frames to go out.
pub async fn serve(
    listener: TcpListener,
    runtime: Arc<Runtime>,
    leptos: LeptosOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let state = AppState {
        runtime,
        leptos,
        shutdown: shutdown.clone(),
        connections: TaskTracker::new(),
    };
    let connections = state.connections.clone();
    let pkg = pkg_dir(&state.leptos);
    if !crate::assets::rebuilt_while_serving() {
        tokio::task::spawn_blocking(move || match crate::assets::precompress(&pkg) {
            Ok(written) if !written.is_empty() => tracing::info!(?written, "assets compressed"),
            Ok(_) => {}
            Err(e) => tracing::info!(dir = %pkg.display(), error = %e, "assets not precompressed"),
        });
    }
    // Without TCP_NODELAY two small frames sent back to back stall ~40 ms.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    connections.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), connections.wait()).await;
    Ok(())
}

/// Where cargo-leptos writes the WebAssembly, JavaScript and CSS.
fn pkg_dir(options: &LeptosOptions) -> std::path::PathBuf {
    std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir)
}

/// Leptos settings for a server started outside cargo-leptos (tests, or
/// the binary run by hand): the paths cargo-leptos would have set.
pub fn default_leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("hitl")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .build()
}
