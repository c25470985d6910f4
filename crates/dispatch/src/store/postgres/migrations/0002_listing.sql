-- Keyset pagination of the delivery list (newest first, by (created_at, seq)): the whole
-- history, and one endpoint's.
CREATE INDEX deliveries_created ON __SCHEMA__.deliveries (created_at, seq);
CREATE INDEX deliveries_endpoint_created ON __SCHEMA__.deliveries (endpoint_id, created_at, seq);
