-- Every index is kept up by every change the writer makes. These three
-- served queries that a smaller one serves: recovery and lease takeover
-- look at active runs only, and nothing looks for pending interrupts by
-- `resolved_at` (a thread's are read with the thread). Fewer index entries
-- to change on each status update (and on PostgreSQL, an interrupt's
-- resolution can be a HOT update).
DROP INDEX interrupts_pending;
DROP INDEX runs_by_status;
DROP INDEX runs_by_lease;
CREATE INDEX runs_active ON runs (owner, lease_until) WHERE status IN ('running', 'interrupted');
