//! Sign-in over real HTTP: what is open and what needs credentials, the
//! session cookie, one answer for a wrong name or password, brute force
//! slowed down, and the one-time setup link.

use std::sync::Arc;

use serde_json::{json, Value};
use server::agent::ResearchAgent;
use server::settings::{Auth, Settings};
use server::startup::Application;

use crate::helpers::{fast_config, test_settings};
use crate::people::*;

#[tokio::test]
async fn without_credentials_the_api_and_the_upgrade_are_401_and_pages_redirect() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let thread_id = admin.create_thread().await;
    let nobody = Person::anonymous(&server.url(""));
    for (method, path) in [
        ("GET", "/api/threads".to_owned()),
        ("POST", "/api/threads".to_owned()),
        ("GET", format!("/api/threads/{thread_id}")),
        ("GET", format!("/api/threads/{thread_id}/decisions")),
        ("GET", "/api/tokens".to_owned()),
        ("GET", "/api/users".to_owned()),
        ("GET", "/api/session".to_owned()),
    ] {
        let (status, body) = nobody.send(method, &path, None).await;
        assert_eq!(status, 401, "{method} {path}");
        assert_eq!(body["code"], "unauthenticated", "{method} {path}: {body}");
    }
    let (status, body) = nobody.refused_upgrade(&thread_id, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthenticated");
    // A bearer token that is not one.
    let forged = Person::with_token(&server.url(""), "hitl_not-a-real-token");
    assert_eq!(forged.get("/api/threads").await.0, 401);

    let open = nobody
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let page = nobody
        .http
        .get(server.url(&format!("/threads/{thread_id}?x=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        format!("/signin?next=%2Fthreads%2F{thread_id}%3Fx%3D1").as_str()
    );
    let home = nobody.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/signin");
    let form = nobody.http.get(server.url("/signin")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("name=\"password\""));
}

#[tokio::test]
async fn a_session_cookie_signs_in_and_out_and_wrong_names_and_passwords_look_alike() {
    let server = signed_server().await;
    let person = Person::anonymous(&server.url(""));
    let wrong_password = person.sign_in(ADMIN.0, "not the password").await;
    assert_eq!(wrong_password.status(), 401);
    let wrong_password: Value = wrong_password.json().await.unwrap();
    let wrong_name = person.sign_in("nobody-by-that-name", ADMIN.1).await;
    assert_eq!(wrong_name.status(), 401);
    let wrong_name: Value = wrong_name.json().await.unwrap();
    assert_eq!(wrong_password, wrong_name, "one answer for both");
    assert_eq!(wrong_name["code"], "invalid_credentials");

    let signed = person.sign_in("ADMIN", ADMIN.1).await;
    assert_eq!(signed.status(), 200);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("hitl_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "not behind https: {cookie}");
    let me: Value = signed.json().await.unwrap();
    assert_eq!(me["name"], "admin");
    assert_eq!(me["role"], "admin");
    assert_eq!(person.get("/api/session").await.1, me);
    assert_eq!(person.get("/api/threads").await.0, 200);

    let (status, _) = person.send("DELETE", "/api/session", None).await;
    assert_eq!(status, 204);
    assert_eq!(person.get("/api/session").await.0, 401);
    assert_eq!(person.get("/api/threads").await.0, 401);
}

#[tokio::test]
async fn repeated_failures_are_refused_with_429_per_name_and_per_address() {
    let server = signed_server().await;
    let person = Person::anonymous(&server.url(""));
    for _ in 0..6 {
        assert_eq!(person.sign_in("admin", "guess").await.status(), 401);
    }
    let refused = person.sign_in("admin", ADMIN.1).await;
    assert_eq!(refused.status(), 429, "even the right password waits");
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // Other names from this address are still free, up to the address's limit.
    assert_eq!(person.sign_in("grace", "guess").await.status(), 401);
    for i in 0..20 {
        person.sign_in(&format!("user{i}"), "guess").await;
    }
    assert_eq!(person.sign_in("someone-else", "guess").await.status(), 429);
}

#[tokio::test]
async fn after_the_wait_the_right_password_works_again() {
    let server = signed_server().await;
    let person = Person::anonymous(&server.url(""));
    for _ in 0..6 {
        person.sign_in("admin", "guess").await;
    }
    let refused = person.sign_in("admin", ADMIN.1).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(person.sign_in("admin", ADMIN.1).await.status(), 200);
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let settings = Settings {
        auth: Auth {
            enabled: true,
            ..Auth::default()
        },
        ..test_settings(fast_config())
    };
    let app = Application::build_with(settings, Arc::new(ResearchAgent))
        .await
        .unwrap();
    let link = app.setup_link().expect("no account: a setup link");
    let base = format!("http://{}", app.addr());
    assert!(link.starts_with(&format!("{base}/setup?token=")), "{link}");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    tokio::spawn(app.run_until_stopped(shutdown));

    let browser = Person::anonymous(&base);
    let wrong = browser
        .http
        .get(format!("{base}/setup?token=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let form = browser.http.get(&link).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let mismatch = browser
        .http
        .post(format!("{base}/setup"))
        .form(&[
            ("token", token.as_str()),
            ("name", "ada"),
            ("password", "long enough"),
            ("confirm", "different"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), 400);
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("The two passwords differ."));
    let created = browser
        .http
        .post(format!("{base}/setup"))
        .form(&[
            ("token", token.as_str()),
            ("name", "ada"),
            ("password", "long enough"),
            ("confirm", "long enough"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let me = browser.get("/api/session").await.1;
    assert_eq!(
        me,
        json!({"user_id": me["user_id"], "name": "ada", "role": "admin"})
    );
    // Used: it works no more.
    let again = Person::anonymous(&base);
    let reused = again.http.get(&link).send().await.unwrap();
    assert_eq!(reused.status(), 404);
    let reposted = again
        .http
        .post(format!("{base}/setup"))
        .form(&[
            ("token", token.as_str()),
            ("name", "mallory"),
            ("password", "long enough"),
            ("confirm", "long enough"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reposted.status(), 404);
    assert_eq!(again.sign_in("mallory", "long enough").await.status(), 401);
}

#[tokio::test]
async fn the_sign_in_page_returns_to_where_the_person_was_going() {
    let server = signed_server().await;
    let browser = Person::anonymous(&server.url(""));
    let failed = browser
        .http
        .post(server.url("/signin"))
        .form(&[
            ("name", "admin"),
            ("password", "wrong"),
            ("next", "/threads/abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 401);
    let page = failed.text().await.unwrap();
    assert!(
        page.contains("The name or the password is wrong."),
        "{page}"
    );
    assert!(
        page.contains("value=\"/threads/abc\""),
        "the way back is kept: {page}"
    );
    let signed = browser
        .http
        .post(server.url("/signin"))
        .form(&[
            ("name", "admin"),
            ("password", ADMIN.1),
            ("next", "/threads/abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], "/threads/abc");
    // Never to another site.
    let elsewhere = Person::anonymous(&server.url(""));
    let response = elsewhere
        .http
        .post(server.url("/signin"))
        .form(&[
            ("name", "admin"),
            ("password", ADMIN.1),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/");
    let out = browser
        .http
        .post(server.url("/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(browser.get("/api/session").await.0, 401);
}

#[tokio::test]
async fn tokens_and_accounts_are_managed_from_the_pages() {
    let server = signed_server().await;
    let admin = admin(&server).await;
    let page = admin.http.get(server.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("API tokens"));

    let made = admin
        .http
        .post(server.url("/account/tokens"))
        .form(&[("name", "ci")])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 200);
    let html = made.text().await.unwrap();
    let token = html
        .split("hitl_")
        .nth(1)
        .map(|rest| format!("hitl_{}", &rest[..rest.find('<').unwrap()]))
        .expect("the new token is shown");
    let program = Person::with_token(&server.url(""), &token);
    assert_eq!(program.get("/api/session").await.1["name"], "admin");
    let again = admin.http.get(server.url("/account")).send().await.unwrap();
    assert!(
        !again.text().await.unwrap().contains(&token),
        "shown once only"
    );

    let token_id = admin.get("/api/tokens").await.1[0]["token_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = admin
        .http
        .post(server.url(&format!("/account/tokens/{token_id}/revoke")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    assert_eq!(program.get("/api/session").await.0, 401);

    let added = admin
        .http
        .post(server.url("/admin/users"))
        .form(&[
            ("name", "zoe"),
            ("password", "zoe password"),
            ("role", "approver"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    let zoe = Person::signed_in(&server.url(""), "zoe", "zoe password").await;
    assert_eq!(zoe.get("/api/session").await.1["role"], "approver");
    let listing = admin
        .http
        .get(server.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert!(listing.text().await.unwrap().contains("zoe"));
    // A role change from the row's form signs Zoe out; the page is admins' only.
    let zoe_id = zoe.get("/api/session").await.1["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = admin
        .http
        .post(server.url(&format!("/admin/users/{zoe_id}")))
        .form(&[("role", "requester"), ("enabled", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 303);
    assert_eq!(
        zoe.get("/api/session").await.0,
        200,
        "a new role keeps the session"
    );
    assert_eq!(zoe.get("/api/session").await.1["role"], "requester");
    let forbidden = zoe
        .http
        .get(server.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let disabled = admin
        .http
        .post(server.url(&format!("/admin/users/{zoe_id}")))
        .form(&[("role", "requester")])
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 303);
    assert_eq!(
        zoe.get("/api/session").await.0,
        401,
        "an unticked box disables"
    );
}

#[tokio::test]
async fn behind_an_https_public_url_the_cookie_is_secure() {
    let settings = Settings {
        auth: Auth {
            public_url: Some("https://console.example".into()),
            ..auth_on()
        },
        ..test_settings(fast_config())
    };
    let server = crate::helpers::TestServer::build(settings, Arc::new(ResearchAgent)).await;
    let signed = Person::anonymous(&server.url(""))
        .sign_in(ADMIN.0, ADMIN.1)
        .await;
    assert_eq!(signed.status(), 200);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // That public origin may call the API from a browser.
    let admin = admin(&server).await;
    let response = admin
        .http
        .post(admin.url("/api/threads"))
        .header("origin", "https://console.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}
