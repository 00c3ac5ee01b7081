-- Alerts (issue 15): channels, rules, the outbox of triggers, notifications and their attempts.
--
-- Flow: the digest (new issues, regressions) and the periodic evaluation (frequency, log
-- volume) insert alert_triggers in the transaction that commits the data; the planner turns
-- triggers into alert_notifications (one per channel, noise control applied); the dispatcher
-- delivers notifications and records each attempt.

CREATE TABLE alert_channels (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind        text NOT NULL CHECK (kind IN ('email', 'webhook', 'slack')),
    target      text NOT NULL,            -- recipients (email, comma-separated) or URL
    secret      text,                     -- webhook HMAC-SHA256 key; never shown again
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_channels_project_idx ON alert_channels (project_id);

CREATE TABLE alert_rules (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind              text NOT NULL
                      CHECK (kind IN ('new_issue', 'regression', 'frequency', 'volume')),
    enabled           boolean NOT NULL DEFAULT true,
    environments      text[] NOT NULL DEFAULT '{}',   -- empty: any
    services          text[] NOT NULL DEFAULT '{}',
    levels            text[] NOT NULL DEFAULT '{}',
    threshold         integer CHECK (threshold >= 1),          -- frequency, volume
    window_minutes    integer CHECK (window_minutes BETWEEN 1 AND 1440),
    query             jsonb NOT NULL DEFAULT '[]',    -- volume: explorer parameters [[k, v], ...]
    channel_ids       bigint[] NOT NULL DEFAULT '{}',
    interval_minutes  integer NOT NULL DEFAULT 60 CHECK (interval_minutes BETWEEN 0 AND 10080),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- The digest's one lookup: the enabled issue rules of the projects it touched.
CREATE INDEX alert_rules_enabled_idx ON alert_rules (project_id, kind) WHERE enabled;

-- The outbox. Written in the committing transaction; consumed by the planner.
CREATE TABLE alert_triggers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id     bigint NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    project_id  bigint NOT NULL,
    issue_id    bigint,                   -- NULL for log-volume triggers
    kind        text NOT NULL,
    facts       jsonb,                    -- frequency/volume: the counts that fired
    folded      boolean NOT NULL DEFAULT false,  -- past the hourly cap: waits for a digest
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- The evaluation skips rules (and issues) still waiting here.
CREATE INDEX alert_triggers_rule_idx ON alert_triggers (rule_id);
-- The planner reads unplanned triggers, and folded ones only once their digest is due.
CREATE INDEX alert_triggers_unplanned_idx ON alert_triggers (id) WHERE NOT folded;
CREATE INDEX alert_triggers_folded_idx ON alert_triggers (project_id) WHERE folded;

-- Messages sent per project in the current hour, and when its last digest went out.
CREATE TABLE alert_project_budget (
    project_id      bigint PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    hour            timestamptz NOT NULL,
    messages        integer NOT NULL,
    last_digest_at  timestamptz
);

-- Last notification per (rule, issue); issue_id 0 stands for a rule-level (volume) trigger.
CREATE TABLE alert_rule_state (
    rule_id        bigint NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    issue_id       bigint NOT NULL,
    notified_at    timestamptz NOT NULL,
    PRIMARY KEY (rule_id, issue_id)
);

-- Muted (until NULL) or snoozed (until a time) issues send nothing.
CREATE TABLE alert_mutes (
    issue_id    bigint PRIMARY KEY REFERENCES issues(id) ON DELETE CASCADE,
    until       timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alert_notifications (
    id               uuid PRIMARY KEY,          -- sent to receivers; the same on every attempt
    project_id       bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    rule_id          bigint REFERENCES alert_rules(id) ON DELETE SET NULL,
    channel_id       bigint REFERENCES alert_channels(id) ON DELETE SET NULL,
    channel_name     text NOT NULL,
    kind             text NOT NULL,             -- new_issue, regression, frequency, volume, digest
    payload          jsonb NOT NULL,            -- the rendered facts; each channel formats them
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    locked_until     timestamptz,               -- a dispatcher's lease while it sends
    deadline         timestamptz NOT NULL,
    last_result      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX alert_notifications_due_idx ON alert_notifications (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX alert_notifications_project_idx ON alert_notifications (project_id, created_at DESC);

CREATE TABLE alert_attempts (
    notification_id  uuid NOT NULL REFERENCES alert_notifications(id) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    ok               boolean NOT NULL,
    answer           text NOT NULL,             -- the receiver's status and body, or the error
    PRIMARY KEY (notification_id, attempt)
);
