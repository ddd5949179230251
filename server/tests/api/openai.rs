//! The OpenAI-compatible agent against a fake model server that speaks the
//! streaming format byte for byte, over a real WebSocket.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::agent::openai::ApprovalPolicy;

use crate::fake_model::*;
use crate::helpers::*;

async fn start(model: &FakeModel) -> TestServer {
    TestServer::with(fast_config(), model.agent(|_| {})).await
}

fn plan_turn() -> Reply {
    Completion::new()
        .text("I'll draft a plan for you. ")
        .tool_call(
            0,
            "call_plan",
            "create_research_plan",
            &plan_args("Tokio", &["Read the docs", "Read the source"]),
        )
        .finish("tool_calls")
        .reply()
}

/// One turn calling `create_research_plan` once per (id, topic, step).
fn plan_calls(calls: &[(&str, &str, &str)]) -> Reply {
    let mut turn = Completion::new();
    for (i, (id, topic, step)) in calls.iter().enumerate() {
        turn = turn.tool_call(i, id, "create_research_plan", &plan_args(topic, &[step]));
    }
    turn.finish("tool_calls").reply()
}

fn answer(text: &str) -> Reply {
    Completion::new().text(text).finish("stop").reply()
}

/// The tool messages of a request, as (tool_call_id, content).
fn tool_messages(request: &Value) -> Vec<(String, String)> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn edit_runs_the_edited_plan_and_the_model_answers_from_its_result() {
    let model = FakeModel::start(vec![
        plan_turn(),
        answer("The plan on Rust async is ready."),
    ])
    .await;
    let server = start(&model).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("Research Tokio").await;

    let frames = client.recv_until("interrupt").await;
    assert_eq!(streamed_text(&frames), "I'll draft a plan for you. ");
    assert!(
        of_type(&frames, "message_delta").len() > 1,
        "text streams in pieces"
    );
    let interrupt = frames.last().unwrap();
    let request = &interrupt["action_requests"][0];
    assert_eq!(request["name"], "create_research_plan");
    // The plan has its own card: no schema sent for a form.
    assert!(request.get("args_schema").is_none(), "{request}");
    assert_eq!(
        request["args"],
        json!({"topic": "Tokio", "steps": ["Read the docs", "Read the source"]})
    );
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "edit", "reject"])
    );

    let edited =
        json!({"topic": "Rust async", "steps": ["Read the book", "Build a server", "Profile it"]});
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "edit", "edited_action": {"name": "create_research_plan", "args": edited}}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "executed");
    let output = result["output"].as_str().unwrap();
    assert!(
        output.contains("3-step research plan on Rust async"),
        "{output}"
    );
    assert!(output.contains("3. Profile it"), "{output}");
    assert_eq!(streamed_text(&frames), "The plan on Rust async is ready.");
    assert_eq!(frames.last().unwrap()["status"], "completed");

    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    // The first request declares the tools with JSON Schema and streams.
    let first = &requests[0];
    assert_eq!(first["model"], MODEL);
    assert_eq!(first["stream"], true);
    let plan_tool = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "create_research_plan")
        .unwrap();
    assert_eq!(plan_tool["type"], "function");
    assert_eq!(
        plan_tool["function"]["parameters"]["required"],
        json!(["topic", "steps"])
    );
    assert_eq!(first["messages"][0]["role"], "system");
    assert_eq!(
        first["messages"][1],
        json!({"role": "user", "content": "Research Tokio"})
    );
    // The second carries the model's call and the edited plan's result.
    let second = &requests[1];
    let call = &second["messages"][2];
    assert_eq!(call["role"], "assistant");
    assert_eq!(call["content"], "I'll draft a plan for you. ");
    assert_eq!(call["tool_calls"][0]["id"], "call_plan");
    assert_eq!(
        call["tool_calls"][0]["function"]["name"],
        "create_research_plan"
    );
    let results = tool_messages(second);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, "call_plan");
    assert!(results[0].1.contains("edited"), "{}", results[0].1);
    assert!(results[0].1.contains("Rust async"), "{}", results[0].1);
    assert_eq!(
        model.headers(0)["authorization"],
        format!("Bearer {API_KEY}").as_str()
    );
}

