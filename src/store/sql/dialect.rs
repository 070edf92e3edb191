//! What the SQL of the store needs of a backend, in one trait: `Dialect`.
//!
//! The SQL is written once, generic over `DB: Dialect`. sqlx's own generic API asks every
//! function for a list of bounds on the value types (`i64: Encode<'q, DB>`, ...), and Rust does
//! not carry such bounds from a trait to its users; so the store binds, reads and runs through
//! `Dialect`, whose two implementations (generated below, the only macro) call sqlx on the
//! concrete backend. `Value` and `Field` name the types both backends bind and read.

use std::future::Future;

use sqlx::query::Query;
use sqlx::{Database, Decode, Encode, Executor, Postgres, QueryBuilder, Row, Sqlite, Type};

/// A value the store binds as a parameter: one that every backend encodes.
pub trait Value<'q>:
    Send + 'q + Encode<'q, Postgres> + Type<Postgres> + Encode<'q, Sqlite> + Type<Sqlite>
{
}

impl<'q, T> Value<'q> for T where
    T: Send + 'q + Encode<'q, Postgres> + Type<Postgres> + Encode<'q, Sqlite> + Type<Sqlite>
{
}

/// A value the store reads from a column: one that every backend decodes.
pub trait Field:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Field for T where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

/// A query whose SQL is borrowed for `'q` and whose arguments for `'a`.
pub type Statement<'q, 'a, DB> = Query<'q, DB, <DB as Database>::Arguments<'a>>;

/// A backend of the store.
pub trait Dialect: Database {
    /// The statement that opens a write transaction.
    const BEGIN_WRITE: &'static str;
    /// What a `SELECT` in a write transaction ends with to lock the rows it reads until the
    /// transaction ends.
    const LOCK_ROWS: &'static str;

    fn push_bind<'a, T: Value<'a>>(qb: &mut QueryBuilder<'a, Self>, value: T);

    fn bind<'q, T: Value<'q>>(query: Statement<'q, 'q, Self>, value: T) -> Statement<'q, 'q, Self>;

    fn field<T: Field>(row: &Self::Row, column: &str) -> Result<T, sqlx::Error>;

    fn field_at<T: Field>(row: &Self::Row, index: usize) -> Result<T, sqlx::Error>;

    fn fetch_all<'c, 'q: 'c, 'a: 'q>(
        conn: &'c mut Self::Connection,
        query: Statement<'q, 'a, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c;

    fn fetch_optional<'c, 'q: 'c, 'a: 'q>(
        conn: &'c mut Self::Connection,
        query: Statement<'q, 'a, Self>,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'c;

    /// Runs a statement; answers the number of rows it changed.
    fn execute<'c, 'q: 'c, 'a: 'q>(
        conn: &'c mut Self::Connection,
        query: Statement<'q, 'a, Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;
}

macro_rules! dialect {
    ($db:ty, begin_write: $begin_write:expr, lock_rows: $lock_rows:expr) => {
        impl Dialect for $db {
            const BEGIN_WRITE: &'static str = $begin_write;
            const LOCK_ROWS: &'static str = $lock_rows;

            fn push_bind<'a, T: Value<'a>>(qb: &mut QueryBuilder<'a, Self>, value: T) {
                qb.push_bind(value);
            }

            fn bind<'q, T: Value<'q>>(
                query: Statement<'q, 'q, Self>,
                value: T,
            ) -> Statement<'q, 'q, Self> {
                query.bind(value)
            }

            fn field<T: Field>(row: &Self::Row, column: &str) -> Result<T, sqlx::Error> {
                row.try_get(column)
            }

            fn field_at<T: Field>(row: &Self::Row, index: usize) -> Result<T, sqlx::Error> {
                row.try_get(index)
            }

            fn fetch_all<'c, 'q: 'c, 'a: 'q>(
                conn: &'c mut Self::Connection,
                query: Statement<'q, 'a, Self>,
            ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c {
                conn.fetch_all(query)
            }

            fn fetch_optional<'c, 'q: 'c, 'a: 'q>(
                conn: &'c mut Self::Connection,
                query: Statement<'q, 'a, Self>,
            ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'c {
                conn.fetch_optional(query)
            }

            fn execute<'c, 'q: 'c, 'a: 'q>(
                conn: &'c mut Self::Connection,
                query: Statement<'q, 'a, Self>,
            ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c {
                let done = conn.execute(query);
                async move { Ok(done.await?.rows_affected()) }
            }
        }
    };
}

