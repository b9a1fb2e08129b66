-- The background verification of identity providers: verify_next_at is
-- when a pending provider is looked up next (NULL once it is verified or in
-- error), moved ahead by the instance that claims it, so that two instances
-- never look it up at once; verify_attempts counts the lookups that did not
-- verify it since it last became pending. Existing pending providers are
-- due at once.
ALTER TABLE provisioning_identity_providers ADD COLUMN verify_attempts INTEGER NOT NULL DEFAULT 0

--bun:split

ALTER TABLE provisioning_identity_providers ADD COLUMN verify_next_at TIMESTAMP

--bun:split

UPDATE provisioning_identity_providers SET verify_next_at = updated_at WHERE status = 'pending'

--bun:split

CREATE INDEX provisioning_identity_providers_verify_idx ON provisioning_identity_providers (verify_next_at, id)
