//! New users that come together are written together (`batch`): one `INSERT` of their rows
//! that skips a row breaking a unique constraint, one commit for all (on SQLite one write of
//! the log instead of one per user, on PostgreSQL one flush). A row the statement skipped is
//! inserted again alone, which answers its own conflict (the same `userName` twice in one
//! statement: the first is created, the second is a conflict); if the statement fails as a
//! whole (a tenant deleted meanwhile), every row is inserted alone, each with its own answer.
//! A user is answered once its row is committed, as before.

use std::pin::Pin;
use std::sync::Arc;

use sqlx::{Database, QueryBuilder};
use tokio::sync::oneshot;

use super::batch::{self, Batches, Waiting, copy_of};
use super::connections::Connections;
use super::dialect::{Dialect, Fields, Push, Run};
use super::query::{push_list, user_data};
use crate::scim::user::UserAttrs;
use crate::store::{Result, StoreError, Tenant};

/// The columns of a new user's row, in the order of `NewUser::push`.
const COLUMNS: &str = "tenant_id, id, user_name, user_name_lower, external_id, email_lower, \
                       manager_id, data, version, created_ms, modified_ms";

/// The row of a new user.
pub struct NewUser {
    tenant_id: String,
    id: String,
    user_name: String,
    user_name_lower: String,
    external_id: Option<String>,
    email_lower: Option<String>,
    manager_id: Option<String>,
    data: String,
    now_ms: i64,
}

impl NewUser {
    pub fn new(tenant: &Tenant, id: &str, attrs: &UserAttrs, now_ms: i64) -> Self {
        Self {
            tenant_id: tenant.tenant_id.clone(),
            id: id.to_owned(),
            user_name: attrs.user_name.clone(),
            user_name_lower: attrs.user_name_key(),
            external_id: attrs.external_id.clone(),
            email_lower: attrs.email_key(),
            manager_id: attrs.manager_id().map(str::to_owned),
            data: user_data(attrs),
            now_ms,
        }
    }

    /// `(values)` of the row.
    fn push<'a, DB: Dialect>(&'a self, qb: &mut QueryBuilder<'a, DB>) {
        qb.push("(")
            .push_arg(&self.tenant_id)
            .push(", ")
            .push_arg(&self.id)
            .push(", ")
            .push_arg(&self.user_name)
            .push(", ")
            .push_arg(&self.user_name_lower)
            .push(", ")
            .push_arg(&self.external_id)
            .push(", ")
            .push_arg(&self.email_lower)
            .push(", ")
            .push_arg(&self.manager_id)
            .push(", ")
            .push_arg(&self.data)
            .push(", 1, ")
            .push_arg(self.now_ms)
            .push(", ")
            .push_arg(self.now_ms)
            .push(")");
    }
}

/// A new user that waits, and where its answer goes.
struct Wanted {
    row: NewUser,
    answer: oneshot::Sender<Result<()>>,
}

impl Waiting for Wanted {
    fn fail(self, e: &StoreError) {
        let _ = self.answer.send(Err(copy_of(e)));
    }
}

pub struct UserCreates<DB: Database> {
    writes: Connections<DB>,
    batches: Batches<Wanted>,
    /// The statements run, for the tests.
    #[cfg(test)]
    statements: std::sync::atomic::AtomicUsize,
}

impl<DB: Dialect> UserCreates<DB> {
    /// Writes on `writes`.
    pub fn new(writes: Connections<DB>) -> Arc<Self> {
        Arc::new(Self {
            writes,
            batches: Batches::new(batch::AT_ONCE),
            #[cfg(test)]
            statements: Default::default(),
        })
    }

    /// Inserts `row`, once committed.
    pub async fn create(self: &Arc<Self>, row: NewUser) -> Result<()> {
        let (answer, answered) = oneshot::channel();
        if self.batches.push(Wanted { row, answer }) {
            tokio::spawn(self.clone().drain());
        }
        batch::answer(answered).await
    }

