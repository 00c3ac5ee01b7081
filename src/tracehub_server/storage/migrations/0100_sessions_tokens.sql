-- Dashboard sessions and personal access tokens (issue 4).
-- Both keep only a SHA-256 digest of their random secret: the secrets are high-entropy, so a
-- plain hash is a safe one-way function and a lookup stays one unique-index probe.

CREATE TABLE sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE,        -- sha256(cookie value)
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,                -- per session; sent back in X-CSRF-Token / forms
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE access_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          text NOT NULL DEFAULT '',
    prefix        text NOT NULL,                -- "thp_AbCd1234", shown in listings
    token_hash    bytea NOT NULL UNIQUE,        -- sha256(token)
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id);
