use server::settings::Settings;
use server::startup::Application;
use tokio_util::sync::CancellationToken;

// Many small, short-lived allocations per frame; glibc's malloc showed up
// in profiles and in tail latency.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("verify-receipt") {
        return server::receipts::verify_receipt_command(&args[1..]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // A blocking thread that hashed a password holds Argon2's 19 MiB
        // until it ends: a second, not tokio's default ten.
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(
            &settings.log_filter,
        )?)
        .init();
    tracing::info!(?settings, "starting");
    let app = Application::build(settings).await?;
    tracing::info!(addr = %app.addr(), "listening");
    if let Some(link) = app.setup_link() {
        // On stdout, where `./run.sh` shows it, as Jupyter shows its link.
        println!(
            "\nNo account exists yet. Open this link to create the first admin:\n\n    {link}\n"
        );
        tracing::warn!("no account exists: open the setup link printed above");
    }
    app.run_until_stopped(stop_signal()).await?;
    Ok(())
}

/// Cancelled on Ctrl-C or SIGTERM.
fn stop_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let cancel = shutdown.clone();
    tokio::spawn(async move {
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
        tracing::info!("shutting down");
        cancel.cancel();
    });
    shutdown
}
