DROP TABLE outbox;
DROP TABLE score_audit;
DROP TABLE user_scores;
DROP TABLE score_keys;
DROP TABLE actions;
