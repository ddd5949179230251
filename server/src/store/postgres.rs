//! PostgreSQL's writer: a connection of its own, committing each planned
//! batch in one transaction, each kind of row in one statement, and the
//! statements pipelined: all of a batch's are sent before the first answer
//! is read, so a batch costs one round trip, or two when it resolves an
//! interrupt (what follows from a resolution depends on whether it took
//! effect). One statement at a time, as sqlx sends them, a batch waited for
//! a dozen answers in turn.
//!
//! A column is bound as one array and the rows read back with `unnest`, so
//! each statement's text is fixed (prepared when the connection is made,
//! planned once) however many rows a batch has. The connection never scans
//! a table (`enable_seqscan = off`): every statement here finds its rows by
//! key, and a plan made while the tables were still empty would otherwise
//! scan them at every batch for as long as the connection lives.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::{maybe_done, MaybeDone};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use super::batch::{Plan, RunChange};
use super::write::Queued;
use super::StoreError;
use crate::receipts::Signer;

/// A connection that is not made within this is storage that is down: a
/// person waits on the answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) struct PostgresWriter {
    config: Config,
    /// Made at the first batch, and again after storage failed.
    connection: Option<Connection>,
}

/// A connection and the writer's statements, prepared on it.
struct Connection {
    client: Client,
    sql: Statements,
}

/// The writer's statements.
struct Statements {
    threads: Statement,
    runs: Statement,
    messages: Statement,
    interrupts: Statement,
    resolve: Statement,
    decisions: Statement,
    run_states: Statement,
    thread_states: Statement,
    leases: Statement,
    notify: Statement,
}

impl Statements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let (threads, runs, messages, interrupts, resolve) = tokio::try_join!(
            client.prepare(
                "INSERT INTO threads (id, title, status, created_at, updated_at, owner_id) \
                 SELECT id, '', 'idle', at, at, owner \
                 FROM unnest($1::text[], $2::text[], $3::int8[]) AS x (id, owner, at)"
            ),
            client.prepare(
                "INSERT INTO runs (id, thread_id, status, user_message, owner, started_at, \
                 lease_until, started_by) \
                 SELECT id, thread_id, 'running', user_message, owner, at, lease_until, \
                 started_by FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::int8[], $6::int8[], $7::text[]) \
                 AS x (id, thread_id, user_message, owner, at, lease_until, started_by)"
            ),
            client.prepare(
                "INSERT INTO messages (thread_id, seq, role, content) \
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[]) \
                 ON CONFLICT (thread_id, seq) DO UPDATE SET content = excluded.content"
            ),
            client.prepare(
                "INSERT INTO interrupts (id, run_id, thread_id, body, expires_at, checkpoint, \
                 after_message, created_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::int8[], $6::text[], $7::int8[], $8::int8[])"
            ),
            // Set once, by whoever gets here first.
            client.prepare(
                "UPDATE interrupts SET resolved_at = x.at, resolved_by = x.by_, \
                 decision_id = x.decision_id, decisions = x.decisions, \
                 decided_by_id = x.decider_id, decided_by_name = x.decider_name \
                 FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[]) \
                 AS x (id, at, by_, decision_id, decisions, decider_id, decider_name) \
                 WHERE interrupts.id = x.id AND interrupts.resolved_at IS NULL \
                 RETURNING interrupts.id"
            ),
        )?;
        let (decisions, run_states, thread_states, leases, notify) = tokio::try_join!(
            client.prepare(
                "INSERT INTO decisions (id, interrupt_id, thread_id, run_id, decision_id, \
                 decisions, resolved_by, connection_id, client, server, decided_at, \
                 decided_by_id, decided_by_name, receipt) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                 $11::int8[], $12::text[], $13::text[], $14::text[])"
            ),
            client.prepare(
                "UPDATE runs SET status = x.status, \
                 error = CASE WHEN x.finished THEN x.error ELSE runs.error END, \
                 finished_at = CASE WHEN x.finished THEN x.at ELSE runs.finished_at END \
                 FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::int8[]) \
                 AS x (id, status, finished, error, at) WHERE runs.id = x.id"
            ),
            client.prepare(
                "UPDATE threads SET title = COALESCE(x.title, threads.title), \
                 status = COALESCE(x.status, threads.status), \
                 updated_at = COALESCE(x.at, threads.updated_at) \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) \
                 AS x (id, title, status, at) WHERE threads.id = x.id"
            ),
            client.prepare(
                "UPDATE runs SET lease_until = x.until \
                 FROM unnest($1::text[], $2::int8[]) AS x (owner, until) \
                 WHERE runs.owner = x.owner AND runs.status IN ('running', 'interrupted')"
            ),
            // In order, delivered at commit.
            client.prepare(
                "SELECT pg_notify(channel, payload) \
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x (channel, payload, n) \
                 ORDER BY n"
            ),
        )?;
        Ok(Self {
            threads,
            runs,
            messages,
            interrupts,
            resolve,
            decisions,
            run_states,
            thread_states,
            leases,
            notify,
        })
    }
}

