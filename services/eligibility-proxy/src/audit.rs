//! The proxy's audit records (DESIGN.md §3.7): one per check and per refusal, written to the
//! local outbox before the device gets its answer, forwarded to the account service. The
//! patient appears only as HMAC(organization key, 保険者番号 + 記号 + 番号 + 枝番), the 照会番号
//! and the certificate serial only as keyed HMACs; never names, birth dates or serials in clear.
