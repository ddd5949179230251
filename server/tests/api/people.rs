//! Servers with sign-in on, and the people who use them: each a browser
//! session (a cookie jar) or a program (a bearer token) that speaks HTTP
//! and WebSocket with its credentials.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::CookieStore;
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::agent::ResearchAgent;
use server::settings::{Auth, Database, Secret, Settings, Storage};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{fast_config, test_settings, Client, TestServer};

pub const ADMIN: (&str, &str) = ("admin", "admin password");

/// Sign-in on, with `admin` as the bootstrap admin.
pub fn auth_on() -> Auth {
    Auth {
        enabled: true,
        bootstrap_admin: Some((ADMIN.0.into(), Secret::new(ADMIN.1.into()))),
        ..Auth::default()
    }
}

/// A server with sign-in on, threads in memory.
pub async fn signed_server() -> TestServer {
    let settings = Settings {
        auth: auth_on(),
        ..test_settings(fast_config())
    };
    TestServer::build(settings, Arc::new(ResearchAgent)).await
}

/// A server with sign-in on and threads in an SQLite file (receipts need
/// storage). The directory lives as long as the returned guard.
pub async fn signed_stored_server(auth: Auth) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("hitl.db").display());
    let settings = Settings {
        auth,
        data_dir: dir.path().to_owned(),
        storage: Storage::Database(Database {
            url,
            server_id: Some("test".into()),
            lease: Duration::from_secs(15),
            listen_backoff: Duration::from_millis(500),
            durability: Default::default(),
        }),
        ..test_settings(fast_config())
    };
    (
        TestServer::build(settings, Arc::new(ResearchAgent)).await,
        dir,
    )
}

/// Someone using a server: a browser (cookies) or a program (a token).
pub struct Person {
    pub base: String,
    pub http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    token: Option<String>,
}

impl Person {
    /// A browser that has not signed in.
    pub fn anonymous(base: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: base.to_owned(),
            http,
            jar,
            token: None,
        }
    }

    /// A browser signed in as `name`.
    pub async fn signed_in(base: &str, name: &str, password: &str) -> Self {
        let person = Self::anonymous(base);
        let response = person.sign_in(name, password).await;
        assert_eq!(response.status(), 200, "sign-in of {name}");
        person
    }

    /// A program with a bearer token.
    pub fn with_token(base: &str, token: &str) -> Self {
        let mut person = Self::anonymous(base);
        person.token = Some(token.to_owned());
        person
    }

    pub async fn sign_in(&self, name: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/session"))
            .json(&json!({"name": name, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .authorized(self.http.get(self.url(path)))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.authorized(self.http.request(method, self.url(path)));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_thread(&self) -> String {
        let (status, body) = self.send("POST", "/api/threads", None).await;
        assert_eq!(status, 201, "{body}");
        body["thread_id"].as_str().unwrap().to_owned()
    }

    /// Creates an account (as an admin) and signs it in.
    pub async fn add_person(&self, name: &str, role: &str) -> Person {
        let password = format!("{name} password");
        let (status, body) = self
            .send(
                "POST",
                "/api/users",
                Some(json!({"name": name, "password": password, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        Person::signed_in(&self.base, name, &password).await
    }

    pub async fn create_token(&self, name: &str) -> Value {
        let (status, body) = self
            .send("POST", "/api/tokens", Some(json!({"name": name})))
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// The upgrade request with this person's credentials (and `origin`).
    pub fn ws_request(
        &self,
        thread_id: &str,
        origin: Option<&str>,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let url = format!("{}/ws/threads/{thread_id}", self.base.replace("http", "ws"));
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        if let Some(cookie) = self.jar.cookies(&self.base.parse().unwrap()) {
            headers.insert("cookie", cookie);
        }
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
            headers.insert("authorization", value);
        }
        if let Some(origin) = origin {
            headers.insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        request
    }

    /// Connects to the thread; the first frame must be its snapshot.
    pub async fn connect(&self, thread_id: &str) -> (Client, Value) {
        let request = self.ws_request(thread_id, None);
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client { ws };
        let snapshot = client.recv().await;
        assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
        (client, snapshot)
    }

    /// The status an upgrade is refused with (it must be refused).
    pub async fn refused_upgrade(&self, thread_id: &str, origin: Option<&str>) -> (u16, Value) {
        let request = self.ws_request(thread_id, origin);
        match tokio_tungstenite::connect_async(request).await {
            Ok(_) => panic!("the upgrade to {thread_id} was accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| serde_json::from_slice(b).unwrap_or(Value::Null))
                    .unwrap_or(Value::Null);
                (response.status().as_u16(), body)
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    /// A new thread of this person's, with a run waiting at its interrupt.
    pub async fn interrupted(&self) -> (String, Client, Value) {
        let thread_id = self.create_thread().await;
        let (mut client, _) = self.connect(&thread_id).await;
        client
            .send_message("Create a research plan for Anthropic")
            .await;
        let interrupt = client.recv_type("interrupt").await;
        (thread_id, client, interrupt)
    }
}

/// The admin of a server started with [`auth_on`].
pub async fn admin(server: &TestServer) -> Person {
    Person::signed_in(&server.url(""), ADMIN.0, ADMIN.1).await
}

/// Waits for the server to close `client` and returns the close code.
pub async fn closed_with(client: &mut Client, within: Duration) -> u16 {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next = tokio::time::timeout_at(deadline, client.ws.next())
            .await
            .expect("the socket was not closed in time");
        match next {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return 1005,
            Some(Ok(_)) => continue,
        }
    }
}
