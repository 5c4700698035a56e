//! [`Writes`]: statements whose answers nothing in the change waits for, sent in as few round
//! trips as the database allows.
//!
//! - SQLite: all together at [`Writes::flush`], as one script. Every statement is a hop to the
//!   connection's thread and back, the largest part of a write's cost there (see the
//!   performance notes in the README); a script is one hop. sqlx binds the `?` parameters of a
//!   script to its statements in order, each taking as many as it has.
//! - PostgreSQL: inserts go at the flush as one statement, each but the last in a `WITH` of
//!   its own (`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`): every sub-statement runs,
//!   foreign keys are checked at the end of the whole statement, so a row may name one
//!   inserted beside it. A round trip costs both processes CPU, the resource PostgreSQL's
//!   writes run out of on a small machine.
//!
//! So between sending and flushing, nothing may read what was sent: it may not be written yet.
//! A `Writes` dropped without a flush loses what it held; it is `#[must_use]`, and its owner
//! flushes it as its last step.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, InsertMany, QueryTrait, Statement, Value,
    sea_query::{
        Alias, CommonTableExpression, InsertStatement, PostgresQueryBuilder, Values, WithClause,
    },
};

/// The most parameters one PostgreSQL statement may carry (the protocol counts them in 16
/// bits); inserts that together carry more go one by one.
const POSTGRES_MAX_PARAMETERS: usize = u16::MAX as usize;

#[must_use = "nothing is certain to be written until the flush"]
pub struct Writes<'a, C> {
    db: &'a C,
    /// SQLite: the script so far and its parameters, in order.
    script: String,
    values: Vec<Value>,
    /// PostgreSQL: the inserts not sent yet, in order.
    inserts: Vec<InsertStatement>,
}

impl<'a, C: ConnectionTrait> Writes<'a, C> {
    pub fn new(db: &'a C) -> Self {
        Self {
            db,
            script: String::new(),
            values: Vec::new(),
            inserts: Vec::new(),
        }
    }

    fn sqlite(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Sqlite
    }

    /// Inserts `rows` (one statement, or none when there are none), sent with the flush.
    pub fn insert<A: ActiveModelTrait>(&mut self, rows: Vec<A>) {
        if rows.is_empty() {
            return;
        }
        let insert = InsertMany::many(rows);
        if self.sqlite() {
            self.append(insert.build(DbBackend::Sqlite));
        } else {
            self.inserts.push(insert.into_query());
        }
    }

    /// PostgreSQL: sends the inserts waiting, together.
    async fn send_inserts(&mut self) -> Result<(), DbErr> {
        let mut inserts = std::mem::take(&mut self.inserts);
        let Some(last) = inserts.pop() else {
            return Ok(());
        };
        if inserts.is_empty() {
            return self.execute(last.build(PostgresQueryBuilder)).await;
        }
        let mut with = WithClause::new();
        for (i, insert) in inserts.iter().enumerate() {
            with.cte(
                CommonTableExpression::new()
                    .query(insert.clone())
                    .table_name(Alias::new(format!("w{i}")))
                    .to_owned(),
            );
        }
        let together = last.clone().with(with).build(PostgresQueryBuilder);
        if together.1.0.len() <= POSTGRES_MAX_PARAMETERS {
            return self.execute(together).await;
        }
        for insert in inserts.into_iter().chain([last]) {
            self.execute(insert.build(PostgresQueryBuilder)).await?;
        }
        Ok(())
    }

    /// Sends what is still held, in the order it was given.
    pub async fn flush(mut self) -> Result<(), DbErr> {
        if !self.sqlite() {
            return self.send_inserts().await;
        }
        if self.script.is_empty() {
            return Ok(());
        }
        let script = Statement::from_sql_and_values(DbBackend::Sqlite, self.script, self.values);
        self.db.execute_raw(script).await?;
        Ok(())
    }

    /// SQLite: adds `statement` to the script.
    fn append(&mut self, statement: Statement) {
        if !self.script.is_empty() {
            self.script.push_str(";\n");
        }
        self.script.push_str(&statement.sql);
        if let Some(values) = statement.values {
            self.values.extend(values.0);
        }
    }

    /// PostgreSQL: runs one built statement.
    async fn execute(&self, (sql, values): (String, Values)) -> Result<(), DbErr> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?;
        Ok(())
    }
}
