-- Sign-in like the AWS access portal: users' passwords, the clients of SSO OIDC, device and
-- browser authorizations, the tokens they are redeemed for, and browser sessions of the
-- sign-in pages. migrations/sqlite holds the same tables, columns and constraint names.
-- Every secret (client secret, device code, user code, authorization code, token, session)
-- is stored as its SHA-256 in hex, passwords as argon2 PHC strings.

CREATE TABLE user_passwords (
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- A client registered without an issuer URL belongs to no tenant, as AWS's clients belong to
-- a region: its authorizations name their tenant by the start URL.
CREATE TABLE oidc_clients (
    client_id     TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    secret_hash   TEXT NOT NULL,
    client_name   TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    expires_ms    BIGINT NOT NULL
);
CREATE INDEX oidc_clients_expires_idx ON oidc_clients (expires_ms);
CREATE INDEX oidc_clients_tenant_idx ON oidc_clients (tenant_id);

-- A device authorization (device and user code) or a browser one (authorization code with
-- PKCE): pending until a user approves or denies it, redeemed once.
CREATE TABLE oidc_authorizations (
    authorization_id TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    client_id        TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    flow             TEXT NOT NULL,
    device_code_hash TEXT,
    user_code_hash   TEXT,
    code_hash        TEXT,
    redirect_uri     TEXT,
    code_challenge   TEXT,
    client_state     TEXT,
    scopes           TEXT NOT NULL,
    status           TEXT NOT NULL,
    user_id          TEXT,
    interval_s       BIGINT NOT NULL,
    next_poll_ms     BIGINT NOT NULL,
    created_ms       BIGINT NOT NULL,
    expires_ms       BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oidc_authorizations_device_code_key ON oidc_authorizations (device_code_hash);
CREATE UNIQUE INDEX oidc_authorizations_user_code_key ON oidc_authorizations (tenant_id, user_code_hash);
CREATE UNIQUE INDEX oidc_authorizations_code_key ON oidc_authorizations (code_hash);
CREATE INDEX oidc_authorizations_expires_idx ON oidc_authorizations (expires_ms);

-- An access token and its refresh token; deleting the user deletes them.
CREATE TABLE oidc_tokens (
    token_id           TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    user_id            TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    access_token_hash  TEXT NOT NULL,
    refresh_token_hash TEXT,
    scopes             TEXT NOT NULL,
    created_ms         BIGINT NOT NULL,
    access_expires_ms  BIGINT NOT NULL,
    refresh_expires_ms BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oidc_tokens_access_key ON oidc_tokens (access_token_hash);
CREATE UNIQUE INDEX oidc_tokens_refresh_key ON oidc_tokens (refresh_token_hash);
CREATE INDEX oidc_tokens_expires_idx ON oidc_tokens (refresh_expires_ms);
CREATE INDEX oidc_tokens_user_idx ON oidc_tokens (tenant_id, user_id);

-- A browser signed in to the sign-in pages of a tenant.
CREATE TABLE signin_sessions (
    session_hash TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX signin_sessions_expires_idx ON signin_sessions (expires_ms);
CREATE INDEX signin_sessions_user_idx ON signin_sessions (tenant_id, user_id);
