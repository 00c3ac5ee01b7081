-- TraceHub schema, version 1.
-- Tables and column names here are a contract between the worker, the query API and the
-- dashboard: later migrations add, they do not rename.

CREATE TABLE projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys are high-entropy random strings, so a SHA-256 digest is a safe one-way hash and
-- keeps the per-request lookup a single index probe (argon2 is for low-entropy passwords).
CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name          text NOT NULL DEFAULT '',
    prefix        text NOT NULL,            -- first characters, shown in listings: "th_AbCd1234"
    key_hash      bytea NOT NULL UNIQUE,    -- sha256(key)
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_project_idx ON api_keys (project_id);

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash  text NOT NULL,           -- argon2id
    is_admin       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);

CREATE TABLE project_members (
    project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('member', 'viewer')),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON project_members (user_id);

-- Logs: range-partitioned by day on "timestamp" (daily partitions make retention a cheap
-- DROP TABLE and keep each partition's indexes small). Partitions are created ahead of time
-- and on demand by tracehub_ensure_log_partition().
CREATE TABLE logs (
    project_id          bigint NOT NULL,
    "timestamp"         timestamptz NOT NULL,
    event_id            uuid NOT NULL,
    received_at         timestamptz NOT NULL,
    level               text NOT NULL,       -- DEBUG, INFO, WARN, ERROR, FATAL
    service             text NOT NULL,
    environment         text NOT NULL,
    host                text,
    pid                 integer,
    thread_id           bigint,
    sdk_version         text,
    message             text NOT NULL,
    module              text,
    trace_id            text,
    error_type          text,
    error_message       text,
    stack_trace         text,
    extra               jsonb,
    original_timestamp  text,                -- set when the sent timestamp was out of range and replaced
    issue_id            bigint               -- set for ERROR/FATAL entries grouped into an issue
) PARTITION BY RANGE ("timestamp");

-- Exactly-once: one row per (event_id, project) in a partition; event_id leads so a log can
-- be fetched by its id alone.
CREATE UNIQUE INDEX logs_event_uidx ON logs (event_id, project_id, "timestamp");
CREATE INDEX logs_project_time_idx ON logs (project_id, "timestamp" DESC);
CREATE INDEX logs_trace_idx ON logs (project_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_issue_idx ON logs (issue_id, "timestamp" DESC) WHERE issue_id IS NOT NULL;
CREATE INDEX logs_extra_idx ON logs USING gin (extra jsonb_path_ops);

CREATE TABLE issues (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    fingerprint         text NOT NULL,       -- hex sha256
    title               text NOT NULL,
    error_type          text,
    error_message       text,                -- a sample (the first seen), not normalised
    level               text NOT NULL,       -- the highest level seen: ERROR or FATAL
    status              text NOT NULL DEFAULT 'OPEN'
                        CHECK (status IN ('OPEN', 'IN_PROGRESS', 'RESOLVED', 'IGNORED')),
    is_regression       boolean NOT NULL DEFAULT false,
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    event_count         bigint NOT NULL DEFAULT 0,
    sample_stack_trace  text,
    sample_event_id     uuid,
    service             text,
    resolved_at         timestamptz,
    assignee_id         bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, fingerprint)
);
CREATE INDEX issues_project_last_seen_idx ON issues (project_id, last_seen DESC);
CREATE INDEX issues_project_status_idx ON issues (project_id, status, last_seen DESC);

-- Events per issue per hour: the issue's chart and "recent activity" without scanning logs.
CREATE TABLE issue_hourly_counts (
    issue_id  bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (issue_id, hour)
);

-- Rollup maintained by the worker in the same transaction as the rows it counts, so the
-- dashboard's stats never scan logs.
CREATE TABLE hourly_counts (
    project_id   bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    hour         timestamptz NOT NULL,
    level        text NOT NULL,
    service      text NOT NULL,
    environment  text NOT NULL,
    count        bigint NOT NULL,
    PRIMARY KEY (project_id, hour, level, service, environment)
);
