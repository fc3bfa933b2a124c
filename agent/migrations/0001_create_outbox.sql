-- The agent's durable outbox (STYLE.md §8 layer 4). SQLite only: a terminal has no
-- PostgreSQL. Never holds a PIN, a certificate or an APDU payload: the body is a scan event
-- serialised as JSON, and events carry no patient identity.

-- Events not yet acknowledged by the proxy, in the device's sequence.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    -- The EventKind's name, for inspection.
    kind TEXT NOT NULL,
    -- 1 for security events, which a full outbox never drops.
    security INTEGER NOT NULL,
    -- The event as JSON.
    body TEXT NOT NULL
);
CREATE INDEX events_routine ON events (security, seq);

-- One row: the outbox's identity and counters.
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- Random UUID made when the file was created; tells the proxy a wiped or restored
    -- state dir from the outbox it knew.
    outbox_id TEXT NOT NULL,
    -- The seq the next event gets.
    next_seq INTEGER NOT NULL,
    -- Rows in events (kept here so a bound check needs no count).
    pending INTEGER NOT NULL,
    -- Routine events dropped because the outbox was full, since creation.
    dropped INTEGER NOT NULL
);
