-- The count of the changes that end or alter what a credential authenticates: deleting a token,
-- an access key or a tenant, and changing a tenant (turning its provisioning on or off). Every
-- server on the database caches what its credentials open, and reads this count before it trusts
-- its cache again (store::auth_cache): a token deleted by another server or by the command line
-- stops everywhere. One row, kept by the triggers. migrations/postgres holds the same table.

CREATE TABLE auth_changes (
    changes BIGINT NOT NULL
);
INSERT INTO auth_changes (changes) VALUES (0);

CREATE TRIGGER tokens_auth_change AFTER DELETE ON tokens
BEGIN
    UPDATE auth_changes SET changes = changes + 1;
END;

CREATE TRIGGER access_keys_auth_change AFTER DELETE ON access_keys
BEGIN
    UPDATE auth_changes SET changes = changes + 1;
END;

CREATE TRIGGER tenants_auth_change_delete AFTER DELETE ON tenants
BEGIN
    UPDATE auth_changes SET changes = changes + 1;
END;

-- Not when nothing changes: adding a credential locks its tenant with an update that changes
-- nothing.
CREATE TRIGGER tenants_auth_change_update AFTER UPDATE ON tenants
WHEN OLD.identity_store_id IS NOT NEW.identity_store_id
    OR OLD.is_default IS NOT NEW.is_default
    OR OLD.provisioning_enabled IS NOT NEW.provisioning_enabled
BEGIN
    UPDATE auth_changes SET changes = changes + 1;
END;
