-- Accounts, tokens for programs, who owns what and who decided, and the
-- signed receipts of decisions. Sessions live in the table the session
-- store creates for itself (tower-sessions-sqlx-store).

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Argon2id, in PHC string form.
    password_hash TEXT NOT NULL,
    -- viewer | requester | approver | admin
    role TEXT NOT NULL,
    -- 0 or 1: a disabled account cannot sign in, and its sessions, tokens
    -- and sockets stop working.
    disabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Names are unique whatever their case: "Ada" and "ada" are one person.
CREATE UNIQUE INDEX users_by_name ON users (lower(name));

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    -- SHA-256 of the token, hex: the token itself is shown once, never kept.
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- The account that created the thread; NULL for threads from before
-- sign-in existed (approvers and admins see those).
ALTER TABLE threads ADD COLUMN owner_id TEXT;
CREATE INDEX threads_by_owner ON threads (owner_id, updated_at);
-- The account whose message started the run (separation of duties).
ALTER TABLE runs ADD COLUMN started_by TEXT;
-- Who decided, on the interrupt (for snapshots) and in the audit log.
ALTER TABLE interrupts ADD COLUMN decided_by_id TEXT;
ALTER TABLE interrupts ADD COLUMN decided_by_name TEXT;
ALTER TABLE decisions ADD COLUMN decided_by_id TEXT;
ALTER TABLE decisions ADD COLUMN decided_by_name TEXT;
-- The signed receipt, as JSON: {"payload", "signature"}.
ALTER TABLE decisions ADD COLUMN receipt TEXT;

-- Public halves of the keys that signed receipts, so any server can serve
-- every key of the cluster.
CREATE TABLE receipt_keys (
    kid TEXT PRIMARY KEY,
    x TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Browser sessions (tower-sessions records): their data as JSON, and when
-- they end (Unix seconds).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
