-- Runs once, when the PostgreSQL data directory is first created (docker-entrypoint-initdb.d).
-- One database per service (DESIGN.md §6: no service reads another's tables); each service
-- runs its own migrations at start. The owner is POSTGRES_USER (mynafleet).
CREATE DATABASE mynafleet_account;
CREATE DATABASE mynafleet_activation;
CREATE DATABASE mynafleet_eligibility_proxy;
