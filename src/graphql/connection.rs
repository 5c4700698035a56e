//! Relay cursor connections (`first`/`after`) over keyset pages.
//!
//! Every paged list here is ordered by a v7 UUID (unique, and sorted by creation time), so a
//! cursor is just the id of the last row seen, wrapped so clients treat it as opaque. A page
//! fetches one row more than asked: its presence is `hasNextPage`, without a COUNT.

use async_graphql::{
    OutputType,
    connection::{Connection, CursorType, Edge, OpaqueCursor},
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Rows per page when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Most rows per page.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The cursor clients see: base64 of the row id.
pub type Cursor = OpaqueCursor<Uuid>;

/// A validated `first`/`after` pair.
#[derive(Debug, Clone, Copy)]
pub struct PageArgs {
    /// Rows to return.
    pub first: u64,
    /// Rows come strictly after (in the list's order) the row with this id.
    pub after: Option<Uuid>,
}

impl PageArgs {
    /// Reads `first` (0 to [`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`]) and `after` (a
    /// cursor from this API); BAD_USER_INPUT naming the argument otherwise.
    pub fn parse(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(0..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("must be between 0 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = after
            .map(|cursor| {
                Cursor::decode_cursor(cursor)
                    .map(|cursor| cursor.0)
                    .map_err(|_| AppError::bad_input("after", "not a cursor from this list"))
            })
            .transpose()?;
        Ok(Self {
            first: u64::try_from(first).unwrap_or(0),
            after,
        })
    }

    /// How many rows to fetch: one more than asked, to learn whether a next page exists.
    pub fn fetch(&self) -> u64 {
        self.first + 1
    }

    /// Builds the connection from up to [`PageArgs::fetch`] rows in list order.
    pub fn connection<Row, Node: OutputType>(
        &self,
        mut rows: Vec<Row>,
        id: impl Fn(&Row) -> Uuid,
        node: impl Fn(Row) -> Node,
    ) -> Connection<Cursor, Node> {
        let has_next_page = rows.len() as u64 > self.first;
        rows.truncate(usize::try_from(self.first).unwrap_or(usize::MAX));
        let mut connection = Connection::new(self.after.is_some(), has_next_page);
        connection.edges = rows
            .into_iter()
            .map(|row| Edge::new(OpaqueCursor(id(&row)), node(row)))
            .collect();
        connection
    }
}

/// The cost of a paged field for the complexity limit: its page size times its selection.
pub fn complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE);
    usize::try_from(first)
        .unwrap_or(0)
        .saturating_mul(child_complexity)
}
