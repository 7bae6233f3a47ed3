-- Hourly rollup of usage_facts for the api's spend and waste queries, per tenant, projection
-- and the low-cardinality dimensions (user_id is left out: it would not compress). Rebuilt from
-- the facts: a background job (services/api/src/rollup) recomputes, from the deduplicated
-- facts, every hour written to since its last pass, under a new `version`. Readers take an
-- hour's rows of its latest version in usage_hourly_versions only, and only for hours with no
-- fact written after the projection's watermark in rollup_progress; every other hour is
-- computed live from the facts. So an answer never depends on whether the job has caught up.
-- Money in USD, exact to the nano-dollar; tokens and calls count a split event once.
CREATE TABLE IF NOT EXISTS usage_hourly {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    hour                 DateTime('UTC'),
    project              LowCardinality(String),
    investment           LowCardinality(String),
    cost_center          LowCardinality(String),
    team                 LowCardinality(String),
    capex_class          LowCardinality(String),
    workflow             LowCardinality(String),
    agent                LowCardinality(String),
    model                LowCardinality(String),
    provider             LowCardinality(String),
    attribution_tier     LowCardinality(String),
    price_status         LowCardinality(String),
    cost_usd             Decimal(38, 9),
    input_tokens         UInt64,
    output_tokens        UInt64,
    cached_input_tokens  UInt64,
    reasoning_tokens     UInt64,
    calls                UInt64,
    version              UInt64
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, projection, hour, project, investment, cost_center, team, capex_class, workflow, agent, model, provider, attribution_tier, price_status);

-- The version of each rolled-up hour: rows of other versions of the hour are not read.
CREATE TABLE IF NOT EXISTS usage_hourly_versions {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    hour                 DateTime('UTC'),
    version              UInt64
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
ORDER BY (tenant_id, projection, hour);

-- How far each rollup has read each projection's facts: every fact written up to
-- `written_until` is in it (name `usage_hourly`).
CREATE TABLE IF NOT EXISTS rollup_progress {{ON_CLUSTER}}
(
    name                 LowCardinality(String),
    `projection`         UInt32,
    written_until        DateTime64(6, 'UTC'),
    updated_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY (name, projection);

-- Facts written after a watermark: a min-max index on written_at skips the granules written before.
ALTER TABLE usage_facts {{ON_CLUSTER}} ADD INDEX IF NOT EXISTS written_at_minmax written_at TYPE minmax GRANULARITY 1;
