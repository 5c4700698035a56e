//! Small builders shared by the migrations, so that each constraint reads as one line (its name
//! and what it checks) with the reason in a comment beside it.
//!
//! Everything goes through sea-query's builders, which render the right column types, quoting
//! and literals for SQLite and PostgreSQL alike. Constraints are declared inside `CREATE TABLE`
//! because SQLite cannot add them to an existing table. (SQLite also drops the *names* of
//! foreign keys; PostgreSQL keeps them. Its foreign-key errors name no constraint anyway.)
//!
//! Where a parent must not be deleted while rows refer to it (a user who wrote entries), the
//! foreign key says `ON DELETE NO ACTION`, not `RESTRICT`. Both refuse the delete here (no key
//! is deferrable), but SQLite reports a RESTRICT refusal as `SQLITE_CONSTRAINT_TRIGGER` (1811),
//! which `DbErr::sql_err()` does not recognise, and NO ACTION as an ordinary foreign-key
//! violation (787) on SQLite and `23503` on PostgreSQL, so the app sees one kind of error.

use sea_orm_migration::prelude::*;

/// A named CHECK constraint.
pub fn check(name: &'static str, condition: Expr) -> Check {
    Check::named(name, condition)
}

/// `column IN (values…)`, for text columns that hold one of a closed set of words.
pub fn one_of(column: impl IntoIden, values: &[&'static str]) -> Expr {
    Expr::col(column).is_in(values.iter().copied())
}

/// The length of a text column in characters (`char_length` / SQLite `length`).
pub fn char_length(column: impl IntoIden) -> Expr {
    Func::char_length(Expr::col(column)).into()
}

/// The length of a binary column in bytes: `length(bytea)` in PostgreSQL and `length(blob)` in
/// SQLite both count bytes.
pub fn byte_length(column: impl IntoIden) -> Expr {
    Func::cust("length").arg(Expr::col(column)).into()
}

/// A named foreign key from `columns` of `table` to `ref_columns` of `ref_table`. Updates are
/// never cascaded: every key is an immutable UUID.
pub fn foreign_key(
    name: &str,
    (table, columns): (impl IntoTableRef, impl IdenList),
    (ref_table, ref_columns): (impl IntoTableRef, impl IdenList),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, columns)
        .to(ref_table, ref_columns)
        .on_delete(on_delete)
        .to_owned()
}

/// `DROP TABLE` for a migration's `down`.
pub fn drop_table(table: impl IntoTableRef) -> TableDropStatement {
    Table::drop().table(table).to_owned()
}
