-- What the eligibility proxies last saw of each device's agent (the fleet view): one row per
-- device, replaced only by a report at least as new (report_time, microseconds). online is
-- 0 or 1; readers holds one line per reader, "1<TAB>name" with a card on it, "0<TAB>name"
-- without (reader names never hold a control character).
CREATE TABLE device_presence (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    organization_id TEXT NOT NULL,
    online BIGINT NOT NULL,
    readers TEXT NOT NULL,
    last_scan_time BIGINT,
    agent_version TEXT NOT NULL,
    report_time BIGINT NOT NULL,
    proxy TEXT NOT NULL
);
