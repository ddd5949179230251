//! Committing a planned batch: each kind of row in one statement, its rows
//! passed as one JSON parameter (`json_each` on SQLite,
//! `jsonb_array_elements` on PostgreSQL), so the statements' text is fixed
//! (prepared once per connection) however many rows a batch has.

use serde_json::{json, Value};
use sqlx::{Any, AnyConnection, Connection, Transaction};

use super::batch::{Plan, RunChange};
use super::write::Queued;
use super::{Backend, StoreError};
use crate::receipts::Signer;

/// A column of the JSON rows: its name, and whether it is an integer.
type Column = (&'static str, bool);

/// `SELECT <columns> FROM <the rows in $1>`: each row a JSON array, each
/// column by position.
fn rows(backend: Backend, columns: &[Column]) -> String {
    let picks: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, integer))| match (backend, integer) {
            (Backend::Sqlite, _) => format!("value ->> {i} AS {name}"),
            (Backend::Postgres, false) => format!("v ->> {i} AS {name}"),
            (Backend::Postgres, true) => format!("CAST(v ->> {i} AS BIGINT) AS {name}"),
        })
        .collect();
    let from = match backend {
        Backend::Sqlite => "json_each($1)",
        Backend::Postgres => "jsonb_array_elements(CAST($1 AS JSONB)) AS v",
    };
    format!("SELECT {} FROM {from}", picks.join(", "))
}

/// On PostgreSQL, the rows to update named by primary key too: joined with
/// a function's rows alone, whose count the planner cannot know, it scans
/// the whole table (1 ms at 3,000 threads, and growing); an `= ANY` of the
/// ids is an index scan.
fn by_id(backend: Backend, table: &str) -> String {
    match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => format!(
            "AND {table}.id = ANY(ARRAY(SELECT v ->> 0 FROM jsonb_array_elements(CAST($1 AS JSONB)) AS v))"
        ),
    }
}