    /// Waits for its turn and the connection, then writes what waits then (another task takes
    /// what one statement does not hold). Boxed, as a task that may start another like itself.
    fn drain(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move { self.write_waiting().await })
    }

    async fn write_waiting(self: Arc<Self>) {
        let more = || {
            tokio::spawn(self.clone().drain());
        };
        let Some((_turn, mut conn, batch)) = self.batches.next(&self.writes, false, more).await
        else {
            return;
        };
        let inserted = match batch.len() {
            1 => Vec::new(),
            _ => {
                #[cfg(test)]
                self.statements
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Failing as a whole, every row is tried alone (and answers its own error).
                Self::insert_all(&mut conn, &batch)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::debug!(error = %e, rows = batch.len(), "creates written one by one");
                        Vec::new()
                    })
            }
        };
        for w in batch {
            let answer = if inserted.contains(&w.row.id) {
                Ok(())
            } else {
                #[cfg(test)]
                self.statements
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Self::insert_one(&mut conn, &w.row).await
            };
            // A create whose request went away is not answered (its row stays).
            let _ = w.answer.send(answer);
        }
    }

    /// Inserts the rows of `batch` that break no unique constraint; their ids.
    async fn insert_all(conn: &mut DB::Connection, batch: &[Wanted]) -> Result<Vec<String>> {
        let mut qb = QueryBuilder::<DB>::new(format!("INSERT INTO users ({COLUMNS}) VALUES "));
        push_list(&mut qb, batch, |qb, w| w.row.push(qb));
        qb.push(" ON CONFLICT DO NOTHING RETURNING id");
        let rows = qb.build().fetch_all_in(conn).await?;
        Ok(rows
            .iter()
            .map(|row| row.field::<String>("id"))
            .collect::<Result<_, _>>()?)
    }

    async fn insert_one(conn: &mut DB::Connection, row: &NewUser) -> Result<()> {
        let mut qb = QueryBuilder::<DB>::new(format!("INSERT INTO users ({COLUMNS}) VALUES "));
        row.push(&mut qb);
        qb.build().execute_in(conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use crate::scim::user::{Email, UserAttrs};
    use crate::store::sql::SqliteStore;
    use crate::store::{Constraint, Result, Store, StoreError, Tenant, UserRecord};

    fn attrs(name: &str, email: &str) -> UserAttrs {
        UserAttrs {
            user_name: name.into(),
            display_name: name.into(),
            emails: vec![Email {
                value: email.into(),
                kind: Some("work".into()),
                primary: Some(true),
            }],
            ..UserAttrs::default()
        }
    }

    /// Creates `users` (tenant, attributes) asked for while the store's one connection is
    /// held, so that they all wait, then let go; their answers, and the statements they took.
    async fn together(
        store: &Arc<SqliteStore>,
        users: Vec<(Tenant, UserAttrs)>,
    ) -> (Vec<Result<UserRecord>>, usize) {
        let before = store.creates.statements.load(Ordering::Relaxed);
        let held = store.writes.acquire(Duration::from_secs(1)).await.unwrap();
        let creates: Vec<_> = users
            .into_iter()
            .map(|(tenant, attrs)| {
                let store = store.clone();
                tokio::spawn(async move { store.create_user(&tenant, &attrs, 7).await })
            })
            .collect();
        while store.creates.batches.waiting() < creates.len() {
            tokio::task::yield_now().await;
        }
        drop(held);
        let mut answers = Vec::new();
        for create in creates {
            let answer = tokio::time::timeout(Duration::from_secs(5), create).await;
            answers.push(answer.expect("every create is answered").unwrap());
        }
        let statements = store.creates.statements.load(Ordering::Relaxed) - before;
        (answers, statements)
    }

    #[tokio::test]
    async fn creates_that_come_together_are_written_in_one_statement_and_conflicts_alone() {
        let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
        let tenant = Tenant::generate();
        store.create_tenant(&tenant, 0).await.unwrap();
        let mut users: Vec<_> = (0..10)
            .map(|i| {
                (
                    tenant.clone(),
                    attrs(&format!("u{i}"), &format!("u{i}@example.com")),
                )
            })
            .collect();
        // The same userName as the first (case aside), the same email as the second.
        users.push((tenant.clone(), attrs("U0", "other@example.com")));
        users.push((tenant.clone(), attrs("u10", "U1@example.com")));
        let (answers, statements) = together(&store, users.clone()).await;
        // One for all, then one for each row it skipped.
        assert_eq!(statements, 3);
        for (answer, (_, attrs)) in answers.iter().zip(&users).take(10) {
            let created = answer.as_ref().unwrap();
            let stored = store.get_user(&tenant, &created.id).await.unwrap();
            assert_eq!((&stored.attrs, stored.created_ms), (attrs, 7));
        }
        assert!(matches!(
            answers[10],
            Err(StoreError::Conflict(Constraint::UserName))
        ));
        assert!(matches!(
            answers[11],
            Err(StoreError::Conflict(Constraint::Email))
        ));
    }

    #[tokio::test]
    async fn a_statement_that_fails_as_a_whole_is_written_row_by_row() {
        let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
        let (tenant, gone) = (Tenant::generate(), Tenant::generate());
        store.create_tenant(&tenant, 0).await.unwrap();
        let users = vec![
            (tenant.clone(), attrs("a", "a@example.com")),
            (gone.clone(), attrs("b", "b@example.com")),
            (tenant.clone(), attrs("c", "c@example.com")),
        ];
        let (answers, statements) = together(&store, users).await;
        assert_eq!(statements, 4);
        assert!(matches!(answers[1], Err(StoreError::MemberNotFound)));
        for answer in [&answers[0], &answers[2]] {
            let created = answer.as_ref().unwrap();
            assert!(store.get_user(&tenant, &created.id).await.is_ok());
        }
    }
}
