ALTER TABLE outbox DROP COLUMN traceparent;
ALTER TABLE outbox DROP COLUMN leased_until;
