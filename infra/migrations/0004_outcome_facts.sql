-- Token-to-outcome facts: one row per outcome, rewritten whenever its events or its runs'
-- usage change (the latest computation wins; read with FINAL or through views).
CREATE TABLE IF NOT EXISTS outcome_facts {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    outcome_id           String,
    outcome_type         LowCardinality(String),
    status               LowCardinality(String),
    occurred_at          DateTime64(3, 'UTC'),
    first_occurred_at    DateTime64(3, 'UTC'),
    event_count          UInt32,
    run_ids              Array(String),
    calls                UInt64,
    attempts             UInt32,
    failed_attempts      UInt32,
    first_pass           Bool,
    input_tokens         UInt64,
    output_tokens        UInt64,
    cached_input_tokens  UInt64,
    cache_write_tokens   UInt64,
    reasoning_tokens     UInt64,
    cost_usd             Decimal(38, 9),
    retry_tax_usd        Decimal(38, 9),
    models               Array(LowCardinality(String)),
    human_milliminutes   Nullable(UInt64),
    human_cost_usd       Nullable(Decimal(38, 9)),
    baseline_cost_usd    Nullable(Decimal(38, 9)),
    value_usd            Nullable(Decimal(38, 9)),
    net_value_usd        Nullable(Decimal(38, 9)),
    quality              Nullable(Float64),
    tags                 Map(String, String),
    last_usage_at        Nullable(DateTime64(3, 'UTC')),
    computed_at          DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, projection, outcome_id);

-- Spend with no outcome: runs no outcome claimed within the horizon after their last call.
-- A run claimed later is marked deleted (is_deleted = 1) and drops out under FINAL.
CREATE TABLE IF NOT EXISTS no_outcome_runs {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    run_id               String,
    calls                UInt64,
    cost_usd             Decimal(38, 9),
    retry_tax_usd        Decimal(38, 9),
    input_tokens         UInt64,
    output_tokens        UInt64,
    cached_input_tokens  UInt64,
    cache_write_tokens   UInt64,
    reasoning_tokens     UInt64,
    models               Array(LowCardinality(String)),
    first_at             DateTime64(3, 'UTC'),
    last_at              DateTime64(3, 'UTC'),
    declared_at          DateTime64(3, 'UTC'),
    computed_at          DateTime64(6, 'UTC') DEFAULT now64(6),
    is_deleted           UInt8 DEFAULT 0
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(computed_at, is_deleted)
ORDER BY (tenant_id, projection, run_id);

-- Progress of the joiner's settle loop, per projection (name `settle:<projection>`): how far
-- usage and outcome writes have been joined.
CREATE TABLE IF NOT EXISTS joiner_progress {{ON_CLUSTER}}
(
    name                 String,
    written_until        DateTime64(6, 'UTC'),
    clock_at             DateTime64(3, 'UTC'),
    updated_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY name;
