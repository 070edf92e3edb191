-- AWS access keys of the tenants, for the Signature V4 of the AWS JSON APIs. The secret is kept
-- as it was issued: Signature V4 signs with it, so the server needs it to verify, and a one-way
-- hash would not do (SECURITY.md). Both backends' migrations hold the same table, columns and
-- index names.

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    secret        TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    last_used_ms  BIGINT
);
CREATE INDEX access_keys_tenant_idx ON access_keys (tenant_id);
