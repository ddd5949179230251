-- One schema for SQLite and PostgreSQL: TEXT ids and JSON, BIGINT times
-- (Unix milliseconds), no types or defaults only one of them knows.

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    -- idle | running | interrupted
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX threads_by_update ON threads (updated_at);

CREATE TABLE messages (
    thread_id TEXT NOT NULL REFERENCES threads (id),
    seq BIGINT NOT NULL,
    -- user | assistant | tool
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (thread_id, seq)
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads (id),
    -- running | interrupted | completed | cancelled | failed
    status TEXT NOT NULL,
    error TEXT,
    user_message TEXT,
    -- The server process that runs it.
    owner TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX runs_by_thread ON runs (thread_id);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE interrupts (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    thread_id TEXT NOT NULL REFERENCES threads (id),
    -- The interrupt as PROTOCOL.md sends it: action requests, review
    -- configs, expires_at.
    body TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- The agent's state, to resume from after a restart.
    checkpoint TEXT NOT NULL,
    -- How many of the thread's messages preceded it.
    after_message BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- NULL while pending. Set once, by a conditional update.
    resolved_at BIGINT,
    -- user | timeout
    resolved_by TEXT,
    decision_id TEXT,
    decisions TEXT
);
CREATE INDEX interrupts_by_thread ON interrupts (thread_id);
CREATE INDEX interrupts_pending ON interrupts (resolved_at);

-- The audit log: one row per resolution, with who and where it came from.
CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    interrupt_id TEXT NOT NULL REFERENCES interrupts (id),
    thread_id TEXT NOT NULL REFERENCES threads (id),
    run_id TEXT NOT NULL,
    decision_id TEXT,
    decisions TEXT NOT NULL,
    -- user | timeout
    resolved_by TEXT NOT NULL,
    -- The WebSocket connection it arrived on, and the client's User-Agent.
    connection_id TEXT,
    client TEXT,
    server TEXT NOT NULL,
    decided_at BIGINT NOT NULL
);
CREATE INDEX decisions_by_thread ON decisions (thread_id);
