-- FHIR AuditEvent entity.detail of forwarded records: a JSON object of strings (identity
-- method, 資格有効性, keyed HMACs of a 照会番号 …), never a clear patient identifier.
ALTER TABLE audit_records ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
