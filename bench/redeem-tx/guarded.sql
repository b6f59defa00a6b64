-- The redeem as the score service runs it: one guarded statement (crates/db/src/keys.rs, REDEEM_SQL).
\set i :i + 1
\set k :client_id * 1000000 + :i
WITH redeemed AS (
    UPDATE score_keys SET status = 'redeemed', redeemed_at = now()
    WHERE key = 'k' || :k AND user_id = 'u' || (:k % 1000) AND status = 'pending' AND expires_at > now()
    RETURNING key, user_id, amount
), scored AS (
    INSERT INTO user_scores AS s (user_id, score, reached_at, version)
    SELECT user_id, amount, now(), 1 FROM redeemed
    ON CONFLICT (user_id) DO UPDATE
        SET score = s.score + EXCLUDED.score,
            reached_at = GREATEST(s.reached_at, EXCLUDED.reached_at),
            version = s.version + 1
    RETURNING user_id, score, reached_at, version
), audited AS (
    INSERT INTO score_audit (user_id, delta, score_after, version, reason, score_key, actor, created_at)
    SELECT r.user_id, r.amount, sc.score, sc.version, 'key_redeemed', r.key, r.user_id, now()
    FROM redeemed r JOIN scored sc USING (user_id)
), published AS (
    INSERT INTO outbox (id, event_type, payload, created_at)
    SELECT gen_random_uuid(), 'ScoreUpdated', jsonb_build_object(
               'schema_version', 1, 'user_id', sc.user_id, 'score', sc.score,
               'delta', r.amount, 'reached_at', sc.reached_at, 'version', sc.version),
           now()
    FROM redeemed r JOIN scored sc USING (user_id)
)
SELECT sc.user_id, r.amount, sc.score, sc.reached_at, sc.version
FROM redeemed r JOIN scored sc USING (user_id);
