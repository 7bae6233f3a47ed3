-- One row per usage event (one LLM call) and projection: priced, attributed, deduplicated by
-- event id. ReplacingMergeTree collapses redelivered or duplicated events (same tenant_id,
-- projection, event_id); queries read with FINAL. An event id is bound to its occurred_at.
-- A projection is one computation of the facts from the topics (see 0005_projections.sql).
CREATE TABLE IF NOT EXISTS usage_facts {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    event_id             String,
    occurred_at          DateTime64(3, 'UTC'),
    received_at          DateTime64(3, 'UTC'),
    provider             LowCardinality(String),
    model                LowCardinality(String),
    operation            LowCardinality(String),
    run_id               String,
    trace_id             String,
    span_id              String,
    parent_span_id       String,
    attempt              UInt16,
    status               LowCardinality(String),
    workflow             LowCardinality(String),
    agent                LowCardinality(String),
    step                 String,
    user_id              String,
    tags                 Map(String, String),
    latency_ms           UInt32,
    input_tokens         UInt64,
    output_tokens        UInt64,
    cached_input_tokens  UInt64,
    cache_write_tokens   UInt64,
    reasoning_tokens     UInt64,
    -- Money in USD, exact to the nano-dollar.
    cost_usd             Decimal(38, 9),
    input_cost_usd       Decimal(38, 9),
    cached_input_cost_usd Decimal(38, 9),
    cache_write_cost_usd Decimal(38, 9),
    output_cost_usd      Decimal(38, 9),
    request_cost_usd     Decimal(38, 9),
    reported_cost_usd    Nullable(Decimal(38, 9)),
    price_status         LowCardinality(String),
    price_source         LowCardinality(String),
    price_ref            String,
    attribution_tier     LowCardinality(String),
    attribution_rule     String,
    system_prompt_id     String,
    prompt_fingerprint   String,
    -- Allocations (a split sums exactly to cost_usd); ARRAY JOIN them, or read usage_allocations.
    `alloc.project`      Array(LowCardinality(String)),
    `alloc.investment`   Array(LowCardinality(String)),
    `alloc.cost_center`  Array(LowCardinality(String)),
    `alloc.team`         Array(LowCardinality(String)),
    `alloc.capex_class`  Array(LowCardinality(String)),
    `alloc.capex_reason` Array(LowCardinality(String)),
    `alloc.cost_usd`     Array(Decimal(38, 9)),
    -- Configuration versions (config topic offsets) the fact was computed with.
    rules_version        UInt64,
    prices_version       UInt64,
    -- Where the event sits in Kafka, and the row version: a later write of the same event wins.
    source_partition     UInt32,
    source_offset        UInt64,
    written_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(written_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, projection, event_id);