async fn run(tx: &mut Transaction<'_, Any>, sql: &str, rows: Vec<Value>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(sql)
        .bind(Value::Array(rows).to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Commits `batch` in one transaction; per write, whether it took effect.
pub(super) async fn commit_batch(
    connection: &mut AnyConnection,
    backend: Backend,
    signer: &Signer,
    batch: &[Queued],
) -> Result<Vec<bool>, StoreError> {
    let mut plan = Plan::new(batch.iter().map(|q| &q.write), backend == Backend::Postgres);
    let mut tx = connection.begin().await?;
    if backend == Backend::Postgres && batch.iter().all(|q| q.done.is_none()) {
        // Nobody waits on these: PostgreSQL flushes them within a fraction
        // of a second (or with the next commit someone waits on), and a
        // crash of this server cannot lose them, only one of PostgreSQL's.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    let sql = |columns: &[Column], statement: &str| {
        let mut statement = statement.replace("{rows}", &rows(backend, columns));
        for table in ["threads", "runs", "interrupts"] {
            statement = statement.replace(&format!("{{ids:{table}}}"), &by_id(backend, table));
        }
        statement
    };

    let threads = plan
        .threads
        .iter()
        .map(|t| json!([t.id, t.owner, t.at]))
        .collect();
    let statement = sql(
        &[("id", false), ("owner", false), ("at", true)],
        "INSERT INTO threads (id, title, status, created_at, updated_at, owner_id) \
         SELECT id, '', 'idle', at, at, owner FROM ({rows}) AS x",
    );
    run(&mut tx, &statement, threads).await?;

    let runs = plan
        .runs
        .iter()
        .map(|r| {
            json!([
                r.id,
                r.thread_id,
                r.user_message,
                r.owner,
                r.at,
                r.lease_until,
                r.started_by
            ])
        })
        .collect();
    let statement = sql(
        &[
            ("id", false),
            ("thread_id", false),
            ("user_message", false),
            ("owner", false),
            ("at", true),
            ("lease_until", true),
            ("started_by", false),
        ],
        "INSERT INTO runs (id, thread_id, status, user_message, owner, started_at, lease_until, \
         started_by) SELECT id, thread_id, 'running', user_message, owner, at, lease_until, \
         started_by FROM ({rows}) AS x",
    );
    run(&mut tx, &statement, runs).await?;

    let messages = plan
        .messages
        .iter()
        .map(|((thread, seq), (role, content))| {
            json!([thread, seq, super::rows::role_name(*role), content])
        })
        .collect();
    let statement = sql(
        &[
            ("thread_id", false),
            ("seq", true),
            ("role", false),
            ("content", false),
        ],
        // `WHERE true`: SQLite's grammar needs it before an upsert's ON CONFLICT.
        "INSERT INTO messages (thread_id, seq, role, content) \
         SELECT thread_id, seq, role, content FROM ({rows}) AS x WHERE true \
         ON CONFLICT (thread_id, seq) DO UPDATE SET content = excluded.content",
    );
    run(&mut tx, &statement, messages).await?;

    let interrupts = plan
        .interrupts
        .iter()
        .map(|i| {
            json!([
                i.id,
                i.run_id,
                i.thread_id,
                i.body,
                i.expires_at,
                i.checkpoint,
                i.after_message,
                i.at
            ])
        })
        .collect();
    let statement = sql(
        &[
            ("id", false),
            ("run_id", false),
            ("thread_id", false),
            ("body", false),
            ("expires_at", true),
            ("checkpoint", false),
            ("after_message", true),
            ("at", true),
        ],
        "INSERT INTO interrupts (id, run_id, thread_id, body, expires_at, checkpoint, \
         after_message, created_at) SELECT id, run_id, thread_id, body, expires_at, checkpoint, \
         after_message, at FROM ({rows}) AS x",
    );
    run(&mut tx, &statement, interrupts).await?;

    // Resolutions: set once, by whoever gets here first. (`+`: found by
    // id, not by scanning every pending interrupt's `resolved_at`.)
    let resolutions = &plan.resolutions;
    let resolved: Vec<String> = if resolutions.is_empty() {
        Vec::new()
    } else {
        let rows_of: Vec<Value> = resolutions
            .iter()
            .map(|r| {
                let decider = r.origin.and_then(|o| o.decided_by.as_ref());
                json!([
                    r.interrupt_id,
                    r.at,
                    r.by,
                    r.decision_id,
                    r.decisions,
                    decider.map(|d| &d.user_id),
                    decider.map(|d| &d.name)
                ])
            })
            .collect();
        let statement = sql(
            &[
                ("id", false),
                ("at", true),
                ("by_", false),
                ("decision_id", false),
                ("decisions", false),
                ("decider_id", false),
                ("decider_name", false),
            ],
            "UPDATE interrupts SET resolved_at = x.at, resolved_by = x.by_, \
             decision_id = x.decision_id, decisions = x.decisions, decided_by_id = x.decider_id, \
             decided_by_name = x.decider_name FROM ({rows}) AS x \
             WHERE interrupts.id = x.id {ids:interrupts} AND +interrupts.resolved_at IS NULL \
             RETURNING interrupts.id",
        );
        let ids: Vec<(String,)> = sqlx::query_as(&statement)
            .bind(Value::Array(rows_of).to_string())
            .fetch_all(&mut *tx)
            .await?;
        ids.into_iter().map(|(id,)| id).collect()
    };

    // The audit log, each record with its receipt, signed now it counts.
    let decisions = resolutions
        .iter()
        .filter(|r| resolved.iter().any(|id| id == r.interrupt_id))
        .map(|r| {
            let decider = r.origin.and_then(|o| o.decided_by.as_ref());
            let receipt = r.receipt.signed(signer);
            json!([
                crate::runtime::new_id(),
                r.interrupt_id,
                r.thread_id,
                r.run_id,
                r.decision_id,
                r.decisions,
                r.by,
                r.origin.map(|o| &o.connection_id),
                r.origin.and_then(|o| o.client.as_ref()),
                r.server,
                r.at,
                decider.map(|d| &d.user_id),
                decider.map(|d| &d.name),
                receipt
            ])
        })
        .collect();
    let statement = sql(
        &[
            ("id", false),
            ("interrupt_id", false),
            ("thread_id", false),
            ("run_id", false),
            ("decision_id", false),
            ("decisions", false),
            ("by_", false),
            ("connection_id", false),
            ("client", false),
            ("server", false),
            ("at", true),
            ("decider_id", false),
            ("decider_name", false),
            ("receipt", false),
        ],
        "INSERT INTO decisions (id, interrupt_id, thread_id, run_id, decision_id, decisions, \
         resolved_by, connection_id, client, server, decided_at, decided_by_id, decided_by_name, \
         receipt) SELECT id, interrupt_id, thread_id, run_id, decision_id, decisions, by_, \
         connection_id, client, server, at, decider_id, decider_name, receipt FROM ({rows}) AS x",
    );
    run(&mut tx, &statement, decisions).await?;

    let leases = std::mem::take(&mut plan.leases);
    let mut titles = std::mem::take(&mut plan.titles);
    let resolved_ids: Vec<&str> = resolved.iter().map(String::as_str).collect();
    let settled = plan.settle(&resolved_ids, batch.len());

    // Each run's last state, in one statement.
    let runs = settled
        .runs
        .iter()
        .map(|(run_id, change)| match change {
            RunChange::Status(state) => json!([run_id, state.as_str(), 0, null, null]),
            RunChange::Finished { status, error, at } => {
                json!([run_id, status.as_str(), 1, error, at])
            }
        })
        .collect();
    let statement = sql(
        &[
            ("id", false),
            ("status", false),
            ("finished", true),
            ("error", false),
            ("at", true),
        ],
        "UPDATE runs SET status = x.status, \
         error = CASE WHEN x.finished = 1 THEN x.error ELSE runs.error END, \
         finished_at = CASE WHEN x.finished = 1 THEN x.at ELSE runs.finished_at END \
         FROM ({rows}) AS x WHERE runs.id = x.id {ids:runs}",
    );
    run(&mut tx, &statement, runs).await?;

    // Each thread's title (if it got one) and last state, in one statement.
    let mut threads: Vec<Value> = settled
        .touches
        .iter()
        .map(|(thread, touch)| json!([thread, titles.remove(thread), touch.status, touch.at]))
        .collect();
    threads.extend(
        titles
            .into_iter()
            .map(|(thread, title)| json!([thread, title, null, null])),
    );
    let statement = sql(
        &[
            ("id", false),
            ("title", false),
            ("status", false),
            ("at", true),
        ],
        "UPDATE threads SET title = COALESCE(x.title, threads.title), \
         status = COALESCE(x.status, threads.status), \
         updated_at = COALESCE(x.at, threads.updated_at) \
         FROM ({rows}) AS x WHERE threads.id = x.id {ids:threads}",
    );
    run(&mut tx, &statement, threads).await?;

    for (owner, until) in leases {
        sqlx::query(
            "UPDATE runs SET lease_until = $1 WHERE owner = $2 \
             AND status IN ('running', 'interrupted')",
        )
        .bind(until)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    }

    // One round trip for all of them, in order, delivered at commit.
    for chunk in settled.notices.chunks(NOTIFY_BATCH) {
        let calls: Vec<_> = (1..=chunk.len())
            .map(|i| format!("pg_notify(${}, ${})", 2 * i - 1, 2 * i))
            .collect();
        let statement = format!("SELECT {}", calls.join(", "));
        let mut query = sqlx::query(&statement);
        for (channel, payload) in chunk {
            query = query.bind(*channel).bind(payload);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(settled.effects)
}

/// Notifications sent by one statement.
const NOTIFY_BATCH: usize = 32;