/// A thread, its new title, status and time (`None`: left as they are).
type ThreadUpdate<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<i64>);

/// A statement's parameter, borrowed from the batch.
type Param<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// A statement (or a simple query) on its way, answered with its rows.
type Step<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// For each column expression, that column of `rows` as one array.
macro_rules! columns {
    ($rows:expr, |$row:ident| [$($column:expr),+ $(,)?]) => {
        vec![$(Box::new($rows.iter().map(|$row| $column).collect::<Vec<_>>()) as Param),+]
    };
}

/// An error with what PostgreSQL said (tokio-postgres shows only "db
/// error" and keeps the rest as its source).
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

impl PostgresWriter {
    pub fn new(url: &str, server_id: &str) -> Result<Self, StoreError> {
        Ok(Self {
            config: config(url, server_id)?,
            connection: None,
        })
    }

    /// Commits `batch`; per write, whether it took effect. After a failure
    /// of storage itself the connection is made again at the next batch.
    pub async fn commit(
        &mut self,
        signer: &Signer,
        batch: &[Queued],
    ) -> Result<Vec<bool>, StoreError> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(self.connect().await?),
        };
        let result = commit(connection, signer, batch).await;
        match &result {
            Err(e) if e.is_transient() => self.connection = None,
            // Ends the transaction a failed statement left open (one that
            // failed before the pipeline's COMMIT was sent).
            Err(_) => {
                if connection.client.batch_execute("ROLLBACK").await.is_err() {
                    self.connection = None;
                }
            }
            Ok(_) => {}
        }
        result
    }

    async fn connect(&self) -> Result<Connection, StoreError> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "the writer's connection to PostgreSQL ended");
            }
        });
        let sql = Statements::prepare(&client).await?;
        Ok(Connection { client, sql })
    }
}

/// What the writer's connection sets beside the URL's own `options`.
const SETTINGS: &str = "-c enable_seqscan=off -c plan_cache_mode=force_generic_plan";

/// The writer's connection settings: the same server, database and
/// account as the store's other connections, so read by sqlx, as theirs
/// are (with its defaults from `PGHOST`, `PGUSER` and the like, and its
/// parameters tokio-postgres does not know), and the URL's own `options`
/// kept beside the writer's.
fn config(url: &str, server_id: &str) -> Result<Config, StoreError> {
    let theirs: PgConnectOptions = url.parse()?;
    let mut config = Config::new();
    match theirs.get_socket() {
        Some(dir) => config.host_path(dir),
        None => config.host(theirs.get_host()),
    };
    config
        .port(theirs.get_port())
        .user(theirs.get_username())
        .ssl_mode(match theirs.get_ssl_mode() {
            PgSslMode::Disable => SslMode::Disable,
            PgSslMode::Allow | PgSslMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        })
        .options(match theirs.get_options() {
            Some(options) => format!("{options} {SETTINGS}"),
            None => SETTINGS.to_owned(),
        })
        .application_name(format!("hitl-writer-{server_id}"))
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(database) = theirs.get_database() {
        config.dbname(database);
    }
    // sqlx does not tell its password: the URL's, or the variable's.
    let without_query = url.split_once('?').map_or(url, |(base, _)| base);
    let given = Config::from_str(without_query)
        .ok()
        .and_then(|c| c.get_password().map(<[u8]>::to_vec));
    if let Some(password) =
        given.or_else(|| std::env::var("PGPASSWORD").ok().map(String::into_bytes))
    {
        config.password(password);
    }
    Ok(config)
}

/// One step: a statement without parameters (BEGIN, COMMIT).
fn simple<'a>(client: &'a Client, sql: &'a str) -> Step<'a> {
    Box::pin(async move { client.batch_execute(sql).await.map(|()| Vec::new()) })
}

/// One step: `statement` with `params`.
fn step<'a>(client: &'a Client, statement: &'a Statement, params: Vec<Param<'a>>) -> Step<'a> {
    Box::pin(async move {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as _).collect();
        client.query(statement, &params).await
    })
}

