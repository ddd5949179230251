use server::config::{self, Config, Storage};
use server::runtime::Runtime;
use server::startup;
use server::store::Store;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

// Many small, short-lived allocations per frame; glibc's malloc showed up
// in profiles and in tail latency.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = Config::from_env()?;
    let agent = server::agent::from_env()?;
    // cargo-leptos passes the site's paths in LEPTOS_* variables.
    let leptos = if std::env::var_os("LEPTOS_OUTPUT_NAME").is_some() {
        leptos::prelude::get_configuration(None)?.leptos_options
    } else {
        startup::default_leptos_options()
    };
    let addr = config::site_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, ?config, "listening");

    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            stop_signal().await;
            tracing::info!("shutting down");
            shutdown.cancel();
        }
    });
    let store = match config::storage()? {
        Storage::Memory => None,
        Storage::Database(url) => {
            let server_id = config::server_id(addr);
            Some(Store::open(&url, &server_id, config::lease()?).await?)
        }
    };
    let runtime = match &store {
        None => Runtime::new(config, agent),
        Some(store) => Runtime::durable(config, agent, store.clone()).await?,
    };
    startup::serve(listener, runtime, leptos, shutdown).await?;
    if let Some(store) = store {
        store.close().await;
    }
    Ok(())
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
