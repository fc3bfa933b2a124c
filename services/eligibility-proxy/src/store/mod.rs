//! The proxy's database: the audit outbox (forwarded to the account service) and used
//! challenge ids. Writes go through a batching writer so many checks share one durable
//! commit (SQLite WAL `synchronous=FULL`, PostgreSQL defaults).
