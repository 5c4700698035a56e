//! The one error type of the service and its stable wire codes.
//!
//! Every failure a client can see is an [`AppError`]; its [`ErrorCode`] travels in
//! `extensions.code` and never changes meaning. Internal failures (database, bugs) are logged
//! with the request's span (which carries the request id) and reach the client only as
//! `INTERNAL` with that request id, never with their cause: SQL, table names and stack traces stay
//! on the server.

use async_graphql::ErrorExtensions;

/// The stable codes clients switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    /// The database cannot be reached right now: try again shortly.
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }
}

/// Everything that can go wrong while serving a request.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error with no
/// code, so a stray `?` would lose `extensions.code`. Without `Display`, the only conversion is
/// the `From` impl below, which always sets the code.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated,
    Forbidden,
    /// Also the answer for objects that exist but belong to a book the caller is not in, so
    /// existence is never leaked.
    NotFound {
        entity: &'static str,
    },
    BadUserInput {
        field: String,
        message: String,
    },
    /// A uniqueness or state conflict; `current_version` is set on an optimistic-lock mismatch.
    Conflict {
        message: String,
        current_version: Option<i32>,
    },
    RateLimited {
        retry_after_secs: u64,
    },
    /// The database could not be reached (no connection in time, or the connection broke).
    Unavailable(anyhow::Error),
    Internal(anyhow::Error),
}

pub type AppResult<T, E = AppError> = Result<T, E>;

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message shown to the client; for internal errors it says nothing of the cause.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => "authentication required".into(),
            Self::Forbidden => "you are not allowed to do this".into(),
            Self::NotFound { entity } => format!("{entity} not found"),
            Self::BadUserInput { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::RateLimited { retry_after_secs } => {
                format!("too many requests; retry in {retry_after_secs} seconds")
            }
            Self::Unavailable(_) => {
                "the service is unavailable right now; try again shortly".into()
            }
            Self::Internal(_) => "internal error".into(),
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            current_version: None,
        }
    }

    /// CONFLICT for an optimistic-lock mismatch: the object is at `current_version` now.
    pub fn stale_version(current_version: i32) -> Self {
        Self::Conflict {
            message: format!("this was changed meanwhile; it is at version {current_version} now"),
            current_version: Some(current_version),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// Maps a unique violation of `constraint` to `conflict()`, and anything else to an error
    /// of its own (internal, or unavailable). PostgreSQL names the violated constraint, and
    /// only that one is a conflict: a violation of another is a bug, not the client's doing.
    /// SQLite names only the indexed columns, so there any unique violation counts, which is
    /// why callers use this on writes guarded by one unique index.
    pub fn unique_violation_or(
        error: sea_orm::DbErr,
        constraint: &str,
        conflict: impl FnOnce() -> AppError,
    ) -> AppError {
        let is_unique_violation = matches!(
            error.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        );
        let names_another = violated_constraint(&error).is_some_and(|name| name != constraint);
        if is_unique_violation && !names_another {
            conflict()
        } else {
            error.into()
        }
    }
}

/// The constraint a database error names (PostgreSQL does; SQLite does not).
fn violated_constraint(error: &sea_orm::DbErr) -> Option<&str> {
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            sqlx.as_database_error()?.constraint()
        }
        _ => None,
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error.into())
        } else {
            Self::Internal(error.into())
        }
    }
}

/// Whether `error` says the database could not be reached, rather than that a statement
/// failed: no pooled connection within the acquire timeout, no new connection, a broken one, or
/// PostgreSQL's connection-exception (`08…`) and operator-intervention (`57P…`: shut down,
/// backend terminated) classes.
fn is_unavailable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error};
    let sqlx = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            sqlx
        }
        _ => return false,
    };
    match sqlx.as_ref() {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(error: sea_orm::TransactionError<AppError>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(error) => error.into(),
            sea_orm::TransactionError::Transaction(error) => error,
        }
    }
}

impl From<crate::auth::AuthError> for AppError {
    fn from(error: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match error {
            AuthError::InvalidCredentials | AuthError::TokenInvalid | AuthError::TokenExpired => {
                Self::Unauthenticated
            }
            AuthError::InvalidInput { field, reason } => Self::bad_input(field, reason),
            AuthError::WeakSecret(_) | AuthError::Crypto(_) => Self::internal(error),
        }
    }
}

/// A ledger refusal blames the client's input when it names a field (or is a total out of
/// range); otherwise stored data broke an invariant, which is our fault, not theirs.
impl From<crate::ledger::LedgerError> for AppError {
    fn from(error: crate::ledger::LedgerError) -> Self {
        use crate::ledger::LedgerError;
        match (error.field(), &error) {
            (Some(field), _) => Self::bad_input(field, error.to_string()),
            (None, LedgerError::Overflow { .. }) => Self::bad_input("amount", error.to_string()),
            (None, _) => Self::internal(error),
        }
    }
}

impl From<crate::text::TextError> for AppError {
    fn from(error: crate::text::TextError) -> Self {
        Self::bad_input(error.field, error.message())
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            // The span around the request carries the request id, so this line can be matched
            // to the client's report without the cause ever leaving the server.
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(error = ?cause, "database unavailable"),
            _ => {}
        }
        async_graphql::Error::new(self.message()).extend_with(|_, extensions| {
            extensions.set("code", self.code().as_str());
            match self {
                Self::BadUserInput { field, .. } => extensions.set("field", field.as_str()),
                Self::Conflict {
                    current_version: Some(version),
                    ..
                } => extensions.set("currentVersion", *version),
                Self::RateLimited { retry_after_secs } => {
                    extensions.set("retryAfter", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: &async_graphql::Error) -> Option<String> {
        let value = error.extensions.as_ref()?.get("code")?;
        match value {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error: async_graphql::Error =
            AppError::internal(anyhow::anyhow!("relation \"users\" violates secret")).into();
        assert_eq!(error.message, "internal error");
        assert_eq!(code_of(&error).as_deref(), Some("INTERNAL"));
    }

    #[test]
    fn bad_input_names_its_field() {
        let error: async_graphql::Error = AppError::bad_input("amount", "too many decimals").into();
        assert_eq!(code_of(&error).as_deref(), Some("BAD_USER_INPUT"));
        let field = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("field"))
            .cloned();
        assert_eq!(field, Some(async_graphql::Value::String("amount".into())));
    }
}
