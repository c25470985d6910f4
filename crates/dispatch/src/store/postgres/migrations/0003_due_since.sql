-- When a delivery last became due from the start: its first next_attempt_at, moved by a
-- manual redelivery or recovery. Delivery latency is measured from it. Rows written before
-- this version read as due since their creation (a column without a default is added
-- without rewriting the table).
ALTER TABLE __SCHEMA__.deliveries ADD COLUMN due_since bigint;
