-- Groups that are members of groups (RFC 7643 §4.2), in the `rfc` profile only: AWS's members
-- are users, kept in group_members. A group is never a member of itself, directly or through
-- its members: the store refuses the loop before it writes. Both directions are indexed, as
-- for group_members: the primary key serves "member groups of a group", group_subgroups_member_idx
-- "groups a group belongs to". Deleting either group deletes the row.
CREATE TABLE group_subgroups (
    tenant_id       TEXT NOT NULL,
    group_id        TEXT NOT NULL,
    member_group_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_group_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, member_group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CHECK (group_id <> member_group_id)
);
CREATE INDEX group_subgroups_member_idx ON group_subgroups (tenant_id, member_group_id, group_id);
