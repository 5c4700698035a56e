//! `tally check`: the auditor. Recomputes every book's balances from its live entries with the
//! ledger's reference function and compares them with the materialised `member_balances` the
//! writes keep, book by book; also checks that each book's nets sum to zero, and that its
//! stored count of live entries (`books.live_entries`) is the count of its live entries.
//!
//! It reads only, so it can run against a live database; a write committing mid-check can
//! only show up as a mismatch in the book it touched, and a second run tells a race from
//! corruption. The integration tests run the same check after every mutation they make.

use std::fmt;

use entity::{book, entry};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::service::balances::{self, Mismatch};

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    pub books: u64,
    pub mismatches: Vec<Mismatch>,
    /// Books whose stored balances break an invariant on their own (nets not summing to zero,
    /// net ≠ paid − owed), with the reason.
    pub broken: Vec<(Uuid, String)>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty() && self.broken.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (book, reason) in &self.broken {
            writeln!(f, "book {book}: {reason}")?;
        }
        for m in &self.mismatches {
            writeln!(
                f,
                "book {} member {}: stored paid {} owed {} net {}, entries give paid {} owed {} net {}",
                m.book_id,
                m.member_id,
                m.stored.paid,
                m.stored.owed,
                m.stored.net,
                m.recomputed.paid,
                m.recomputed.owed,
                m.recomputed.net
            )?;
        }
        write!(
            f,
            "checked {} books: {}",
            self.books,
            if self.is_clean() {
                "every balance matches its entries".to_owned()
            } else {
                format!(
                    "{} mismatched balances, {} broken books",
                    self.mismatches.len(),
                    self.broken.len()
                )
            }
        )
    }
}

/// What went wrong, for the operator (internal causes included: this is not a client).
fn reason(error: crate::error::AppError) -> String {
    match error {
        crate::error::AppError::Internal(cause) => format!("{cause:#}"),
        other => other.message(),
    }
}

/// Checks every book.
pub async fn run(db: &impl ConnectionTrait) -> Result<Report, sea_orm::DbErr> {
    let books: Vec<(Uuid, i64)> = book::Entity::find()
        .select_only()
        .column(book::Column::Id)
        .column(book::Column::LiveEntries)
        .order_by_asc(book::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut report = Report::default();
    for (book_id, stored_count) in books {
        report.books += 1;
        let live = entry::Entity::find()
            .filter(entry::Column::BookId.eq(book_id))
            .filter(entry::Column::DeletedAt.is_null())
            .count(db)
            .await?;
        if u64::try_from(stored_count).ok() != Some(live) {
            report.broken.push((
                book_id,
                format!("counts {stored_count} live entries, holds {live}"),
            ));
        }
        match balances::mismatches(db, book_id).await {
            Ok(found) => report.mismatches.extend(found),
            Err(error) => report.broken.push((book_id, reason(error))),
        }
        if let Err(error) = balances::audit(db, book_id).await {
            report.broken.push((book_id, reason(error)));
        }
    }
    Ok(report)
}
