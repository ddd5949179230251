//! The model agent with real MCP servers: the reference servers from PyPI
//! and npm (`scripts/mcp-servers.sh` installs them; `HITL_TEST_MCP_BIN`
//! names their folder), started by the agent over stdio and streamable
//! HTTP, with the byte-exact fake model deciding which tools to call.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::agent::mcp::McpConfig;
use server::agent::openai::ApprovalPolicy;

use crate::fake_model::*;
use crate::helpers::*;

/// The folder of the reference servers' commands. Without it the suite
/// fails: `./test.sh` always sets it.
fn bin(command: &str) -> String {
    let dir = std::env::var("HITL_TEST_MCP_BIN").expect(
        "HITL_TEST_MCP_BIN names the folder scripts/mcp-servers.sh prints (./test.sh sets it)",
    );
    Path::new(&dir).join(command).display().to_string()
}

fn call(id: &str, name: &str, args: Value) -> Reply {
    Completion::new()
        .tool_call(0, id, name, &args.to_string())
        .finish("tool_calls")
        .reply()
}

fn answer(text: &str) -> Reply {
    Completion::new().text(text).finish("stop").reply()
}

/// The content of the tool message answering `id` in a model request.
fn tool_output(request: &Value, id: &str) -> String {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
        .unwrap_or_else(|| panic!("no tool message for {id} in {request}"))["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn offered(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn start(model: &FakeModel, servers: Value, policy: Value) -> TestServer {
    let mcp = McpConfig::from_json(&json!({ "mcpServers": servers }).to_string()).unwrap();
    let policy = ApprovalPolicy::from_json(&policy.to_string()).unwrap();
    let agent = model.agent(|config| {
        config.mcp = Some(mcp);
        config.approval = policy;
    });
    let server = TestServer::with(fast_config(), agent).await;
    // Each server's first start over, whichever way it went: a slow start
    // on a busy machine is not what these tests measure.
    let deadline = Instant::now() + Duration::from_secs(60);
    while tool_servers(&server)
        .await
        .iter()
        .any(|s| s["status"] == "starting")
    {
        assert!(Instant::now() < deadline, "MCP servers still starting");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// A web site for `mcp-server-fetch` to read, on 127.0.0.1.
struct Site {
    url: String,
    /// Requests for `/slow`, which never answers.
    slow: Arc<AtomicUsize>,
}

async fn site() -> Site {
    use axum::routing::get;
    let slow = Arc::new(AtomicUsize::new(0));
    let hits = slow.clone();
    let app = axum::Router::new()
        .route(
            "/wiki/Tokio",
            get(|| async {
                axum::response::Html(
                    "<html><head><title>Tokio</title></head><body><main><h1>Tokio</h1>\
                     <p>Tokio is an asynchronous runtime for the Rust programming language, \
                     written by people who care about latency.</p></main></body></html>",
                )
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        );
    let addr = serve_on_loopback(app).await;
    Site {
        url: format!("http://{addr}"),
        slow,
    }
}

fn fetch_server() -> Value {
    json!({"command": bin("mcp-server-fetch"), "args": ["--ignore-robots-txt", "--allow-private-ips"]})
}

#[tokio::test]
async fn an_unnamed_tool_waits_then_approve_runs_it_for_real() {
    let model = FakeModel::start(vec![
        call(
            "call_time",
            "time__get_current_time",
            json!({"timezone": "UTC"}),
        ),
        answer("It is the time the tool said."),
    ])
    .await;
    let servers =
        json!({"time": {"command": bin("mcp-server-time"), "args": ["--local-timezone", "UTC"]}});
    let server = start(&model, servers, json!({"rules": []})).await;
    let (_, mut client, interrupt) = server.interrupted("What time is it?").await;

    // The server's own tools and schemas were offered, under its name.
    let first = &model.requests()[0];
    let names = offered(first);
    assert!(
        names.contains(&"time__get_current_time".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"time__convert_time".to_owned()),
        "{names:?}"
    );
    let schema = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "time__get_current_time")
        .unwrap()["function"]["parameters"]
        .clone();
    assert_eq!(schema["required"], json!(["timezone"]), "{schema}");

    // A tool no rule names waits, with approve, edit and reject.
    assert_eq!(
        interrupt["action_requests"][0]["name"],
        "time__get_current_time"
    );
    // With its schema, for the card's form.
    assert_eq!(
        interrupt["action_requests"][0]["args_schema"]["required"],
        json!(["timezone"])
    );
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "edit", "reject"])
    );
    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "executed");
    let output = result["output"].as_str().unwrap();
    let reading: Value = serde_json::from_str(output).expect("the server's JSON");
    assert_eq!(reading["timezone"], "UTC", "{output}");
    let year = reading["datetime"].as_str().unwrap()[..4]
        .parse::<i32>()
        .unwrap();
    assert!(year >= 2025, "{output}");
    // The model read exactly what the tool returned.
    assert_eq!(tool_output(&model.requests()[1], "call_time"), output);
}

