ALTER TABLE user_scores ALTER COLUMN user_id TYPE TEXT COLLATE "default";
