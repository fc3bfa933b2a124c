-- The proxy's audit outbox: the shared shape of mynafleet_kit::outbox. Records are written
-- before a device gets its answer and deleted once the account service has them.
CREATE TABLE audit_outbox (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    time BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    action TEXT NOT NULL,
    action_code TEXT NOT NULL,
    clinic TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    source_address TEXT NOT NULL,
    request_id TEXT NOT NULL,
    traceparent TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    patient_ref TEXT NOT NULL DEFAULT '',
    patient_ref_key_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);

-- Card-check challenge ids already used (single use), kept until they expire.
CREATE TABLE used_challenges (
    id TEXT PRIMARY KEY,
    -- Microseconds since the epoch.
    expires BIGINT NOT NULL
);
CREATE INDEX used_challenges_by_expiry ON used_challenges (expires);
