-- A patient search (the keyed reference, DOMAIN.md §5) reads an organization's records of
-- one patient newest first without scanning every record of the organization.
CREATE INDEX audit_records_by_patient ON audit_records (organization_id, patient_ref, time);
