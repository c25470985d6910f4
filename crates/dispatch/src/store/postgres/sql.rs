//! The SQL of the PostgreSQL store, formatted once per schema.

/// Columns of a delivery row, in the order [`super::rows::delivery`] reads them.
pub(super) const DELIVERY_COLS: &str = "d.seq, d.id, d.message_id, d.endpoint_id, d.state, \
     d.attempts, d.next_attempt_at, d.first_attempt_at, d.lease_owner, d.lease_expires_at, \
     d.last_error, d.created_at, COALESCE(d.due_since, d.created_at)";
/// How many columns [`DELIVERY_COLS`] has.
pub(super) const DELIVERY_NCOLS: usize = 13;
/// Columns of a message row, in the order [`super::rows::message`] reads them.
pub(super) const MESSAGE_COLS: &str =
    "m.id, m.tenant, m.event_type, m.payload, m.idempotency_key, m.created_at";
/// How many columns [`MESSAGE_COLS`] has.
pub(super) const MESSAGE_NCOLS: usize = 6;
/// Columns of an endpoint row, in the order [`super::rows::endpoint`] reads them.
pub(super) const ENDPOINT_COLS: &str = "e.data::text, e.last_triggered_at";
/// Columns of an attempt row, in the order [`super::rows::attempt`] reads them.
pub(super) const ATTEMPT_COLS: &str = "a.id, a.delivery_id, a.message_id, a.endpoint_id, \
     a.number, a.at, a.duration_ms, a.status, a.error, a.response_snippet, a.success";

/// Every statement the store runs, with the schema name filled in.
#[derive(Debug)]
pub(super) struct Sql {
    pub(super) insert_endpoint: String,
    pub(super) lock_tenant: String,
    pub(super) count_tenant_endpoints: String,
    pub(super) get_endpoint: String,
    pub(super) list_endpoints: String,
    pub(super) lock_endpoint: String,
    pub(super) lock_endpoint_batch: String,
    pub(super) update_endpoint: String,
    pub(super) delete_open_of_endpoint: String,
    pub(super) delete_endpoint: String,
    pub(super) insert_message: String,
    pub(super) find_duplicate: String,
    pub(super) insert_deliveries: String,
    pub(super) notify: String,
    pub(super) get_message: String,
    pub(super) get_delivery: String,
    pub(super) list_deliveries: String,
    pub(super) fifo_heads: String,
    pub(super) claim_candidates: String,
    pub(super) claim_update: String,
    pub(super) renew_lease: String,
    pub(super) renew_leases: String,
    pub(super) complete: String,
    pub(super) complete_batch: String,
    pub(super) deliveries_exist: String,
    pub(super) claim_plain: String,
    pub(super) fifo_lock: String,
    pub(super) release: String,
    pub(super) fail_pending: String,
    pub(super) redeliver: String,
    pub(super) recover: String,
    pub(super) attempts_for_message: String,
    pub(super) attempts_for_endpoint: String,
    pub(super) failed_attempts: String,
    pub(super) queue_depth: String,
    pub(super) next_due: String,
    pub(super) delivery_exists: String,
    /// `$1` cutoff, `$2` limit, `$3` the states a purged message's deliveries may be in.
    pub(super) purge_messages: String,
    pub(super) purge_payloads: String,
}