#[tokio::test]
async fn edits_are_checked_against_the_tools_schema_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let target = root.join("notes.md");
    let model = FakeModel::start(vec![
        call(
            "call_write",
            "fs__write_file",
            json!({"path": target.display().to_string(), "content": "first draft"}),
        ),
        answer("Written."),
    ])
    .await;
    let servers = json!({"fs": {"command": bin("mcp-server-filesystem"), "args": [root.display().to_string()]}});
    let server = start(&model, servers, json!({"rules": []})).await;
    let (_, mut client, interrupt) = server.interrupted("Write my notes").await;
    assert_eq!(interrupt["action_requests"][0]["name"], "fs__write_file");

    // Two faults at once: a missing path and content of the wrong type.
    let bad = json!([{"type": "edit", "edited_action": {"name": "fs__write_file", "args": {"content": 5}}}]);
    client.decide(&interrupt["interrupt_id"], bad).await;
    let error = client.recv_type("error").await;
    assert_eq!(error["code"], "invalid_decision");
    let mut paths: Vec<&str> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/decisions/0/edited_action/args/content",
            "/decisions/0/edited_action/args/path"
        ],
        "{error}"
    );
    assert!(!target.exists(), "nothing ran");

    // The request still waits; a valid edit runs the real tool.
    let good = json!([{"type": "edit", "edited_action": {"name": "fs__write_file",
        "args": {"path": target.display().to_string(), "content": "second draft"}}}]);
    client.decide(&interrupt["interrupt_id"], good).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "second draft");
    let told = tool_output(&model.requests()[1], "call_write");
    assert!(
        told.starts_with("The user edited the arguments before it ran."),
        "{told}"
    );
}

