-- Failed-login counts shared by every API process (issue 17).
-- One row per (email, client address) with recent failures; rows quiet for longer than the
-- throttle's window are purged. Kept in PostgreSQL rather than per process, so the schedule
-- holds for an attacked account however many other names are tried, and under --workers N.

CREATE TABLE login_throttle (
    email     text NOT NULL,                 -- sha256 hex of the lower-cased email as typed
    client    text NOT NULL,                 -- the client address the throttle trusts
    failures  integer NOT NULL,              -- attempts counted since the last success
    last_at   timestamptz NOT NULL,          -- time of the last counted attempt
    PRIMARY KEY (email, client)
);
CREATE INDEX login_throttle_last_idx ON login_throttle (last_at);
