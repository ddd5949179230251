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

/// A signed-out browser goes to the sign-in page and comes back here.
pub fn to_sign_in() {
    let location = leptos::prelude::window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let next = String::from(js_sys::encode_uri_component(&here));
    let _ = location.assign(&format!("/signin?next={next}"));
}

async fn error_of(response: gloo_net::http::Response) -> String {
    if response.status() == 401 {
        to_sign_in();
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => body.error,
        Err(_) => format!("The server answered {}", response.status()),
    }
}