// PostgreSQL orders the writers of a row by its row lock. SQLite has one writer connection
// (`SqlStore::connect`), and a write transaction takes the database's write lock at its start,
// so that what it reads cannot change before it writes.
dialect!(Postgres, begin_write: "BEGIN", lock_rows: " FOR UPDATE");
dialect!(Sqlite, begin_write: "BEGIN IMMEDIATE", lock_rows: "");

/// `Query::bind`, through the backend's `Dialect`.
pub trait Bind<'q>: Sized {
    /// Binds the next `$n` parameter.
    fn arg<T: Value<'q>>(self, value: T) -> Self;
}

impl<'q, DB: Dialect> Bind<'q> for Statement<'q, 'q, DB> {
    fn arg<T: Value<'q>>(self, value: T) -> Self {
        DB::bind(self, value)
    }
}

/// sqlx's running of queries, through the backend's `Dialect`, on a connection (of a pool or
/// of a transaction).
pub trait Run<'q, 'a, DB: Dialect>: Sized {
    fn fetch_all_in<'c>(
        self,
        conn: &'c mut DB::Connection,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + 'c
    where
        'q: 'c;

    fn fetch_optional_in<'c>(
        self,
        conn: &'c mut DB::Connection,
    ) -> impl Future<Output = Result<Option<DB::Row>, sqlx::Error>> + Send + 'c
    where
        'q: 'c;

    /// Runs the statement; answers the number of rows it changed.
    fn execute_in<'c>(
        self,
        conn: &'c mut DB::Connection,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c
    where
        'q: 'c;
}

impl<'q, 'a: 'q, DB: Dialect> Run<'q, 'a, DB> for Statement<'q, 'a, DB> {
    fn fetch_all_in<'c>(
        self,
        conn: &'c mut DB::Connection,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + 'c
    where
        'q: 'c,
    {
        DB::fetch_all(conn, self)
    }

    fn fetch_optional_in<'c>(
        self,
        conn: &'c mut DB::Connection,
    ) -> impl Future<Output = Result<Option<DB::Row>, sqlx::Error>> + Send + 'c
    where
        'q: 'c,
    {
        DB::fetch_optional(conn, self)
    }

    fn execute_in<'c>(
        self,
        conn: &'c mut DB::Connection,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c
    where
        'q: 'c,
    {
        DB::execute(conn, self)
    }
}

/// `QueryBuilder::push_bind`, through the backend's `Dialect`.
pub trait Push<'a> {
    fn push_arg<T: Value<'a>>(&mut self, value: T) -> &mut Self;
}

impl<'a, DB: Dialect> Push<'a> for QueryBuilder<'a, DB> {
    fn push_arg<T: Value<'a>>(&mut self, value: T) -> &mut Self {
        DB::push_bind(self, value);
        self
    }
}

/// `Row::try_get` by column name or position, through the backend's `Dialect`.
pub trait Fields {
    fn field<T: Field>(&self, column: &str) -> Result<T, sqlx::Error>;

    /// By position: where a name would cost a lookup for every column of every row.
    fn field_at<T: Field>(&self, index: usize) -> Result<T, sqlx::Error>;
}

impl<R: Row> Fields for R
where
    R::Database: Dialect,
{
    fn field<T: Field>(&self, column: &str) -> Result<T, sqlx::Error> {
        <R::Database as Dialect>::field(self, column)
    }

    fn field_at<T: Field>(&self, index: usize) -> Result<T, sqlx::Error> {
        <R::Database as Dialect>::field_at(self, index)
    }
}
