-- The same redeem as an explicit transaction: SELECT ... FOR UPDATE, checks in the application, then one
-- statement per write: seven round trips instead of one. Needs -M extended (variables become parameters).
\set i :i + 1
\set k :client_id * 1000000 + :i
BEGIN;
SELECT user_id, amount, status, expires_at FROM score_keys WHERE key = 'k' || :k FOR UPDATE \gset key_
UPDATE score_keys SET status = 'redeemed', redeemed_at = now() WHERE key = 'k' || :k;
INSERT INTO user_scores AS s (user_id, score, reached_at, version) VALUES (:key_user_id, :key_amount, now(), 1)
ON CONFLICT (user_id) DO UPDATE
    SET score = s.score + EXCLUDED.score, reached_at = GREATEST(s.reached_at, EXCLUDED.reached_at), version = s.version + 1
RETURNING score, version, reached_at \gset new_
INSERT INTO score_audit (user_id, delta, score_after, version, reason, score_key, actor, created_at)
VALUES (:key_user_id, :key_amount, :new_score, :new_version, 'key_redeemed', 'k' || :k, :key_user_id, now());
INSERT INTO outbox (id, event_type, payload, created_at)
VALUES (gen_random_uuid(), 'ScoreUpdated', jsonb_build_object('user_id', :key_user_id::text, 'score', :new_score::bigint, 'version', :new_version::bigint), now());
COMMIT;
