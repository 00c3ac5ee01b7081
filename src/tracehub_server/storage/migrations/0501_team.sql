-- Team features: project descriptions, deactivated users, an audit trail, invitations.
ALTER TABLE projects ADD COLUMN description text NOT NULL DEFAULT ''
    CHECK (length(description) <= 500);

-- A deactivated user's password hash is parked here (their login column holds an unusable
-- marker), so reactivating restores it; sessions and tokens are ended when deactivating.
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
ALTER TABLE users ADD COLUMN parked_password_hash text;

-- Who did what, readable by admins. actor_email is copied so a deleted user's name stays.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    actor_email  text NOT NULL,
    action       text NOT NULL,
    target       text NOT NULL DEFAULT '',
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);

-- One-time links that let someone set a password and join a project; only a hash is kept.
CREATE TABLE invitations (
    id           bigserial PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    project_id   bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (email = lower(email)),
    role         text NOT NULL CHECK (role IN ('member', 'viewer')),
    created_by   bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX invitations_project_idx ON invitations (project_id, created_at DESC);
