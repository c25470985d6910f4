-- hookwire PostgreSQL store, version 1. `__SCHEMA__` is replaced by the quoted schema name.

-- Registered endpoints. The full record is `data` (serde JSON); the columns beside it are what
-- queries filter on. `last_triggered_at` is a column of its own so workers can bump it
-- without rewriting the record.
CREATE TABLE __SCHEMA__.endpoints (
    seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                text PRIMARY KEY,
    tenant            text NOT NULL,
    enabled           boolean NOT NULL,
    fifo              boolean NOT NULL,
    created_at        bigint NOT NULL,
    last_triggered_at bigint,
    data              jsonb NOT NULL
);
CREATE INDEX endpoints_tenant ON __SCHEMA__.endpoints (tenant, created_at, seq);
-- The claim looks FIFO endpoints up on every call; there are few of them.
CREATE INDEX endpoints_fifo ON __SCHEMA__.endpoints (id) WHERE fifo AND enabled;

-- Accepted messages. (tenant, idempotency_key) makes a repeated send a no-op; NULL keys never
-- collide.
CREATE TABLE __SCHEMA__.messages (
    id              text PRIMARY KEY,
    tenant          text NOT NULL,
    event_type      text NOT NULL,
    payload         bytea NOT NULL,
    idempotency_key text,
    created_at      bigint NOT NULL,
    CONSTRAINT messages_idempotency UNIQUE (tenant, idempotency_key)
);
CREATE INDEX messages_created ON __SCHEMA__.messages (created_at);

-- One message to one endpoint. No foreign key to endpoints: history outlives an endpoint.
CREATE TABLE __SCHEMA__.deliveries (
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id               text PRIMARY KEY,
    message_id       text NOT NULL REFERENCES __SCHEMA__.messages (id) ON DELETE CASCADE,
    endpoint_id      text NOT NULL,
    state            text NOT NULL
                     CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  bigint NOT NULL,
    first_attempt_at bigint,
    lease_owner      text,
    lease_expires_at bigint,
    last_error       text,
    created_at       bigint NOT NULL
);
-- The claim: due pending deliveries in due order. Partial, so its size is the queue's, not the
-- history's, and a claim with a million pending rows reads a few index pages.
CREATE INDEX deliveries_due ON __SCHEMA__.deliveries (next_attempt_at, seq)
    WHERE state = 'pending';
-- Expired leases (a worker died).
CREATE INDEX deliveries_leased ON __SCHEMA__.deliveries (lease_expires_at)
    WHERE state = 'in_flight';
-- FIFO heads: the oldest unfinished delivery of an endpoint.
CREATE INDEX deliveries_open_by_endpoint ON __SCHEMA__.deliveries (endpoint_id, created_at, seq)
    WHERE state IN ('pending', 'in_flight');
CREATE INDEX deliveries_endpoint ON __SCHEMA__.deliveries (endpoint_id, seq);
CREATE INDEX deliveries_message ON __SCHEMA__.deliveries (message_id);

-- The attempt log. Deleted with its message, or by age (`purge`).
CREATE TABLE __SCHEMA__.attempts (
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id               text PRIMARY KEY,
    delivery_id      text NOT NULL,
    message_id       text NOT NULL REFERENCES __SCHEMA__.messages (id) ON DELETE CASCADE,
    endpoint_id      text NOT NULL,
    number           integer NOT NULL,
    at               bigint NOT NULL,
    duration_ms      bigint NOT NULL,
    status           integer,
    error            text,
    response_snippet text,
    success          boolean NOT NULL
);
CREATE INDEX attempts_message ON __SCHEMA__.attempts (message_id, at, number);
CREATE INDEX attempts_endpoint ON __SCHEMA__.attempts (endpoint_id, at);
CREATE INDEX attempts_at ON __SCHEMA__.attempts (at);
CREATE INDEX attempts_failed ON __SCHEMA__.attempts (at) WHERE NOT success;
