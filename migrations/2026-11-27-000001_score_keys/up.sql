-- The score-key lifecycle: an action X started and verified, the one key it mints, the scores those keys
-- raise, an audit trail of every change, and the outbox that carries ScoreUpdated to the broker.

CREATE TABLE actions (
    id               UUID        PRIMARY KEY,
    user_id          TEXT        NOT NULL,
    kind             TEXT        NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'started'
                                 CHECK (status IN ('started', 'completed', 'failed')),
    -- What the client was shown, and what only the server knows (never sent to a client).
    challenge_prompt TEXT,
    challenge_answer TEXT,
    failed_attempts  INTEGER     NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    -- Set when a trusted backend reported the completion; makes those reports idempotent.
    external_id      TEXT,
    started_at       TIMESTAMPTZ NOT NULL,
    deadline_at      TIMESTAMPTZ NOT NULL,
    completed_at     TIMESTAMPTZ,
    CONSTRAINT actions_deadline_after_start CHECK (deadline_at >= started_at),
    CONSTRAINT actions_external_id_once UNIQUE (kind, external_id)
);
CREATE INDEX actions_by_user ON actions (user_id, started_at DESC);

CREATE TABLE score_keys (
    key         TEXT        PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    -- At most one key per action: the database itself refuses a second.
    action_id   UUID        NOT NULL UNIQUE REFERENCES actions (id),
    amount      BIGINT      NOT NULL CHECK (amount > 0),
    status      TEXT        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'redeemed', 'expired')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    redeemed_at TIMESTAMPTZ,
    CONSTRAINT score_keys_redeemed_at_iff_redeemed CHECK ((status = 'redeemed') = (redeemed_at IS NOT NULL))
);
-- A user's unredeemed keys (the recovery list) and the expiry sweep only ever look at pending keys.
CREATE INDEX score_keys_pending_by_user ON score_keys (user_id, created_at) WHERE status = 'pending';
CREATE INDEX score_keys_pending_by_expiry ON score_keys (expires_at) WHERE status = 'pending';

CREATE TABLE user_scores (
    user_id    TEXT        PRIMARY KEY,
    score      BIGINT      NOT NULL CHECK (score >= 0),
    -- When the user reached this score: equal scores rank by who got there first.
    reached_at TIMESTAMPTZ NOT NULL,
    -- Bumped on every change, so a consumer can apply ScoreUpdated events idempotently and in order.
    version    BIGINT      NOT NULL CHECK (version > 0)
);
-- Top-N and a user's rank walk this index in leaderboard order.
CREATE INDEX user_scores_leaderboard ON user_scores (score DESC, reached_at ASC, user_id ASC);

CREATE TABLE score_audit (
    id          BIGSERIAL   PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    delta       BIGINT      NOT NULL,
    score_after BIGINT      NOT NULL,
    version     BIGINT      NOT NULL,
    reason      TEXT        NOT NULL CHECK (reason IN ('key_redeemed', 'operator_adjustment')),
    score_key   TEXT        REFERENCES score_keys (key),
    actor       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT score_audit_key_reason CHECK ((reason = 'key_redeemed') = (score_key IS NOT NULL))
);
-- A second line of defence behind the redeem transaction: one key can appear in the trail once.
CREATE UNIQUE INDEX score_audit_once_per_key ON score_audit (score_key) WHERE score_key IS NOT NULL;
CREATE INDEX score_audit_by_user ON score_audit (user_id, id);

CREATE TABLE outbox (
    id           UUID        PRIMARY KEY,
    seq          BIGSERIAL   NOT NULL UNIQUE,
    event_type   TEXT        NOT NULL,
    payload      JSONB       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
