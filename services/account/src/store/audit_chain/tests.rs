//! Conformance of the chain store on SQLite and PostgreSQL.
