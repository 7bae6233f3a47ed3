-- Governance: alerts sent, their webhook deliveries, and budget reservations.
-- Alerts are keyed by their derived id (sha256 of tenant, rule, rule version, window start,
-- transition), so deciding the same alert twice (a restart, a replay) writes the same row:
-- at most one alert per rule, window and transition. `published` turns 1 once the alerts topic
-- has acknowledged it; the latest row (updated_at) wins under FINAL.
CREATE TABLE IF NOT EXISTS alerts {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    alert_id             String,
    rule_id              String,
    rule_kind            LowCardinality(String),
    rule_version         UInt64,
    transition           LowCardinality(String),
    window_start         DateTime64(3, 'UTC'),
    window_end           DateTime64(3, 'UTC'),
    observed             Nullable(String),
    threshold            Nullable(String),
    message              String,
    created_at           DateTime64(3, 'UTC'),
    published            UInt8 DEFAULT 0,
    updated_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY (tenant_id, alert_id);

-- One row per (alert, webhook): pending until the receiver answers 2xx, then delivered. Each
-- attempt rewrites the row (attempts, next_attempt_at, last_error), so a restart resumes the
-- pending ones and never sends a delivered one again.
CREATE TABLE IF NOT EXISTS alert_deliveries {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    alert_id             String,
    webhook_id           String,
    state                LowCardinality(String),
    attempts             UInt32,
    next_attempt_at      DateTime64(3, 'UTC'),
    last_status          UInt16 DEFAULT 0,
    last_error           String DEFAULT '',
    delivered_at         Nullable(DateTime64(3, 'UTC')),
    updated_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY (tenant_id, alert_id, webhook_id);

-- Budget reservations: an estimated cost held against an envelope until a usage fact tagged
-- `reservation_id` settles it or it expires. Only allowed reservations are stored.
CREATE TABLE IF NOT EXISTS budget_reservations {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    reservation_id       String,
    scope                LowCardinality(String),
    scope_key            String,
    estimated_cost_usd   Decimal(38, 9),
    created_at           DateTime64(3, 'UTC'),
    expires_at           DateTime64(3, 'UTC'),
    updated_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY (tenant_id, scope, scope_key, reservation_id);
