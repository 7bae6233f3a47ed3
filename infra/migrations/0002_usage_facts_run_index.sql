-- The outcome joiner and the run trail read usage by run: a bloom filter skips the rest.
ALTER TABLE usage_facts {{ON_CLUSTER}} ADD INDEX IF NOT EXISTS run_id_bloom run_id TYPE bloom_filter GRANULARITY 4;
