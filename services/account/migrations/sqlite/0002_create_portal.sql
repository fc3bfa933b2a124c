-- Clinics, operators and sessions, device accounts, applications, account events and the
-- audit table (issue #3). Booleans are BIGINT 0/1 and times BIGINT microseconds so one SQL
-- text serves SQLite and PostgreSQL.

CREATE TABLE clinics (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    -- The 機関コード, or "R" + 登録記号番号 for a 施術所 keyed by it: unique in the deployment.
    institution_key TEXT NOT NULL UNIQUE,
    institution_code TEXT,
    registration_number TEXT,
    display_name TEXT NOT NULL,
    prefecture BIGINT NOT NULL,
    home_visit_enabled BIGINT NOT NULL,
    operation_start_date TEXT,
    -- Keyed hash of the last 4 bank-account digits, and the id of the key that made it.
    bank_hash TEXT,
    bank_key_id TEXT,
    warnings TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX clinics_by_organization ON clinics (organization_id, id);

CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    login_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BIGINT NOT NULL,
    -- The TOTP secret sealed with the TOTP key (never in clear), and that key's id.
    totp_sealed BLOB,
    totp_key_id TEXT,
    -- The last TOTP time step accepted, so a code cannot be replayed.
    totp_last_step BIGINT NOT NULL,
    failed_logins BIGINT NOT NULL,
    locked BIGINT NOT NULL,
    disabled BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    last_login_time BIGINT
);
CREATE INDEX operators_by_organization ON operators (organization_id, id);

CREATE TABLE operator_clinics (
    operator_id TEXT NOT NULL REFERENCES operators (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    PRIMARY KEY (operator_id, clinic_id)
);

CREATE TABLE sessions (
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash BLOB PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    create_time BIGINT NOT NULL,
    last_seen_time BIGINT NOT NULL,
    expire_time BIGINT NOT NULL,
    ended BIGINT NOT NULL
);
CREATE INDEX sessions_by_operator ON sessions (operator_id);

-- Per-name counters bumped by UPDATE … RETURNING as a transaction's first statement
-- ("accounts/{org}" for W ids, "account_events" for the event stream).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE device_accounts (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    account_id TEXT NOT NULL,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    privilege TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT NOT NULL,
    suspend_date TEXT,
    end_date TEXT,
    note TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BIGINT NOT NULL,
    failed_checks BIGINT NOT NULL,
    locked BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (organization_id, account_id)
);
CREATE INDEX device_accounts_by_clinic ON device_accounts (clinic_id, account_id);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    staff_count BIGINT,
    device_count BIGINT,
    bank_hash TEXT,
    bank_key_id TEXT,
    privilege TEXT,
    -- Space-separated W ids: the accounts to end (release) and those issued or ended.
    accounts TEXT NOT NULL,
    result_accounts TEXT NOT NULL,
    reject_reason TEXT,
    submitter TEXT NOT NULL,
    reviewer TEXT,
    submit_time BIGINT NOT NULL,
    review_time BIGINT,
    complete_time BIGINT
);
CREATE INDEX applications_by_organization ON applications (organization_id, id);
CREATE INDEX applications_by_clinic ON applications (clinic_id, id);

CREATE TABLE account_events (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    clinic_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    time BIGINT NOT NULL
);

-- One row per audited action (mynafleet.audit.v1.AuditRecord). The tamper-evident chain
-- (#7) adds its columns beside these.
CREATE TABLE audit_records (
    id TEXT PRIMARY KEY,
    organization_id TEXT,
    time BIGINT NOT NULL,
    producer TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    session_ref TEXT NOT NULL,
    action TEXT NOT NULL,
    action_code TEXT NOT NULL,
    clinic TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    source_address TEXT NOT NULL,
    request_id TEXT NOT NULL,
    patient_ref TEXT NOT NULL,
    patient_ref_key_id TEXT NOT NULL,
    traceparent TEXT NOT NULL
);
CREATE INDEX audit_records_by_organization ON audit_records (organization_id, time);
