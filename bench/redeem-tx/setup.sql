-- Keys for the redeem-transaction benchmark: :clients clients x :per_client keys each, owned by 1,000
-- users. Key number k = client_id * 1000000 + i is owned by user 'u' || (k % 1000).
TRUNCATE outbox, score_audit, user_scores, score_keys, actions;
INSERT INTO actions (id, user_id, kind, status, started_at, deadline_at, completed_at)
SELECT md5('a' || k)::uuid, 'u' || (k % 1000), 'demo', 'completed', now(), now(), now()
FROM generate_series(0, :clients - 1) c, generate_series(1, :per_client) i, LATERAL (SELECT c * 1000000 + i AS k) x;
INSERT INTO score_keys (key, user_id, action_id, amount, status, created_at, expires_at)
SELECT 'k' || k, 'u' || (k % 1000), md5('a' || k)::uuid, 10, 'pending', now(), now() + interval '1 day'
FROM generate_series(0, :clients - 1) c, generate_series(1, :per_client) i, LATERAL (SELECT c * 1000000 + i AS k) x;
VACUUM ANALYZE;
