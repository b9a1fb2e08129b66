CREATE TABLE provisioning_idempotency_keys (
  principal VARCHAR(160) NOT NULL,
  idempotency_key VARCHAR(255) NOT NULL,
  operation VARCHAR(64) NOT NULL,
  resource_id VARCHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (principal, idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{.Collation}}
