-- The schema of idc-scim. migrations/sqlite holds the same tables, columns and constraint
-- names; timestamps are milliseconds since the Unix epoch on both backends.

CREATE TABLE tenants (
    tenant_id            TEXT PRIMARY KEY,
    identity_store_id    TEXT NOT NULL,
    is_default           BOOLEAN NOT NULL DEFAULT FALSE,
    provisioning_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_ms           BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants_identity_store_id_key ON tenants (identity_store_id);
CREATE UNIQUE INDEX tenants_default_key ON tenants (is_default) WHERE is_default;

CREATE TABLE tokens (
    token_id     TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    last_used_ms BIGINT
);
CREATE UNIQUE INDEX tokens_token_hash_key ON tokens (token_hash);
CREATE INDEX tokens_tenant_idx ON tokens (tenant_id);

CREATE TABLE users (
    tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    user_name_lower TEXT NOT NULL,
    external_id     TEXT,
    email_lower     TEXT,
    manager_id      TEXT,
    data            TEXT NOT NULL,
    version         BIGINT NOT NULL,
    created_ms      BIGINT NOT NULL,
    modified_ms     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_user_name_key ON users (tenant_id, user_name_lower);
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_lower);
CREATE INDEX users_external_id_idx ON users (tenant_id, external_id);
CREATE INDEX users_manager_idx ON users (tenant_id, manager_id);

CREATE TABLE groups (
    tenant_id          TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    external_id        TEXT,
    version            BIGINT NOT NULL,
    created_ms         BIGINT NOT NULL,
    modified_ms        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX groups_display_name_key ON groups (tenant_id, display_name_lower);
CREATE INDEX groups_external_id_idx ON groups (tenant_id, external_id);

-- Both directions are indexed: the primary key serves "members of a group" and the
-- membership check, group_members_user_idx serves "groups of a user". membership_id is the
-- Identity Store API's MembershipId.
CREATE TABLE group_members (
    tenant_id     TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user_idx ON group_members (tenant_id, user_id, group_id);
CREATE UNIQUE INDEX group_members_membership_id_key ON group_members (tenant_id, membership_id);
