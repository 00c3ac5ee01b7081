-- Saved searches of the logs explorer: a named query string, shared by a project's members.
CREATE TABLE saved_searches (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    query       text NOT NULL CHECK (length(query) <= 4000),
    created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    -- Copied, so a search still says who saved it after that user is deleted.
    created_by_email text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, name)
);
