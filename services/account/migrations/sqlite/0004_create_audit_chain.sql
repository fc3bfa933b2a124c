-- The tamper-evident audit chain (issue #7, docs/audit.md): every record gets its place in
-- its organization's hash chain (records of no organization go to the "deployment" chain),
-- checkpoints sign a chain's head, and triggers keep the log append-only.
ALTER TABLE audit_records ADD COLUMN chain TEXT;
ALTER TABLE audit_records ADD COLUMN seq BIGINT;
ALTER TABLE audit_records ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_records ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_records_by_chain ON audit_records (chain, seq);

-- One row per chain: its size and head, bumped in the transaction that appends (the row lock
-- sequences concurrent writers), and how far retention has removed whole sealed segments.
CREATE TABLE audit_chains (
    chain TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    pruned_through BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE audit_checkpoints (
    chain TEXT NOT NULL,
    size BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    time BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (chain, size)
);

-- Public halves of every key that signed checkpoints here (the private key is a 0600 file).
CREATE TABLE audit_signing_keys (
    key_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    first_use BIGINT NOT NULL
);

-- Chained records never change. (Records written before this migration have no seq yet; the
-- service chains them once at start, which is the only update allowed.)
CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records
WHEN OLD.seq IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit_records is append-only');
END;

-- Records leave only inside a sealed segment retention has released.
CREATE TRIGGER audit_records_kept BEFORE DELETE ON audit_records
WHEN OLD.seq IS NULL
    OR OLD.seq > COALESCE((SELECT pruned_through FROM audit_chains WHERE chain = OLD.chain), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit records leave only as sealed segments past retention');
END;

CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TRIGGER audit_checkpoints_kept BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

-- A chain never shrinks, and retention releases only up to a signed checkpoint.
CREATE TRIGGER audit_chains_forward_only BEFORE UPDATE ON audit_chains
WHEN NEW.size < OLD.size
    OR NEW.pruned_through < OLD.pruned_through
    OR (NEW.pruned_through <> OLD.pruned_through AND NOT EXISTS (
        SELECT 1 FROM audit_checkpoints WHERE chain = NEW.chain AND size = NEW.pruned_through))
BEGIN
    SELECT RAISE(ABORT, 'audit_chains moves forward only, and prunes only to a checkpoint');
END;

CREATE TRIGGER audit_chains_kept BEFORE DELETE ON audit_chains
BEGIN
    SELECT RAISE(ABORT, 'audit_chains rows are never deleted');
END;