#[tokio::test]
async fn reject_feeds_the_reason_back_to_the_model() {
    let model = FakeModel::start(vec![
        plan_turn(),
        answer("Understood, I will not create it. What should change?"),
    ])
    .await;
    let server = start(&model).await;
    let (_, mut client, interrupt) = server.interrupted("Research Tokio").await;
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "reject", "message": "Too shallow, add benchmarks"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    let result = of_type(&frames, "tool_result")[0];
    assert_eq!(result["status"], "rejected");
    assert!(streamed_text(&frames).contains("What should change?"));
    assert_eq!(frames.last().unwrap()["status"], "completed");
    let results = tool_messages(&model.requests()[1]);
    assert_eq!(results[0].0, "call_plan");
    assert!(results[0].1.contains("rejected"), "{}", results[0].1);
    assert!(results[0].1.contains("Too shallow, add benchmarks"));
}

#[tokio::test]
async fn two_tool_calls_in_one_turn_are_one_interrupt_decided_together() {
    let both = plan_calls(&[("call_a", "Tokio", "Read"), ("call_b", "Axum", "Write")]);
    let model = FakeModel::start(vec![both, answer("One done, one not.")]).await;
    let server = start(&model).await;
    let (_, mut client, interrupt) = server.interrupted("Research Tokio and Axum").await;
    let requests = interrupt["action_requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1]["args"]["topic"], "Axum");

    // One decision per request, or the interrupt stays pending.
    client
        .decide(&interrupt["interrupt_id"], json!([{"type": "approve"}]))
        .await;
    assert_eq!(client.recv().await["code"], "invalid_decision");
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "approve"}, {"type": "reject", "message": "not now"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    let statuses: Vec<_> = of_type(&frames, "tool_result")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("executed"), json!("rejected")]);
    assert_eq!(frames.last().unwrap()["status"], "completed");
    let results = tool_messages(&model.requests()[1]);
    assert_eq!(results[0].0, "call_a");
    assert!(results[0].1.contains("research plan on Tokio"));
    assert_eq!(results[1].0, "call_b");
    assert!(results[1].1.contains("not now"));
}

#[tokio::test]
async fn which_tools_wait_for_a_person_is_configuration() {
    let turn = || {
        Completion::new()
            .tool_call(0, "call_t", "get_current_time", "{}")
            .finish("tool_calls")
            .reply()
    };
    // By default the clock runs without review…
    let model = FakeModel::start(vec![turn(), answer("It is now.")]).await;
    let server = start(&model).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message("What time is it?").await;
    let frames = client.recv_until("run_finished").await;
    assert!(of_type(&frames, "interrupt").is_empty());
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    let results = tool_messages(&model.requests()[1]);
    assert!(
        results[0].1.starts_with("20"),
        "an RFC 3339 time: {}",
        results[0].1
    );

    // …and with a policy that names it, it waits, with only the decisions
    // the policy allows.
    let model = FakeModel::start(vec![turn(), answer("It is now.")]).await;
    let agent = model.agent(|config| {
        config.approval = ApprovalPolicy::parse("get_current_time:approve,reject").unwrap();
    });
    let server = TestServer::with(fast_config(), agent).await;
    let (_, mut client, interrupt) = server.interrupted("What time is it?").await;
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "reject"])
    );
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "edit", "edited_action": {"name": "get_current_time", "args": {}}}]),
        )
        .await;
    assert_eq!(client.recv().await["code"], "invalid_decision");
    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn a_policy_file_fails_closed_and_runs_calls_its_conditions_allow() {
    let clock = |args: &str| {
        Completion::new()
            .tool_call(0, "call_t", "get_current_time", args)
            .finish("tool_calls")
            .reply()
    };
    let plan = |topic: &str| plan_calls(&[("call_p", topic, "Read")]);
    // The file lets plans on Rust through; any other plan, and every tool
    // it does not name, waits for a person.
    let policy = ApprovalPolicy::from_json(
        r#"{"rules": [
            {"tool": "create_*", "decisions": ["approve", "reject"],
             "auto_when": {"topic": {"equals": "Rust"}}}
        ]}"#,
    )
    .unwrap();
    let model = FakeModel::start(vec![plan("Rust"), plan("Go"), answer("Done.")]).await;
    let agent = model.agent(|config| config.approval = policy.clone());
    let server = TestServer::with(fast_config(), agent).await;
    let (_, mut client, interrupt) = server.interrupted("What time is it?").await;
    // The first call ran without anyone: its condition held.
    let first = tool_messages(&model.requests()[1]);
    assert!(
        first[0]
            .1
            .starts_with("Created a 1-step research plan on Rust"),
        "ran: {}",
        first[0].1
    );
    // The second waits, with the rule's decisions.
    assert_eq!(
        interrupt["action_requests"][0]["args"],
        json!({"topic": "Go", "steps": ["Read"]})
    );
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "reject"])
    );
    client.approve(&interrupt).await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed");

    // A policy that does not name the tool: it waits, with every decision.
    let model = FakeModel::start(vec![clock("{}"), answer("Done.")]).await;
    let agent = model.agent(|config| {
        config.approval = ApprovalPolicy::from_json(r#"{"rules": []}"#).unwrap();
    });
    let server = TestServer::with(fast_config(), agent).await;
    let (_, _, interrupt) = server.interrupted("What time is it?").await;
    assert_eq!(
        interrupt["review_configs"][0]["allowed_decisions"],
        json!(["approve", "edit", "reject"])
    );
}