impl Sql {
    /// The statements for the (already validated and quoted) schema `s`.
    pub(super) fn new(s: &str) -> Self {
        Self {
            insert_endpoint: format!(
                "INSERT INTO {s}.endpoints \
                 (id, tenant, enabled, fifo, created_at, last_triggered_at, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, ($7::text)::jsonb) ON CONFLICT (id) DO NOTHING"
            ),
            lock_tenant:
                "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text || '/' || $3::text))"
                    .to_owned(),
            count_tenant_endpoints: format!("SELECT count(*) FROM {s}.endpoints WHERE tenant = $1"),
            get_endpoint: format!("SELECT {ENDPOINT_COLS} FROM {s}.endpoints e WHERE e.id = $1"),
            list_endpoints: format!(
                "SELECT {ENDPOINT_COLS} FROM {s}.endpoints e WHERE e.tenant = $1 \
                 ORDER BY e.created_at, e.seq"
            ),
            lock_endpoint: format!(
                "SELECT {ENDPOINT_COLS} FROM {s}.endpoints e WHERE e.id = $1 FOR UPDATE"
            ),
            lock_endpoint_batch: format!(
                "SELECT {ENDPOINT_COLS} FROM {s}.endpoints e \
                 WHERE $1::text IS NULL OR e.id > $1::text ORDER BY e.id LIMIT $2 FOR UPDATE"
            ),
            update_endpoint: format!(
                "UPDATE {s}.endpoints SET tenant = $2, enabled = $3, fifo = $4, \
                 last_triggered_at = CASE WHEN last_triggered_at IS NULL OR $5 > last_triggered_at \
                 THEN $5 ELSE last_triggered_at END, data = ($6::text)::jsonb WHERE id = $1"
            ),
            delete_open_of_endpoint: format!(
                "DELETE FROM {s}.deliveries WHERE endpoint_id = $1 AND state IN ('pending', 'in_flight')"
            ),
            delete_endpoint: format!("DELETE FROM {s}.endpoints WHERE id = $1"),
            insert_message: format!(
                "INSERT INTO {s}.messages \
                 (id, tenant, event_type, payload, idempotency_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id"
            ),
            find_duplicate: format!(
                "SELECT id FROM {s}.messages WHERE tenant = $1 AND idempotency_key = $2"
            ),
            insert_deliveries: format!(
                "INSERT INTO {s}.deliveries \
                 (id, message_id, endpoint_id, state, next_attempt_at, due_since, created_at) \
                 SELECT n.id, $1, n.endpoint_id, 'pending', n.next_attempt_at, \
                 n.next_attempt_at, $2 \
                 FROM unnest($3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY \
                 AS n(id, endpoint_id, next_attempt_at, ord) ORDER BY n.ord \
                 ON CONFLICT DO NOTHING RETURNING id"
            ),
            notify: "SELECT pg_notify($1, '')".to_owned(),
            get_message: format!("SELECT {MESSAGE_COLS} FROM {s}.messages m WHERE m.id = $1"),
            get_delivery: format!("SELECT {DELIVERY_COLS} FROM {s}.deliveries d WHERE d.id = $1"),
            list_deliveries: format!(
                "SELECT {DELIVERY_COLS} FROM {s}.deliveries d \
                 WHERE ($1::text IS NULL OR d.endpoint_id = $1) \
                 AND ($2::text IS NULL OR d.message_id = $2) \
                 AND ($3::text IS NULL OR d.state = $3) \
                 AND ($5::bigint IS NULL OR d.created_at >= $5) \
                 AND ($6::bigint IS NULL OR d.created_at < $6) \
                 AND ($7::bigint IS NULL OR (d.created_at, d.seq) < ($7, $8::bigint)) \
                 AND (($9::text IS NULL AND $10::text IS NULL) OR EXISTS ( \
                     SELECT 1 FROM {s}.messages m WHERE m.id = d.message_id \
                     AND ($9::text IS NULL OR m.tenant = $9) \
                     AND ($10::text IS NULL OR m.event_type = $10))) \
                 ORDER BY d.created_at DESC, d.seq DESC LIMIT $4"
            ),
            // The head of each enabled FIFO endpoint, when it is claimable: the oldest
            // unfinished delivery, due (or under an expired lease), with no delivery of the
            // endpoint in flight under a live lease. $3 restricts it to endpoints this claim
            // holds the advisory lock of.
            fifo_heads: format!(
                "SELECT e.id, h.seq, h.next_attempt_at FROM {s}.endpoints e \
                 CROSS JOIN LATERAL (SELECT d.seq, d.state, d.next_attempt_at, d.lease_expires_at \
                   FROM {s}.deliveries d \
                   WHERE d.endpoint_id = e.id AND d.state IN ('pending', 'in_flight') \
                   ORDER BY d.created_at, d.seq LIMIT 1) h \
                 WHERE e.fifo AND e.enabled \
                 AND ($3::text[] IS NULL OR e.id = ANY($3)) \
                 AND ((h.state = 'pending' AND h.next_attempt_at <= $1) \
                   OR (h.state = 'in_flight' AND h.lease_expires_at <= $1)) \
                 AND NOT EXISTS (SELECT 1 FROM {s}.deliveries x \
                   WHERE x.endpoint_id = e.id AND x.state = 'in_flight' \
                   AND x.lease_expires_at > $1) \
                 ORDER BY h.next_attempt_at, h.seq LIMIT $2"
            ),
            // Due deliveries of enabled non-FIFO endpoints: pending ones through the partial
            // index `deliveries_due`, expired leases through `deliveries_leased`. Row locks
            // with SKIP LOCKED keep concurrent claimers off each other's rows.
            claim_candidates: format!(
                "WITH p AS (SELECT d.seq, d.next_attempt_at FROM {s}.deliveries d \
                   JOIN {s}.endpoints e ON e.id = d.endpoint_id \
                   WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
                   AND e.enabled AND NOT e.fifo \
                   ORDER BY d.next_attempt_at, d.seq LIMIT $2 FOR UPDATE OF d SKIP LOCKED), \
                 x AS (SELECT d.seq, d.next_attempt_at FROM {s}.deliveries d \
                   JOIN {s}.endpoints e ON e.id = d.endpoint_id \
                   WHERE d.state = 'in_flight' AND d.lease_expires_at <= $1 \
                   AND e.enabled AND NOT e.fifo \
                   ORDER BY d.lease_expires_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED) \
                 SELECT seq, next_attempt_at FROM p UNION ALL SELECT seq, next_attempt_at FROM x"
            ),
            // The state check is repeated here so the update itself can never take a
            // delivery that someone else holds under a live lease.
            claim_update: format!(
                "UPDATE {s}.deliveries d SET state = 'in_flight', lease_owner = $2, \
                 lease_expires_at = $3 \
                 FROM {s}.messages m, {s}.endpoints e \
                 WHERE d.seq = ANY($1) AND m.id = d.message_id AND e.id = d.endpoint_id \
                 AND (d.state = 'pending' OR (d.state = 'in_flight' AND d.lease_expires_at <= $4)) \
                 RETURNING {DELIVERY_COLS}, {MESSAGE_COLS}, {ENDPOINT_COLS}"
            ),
            renew_lease: format!(
                "UPDATE {s}.deliveries SET lease_expires_at = $3 \
                 WHERE id = $1 AND state = 'in_flight' AND lease_owner = $2"
            ),
            renew_leases: format!(
                "UPDATE {s}.deliveries SET lease_expires_at = $3 \
                 WHERE id = ANY($1) AND state = 'in_flight' AND lease_owner = $2 \
                 RETURNING id"
            ),
            // One statement, so one round trip and atomic without BEGIN/COMMIT: the delivery
            // changes only while the worker holds the lease, and the attempt row and the
            // endpoint's last_triggered_at are written only when it did.
            complete: format!(
                "WITH d AS (UPDATE {s}.deliveries SET state = $3, attempts = attempts + 1, \
                   first_attempt_at = COALESCE(first_attempt_at, $7), \
                   next_attempt_at = COALESCE($4, next_attempt_at), \
                   lease_owner = NULL, lease_expires_at = NULL, last_error = $5 \
                   WHERE id = $1 AND state = 'in_flight' AND lease_owner = $2 \
                   RETURNING endpoint_id), \
                 a AS (INSERT INTO {s}.attempts (id, delivery_id, message_id, endpoint_id, \
                   number, at, duration_ms, status, error, response_snippet, success) \
                   SELECT $6, $1, $8, $9, $10, $7, $11, $12, $13, $14, $15 FROM d), \
                 t AS (UPDATE {s}.endpoints e SET last_triggered_at = $7 FROM d \
                   WHERE e.id = d.endpoint_id \
                   AND (e.last_triggered_at IS NULL OR e.last_triggered_at < $7)) \
                 SELECT count(*) FROM d"
            ),
            // `complete` for a batch, in one statement (so one transaction): $1..$15 are
            // parallel arrays, one element per item, delivery ids distinct. The endpoints
            // are locked in id order before their `last_triggered_at` moves, so concurrent
            // batches touching several endpoints cannot deadlock. Returns the ids recorded.
            complete_batch: format!(
                "WITH i AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], \
                   $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], \
                   $10::int4[], $11::bigint[], $12::int4[], $13::text[], $14::text[], \
                   $15::boolean[]) AS i(delivery_id, worker, state, next_at, last_error, \
                   attempt_id, at, message_id, endpoint_id, number, duration_ms, status, \
                   error, snippet, success)), \
                 d AS (UPDATE {s}.deliveries x SET state = i.state, attempts = x.attempts + 1, \
                   first_attempt_at = COALESCE(x.first_attempt_at, i.at), \
                   next_attempt_at = COALESCE(i.next_at, x.next_attempt_at), \
                   lease_owner = NULL, lease_expires_at = NULL, last_error = i.last_error \
                   FROM i WHERE x.id = i.delivery_id AND x.state = 'in_flight' \
                   AND x.lease_owner = i.worker \
                   RETURNING x.id, x.endpoint_id, i.at), \
                 a AS (INSERT INTO {s}.attempts (id, delivery_id, message_id, endpoint_id, \
                   number, at, duration_ms, status, error, response_snippet, success) \
                   SELECT i.attempt_id, i.delivery_id, i.message_id, i.endpoint_id, i.number, \
                   i.at, i.duration_ms, i.status, i.error, i.snippet, i.success \
                   FROM i JOIN d ON d.id = i.delivery_id), \
                 l AS (SELECT e.id FROM {s}.endpoints e \
                   WHERE e.id IN (SELECT endpoint_id FROM d) ORDER BY e.id FOR UPDATE), \
                 t AS (UPDATE {s}.endpoints e SET last_triggered_at = m.at \
                   FROM (SELECT endpoint_id, max(at) AS at FROM d GROUP BY endpoint_id) m \
                   JOIN l ON l.id = m.endpoint_id \
                   WHERE e.id = m.endpoint_id \
                   AND (e.last_triggered_at IS NULL OR e.last_triggered_at < m.at)) \
                 SELECT id FROM d"
            ),
            deliveries_exist: format!("SELECT id FROM {s}.deliveries WHERE id = ANY($1)"),
            // The claim of non-FIFO deliveries in one statement: pick the due rows (pending
            // through `deliveries_due`, expired leases through `deliveries_leased`) with row
            // locks and SKIP LOCKED, keep the oldest due `$2`, and take them with their
            // message and endpoint. $1 now, $2 limit, $3 worker, $4 lease deadline.
            claim_plain: format!(
                "WITH p AS (SELECT d.seq, d.next_attempt_at FROM {s}.deliveries d \
                   JOIN {s}.endpoints e ON e.id = d.endpoint_id \
                   WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
                   AND e.enabled AND NOT e.fifo \
                   ORDER BY d.next_attempt_at, d.seq LIMIT $2 FOR UPDATE OF d SKIP LOCKED), \
                 x AS (SELECT d.seq, d.next_attempt_at FROM {s}.deliveries d \
                   JOIN {s}.endpoints e ON e.id = d.endpoint_id \
                   WHERE d.state = 'in_flight' AND d.lease_expires_at <= $1 \
                   AND e.enabled AND NOT e.fifo \
                   ORDER BY d.lease_expires_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED), \
                 c AS (SELECT seq FROM (SELECT seq, next_attempt_at FROM p \
                   UNION ALL SELECT seq, next_attempt_at FROM x) u \
                   ORDER BY next_attempt_at, seq LIMIT $2) \
                 UPDATE {s}.deliveries d SET state = 'in_flight', lease_owner = $3, \
                 lease_expires_at = $4 \
                 FROM {s}.messages m, {s}.endpoints e \
                 WHERE d.seq IN (SELECT seq FROM c) AND m.id = d.message_id \
                 AND e.id = d.endpoint_id \
                 AND (d.state = 'pending' OR (d.state = 'in_flight' AND d.lease_expires_at <= $1)) \
                 RETURNING {DELIVERY_COLS}, {MESSAGE_COLS}, {ENDPOINT_COLS}"
            ),
            fifo_lock: "SELECT id FROM unnest($1::text[]) AS id \
                 WHERE pg_try_advisory_xact_lock($2, hashtext($3 || id))"
                .to_owned(),
            release: format!(
                "UPDATE {s}.deliveries SET state = 'pending', next_attempt_at = $3, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $1 AND state = 'in_flight' AND lease_owner = $2"
            ),
            fail_pending: format!(
                "UPDATE {s}.deliveries SET state = 'failed', last_error = $2 \
                 WHERE endpoint_id = $1 AND state = 'pending'"
            ),
            redeliver: format!(
                "UPDATE {s}.deliveries SET state = 'pending', next_attempt_at = $2, \
                 due_since = $2, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $1 AND state <> 'in_flight'"
            ),
            recover: format!(
                "UPDATE {s}.deliveries SET state = 'pending', next_attempt_at = $3, \
                 due_since = $3, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE endpoint_id = $1 AND state = 'failed' AND created_at >= $2"
            ),
            attempts_for_message: format!(
                "SELECT {ATTEMPT_COLS} FROM {s}.attempts a WHERE a.message_id = $1 \
                 ORDER BY a.at, a.seq"
            ),
            attempts_for_endpoint: format!(
                "SELECT {ATTEMPT_COLS} FROM {s}.attempts a WHERE a.endpoint_id = $1 \
                 ORDER BY a.at DESC, a.seq DESC LIMIT $2"
            ),
            failed_attempts: format!(
                "SELECT {ATTEMPT_COLS} FROM {s}.attempts a \
                 WHERE NOT a.success AND a.at >= $1 AND a.at < $2 ORDER BY a.at, a.seq"
            ),
            queue_depth: format!(
                "SELECT count(*) FROM {s}.deliveries WHERE state IN ('pending', 'in_flight')"
            ),
            next_due: format!(
                "SELECT min(next_attempt_at) FROM {s}.deliveries WHERE state = 'pending'"
            ),
            delivery_exists: format!("SELECT 1 FROM {s}.deliveries WHERE id = $1"),
            // Messages older than the cutoff whose deliveries are all delivered; their
            // deliveries and attempts go with them (ON DELETE CASCADE).
            purge_messages: format!(
                "WITH doomed AS (SELECT m.id FROM {s}.messages m \
                   WHERE m.created_at < $1 \
                   AND NOT EXISTS (SELECT 1 FROM {s}.deliveries d \
                     WHERE d.message_id = m.id AND d.state <> ALL ($3::text[])) \
                   AND NOT EXISTS (SELECT 1 FROM {s}.attempts a \
                     WHERE a.message_id = m.id AND a.at >= $1) \
                   ORDER BY m.created_at LIMIT $2 FOR UPDATE SKIP LOCKED), \
                 counted AS (SELECT \
                   (SELECT count(*) FROM {s}.deliveries WHERE message_id IN (SELECT id FROM doomed)) AS d, \
                   (SELECT count(*) FROM {s}.attempts WHERE message_id IN (SELECT id FROM doomed)) AS a), \
                 gone AS (DELETE FROM {s}.messages WHERE id IN (SELECT id FROM doomed) RETURNING 1) \
                 SELECT (SELECT count(*) FROM gone), d, a FROM counted"
            ),
            purge_payloads: format!(
                "UPDATE {s}.messages SET payload = ''::bytea WHERE id IN (SELECT m.id \
                 FROM {s}.messages m WHERE m.created_at < $1 AND octet_length(m.payload) > 0 \
                 AND NOT EXISTS (SELECT 1 FROM {s}.deliveries d WHERE d.message_id = m.id \
                   AND d.state IN ('pending', 'in_flight')) \
                 ORDER BY m.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            ),
        }
    }
}
