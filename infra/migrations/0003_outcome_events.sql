-- Every outcome event, deduplicated by (tenant_id, outcome_id, event_id). An outcome's current
-- state is its latest event; its runs are the union of its events' run_ids.
CREATE TABLE IF NOT EXISTS outcome_events {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    outcome_id           String,
    event_id             String,
    occurred_at          DateTime64(3, 'UTC'),
    received_at          DateTime64(3, 'UTC'),
    outcome_type         LowCardinality(String),
    status               LowCardinality(String),
    run_ids              Array(String),
    run_weights          Map(String, Float64),
    value_usd            Nullable(Decimal(38, 9)),
    baseline_cost_usd    Nullable(Decimal(38, 9)),
    human_milliminutes   Nullable(UInt64),
    quality              Nullable(Float64),
    tags                 Map(String, String),
    source_partition     UInt32,
    source_offset        UInt64,
    written_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(written_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, outcome_id, event_id);

-- Which outcomes claim which runs: the index from a run to its outcomes. Weights are worked
-- out from the outcome's events when joining; the one kept here is informational.
CREATE TABLE IF NOT EXISTS outcome_claims {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    run_id               String,
    outcome_id           String,
    weight               Float64,
    claimed_at           DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(claimed_at)
ORDER BY (tenant_id, run_id, outcome_id);