/// Sends every step before reading any answer (tokio-postgres sends a
/// statement when its future is first polled), then reads the answers in
/// order: one round trip for all of them.
async fn pipelined(steps: Vec<Step<'_>>) -> Result<Vec<Vec<Row>>, tokio_postgres::Error> {
    let mut steps: Vec<MaybeDone<Step>> = steps.into_iter().map(maybe_done).collect();
    std::future::poll_fn(|cx| {
        for step in &mut steps {
            let _ = Pin::new(step).poll(cx);
        }
        Poll::Ready(())
    })
    .await;
    let mut answers = Vec::with_capacity(steps.len());
    for mut step in steps {
        (&mut step).await;
        let answer = Pin::new(&mut step).take_output();
        answers.push(answer.expect("a step is answered once")?);
    }
    Ok(answers)
}

async fn commit(
    connection: &Connection,
    signer: &Signer,
    batch: &[Queued],
) -> Result<Vec<bool>, StoreError> {
    let Connection { client, sql } = connection;
    let mut plan = Plan::new(batch.iter().map(|q| &q.write), true);
    // Out of the plan: the first steps still hold these rows when `settle`
    // takes the plan in hand.
    let interrupts = std::mem::take(&mut plan.interrupts);
    let mut first: Vec<Step> = Vec::new();
    let begin = if batch.iter().all(|q| q.done.is_none()) {
        // Nobody waits on these: PostgreSQL flushes them within a fraction
        // of a second (or with the next commit someone waits on), and a
        // crash of this server cannot lose them, only one of PostgreSQL's.
        "BEGIN; SET LOCAL synchronous_commit = off"
    } else {
        "BEGIN"
    };
    first.push(simple(client, begin));
    if !plan.threads.is_empty() {
        let params = columns!(plan.threads, |t| [t.id, t.owner, t.at]);
        first.push(step(client, &sql.threads, params));
    }
    if !plan.runs.is_empty() {
        let params = columns!(plan.runs, |r| [
            r.id,
            r.thread_id,
            r.user_message,
            r.owner,
            r.at,
            r.lease_until,
            r.started_by
        ]);
        first.push(step(client, &sql.runs, params));
    }
    if !plan.messages.is_empty() {
        let messages: Vec<_> = plan.messages.iter().collect();
        let params = columns!(messages, |m| [
            m.0 .0,
            m.0 .1,
            super::rows::role_name(m.1 .0),
            m.1 .1
        ]);
        first.push(step(client, &sql.messages, params));
    }
    if !interrupts.is_empty() {
        let params = columns!(interrupts, |i| [
            i.id,
            i.run_id,
            i.thread_id,
            i.body.as_str(),
            i.expires_at,
            i.checkpoint.as_str(),
            i.after_message,
            i.at
        ]);
        first.push(step(client, &sql.interrupts, params));
    }

    // What follows from a resolution depends on whether it took effect:
    // the statements so far go first, and answer which did.
    let resolutions = &plan.resolutions;
    let resolved: Vec<String> = if resolutions.is_empty() {
        Vec::new()
    } else {
        let params = columns!(resolutions, |r| [
            r.interrupt_id,
            r.at,
            r.by,
            r.decision_id,
            r.decisions.as_str(),
            r.decider().map(|d| d.user_id.as_str()),
            r.decider().map(|d| d.name.as_str())
        ]);
        let mut steps: Vec<Step> = std::mem::take(&mut first);
        steps.push(step(client, &sql.resolve, params));
        let answers = pipelined(steps).await?;
        let rows = answers.last().expect("the resolutions were sent");
        rows.iter().map(|row| row.get(0)).collect()
    };

    let leases = std::mem::take(&mut plan.leases);
    let mut titles = std::mem::take(&mut plan.titles);
    let resolved: Vec<&str> = resolved.iter().map(String::as_str).collect();
    let settled = plan.settle(&resolved, batch.len());
    // The audit log, each record with its receipt, signed now it counts.
    let decided: Vec<_> = plan
        .resolutions
        .iter()
        .filter(|r| resolved.contains(&r.interrupt_id))
        .map(|r| (r, crate::runtime::new_id(), r.receipt.signed(signer)))
        .collect();
    // Each run's last state.
    let runs: Vec<_> = settled
        .runs
        .iter()
        .map(|(run, change)| match change {
            RunChange::Status(state) => (*run, state.as_str(), false, None, None),
            RunChange::Finished { status, error, at } => {
                (*run, status.as_str(), true, *error, Some(*at))
            }
        })
        .collect();
    // Each thread's title (if it got one) and last state.
    let mut threads: Vec<ThreadUpdate> = settled
        .touches
        .iter()
        .map(|(thread, touch)| {
            let title = titles.remove(thread);
            (*thread, title, Some(touch.status), Some(touch.at))
        })
        .collect();
    threads.extend(
        titles
            .into_iter()
            .map(|(thread, title)| (thread, Some(title), None, None)),
    );

    let mut steps = first;
    if !decided.is_empty() {
        let params = columns!(decided, |d| [
            d.1.as_str(),
            d.0.interrupt_id,
            d.0.thread_id,
            d.0.run_id,
            d.0.decision_id,
            d.0.decisions.as_str(),
            d.0.by,
            d.0.origin.map(|o| o.connection_id.as_str()),
            d.0.origin.and_then(|o| o.client.as_deref()),
            d.0.server,
            d.0.at,
            d.0.decider().map(|d| d.user_id.as_str()),
            d.0.decider().map(|d| d.name.as_str()),
            d.2.as_str()
        ]);
        steps.push(step(client, &sql.decisions, params));
    }
    if !runs.is_empty() {
        let params = columns!(runs, |r| [r.0, r.1, r.2, r.3, r.4]);
        steps.push(step(client, &sql.run_states, params));
    }
    if !threads.is_empty() {
        let params = columns!(threads, |t| [t.0, t.1, t.2, t.3]);
        steps.push(step(client, &sql.thread_states, params));
    }
    if !leases.is_empty() {
        let params = columns!(leases, |l| [l.0, l.1]);
        steps.push(step(client, &sql.leases, params));
    }
    if !settled.notices.is_empty() {
        let params = columns!(settled.notices, |n| [n.0, n.1.as_str()]);
        steps.push(step(client, &sql.notify, params));
    }
    steps.push(simple(client, "COMMIT"));
    pipelined(steps).await?;
    Ok(settled.effects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::batch::tests::resolved;
    use crate::store::write::Write;
    use protocol::{Role, RunStatus};

    /// A fresh, migrated database, if the tests were given a PostgreSQL
    /// (`HITL_TEST_POSTGRES_URL`, which `test.sh` sets).
    async fn database() -> Option<String> {
        let Ok(admin) = std::env::var("HITL_TEST_POSTGRES_URL") else {
            eprintln!("HITL_TEST_POSTGRES_URL is not set: PostgreSQL case skipped");
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!("hitl_unit_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let (pool, _) = crate::store::connect(&url).await.unwrap();
        // Its connections publish their table counts (the migrations')
        // as they end.
        pool.close().await;
        Some(url)
    }

    /// A run from start to end, and a decision on an interrupt that does
    /// not exist (so it resolves nothing).
    fn one_run(n: usize) -> Vec<Queued> {
        let (thread, run) = (format!("t{n}"), format!("r{n}"));
        let writes = [
            Write::Thread {
                id: thread.clone(),
                owner: None,
                at: 1,
            },
            Write::RunStarted {
                thread_id: thread.clone(),
                run_id: run.clone(),
                user_message: Some("hello".into()),
                started_by: None,
                owner: "s".into(),
                lease_until: 9,
                at: 2,
            },
            Write::Message {
                thread_id: thread.clone(),
                seq: 0,
                role: Role::User,
                content: "hello".into(),
            },
            Write::Title {
                thread_id: thread.clone(),
                title: "Hello".into(),
            },
            Write::RunFinished {
                thread_id: thread.clone(),
                run_id: run.clone(),
                status: RunStatus::Completed,
                error: None,
                at: 3,
            },
            resolved(&format!("missing{n}"), true),
        ];
        writes.into_iter().map(Queued::background).collect()
    }

    /// The writer's plans are made while the tables are empty, when a scan
    /// is the cheapest way to find a row; the same plans must still find
    /// rows by key once the tables are large.
    #[tokio::test]
    async fn a_fresh_database_is_written_by_key_not_by_scanning_tables() {
        let Some(url) = database().await else {
            return;
        };
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let counts = "SELECT CAST(SUM(n_tup_upd) AS BIGINT), CAST(SUM(seq_scan) AS BIGINT) \
                      FROM pg_stat_user_tables WHERE relname IN ('threads', 'runs', 'interrupts')";
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, scans_before): (i64, i64) = sqlx::query_as(counts).fetch_one(&pool).await.unwrap();
        let mut writer = PostgresWriter::new(&url, "test").unwrap();
        let signer = Signer::from_seed([7; 32]);
        const RUNS: i64 = 30;
        for n in 0..RUNS as usize {
            let effects = writer.commit(&signer, &one_run(n)).await.unwrap();
            assert_eq!(effects, [true, true, true, true, true, false]);
        }
        // A backend publishes its table counts as it ends.
        drop(writer);
        let started = std::time::Instant::now();
        let (updated, scans) = loop {
            let (updated, scans): (i64, i64) =
                sqlx::query_as(counts).fetch_one(&pool).await.unwrap();
            if updated >= 2 * RUNS || started.elapsed() > Duration::from_secs(15) {
                break (updated, scans);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(updated, 2 * RUNS, "a run and a thread updated per run");
        assert_eq!(scans - scans_before, 0, "tables scanned to find rows");
        let stored: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT threads.title, runs.status, runs.finished_at FROM runs \
             JOIN threads ON threads.id = runs.thread_id WHERE runs.id = 'r7'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(stored, [("Hello".into(), "completed".into(), Some(3))]);
    }

    /// A lost connection (a restart of PostgreSQL, a failover) fails the
    /// batch as storage failing, which the writer retries; the retry makes
    /// a new connection.
    #[tokio::test]
    async fn the_writer_connects_again_after_its_connection_is_lost() {
        let Some(url) = database().await else {
            return;
        };
        let mut writer = PostgresWriter::new(&url, "lost").unwrap();
        let signer = Signer::from_seed([7; 32]);
        writer.commit(&signer, &one_run(0)).await.unwrap();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let killed: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'hitl-writer-lost' AND datname = current_database()",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(killed, [(true,)]);

        let error = writer.commit(&signer, &one_run(1)).await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        writer.commit(&signer, &one_run(1)).await.unwrap();
        let (runs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM runs")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(runs, 2);
    }

    /// A write PostgreSQL refuses fails its whole batch, of which nothing
    /// is kept though the batch's statements were sent together with its
    /// COMMIT; the connection goes on.
    #[tokio::test]
    async fn a_refused_batch_keeps_nothing_and_the_next_commits() {
        let Some(url) = database().await else {
            return;
        };
        let mut writer = PostgresWriter::new(&url, "refused").unwrap();
        let signer = Signer::from_seed([7; 32]);
        let mut batch = one_run(0);
        // A run of a thread that does not exist.
        batch.push(Queued::background(Write::RunStarted {
            thread_id: "nowhere".into(),
            run_id: "orphan".into(),
            user_message: None,
            started_by: None,
            owner: "s".into(),
            lease_until: 9,
            at: 2,
        }));
        let error = writer.commit(&signer, &batch).await.unwrap_err();
        assert!(!error.is_transient(), "{error}");
        assert!(error.to_string().contains("foreign key"), "{error}");

        writer.commit(&signer, &one_run(1)).await.unwrap();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let threads: Vec<(String,)> = sqlx::query_as("SELECT id FROM threads")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(threads, [("t1".to_owned(),)]);
    }

    /// The URL the store is given is sqlx's: the writer keeps what it
    /// knows of it, the URL's own settings among it, and adds its own.
    #[test]
    fn the_writer_reads_the_stores_url_and_keeps_its_settings() {
        let url = "postgres://app:secret@db.example:5433/hitl?statement-cache-capacity=50\
                   &options=-c%20search_path%3Dhitl&ssl-mode=disable&sslrootcert=ca.pem";
        let config = config(url, "a").unwrap();
        assert_eq!(config.get_user(), Some("app"));
        assert_eq!(config.get_dbname(), Some("hitl"));
        assert_eq!(config.get_ports(), [5433]);
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        assert_eq!(
            config.get_options(),
            Some("-c search_path=hitl -c enable_seqscan=off -c plan_cache_mode=force_generic_plan")
        );
        assert_eq!(config.get_application_name(), Some("hitl-writer-a"));
        assert_eq!(config.get_password(), Some(&b"secret"[..]));
        assert!(PostgresWriter::new("postgres://db.example/hitl?port=x", "a").is_err());
        // A Unix socket's directory, as sqlx takes it.
        let socket = super::config("postgres:///hitl?host=/run/postgresql", "a").unwrap();
        assert_eq!(
            socket.get_hosts(),
            [tokio_postgres::config::Host::Unix("/run/postgresql".into())]
        );
    }
}
