-- Activation codes, the device registry's certificate and presence columns, activation
-- locks, the device status log, the account-event watch position and the audit outbox.

-- One row per issued code. Only an argon2id hash of the code is kept. state is 'live',
-- 'used' or 'revoked'; an expired code is a live one past expire_time. key_fingerprint
-- binds the code to the first key that used it (set together with device_id).
CREATE TABLE activation_codes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    clinic_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    expire_time BIGINT NOT NULL,
    use_time BIGINT,
    revoke_time BIGINT,
    device_id TEXT,
    key_fingerprint TEXT,
    last_attempt_time BIGINT,
    failed_attempts BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX activation_codes_by_account ON activation_codes (organization_id, account_id, create_time);
CREATE INDEX activation_codes_by_clinic ON activation_codes (organization_id, clinic_id, create_time);
-- At most one live code per account: issuing a new one revokes the old in the same transaction.
CREATE UNIQUE INDEX activation_codes_one_live ON activation_codes (organization_id, account_id)
    WHERE state = 'live';

ALTER TABLE devices ADD COLUMN institution_code TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN code_id TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN certificate_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN certificate_not_after BIGINT;
ALTER TABLE devices ADD COLUMN certificate_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN first_seen_time BIGINT;
ALTER TABLE devices ADD COLUMN hostname TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';
-- Reader names joined by newlines (a PC/SC reader name never holds one).
ALTER TABLE devices ADD COLUMN readers TEXT NOT NULL DEFAULT '';
-- 'activation', 'operator' or 'account': who set the status last.
ALTER TABLE devices ADD COLUMN status_cause TEXT NOT NULL DEFAULT 'activation';
ALTER TABLE devices ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN status_time BIGINT NOT NULL DEFAULT 0;

-- One device per account that is not revoked.
CREATE UNIQUE INDEX devices_one_per_account ON devices (organization_id, account_id)
    WHERE status <> 'revoked';
CREATE INDEX devices_by_clinic ON devices (organization_id, clinic_id, id);

-- Failed activations per scope: 'account:{org}/{W…}' or 'source:{address}'. A scope is
-- locked while locked_until is in the future; the count restarts after a success, an
-- unlock or the end of a cool-down.
CREATE TABLE activation_failures (
    scope TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_time BIGINT NOT NULL,
    locked_until BIGINT
);

-- Per-name counters bumped by INSERT … ON CONFLICT … RETURNING ("device_events").
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Every device status change, in commit order (seq from the counter, so no gaps).
CREATE TABLE device_events (
    seq BIGINT PRIMARY KEY,
    device_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    clinic_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    status TEXT NOT NULL,
    cause TEXT NOT NULL,
    time BIGINT NOT NULL
);

-- Where activation is in the account service's event stream (one row, name 'account').
CREATE TABLE watch_positions (
    name TEXT PRIMARY KEY,
    resume_token TEXT NOT NULL
);

-- Audit records written in the same transaction as the change they describe, forwarded to
-- the account service's audit store (idempotent by id) and then deleted.
CREATE TABLE audit_outbox (
    id TEXT PRIMARY KEY,
    -- Empty when the attempt named no known organization (an unknown 機関コード).
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
    last_error TEXT NOT NULL DEFAULT ''
);
