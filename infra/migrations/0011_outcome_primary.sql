-- Each outcome's primary (workflow, model): the pair its runs' calls spent the most on, as the
-- outcome joiner computes it with the rest of the fact (services/outcome-joiner/src/join.ts), so
-- model routing (GET /v1/waste) groups outcomes without joining them to their usage.
-- primary_known is 1 on every row the joiner writes from now on; rows written before have 0 and
-- the api works their pair out from the usage facts as before. A replay (or the joiner's next
-- rewrite of an outcome) rebuilds them with the pair.
ALTER TABLE outcome_facts {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS primary_workflow LowCardinality(String) DEFAULT '';
ALTER TABLE outcome_facts {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS primary_model LowCardinality(String) DEFAULT '';
ALTER TABLE outcome_facts {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS primary_known UInt8 DEFAULT 0;
