-- The shared outbox shape (mynafleet_kit::outbox): keyed patient references and typed detail
-- (a JSON object of strings). Activation's own records leave them empty.
ALTER TABLE audit_outbox ADD COLUMN patient_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_outbox ADD COLUMN patient_ref_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_outbox ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
