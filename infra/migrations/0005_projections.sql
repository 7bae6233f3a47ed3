-- Projections: each is one computation of the facts from the topics. Exactly one is served
-- (the api reads it); a replay builds the next one while live writers feed both, then a single
-- insert makes it the served one and retires the old (its rows are deleted after).
CREATE TABLE IF NOT EXISTS projections {{ON_CLUSTER}}
(
    `projection`         UInt32,
    state                LowCardinality(String),
    -- The configuration version (config topic offset + 1) it is computed under; 0: the latest.
    config_version       UInt64 DEFAULT 0,
    note                 String,
    updated_at           DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(updated_at)
ORDER BY projection;

INSERT INTO projections (projection, state, note)
SELECT 1, 'serving', 'initial projection'
WHERE (SELECT count() FROM projections) = 0;
