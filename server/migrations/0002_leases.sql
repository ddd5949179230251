-- Until when the owner vouches for an active run. Another server may take
-- over a run whose lease has passed (its owner died).
ALTER TABLE runs ADD COLUMN lease_until BIGINT;
CREATE INDEX runs_by_lease ON runs (status, lease_until);
