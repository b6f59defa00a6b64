-- Equal scores reached at the same instant rank by user id. Redis orders those ties by raw bytes; the
-- "C" collation makes PostgreSQL order them the same way whatever the cluster's default collation is.
ALTER TABLE user_scores ALTER COLUMN user_id TYPE TEXT COLLATE "C";
