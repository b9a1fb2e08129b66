-- A bearer token of an API credential remembers the client secret it was
-- issued under, so that it ends when that secret does (a rotation's
-- overlap), as it ends with its credential. The lookup joins both.
ALTER TABLE provisioning_tokens ADD COLUMN secret_id VARCHAR(64) NULL

--bun:split

-- A token issued before it remembered its secret gets the oldest secret
-- that was valid when it was issued: the one whose end it would outlive.
UPDATE provisioning_tokens SET secret_id = (
  SELECT MIN(s.id) FROM provisioning_api_credential_secrets s
  WHERE s.credential_id = provisioning_tokens.principal_id
    AND s.created_at <= provisioning_tokens.created_at
    AND (s.expires_at IS NULL OR s.expires_at > provisioning_tokens.created_at)
) WHERE principal_kind = 'credential' AND secret_id IS NULL

--bun:split

-- A principal's tokens are deleted together (a deleted credential, a user
-- without membership).
CREATE INDEX provisioning_tokens_principal_idx ON provisioning_tokens (principal_kind, principal_id)
