//! Reads of one user each that come together are read together (`batch`): by id (GetUser,
//! and the read before a PUT or PATCH) or by `userName` (the lookup identity providers make
//! before every write), one statement per tenant and column. The rows of eight requests read
//! together cost about a third of eight statements.

use std::pin::Pin;
use std::sync::Arc;

use sqlx::{Database, QueryBuilder};
use tokio::sync::oneshot;

use super::batch::{self, Batches, Waiting, copy_of, fail_all};
use super::connections::Connections;
use super::dialect::{Dialect, Fields, Push, Run};
use super::query::{USER_COLUMN_NAMES, USER_COLUMNS, push_list, stored_user_from_row};
use crate::store::{Result, StoreError, StoredUser};

/// How a user is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Id(String),
    /// `userName`, case-insensitively (`UserAttrs::user_name_key`).
    UserName(String),
}

impl UserKey {
    /// The column the key is found in.
    fn column(&self) -> &'static str {
        match self {
            Self::Id(_) => "id",
            Self::UserName(_) => "user_name_lower",
        }
    }

    fn value(&self) -> &str {
        match self {
            Self::Id(v) | Self::UserName(v) => v,
        }
    }

    fn same_column(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// A read that waits: whom it asks for, where its answer goes.
struct Wanted {
    tenant_id: String,
    key: UserKey,
    answer: oneshot::Sender<Result<Option<StoredUser>>>,
}

pub struct UserReads<DB: Database> {
    reads: Connections<DB>,
    batches: Batches<Wanted>,
    /// The statements run, for the tests.
    #[cfg(test)]
    statements: std::sync::atomic::AtomicUsize,
}

impl<DB: Dialect> UserReads<DB> {
    /// Reads on `reads`.
    pub fn new(reads: Connections<DB>) -> Arc<Self> {
        Arc::new(Self {
            reads,
            batches: Batches::new(batch::AT_ONCE),
            #[cfg(test)]
            statements: Default::default(),
        })
    }

    /// The user of `tenant_id` that `key` names, if there is one.
    pub async fn read(
        self: &Arc<Self>,
        tenant_id: &str,
        key: UserKey,
    ) -> Result<Option<StoredUser>> {
        let (answer, answered) = oneshot::channel();
        let wanted = Wanted {
            tenant_id: tenant_id.to_owned(),
            key,
            answer,
        };
        if self.batches.push(wanted) {
            tokio::spawn(self.clone().drain());
        }
        batch::answer(answered).await
    }

    /// Waits for its turn and a connection, then reads what waits then (another task takes
    /// what one statement does not hold). Boxed, as a task that may start another like itself.
    fn drain(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move { self.read_waiting().await })
    }

    async fn read_waiting(self: Arc<Self>) {
        // Gathering (the requests that are ready run first, and the reads they ask for join
        // this statement): on SQLite a statement then holds about 14 reads instead of 4, and a
        // GET costs the server a tenth less (creates gain nothing from it).
        let more = || {
            tokio::spawn(self.clone().drain());
        };
        let Some((_turn, mut conn, mut batch)) = self.batches.next(&self.reads, true, more).await
        else {
            return;
        };
        while let Some(first) = batch.first() {
            // The reads of one tenant by one column, in one statement.
            let (tenant_id, key) = (first.tenant_id.clone(), first.key.clone());
            let (these, rest): (Vec<Wanted>, Vec<Wanted>) = batch
                .into_iter()
                .partition(|w| w.tenant_id == tenant_id && w.key.same_column(&key));
            batch = rest;
            #[cfg(test)]
            self.statements
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match Self::select(&mut conn, &tenant_id, key.column(), &these).await {
                Ok(rows) => answer(these, rows),
                Err(e) => fail_all(these, &e),
            }
        }
    }

    /// The rows `wanted` asks for, each with its key and its record (or why it could not be
    /// read: one bad row fails only the reads of it).
    async fn select(
        conn: &mut DB::Connection,
        tenant_id: &str,
        column: &'static str,
        wanted: &[Wanted],
    ) -> Result<Vec<(String, Result<StoredUser>)>> {
        let mut keys: Vec<&str> = wanted.iter().map(|w| w.key.value()).collect();
        keys.sort_unstable();
        keys.dedup();
        // A few lengths of list, so that each connection prepares a few statements: the
        // last key again up to a power of two.
        let len = keys.len().next_power_of_two();
        let last = keys[keys.len() - 1];
        keys.resize(len, last);
        let mut qb = QueryBuilder::<DB>::new(format!("SELECT {USER_COLUMNS}"));
        if column != "id" {
            qb.push(format_args!(", {column}"));
        }
        qb.push(" FROM users WHERE tenant_id = ")
            .push_arg(tenant_id)
            .push(format_args!(" AND {column} IN ("));
        push_list(&mut qb, keys, |qb, key| {
            qb.push_arg(key);
        });
        qb.push(")");
        let rows = qb.build().fetch_all_in(conn).await?;
        // The key is the id (the first column) or the column after the user's.
        let key_at = if column == "id" {
            0
        } else {
            USER_COLUMN_NAMES.len()
        };
        rows.iter()
            .map(|row| {
                Ok((
                    row.field_at::<String>(key_at)?,
                    stored_user_from_row::<DB>(row),
                ))
            })
            .collect()
    }
}

