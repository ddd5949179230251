//! REST calls from the browser.

use gloo_net::http::Request;
use protocol::{ErrorBody, ThreadCreated, ThreadSummary};

pub async fn list_threads() -> Result<Vec<ThreadSummary>, String> {
    let response = Request::get("/api/threads")
        .send()
        .await
        .map_err(|e| format!("Could not load threads: {e}"))?;
    if !response.ok() {
        return Err(error_of(response).await);
    }
    response.json().await.map_err(|e| e.to_string())
}

pub async fn create_thread() -> Result<String, String> {
    let response = Request::post("/api/threads")
        .send()
        .await
        .map_err(|e| format!("Could not create a thread: {e}"))?;
    if response.status() != 201 {
        return Err(error_of(response).await);
    }
    let created: ThreadCreated = response.json().await.map_err(|e| e.to_string())?;
    Ok(created.thread_id)
}

async fn error_of(response: gloo_net::http::Response) -> String {
    match response.json::<ErrorBody>().await {
        Ok(body) => body.error,
        Err(_) => format!("The server answered {}", response.status()),
    }
}