#[tokio::test]
async fn a_condition_runs_a_call_at_once_and_an_edit_outside_it_goes_back() {
    let site = site().await.url;
    let wiki = format!("{site}/wiki/");
    let model = FakeModel::start(vec![
        call(
            "call_wiki",
            "fetch__fetch",
            json!({"url": format!("{wiki}Tokio")}),
        ),
        call(
            "call_other",
            "fetch__fetch",
            json!({"url": format!("{wiki}Tokio"), "raw": true}),
        ),
        answer("Done reading."),
    ])
    .await;
    let policy = json!({"rules": [
        {"tool": "fetch__fetch", "when": {"raw": {"equals": true}}, "decisions": ["approve", "edit", "reject"],
         "auto_when": {"url": {"starts_with": "https://never.example/"}}},
        {"tool": "fetch__fetch", "auto_when": {"url": {"starts_with": wiki}}, "decisions": ["approve", "reject"]}
    ]});
    let server = start(&model, json!({"fetch": fetch_server()}), policy).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("Read about Tokio").await;

    // The first call's condition held: it ran with nobody asked.
    let frames = client.recv_until("interrupt").await;
    let ran = of_type(&frames, "tool_result");
    assert_eq!(ran.len(), 1, "{frames:?}");
    let page = ran[0]["output"].as_str().unwrap();
    assert!(page.contains("asynchronous runtime for the Rust"), "{page}");

    // The second waits under the first rule, which allows edit. The person
    // drops `raw` and points it elsewhere: the edited call falls under the
    // second rule, which does not allow edit, so it comes back.
    let interrupt = frames.last().unwrap();
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "edit", "reject"])
    );
    let elsewhere = format!("{site}/private");
    let edit = json!([{"type": "edit", "edited_action": {"name": "fetch__fetch",
        "args": {"url": elsewhere}}}]);
    client.decide(&interrupt["interrupt_id"], edit).await;
    let frames = client.recv_until("interrupt").await;
    assert!(
        of_type(&frames, "tool_result").is_empty(),
        "nothing ran: {frames:?}"
    );
    let again = frames.last().unwrap();
    assert_eq!(
        again["action_requests"][0]["args"],
        json!({"url": elsewhere})
    );
    assert_eq!(
        again["review_configs"][0]["allowed_decisions"],
        json!(["approve", "reject"])
    );
    assert!(again["action_requests"][0]["description"]
        .as_str()
        .unwrap()
        .contains("needs a decision of its own"));
    client
        .decide(
            &again["interrupt_id"],
            json!([{"type": "reject", "message": "not that"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "rejected");
    assert_eq!(frames.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn respond_answers_in_the_tools_place() {
    let model = FakeModel::start(vec![
        call(
            "call_time",
            "time__get_current_time",
            json!({"timezone": "Europe/Paris"}),
        ),
        answer("You said it is teatime."),
    ])
    .await;
    let servers = json!({"time": {"command": bin("mcp-server-time")}});
    let policy =
        json!({"rules": [{"tool": "time__*", "decisions": ["approve", "reject", "respond"]}]});
    let server = start(&model, servers, policy).await;
    let (_, mut client, interrupt) = server.interrupted("What time is it?").await;
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "reject", "respond"])
    );
    // `edit` is not allowed here, `respond` without its message is not a decision.
    client
        .decide(&interrupt["interrupt_id"], json!([{"type": "respond"}]))
        .await;
    assert_eq!(client.recv_type("error").await["code"], "invalid_message");
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "respond", "message": "  "}]),
        )
        .await;
    let error = client.recv_type("error").await;
    assert_eq!(error["code"], "invalid_decision");
    assert!(
        error["error"].as_str().unwrap().contains("needs a message"),
        "{error}"
    );
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "respond", "message": "It is teatime."}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "responded");
    assert_eq!(result["output"], "It is teatime.");
    assert_eq!(
        tool_output(&model.requests()[1], "call_time"),
        "It is teatime."
    );
}

/// The pids of this process's children whose command line mentions `what`.
fn children(what: &str) -> Vec<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1));
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid == Some(me.as_str()) && String::from_utf8_lossy(&cmdline).contains(what)
        })
        .collect()
}

async fn tool_servers(server: &TestServer) -> Vec<Value> {
    server.get_json::<Vec<Value>>("/api/tools").await
}

