-- Per-project PII scrubbing rules (docs/errors.md), and who changed them when.
-- A project without a row scrubs with the defaults.
CREATE TABLE project_scrubbing (
    project_id        bigint PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    defaults_enabled  boolean NOT NULL DEFAULT true,
    extra_keys        text[] NOT NULL DEFAULT '{}',  -- more key names to scrub
    safe_keys         text[] NOT NULL DEFAULT '{}',  -- key names never scrubbed
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        bigint REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE project_scrubbing_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    changed_by_email text,                              -- kept if the user is deleted
    before      jsonb NOT NULL,
    after       jsonb NOT NULL
);
CREATE INDEX project_scrubbing_changes_idx ON project_scrubbing_changes (project_id, changed_at DESC);
