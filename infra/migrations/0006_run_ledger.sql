-- A run's trail: every call (retries and tool steps included) and every outcome that claims
-- it, in time order, with cost, per projection. The api's GET /v1/runs/:run_id reads it.
CREATE VIEW IF NOT EXISTS run_ledger {{ON_CLUSTER}} AS
SELECT
    tenant_id, projection, run_id, occurred_at, 'call' AS entry, event_id, operation AS kind, step, attempt, status,
    provider, model, input_tokens, output_tokens, cost_usd, '' AS outcome_id, '' AS outcome_type
FROM usage_facts FINAL
UNION ALL
SELECT
    e.tenant_id, p.projection, c.run_id, e.occurred_at, 'outcome' AS entry, e.event_id, 'outcome' AS kind, '' AS step, toUInt16(0) AS attempt, e.status,
    '' AS provider, '' AS model, toUInt64(0), toUInt64(0), toDecimal128(0, 9), e.outcome_id, e.outcome_type
FROM outcome_events AS e FINAL
INNER JOIN outcome_claims AS c FINAL ON c.tenant_id = e.tenant_id AND c.outcome_id = e.outcome_id AND has(e.run_ids, c.run_id)
CROSS JOIN (SELECT projection FROM projections FINAL WHERE state != 'retired') AS p;
