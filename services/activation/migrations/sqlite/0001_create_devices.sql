CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    clinic_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    status TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL UNIQUE,
    create_time BIGINT NOT NULL,
    last_seen_time BIGINT
);

CREATE INDEX devices_by_organization ON devices (organization_id, id);

CREATE TABLE request_ids (
    caller TEXT NOT NULL,
    method TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    response BLOB,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (caller, method, request_id)
);
