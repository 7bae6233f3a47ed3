-- Per-run rollup of usage_facts for the api's top runs, per tenant and projection: a run's whole
-- totals (every call, deduplicated), rebuilt by the rollup job (services/api/src/rollup) for
-- every run with a fact written since its last pass, under a new `version` (the latest wins).
-- Readers serve from it only runs wholly inside the asked range with no fact written after the
-- projection's watermark in rollup_progress (name `run_totals`); every other run is computed
-- live from the facts. An event's run_id is part of the event (like its occurred_at).
-- Money in USD, exact to the nano-dollar; retry tax as the api's top runs define it.
CREATE TABLE IF NOT EXISTS run_totals {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    run_id               String,
    first_at             DateTime64(3, 'UTC'),
    last_at              DateTime64(3, 'UTC'),
    calls                UInt64,
    cost_usd             Decimal(38, 9),
    retry_tax_usd        Decimal(38, 9),
    version              UInt64
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
ORDER BY (tenant_id, projection, run_id);
