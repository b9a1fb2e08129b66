CREATE TABLE provisioning_security_events (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  kind VARCHAR(32) NOT NULL,
  organization_id VARCHAR(64),
  who_type VARCHAR(16) NOT NULL,
  who_id VARCHAR(255) NOT NULL,
  operation VARCHAR(255) NOT NULL,
  subject VARCHAR(255) NOT NULL,
  action VARCHAR(255) NOT NULL,
  reason VARCHAR(255) NOT NULL,
  ip VARCHAR(255) NOT NULL,
  detail VARCHAR(255) NOT NULL,
  request_id VARCHAR(255) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
)

--bun:split

CREATE INDEX provisioning_security_events_org_idx ON provisioning_security_events (organization_id, id)

--bun:split

CREATE INDEX provisioning_security_events_kind_idx ON provisioning_security_events (kind, id)
