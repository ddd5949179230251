//! Accepting connections, with limits that axum's `serve` does not offer:
//! a deadline for a request's headers (which also ends an idle kept-alive
//! connection), and a ceiling on open connections (HTTP and WebSocket
//! together), past which a new one is answered 503 with `Retry-After`
//! before a byte of it is read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::settings::Http;

/// How long in-flight requests may take to finish once the server stops.
const DRAIN: Duration = Duration::from_secs(5);

/// Open connections: HTTP ones counted here, upgraded WebSockets by
/// whoever serves them.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicUsize>);

impl Gauge {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn enter(&self) -> Entered {
        self.0.fetch_add(1, Ordering::Relaxed);
        Entered(self.clone())
    }
}

struct Entered(Gauge);

impl Drop for Entered {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `router` on `listener` until `shutdown` fires, then lets the
/// requests in flight finish (briefly). `websockets` counts the upgraded
/// connections, which the ceiling includes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Http,
    http_open: Gauge,
    websockets: impl Fn() -> usize,
    shutdown: CancellationToken,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: let some close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Without TCP_NODELAY two small frames sent back to back stall ~40 ms.
        let _ = stream.set_nodelay(true);
        if http_open.get() + websockets() >= limits.max_connections {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: at the ceiling");
            tokio::spawn(refuse(stream));
            continue;
        }
        let entered = http_open.enter();
        // The peer's address: sign-in failures are counted per address.
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(entered);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN:?}; stopping anyway");
    }
}

/// `503` with `Retry-After`, written straight to the socket: nothing of the
/// request is read, so an overload costs the server almost nothing.
async fn refuse(mut stream: TcpStream) {
    let body = serde_json::to_string(&protocol::ErrorBody::new(
        protocol::ErrorCode::Overloaded,
        "the server has as many connections open as it takes; try again in a moment",
    ))
    .expect("errors serialize");
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