#[tokio::test]
async fn the_model_reads_the_thread_history() {
    let model = FakeModel::start(vec![
        plan_turn(),
        answer("Plan created."),
        answer("Tokio is an async runtime."),
    ])
    .await;
    let server = start(&model).await;
    let (thread_id, mut client, interrupt) = server.interrupted("Research Tokio").await;
    client.approve(&interrupt).await;
    client.recv_type("run_finished").await;
    client.send_message("Summarise it").await;
    let finished = client.recv_type("run_finished").await;
    assert_eq!(finished["status"], "completed");

    let third = &model.requests()[2];
    let roles: Vec<_> = third["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    let earlier = third["messages"][2]["content"].as_str().unwrap();
    assert!(earlier.contains("I'll draft a plan for you."), "{earlier}");
    assert!(earlier.contains("research plan on Tokio"), "{earlier}");
    assert!(earlier.contains("Plan created."), "{earlier}");
    assert_eq!(third["messages"][3]["content"], "Summarise it");
    let snapshot: Value = server.get_json(&format!("/api/threads/{thread_id}")).await;
    assert_eq!(snapshot["status"], "idle");
}

/// Sends a message to a fresh thread and returns the run's `run_finished`
/// and everything before it.
async fn failed_run(server: &TestServer, content: &str) -> (String, Vec<Value>) {
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    client.send_message(content).await;
    let frames = client.recv_until("run_finished").await;
    let finished = frames.last().unwrap();
    assert_eq!(finished["status"], "failed", "{finished}");
    let error = finished["error"].as_str().unwrap().to_owned();
    assert!(!error.contains(API_KEY), "the key leaked: {error}");

    // The thread stays usable and keeps the user's message.
    let snapshot: Value = server.get_json(&format!("/api/threads/{thread_id}")).await;
    assert_eq!(snapshot["status"], "idle");
    assert_eq!(snapshot["messages"][0]["content"], content);
    client.send_message("again").await;
    assert_eq!(client.recv().await["type"], "run_started");
    (error, frames)
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_the_run_clearly() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let agent = server::agent::openai::OpenAiAgent::new(server::agent::openai::OpenAiConfig::new(
        format!("http://{addr}/v1"),
        MODEL,
    ));
    let server = TestServer::with(fast_config(), std::sync::Arc::new(agent)).await;
    let (error, _) = failed_run(&server, "hello").await;
    assert!(
        error.contains("could not reach the model server"),
        "{error}"
    );
    assert!(error.contains(&addr.to_string()), "{error}");
}

#[tokio::test]
async fn a_refused_key_is_reported_without_the_key() {
    // Servers echo (part of) a wrong key; the error must not.
    let body = json!({"error": {"message": format!("Incorrect API key provided: {API_KEY}."), "type": "invalid_request_error", "code": "invalid_api_key"}});
    let model = FakeModel::start(vec![
        Reply::Status(401, vec![], body.to_string()),
        Reply::Status(401, vec![], body.to_string()),
    ])
    .await;
    let server = start(&model).await;
    let (error, _) = failed_run(&server, "hello").await;
    assert!(error.contains("401"), "{error}");
    assert!(error.contains("OPENAI_API_KEY"), "{error}");
    assert!(error.contains("[redacted]"), "{error}");
}

#[tokio::test]
async fn an_unknown_model_names_the_model() {
    let body =
        json!({"error": {"message": "model \"test-model\" not found, try pulling it first"}});
    let model = FakeModel::start(vec![
        Reply::Status(404, vec![], body.to_string()),
        Reply::Status(404, vec![], body.to_string()),
    ])
    .await;
    let server = start(&model).await;
    let (error, _) = failed_run(&server, "hello").await;
    assert!(error.contains("no model \"test-model\""), "{error}");
    assert!(error.contains("try pulling it first"), "{error}");
    assert!(error.contains("HITL_MODEL"), "{error}");
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_the_server_asks() {
    let busy = || {
        Reply::Status(
            429,
            vec![("retry-after", "1".into())],
            json!({"error": {"message": "Rate limit reached"}}).to_string(),
        )
    };
    let model = FakeModel::start(vec![busy(), answer("Hello after waiting.")]).await;
    let server = start(&model).await;
    let thread_id = server.create_thread().await;
    let (mut client, _) = server.connect(&thread_id).await;
    let started = Instant::now();
    client.send_message("hello").await;
    let frames = client.recv_until("run_finished").await;
    assert_eq!(frames.last().unwrap()["status"], "completed");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(streamed_text(&frames), "Hello after waiting.");
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn retries_are_bounded() {
    let busy = || {
        Reply::Status(
            429,
            vec![("retry-after", "0".into())],
            json!({"error": {"message": "Rate limit reached"}}).to_string(),
        )
    };
    let too_long = Reply::Status(429, vec![("retry-after", "3600".into())], String::new());
    let model = FakeModel::start(vec![busy(), busy(), busy(), busy(), too_long]).await;
    let server = start(&model).await;
    let (error, _) = failed_run(&server, "hello").await;
    assert!(error.contains("HTTP 429) after 3 retries"), "{error}");
    assert!(error.contains("Rate limit reached"), "{error}");
    // The second message met a server asking for an hour: not waited for.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while model.requests().len() < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(model.requests().len(), 5);
}

#[tokio::test]
async fn a_malformed_stream_fails_the_run() {
    let mut bytes = Completion::new().text("Partial ").bytes();
    bytes.extend_from_slice(b"data: {\"choices\": [oops\n\n");
    let model = FakeModel::start(vec![Reply::Stream(bytes)]).await;
    let server = start(&model).await;
    let (error, frames) = failed_run(&server, "hello").await;
    assert!(error.contains("malformed"), "{error}");
    // What streamed before the fault stays.
    assert_eq!(streamed_text(&frames), "Partial ");
}

#[tokio::test]
async fn a_truncated_stream_fails_the_run_and_keeps_the_text() {
    let bytes = Completion::new().text("Half an answer ").bytes();
    let model = FakeModel::start(vec![Reply::Stream(bytes)]).await;
    let server = start(&model).await;
    let (error, frames) = failed_run(&server, "hello").await;
    assert!(
        error.contains("ended before the answer was complete"),
        "{error}"
    );
    assert_eq!(streamed_text(&frames), "Half an answer ");
}

#[tokio::test]
async fn tool_arguments_that_are_not_json_fail_the_run() {
    let turn = Completion::new()
        .tool_call(
            0,
            "call_x",
            "create_research_plan",
            r#"{"topic": "Tokio", "steps": ["#,
        )
        .finish("tool_calls")
        .reply();
    let model = FakeModel::start(vec![turn]).await;
    let server = start(&model).await;
    let (error, frames) = failed_run(&server, "hello").await;
    assert!(error.contains("not a JSON object"), "{error}");
    assert!(error.contains("create_research_plan"), "{error}");
    assert!(of_type(&frames, "interrupt").is_empty());
}

#[tokio::test]
async fn a_call_that_fails_its_schema_goes_back_to_the_model_not_to_a_person() {
    let bad = Completion::new()
        .tool_call(
            0,
            "call_bad",
            "create_research_plan",
            r#"{"topic": "", "steps": []}"#,
        )
        .finish("tool_calls")
        .reply();
    let model = FakeModel::start(vec![bad, plan_turn(), answer("Done.")]).await;
    let server = start(&model).await;
    let (_, mut client, interrupt) = server.interrupted("Research Tokio").await;
    assert_eq!(interrupt["action_requests"][0]["args"]["topic"], "Tokio");
    let results = tool_messages(&model.requests()[1]);
    assert_eq!(results[0].0, "call_bad");
    assert!(results[0].1.starts_with("Error:"), "{}", results[0].1);
    client.approve(&interrupt).await;
    assert_eq!(
        client.recv_type("run_finished").await["status"],
        "completed"
    );
}

#[tokio::test]
async fn a_run_resumes_from_its_checkpoint_with_the_conversation() {
    let model = FakeModel::start(vec![plan_turn(), answer("Resumed and done.")]).await;
    let (server, store, _dir) = TestServer::stored(model.agent(|_| {})).await;
    let (thread_id, _client, _) = server.interrupted("Research Tokio").await;
    let (pending, checkpoint) = stored_checkpoint(&store, &thread_id).await;

    let fresh = server.create_thread().await;
    let (mut client, _) = server.connect(&fresh).await;
    server
        .runtime
        .thread(&fresh)
        .unwrap()
        .resume(
            &pending,
            checkpoint,
            server::agent::Resolution::Decided(vec![protocol::Decision::Approve]),
        )
        .unwrap();
    let frames = client.recv_until("run_finished").await;
    assert_eq!(of_type(&frames, "tool_result")[0]["status"], "executed");
    assert_eq!(streamed_text(&frames), "Resumed and done.");
    let second = &model.requests()[1];
    assert_eq!(second["messages"][1]["content"], "Research Tokio");
    assert_eq!(tool_messages(second)[0].0, "call_plan");
}

#[tokio::test]
async fn two_calls_of_one_tool_under_different_rules_get_what_both_allow() {
    let both = plan_calls(&[
        ("call_safe", "Safe", "Read"),
        ("call_other", "Other", "Write"),
    ]);
    let model = FakeModel::start(vec![both, answer("Neither ran.")]).await;
    // Plans on "Safe" may be approved or edited; any other plan only rejected.
    let policy = ApprovalPolicy::from_json(
        r#"{"rules": [
            {"tool": "create_research_plan", "when": {"topic": {"equals": "Safe"}},
             "decisions": ["approve", "edit", "reject"]},
            {"tool": "create_research_plan", "decisions": ["reject"]}
        ]}"#,
    )
    .unwrap();
    let agent = model.agent(|config| config.approval = policy);
    let server = TestServer::with(fast_config(), agent).await;
    let (_, mut client, interrupt) = server.interrupted("Two plans").await;
    // One config for the tool: the second call's rule does not allow
    // approve, so neither call may be approved.
    assert_eq!(
        interrupt["review_configs"],
        json!([{"action_name": "create_research_plan", "allowed_decisions": ["reject"]}])
    );
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "reject"}, {"type": "approve"}]),
        )
        .await;
    assert_eq!(client.recv().await["code"], "invalid_decision");
    client
        .decide(
            &interrupt["interrupt_id"],
            json!([{"type": "reject"}, {"type": "reject"}]),
        )
        .await;
    let frames = client.recv_until("run_finished").await;
    let statuses: Vec<_> = of_type(&frames, "tool_result")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("rejected"), json!("rejected")]);
}