/// Gives each read the row of its key, or none: the row itself to the last read of it, a
/// copy to any before.
fn answer(wanted: Vec<Wanted>, rows: Vec<(String, Result<StoredUser>)>) {
    let mut rows: Vec<(String, Option<Result<StoredUser>>)> = rows
        .into_iter()
        .map(|(key, row)| (key, Some(row)))
        .collect();
    let last: Vec<bool> = (0..wanted.len())
        .map(|i| {
            let key = wanted[i].key.value();
            !wanted[i + 1..].iter().any(|w| w.key.value() == key)
        })
        .collect();
    for (w, last) in wanted.into_iter().zip(last) {
        let found = rows.iter_mut().find(|(key, _)| key == w.key.value());
        let answer = match found.map(|(_, row)| row) {
            None | Some(None) => Ok(None),
            Some(row) if last => row.take().map_or(Ok(None), |row| row.map(Some)),
            Some(Some(Ok(record))) => Ok(Some(record.clone())),
            Some(Some(Err(e))) => Err(copy_of(e)),
        };
        // A read whose request went away is not answered.
        let _ = w.answer.send(answer);
    }
}

impl Waiting for Wanted {
    fn fail(self, e: &StoreError) {
        let _ = self.answer.send(Err(copy_of(e)));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use tokio::task::JoinHandle;

    use super::UserKey;
    use crate::scim::user::UserAttrs;
    use crate::store::sql::SqliteStore;
    use crate::store::sql::dialect::{Bind, Run};
    use crate::store::{Result, Store, StoreError, StoredUser, Tenant, UserRecord};

    /// A store in memory (one connection for reads and writes) with two tenants, `users`
    /// users in the first.
    async fn store(users: usize) -> (SqliteStore, Tenant, Tenant, Vec<UserRecord>) {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let (a, b) = (Tenant::generate(), Tenant::generate());
        store.create_tenant(&a, 0).await.unwrap();
        store.create_tenant(&b, 0).await.unwrap();
        let mut records = Vec::new();
        for i in 0..users {
            let attrs = UserAttrs {
                user_name: format!("User{i}@Example.com"),
                display_name: format!("User {i}"),
                ..UserAttrs::default()
            };
            records.push(store.create_user(&a, &attrs, 0).await.unwrap());
        }
        (store, a, b, records)
    }

    /// Reads of `keys` asked for while the store's one connection is held, so that they all
    /// wait, then let go; their answers.
    async fn together(
        store: &SqliteStore,
        keys: Vec<(&Tenant, UserKey)>,
        cancel_first: bool,
    ) -> Vec<Option<Result<Option<UserRecord>>>> {
        let held = store.reads.acquire(Duration::from_secs(1)).await.unwrap();
        let reads: Vec<JoinHandle<_>> = keys
            .into_iter()
            .map(|(tenant, key)| {
                let users = store.users.clone();
                let tenant_id = tenant.tenant_id.clone();
                tokio::spawn(async move { users.read(&tenant_id, key).await })
            })
            .collect();
        let asked = reads.len();
        while store.users.batches.waiting() < asked {
            tokio::task::yield_now().await;
        }
        if cancel_first {
            reads[0].abort();
        }
        drop(held);
        let mut answers = Vec::new();
        for read in reads {
            let answer = tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .expect("every read is answered");
            let parsed = answer
                .ok()
                .map(|found| found?.map(StoredUser::parse).transpose());
            answers.push(parsed);
        }
        answers
    }

    fn statements(store: &SqliteStore) -> usize {
        store.users.statements.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn reads_that_come_together_are_read_in_a_statement_per_column_each_with_its_user() {
        let (store, a, b, users) = store(20).await;
        let mut keys: Vec<(&Tenant, UserKey)> = users
            .iter()
            .map(|u| (&a, UserKey::Id(u.id.clone())))
            .collect();
        keys.push((&a, UserKey::Id("no-such-user".into())));
        keys.push((&a, UserKey::Id(users[3].id.clone())));
        keys.push((&a, UserKey::UserName("user7@example.com".into())));
        keys.push((&a, UserKey::UserName("nobody@example.com".into())));
        // Another tenant's user is not found.
        keys.push((&b, UserKey::Id(users[5].id.clone())));
        let before = statements(&store);
        let answers = together(&store, keys, false).await;
        // Tenant a by id, tenant a by userName, tenant b by id.
        assert_eq!(statements(&store) - before, 3);
        let found: Vec<Option<String>> = answers
            .into_iter()
            .map(|a| a.unwrap().unwrap().map(|u| u.id))
            .collect();
        let mut expected: Vec<Option<String>> = users.iter().map(|u| Some(u.id.clone())).collect();
        expected.extend([
            None,
            Some(users[3].id.clone()),
            Some(users[7].id.clone()),
            None,
            None,
        ]);
        assert_eq!(found, expected);
        assert_eq!(
            store.get_user(&a, &users[9].id).await.unwrap().attrs,
            users[9].attrs
        );
    }

    #[tokio::test]
    async fn more_reads_than_a_statement_holds_are_all_answered() {
        let (store, a, _, users) = store(super::batch::MOST + 8).await;
        let keys = users
            .iter()
            .map(|u| (&a, UserKey::Id(u.id.clone())))
            .collect();
        let before = statements(&store);
        let answers = together(&store, keys, false).await;
        assert_eq!(statements(&store) - before, 2);
        for (answer, user) in answers.into_iter().zip(&users) {
            assert_eq!(answer.unwrap().unwrap().as_ref(), Some(user));
        }
    }

    #[tokio::test]
    async fn a_row_that_cannot_be_read_fails_only_its_own_reads() {
        let (store, a, _, users) = store(3).await;
        {
            let mut conn = store.write().await.unwrap();
            SqliteStore::query("UPDATE users SET data = 'not json' WHERE id = $1")
                .arg(&users[1].id)
                .execute_in(&mut conn)
                .await
                .unwrap();
        }
        let keys = users
            .iter()
            .map(|u| (&a, UserKey::Id(u.id.clone())))
            .collect();
        let answers = together(&store, keys, false).await;
        let answers: Vec<_> = answers.into_iter().map(Option::unwrap).collect();
        assert_eq!(answers[0].as_ref().unwrap().as_ref(), Some(&users[0]));
        assert!(matches!(answers[1], Err(StoreError::Database(_))));
        assert_eq!(answers[2].as_ref().unwrap().as_ref(), Some(&users[2]));
    }

    #[tokio::test]
    async fn a_read_that_goes_away_leaves_the_others_their_answers() {
        let (store, a, _, users) = store(4).await;
        let keys = users
            .iter()
            .map(|u| (&a, UserKey::Id(u.id.clone())))
            .collect();
        // The first read started the task that reads them all.
        let answers = together(&store, keys, true).await;
        assert!(answers[0].is_none(), "the first read was cancelled");
        for (answer, user) in answers.into_iter().zip(&users).skip(1) {
            assert_eq!(answer.unwrap().unwrap().as_ref(), Some(user));
        }
    }

    #[tokio::test]
    async fn reads_once_the_connections_are_closed_are_answered_with_an_error() {
        let (store, a, _, users) = store(1).await;
        store.reads.close().await;
        let read = store
            .users
            .read(&a.tenant_id, UserKey::Id(users[0].id.clone()));
        let answer = tokio::time::timeout(Duration::from_secs(5), read).await;
        assert!(matches!(
            answer.expect("answered"),
            Err(StoreError::Database(sqlx::Error::PoolClosed))
        ));
    }
}
