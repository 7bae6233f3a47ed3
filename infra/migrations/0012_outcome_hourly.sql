-- Hourly rollup of outcome_facts for the api's unit economics and waste, per tenant, projection,
-- hour of the outcome's latest event and the dimensions those read. Built like usage_hourly: a
-- job (services/api/src/rollup) recomputes, from the latest facts (FINAL), every hour an outcome
-- written since its last pass is in or was counted in, under a new `version`; readers take an
-- hour's rows of its latest version in outcome_hourly_versions only, for hours no outcome written
-- after the watermark (rollup_progress, name `outcome_hourly`) is in or was counted in; the rest
-- is computed live. An outcome's hour moves when a later event of it arrives, hence the members.
-- Money in USD, exact to the nano-dollar; the measures are those of the api's OutcomeSums.
CREATE TABLE IF NOT EXISTS outcome_hourly {{ON_CLUSTER}}
(
    tenant_id                   LowCardinality(String),
    `projection`                UInt32,
    hour                        DateTime('UTC'),
    outcome_type                LowCardinality(String),
    project                     LowCardinality(String),
    primary_known               UInt8,
    with_usage                  UInt8,
    primary_workflow            LowCardinality(String),
    primary_model               LowCardinality(String),
    outcomes                    UInt64,
    accepted                    UInt64,
    first_pass_outcomes         UInt64,
    attempts                    UInt64,
    baseline_outcomes           UInt64,
    valued_outcomes             UInt64,
    cost_usd                    Decimal(38, 9),
    human_cost_usd              Decimal(38, 9),
    retry_tax_usd               Decimal(38, 9),
    baseline_usd                Decimal(38, 9),
    baseline_outcomes_cost_usd  Decimal(38, 9),
    value_usd                   Decimal(38, 9),
    version                     UInt64
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, projection, hour, outcome_type, project, primary_known, with_usage, primary_workflow, primary_model);

-- The version of each rolled-up hour: rows of other versions of the hour are not read.
CREATE TABLE IF NOT EXISTS outcome_hourly_versions {{ON_CLUSTER}}
(
    tenant_id            LowCardinality(String),
    `projection`         UInt32,
    hour                 DateTime('UTC'),
    version              UInt64
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
ORDER BY (tenant_id, projection, hour);

-- Every hour an outcome was counted in by a pass (one row per outcome and hour; the pass that
-- recomputes an hour first writes here each outcome it finds in it, with its measures, then sums
-- these rows into outcome_hourly, so both come from one read of the facts). Readers take the
-- partial hours at a range's ends from here: an hour's outcomes at its latest version (hence
-- ordered by hour; the lookups by outcome run only when outcomes were written since a watermark). An hour the rollup
-- counts an outcome in is always among the outcome's rows here: when the outcome changes, those
-- hours are recomputed (by the job) or computed live (by readers). Rows of a pass that crashed
-- only add hours to recompute.
CREATE TABLE IF NOT EXISTS outcome_hourly_members {{ON_CLUSTER}}
(
    tenant_id                   LowCardinality(String),
    `projection`                UInt32,
    outcome_id                  String,
    hour                        DateTime('UTC'),
    occurred_at                 DateTime64(3, 'UTC'),
    outcome_type                LowCardinality(String),
    project                     LowCardinality(String),
    primary_known               UInt8,
    with_usage                  UInt8,
    primary_workflow            LowCardinality(String),
    primary_model               LowCardinality(String),
    accepted                    UInt8,
    first_pass                  UInt8,
    attempts                    UInt64,
    has_baseline                UInt8,
    has_value                   UInt8,
    cost_usd                    Decimal(38, 9),
    human_cost_usd              Decimal(38, 9),
    retry_tax_usd               Decimal(38, 9),
    baseline_usd                Decimal(38, 9),
    value_usd                   Decimal(38, 9),
    version                     UInt64,
    INDEX version_minmax version TYPE minmax GRANULARITY 1
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version)
ORDER BY (tenant_id, projection, hour, outcome_id);

-- Outcome facts written after a watermark: a min-max index on computed_at skips the granules written before.
ALTER TABLE outcome_facts {{ON_CLUSTER}} ADD INDEX IF NOT EXISTS computed_at_minmax computed_at TYPE minmax GRANULARITY 1;
