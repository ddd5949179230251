//! A thread's audit log: every resolution, who made it, and its signed
//! receipt with the server's verdict on the signature.

use leptos::prelude::*;
use protocol::{Decision, DecisionRecord, ResolvedBy};

/// A decision and what checking its receipt found.
pub struct AuditEntry {
    pub record: DecisionRecord,
    /// `Ok(kid)` when the signature checks out with a published key.
    pub verified: Result<String, String>,
}

#[component]
pub fn AuditPage(thread_id: String, entries: Vec<AuditEntry>) -> impl IntoView {
    let back = format!("/threads/{thread_id}");
    let json = format!("/api/threads/{thread_id}/decisions");
    view! {
        <section aria-labelledby="audit-title">
            <h1 id="audit-title">"Audit log"</h1>
            <p class="muted">
                "Every decision on this thread, with its receipt: an Ed25519 signature over what "
                "was proposed and decided, by whom and when. Check one offline with "
                <code>"server verify-receipt"</code> " and the key at "
                <a href="/api/receipts/key" rel="external">"/api/receipts/key"</a>". "
                <a href=json rel="external">"The log as JSON"</a>"."
            </p>
            <p><a href=back>"Back to the thread"</a></p>
            {entries.is_empty().then(|| view! { <p class="muted">"No decisions yet."</p> })}
            <ol class="audit" data-testid="audit">
                {entries.into_iter().map(|entry| view! { <Entry entry/> }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn Entry(entry: AuditEntry) -> impl IntoView {
    let record = entry.record;
    let who = match (&record.by, &record.decided_by) {
        (ResolvedBy::Timeout, _) => "Expired unanswered".to_owned(),
        (_, Some(person)) => format!("Decided by {}", person.name),
        (_, None) => "Decided (sign-in off)".to_owned(),
    };
    let what = record
        .decisions
        .iter()
        .map(|d| match d {
            Decision::Approve => "approved",
            Decision::Edit { .. } => "edited",
            Decision::Reject { .. } => "rejected",
            Decision::Respond { .. } => "answered",
        })
        .collect::<Vec<_>>()
        .join(", ");
    let receipt = record
        .receipt
        .as_ref()
        .map(|r| serde_json::to_string_pretty(r).unwrap_or_default());
    let verdict = match entry.verified {
        Ok(kid) => view! { <p class="ok" data-testid="receipt-valid">"Signature valid (key " <code>{kid}</code> ")"</p> }.into_any(),
        Err(why) => view! { <p class="error" data-testid="receipt-invalid">"Signature not valid: " {why}</p> }.into_any(),
    };
    view! {
        <li class="card">
            <p class="chosen">{who} " · " {what}</p>
            <p class="muted"><time>{record.decided_at}</time> " · on " {record.server}</p>
            {verdict}
            {receipt.map(|r| view! {
                <details>
                    <summary>"Receipt"</summary>
                    <pre class="args">{r}</pre>
                </details>
            })}
        </li>
    }
}
