-- Stable views for BI tools (Grafana, Metabase, Superset): the served projection only,
-- deduplicated, with the same rules as the api (a split event's tokens and calls count once,
-- with its first allocation). Column lists are documented in the README.

CREATE VIEW IF NOT EXISTS v_usage_allocations {{ON_CLUSTER}} AS
SELECT
    tenant_id, event_id, occurred_at, provider, model, operation, run_id, trace_id, attempt, status,
    workflow, agent, step, user_id, price_status, attribution_tier, attribution_rule,
    project, investment, cost_center, team, capex_class, capex_reason,
    alloc_cost_usd AS cost_usd,
    if(alloc_index = 1, input_tokens, 0) AS input_tokens,
    if(alloc_index = 1, output_tokens, 0) AS output_tokens,
    if(alloc_index = 1, cached_input_tokens, 0) AS cached_input_tokens,
    if(alloc_index = 1, cache_write_tokens, 0) AS cache_write_tokens,
    if(alloc_index = 1, reasoning_tokens, 0) AS reasoning_tokens,
    if(alloc_index = 1, 1, 0) AS calls,
    rules_version, prices_version
FROM usage_facts FINAL
ARRAY JOIN
    alloc.project AS project, alloc.investment AS investment, alloc.cost_center AS cost_center, alloc.team AS team,
    alloc.capex_class AS capex_class, alloc.capex_reason AS capex_reason, alloc.cost_usd AS alloc_cost_usd,
    arrayEnumerate(alloc.project) AS alloc_index
WHERE projection = (SELECT max(projection) FROM projections FINAL WHERE state = 'serving');

CREATE VIEW IF NOT EXISTS v_outcomes {{ON_CLUSTER}} AS
SELECT * EXCEPT (projection, computed_at)
FROM outcome_facts FINAL
WHERE projection = (SELECT max(projection) FROM projections FINAL WHERE state = 'serving');

CREATE VIEW IF NOT EXISTS v_no_outcome_spend {{ON_CLUSTER}} AS
SELECT * EXCEPT (projection, computed_at, is_deleted)
FROM no_outcome_runs FINAL
WHERE projection = (SELECT max(projection) FROM projections FINAL WHERE state = 'serving');
