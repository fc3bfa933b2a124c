-- Scan events from agents' outboxes (DESIGN.md §3.5), stored once per (device, seq): the
-- agent resends until acked, the proxy acks after this write and drops duplicates. No
-- patient identity exists in them (no certificate, serial, name, PIN or APDU payload).
-- Times are microseconds since the Unix epoch. Nothing prunes them yet.
CREATE TABLE agent_events (
    device TEXT NOT NULL,
    seq BIGINT NOT NULL,
    outbox_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    time BIGINT NOT NULL,
    received_time BIGINT NOT NULL,
    scan_id TEXT NOT NULL,
    reader TEXT NOT NULL,
    token TEXT NOT NULL,
    tries_left BIGINT,
    status_word TEXT NOT NULL,
    error_class TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    verdict TEXT NOT NULL,
    check_id TEXT NOT NULL,
    security BIGINT NOT NULL,
    dropped_events BIGINT NOT NULL,
    signature_certificate_available BIGINT,
    agent_version TEXT NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE INDEX agent_events_by_scan ON agent_events (scan_id);

-- Per device: the highest seq stored and the outbox it came from, told to the agent when
-- its stream opens (StreamReady).
CREATE TABLE agent_streams (
    device TEXT PRIMARY KEY,
    outbox_id TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    agent_version TEXT NOT NULL,
    updated BIGINT NOT NULL
);
