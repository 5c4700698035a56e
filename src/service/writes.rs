//! [`Writes`]: statements whose answers nothing in the change waits for, sent as cheaply as
//! the database allows.
//!
//! - PostgreSQL: each at once. A parameterised statement is one round trip whatever is
//!   queued, and sending early keeps it out of the stretch where a change holds the rows that
//!   other writers queue for (a book's balance rows, its version).
//! - SQLite: all together at [`Writes::flush`], as one script. Every statement is a hop to the
//!   connection's thread and back, the largest part of a write's cost there (see the
//!   performance notes in the README); a script is one hop. sqlx binds the `?` parameters of a
//!   script to its statements in order, each taking as many as it has.
//!
//! So between [`Writes::send`] and [`Writes::flush`] nothing may read what was sent: on SQLite
//! it is not written yet. A `Writes` dropped without a flush loses, on SQLite, what it held; it
//! is `#[must_use]`, and its owner flushes it as its last step.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, InsertMany, QueryTrait, Statement, Value,
};

use crate::error::AppResult;

#[must_use = "on SQLite nothing is written until the flush"]
pub struct Writes<'a, C> {
    db: &'a C,
    /// SQLite: the script so far and its parameters, in order.
    script: String,
    values: Vec<Value>,
}

impl<'a, C: ConnectionTrait> Writes<'a, C> {
    pub fn new(db: &'a C) -> Self {
        Self {
            db,
            script: String::new(),
            values: Vec::new(),
        }
    }

    /// Sends `statement` now (PostgreSQL) or with the flush (SQLite).
    pub async fn send(&mut self, statement: &impl QueryTrait) -> AppResult<()> {
        let backend = self.db.get_database_backend();
        let built = statement.build(backend);
        if backend != DbBackend::Sqlite {
            self.db.execute_raw(built).await?;
            return Ok(());
        }
        if !self.script.is_empty() {
            self.script.push_str(";\n");
        }
        self.script.push_str(&built.sql);
        if let Some(values) = built.values {
            self.values.extend(values.0);
        }
        Ok(())
    }

    /// Inserts `rows` (one statement, or none when there are none).
    pub async fn insert<A: ActiveModelTrait>(&mut self, rows: Vec<A>) -> AppResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.send(&InsertMany::many(rows)).await
    }

    /// Sends what is still held, in the order it was given.
    pub async fn flush(self) -> AppResult<()> {
        if self.script.is_empty() {
            return Ok(());
        }
        let script = Statement::from_sql_and_values(DbBackend::Sqlite, self.script, self.values);
        self.db.execute_raw(script).await?;
        Ok(())
    }
}