#[tokio::test]
async fn a_server_that_dies_mid_call_is_a_tool_error_and_is_restarted() {
    let site = site().await;
    let model = FakeModel::start(vec![
        call(
            "call_slow",
            "fetch__fetch",
            json!({"url": format!("{}/slow", site.url)}),
        ),
        answer("The fetch failed; I will say so."),
    ])
    .await;
    let marker = format!("hitl-died-{}", std::process::id());
    let servers = json!({"fetch": {"command": bin("mcp-server-fetch"),
        "args": ["--ignore-robots-txt", "--allow-private-ips", "--user-agent", marker]}});
    let policy = json!({"rules": [{"tool": "fetch__*", "auto": true}]});
    let server = start(&model, servers, policy).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("Read the slow page").await;

    // The call is in flight (the page never answers): kill the server.
    let deadline = Instant::now() + Duration::from_secs(20);
    while site.slow.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the fetch never reached the page"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pids = children(&marker);
    assert!(!pids.is_empty());
    for pid in &pids {
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
    }

    // The run goes on: the model hears a tool error and answers.
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed", "{frames:?}");
    let told = tool_output(&model.requests()[1], "call_slow");
    assert!(told.contains("failed during the call"), "{told}");

    // And the server is started again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = tool_servers(&server).await;
        if report[0]["status"] == "ready" && report[0]["starts"] == 2 {
            assert!(report[0]["tools"]
                .as_array()
                .unwrap()
                .contains(&json!("fetch__fetch")));
            break;
        }
        assert!(Instant::now() < deadline, "not restarted: {report:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(children(&marker), pids, "a new process");
}

#[tokio::test]
async fn a_server_that_never_starts_is_reported_and_the_rest_work() {
    let model = FakeModel::start(vec![
        call(
            "call_time",
            "time__get_current_time",
            json!({"timezone": "UTC"}),
        ),
        answer("Done."),
    ])
    .await;
    let servers = json!({
        "broken": {"command": "/nonexistent/mcp-server"},
        "time": {"command": bin("mcp-server-time")}
    });
    let policy = json!({"rules": [{"tool": "time__*", "auto": true}]});
    let server = start(&model, servers, policy).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("What time is it?").await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed");
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    let names = offered(&model.requests()[0]);
    assert!(
        names.iter().all(|n| !n.starts_with("broken__")),
        "{names:?}"
    );
    assert!(names.contains(&"time__get_current_time".to_owned()));

    let report = tool_servers(&server).await;
    assert_eq!(report[0]["name"], "broken");
    assert_eq!(report[0]["status"], "restarting");
    let error = report[0]["error"].as_str().unwrap();
    assert!(
        error.contains("could not start `/nonexistent/mcp-server`"),
        "{error}"
    );
    assert_eq!(report[1]["status"], "ready");

    // And in the app: the tools page says which server is down and why.
    let page = reqwest::get(server.url("/tools")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("1 of 2 tool servers is not ready"), "{html}");
    let broken = &html[html.find(r#"data-server="broken""#).expect("broken listed")..];
    let broken = &broken[..broken.find("</li>").unwrap()];
    assert!(broken.contains("down, restarting"), "{broken}");
    assert!(
        broken.contains("could not start `/nonexistent/mcp-server`"),
        "{broken}"
    );
    assert!(html.contains("<code>time__get_current_time"), "{html}");
}

/// `mcp-server-everything` over streamable HTTP, on a free port.
struct HttpServer {
    child: tokio::process::Child,
    url: String,
}

impl HttpServer {
    async fn start() -> Self {
        let port = crate::binary::free_port();
        let child = tokio::process::Command::new(bin("mcp-server-everything"))
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "server-everything did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

#[tokio::test]
async fn a_server_over_streamable_http_works_like_one_over_stdio() {
    let http = HttpServer::start().await;
    let model = FakeModel::start(vec![
        call("call_echo", "every__echo", json!({"message": "over HTTP"})),
        answer("It echoed."),
    ])
    .await;
    let servers = json!({"every": {"url": http.url, "headers": {"X-Test": "1"}}});
    let policy = json!({"rules": [{"tool": "every__echo", "auto": true}]});
    let server = start(&model, servers, policy).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("Echo something").await;
    let frames = client.recv_until("run_finished").await;
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "executed");
    assert!(
        result["output"].as_str().unwrap().contains("over HTTP"),
        "{result}"
    );
    let report = tool_servers(&server).await;
    assert_eq!(report[0]["transport"], "http");
    assert_eq!(report[0]["status"], "ready");
    drop(http.child);
}

#[tokio::test]
async fn a_server_that_announces_new_tools_has_them_offered_on_the_next_turn() {
    let model = FakeModel::start(vec![
        call("call_unlock", "grow__unlock", json!({})),
        call("call_secret", "grow__secret", json!({})),
        answer("I found the secret."),
    ])
    .await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/fixtures/growing_tools.py");
    let servers =
        json!({"grow": {"command": bin("python-mcp"), "args": [script.display().to_string()]}});
    let policy = json!({"rules": [{"tool": "grow__*", "auto": true}]});
    let server = start(&model, servers, policy).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("Unlock it").await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed", "{frames:?}");

    let requests = model.requests();
    assert_eq!(
        offered(&requests[0])
            .iter()
            .filter(|n| n.starts_with("grow__"))
            .count(),
        1
    );
    // `unlock` said the list changed: the next turn was offered the new tool,
    // and it ran.
    assert!(offered(&requests[1]).contains(&"grow__secret".to_owned()));
    assert_eq!(tool_output(&requests[2], "call_secret"), "the secret");
}
