-- The count of the changes that end or alter what a credential authenticates: deleting a token,
-- an access key or a tenant, and changing a tenant (turning its provisioning on or off). Every
-- server on the database caches what its credentials open, and reads this count before it trusts
-- its cache again (store::auth_cache): a token deleted by another server or by the command line
-- stops everywhere. One row, kept by the triggers. migrations/sqlite holds the same table.
-- On PostgreSQL the triggers also NOTIFY `auth_changes`, delivered when the change commits: the
-- servers that LISTEN forget their cache at once instead of at their next reading of the count.
--
-- A change locks the row until it commits. Row triggers that fire after the change run once
-- the whole statement is done, cascades included, so the row is the last lock the statements
-- that count take: two of them never each hold what the other waits for.

CREATE TABLE auth_changes (
    changes BIGINT NOT NULL
);
INSERT INTO auth_changes (changes) VALUES (0);

CREATE FUNCTION count_auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_changes SET changes = changes + 1;
    PERFORM pg_notify('auth_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER tokens_auth_change AFTER DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION count_auth_change();

CREATE TRIGGER access_keys_auth_change AFTER DELETE ON access_keys
    FOR EACH ROW EXECUTE FUNCTION count_auth_change();

CREATE TRIGGER tenants_auth_change_delete AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION count_auth_change();

-- Not when nothing changes: adding a credential locks its tenant with an update that changes
-- nothing.
CREATE TRIGGER tenants_auth_change_update AFTER UPDATE ON tenants
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION count_auth_change();
