-- The manager index served no query: the only filter on the manager that AWS accepts
-- (`id eq "..." and manager.value eq "..."`) finds its user by id, through the primary key,
-- while every write of a user paid for the index. migrations/sqlite and migrations/postgres
-- hold the same change.
DROP INDEX users_manager_idx;
