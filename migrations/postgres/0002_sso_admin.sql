-- IAM Identity Center's access to AWS accounts (the sso-admin API): instance settings,
-- declared accounts, permission sets with their policies, tags, account assignments, where
-- each permission set is provisioned, and the status objects of the asynchronous operations.
-- migrations/sqlite holds the same tables, columns and constraint names.

-- One row per tenant whose instance was given a name (UpdateInstance, CreateInstance).
CREATE TABLE sso_instances (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    name      TEXT NOT NULL
);

-- The AWS accounts of the tenant's organization, declared by the operator.
CREATE TABLE accounts (
    tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

-- version grows with every change that needs provisioning; boundary_* is the permissions
-- boundary (kind and reference as in permission_set_policies).
CREATE TABLE permission_sets (
    tenant_id          TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    name_lower         TEXT NOT NULL,
    description        TEXT,
    session_duration   TEXT NOT NULL,
    relay_state        TEXT,
    inline_policy      TEXT,
    boundary_kind      TEXT,
    boundary_reference TEXT,
    version            BIGINT NOT NULL,
    created_ms         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX permission_sets_name_key ON permission_sets (tenant_id, name_lower);

-- AWS managed policies (kind AWS_MANAGED, reference the ARN) and customer managed policy
-- references (kind CUSTOMER_MANAGED, reference the path followed by the name).
CREATE TABLE permission_set_policies (
    tenant_id         TEXT NOT NULL,
    permission_set_id TEXT NOT NULL,
    kind              TEXT NOT NULL,
    reference         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, permission_set_id, kind, reference),
    FOREIGN KEY (tenant_id, permission_set_id) REFERENCES permission_sets (tenant_id, id) ON DELETE CASCADE
);

-- Tags of an instance (resource_id ssoins-...) or of a permission set (ps-...).
CREATE TABLE sso_tags (
    tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    tag_key     TEXT NOT NULL,
    tag_value   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, tag_key)
);

-- principal_id is the user's or the group's id; user_id or group_id repeats it, so that
-- deleting the user or group (over SCIM or the Identity Store API) deletes its assignments
-- by cascade. A permission set cannot be deleted while assigned (no cascade). The primary key
-- serves the listing of an account's assignments of a permission set; the user and group
-- indexes serve the listings by principal and the cascades.
CREATE TABLE account_assignments (
    tenant_id         TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    permission_set_id TEXT NOT NULL,
    principal_type    TEXT NOT NULL,
    principal_id      TEXT NOT NULL,
    user_id           TEXT,
    group_id          TEXT,
    created_ms        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, permission_set_id, principal_type, principal_id),
    CONSTRAINT account_assignments_principal_check CHECK (
        (principal_type = 'USER' AND user_id = principal_id AND group_id IS NULL)
        OR (principal_type = 'GROUP' AND group_id = principal_id AND user_id IS NULL)),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, account_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, permission_set_id) REFERENCES permission_sets (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX account_assignments_user_idx ON account_assignments (tenant_id, user_id, account_id, permission_set_id);
CREATE INDEX account_assignments_group_idx ON account_assignments (tenant_id, group_id, account_id, permission_set_id);
CREATE INDEX account_assignments_permission_set_idx ON account_assignments (tenant_id, permission_set_id, account_id);

-- The version of a permission set last provisioned to an account. A permission set counts as
-- provisioned to an account while it is assigned there.
CREATE TABLE permission_set_provisions (
    tenant_id         TEXT NOT NULL,
    permission_set_id TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    version           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, permission_set_id, account_id),
    FOREIGN KEY (tenant_id, permission_set_id) REFERENCES permission_sets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, account_id) ON DELETE CASCADE
);
CREATE INDEX permission_set_provisions_account_idx ON permission_set_provisions (tenant_id, account_id, permission_set_id);

-- The status objects of CreateAccountAssignment, DeleteAccountAssignment and
-- ProvisionPermissionSet (kind ASSIGNMENT_CREATION, ASSIGNMENT_DELETION, PROVISIONING).
CREATE TABLE sso_operations (
    tenant_id         TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    request_id        TEXT NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    failure_reason    TEXT,
    target_id         TEXT,
    permission_set_id TEXT NOT NULL,
    principal_type    TEXT,
    principal_id      TEXT,
    created_ms        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX sso_operations_kind_idx ON sso_operations (tenant_id, kind, created_ms, request_id);
