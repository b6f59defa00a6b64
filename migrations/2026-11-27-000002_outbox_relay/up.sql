-- The outbox relay: a replica leases a batch of unpublished rows (so replicas never publish the same row
-- at the same time), publishes them with confirms, then marks them published. A lease that runs out (the
-- replica crashed) makes the rows available again.
ALTER TABLE outbox ADD COLUMN leased_until TIMESTAMPTZ;
-- W3C traceparent of the request that wrote the row, carried into the AMQP headers.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
