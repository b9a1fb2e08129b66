-- Versions older than the retention age are purged oldest first, a batch
-- at a time: by creation time, then id.
CREATE INDEX provisioning_versions_created_idx ON provisioning_versions (created_at, id)
