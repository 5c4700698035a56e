//! Accounts in the API: `me`, registration, login, token refresh and logout, profile and
//! password, and personal access tokens.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{access_token, enums::TokenScope};
use secrecy::ExposeSecret;

use crate::{
    error::{AppError, AppResult},
    graphql::context::{actor, state},
    service::{
        Actor, access_tokens, accounts,
        accounts::{PublicUser, Registration},
        sessions::{self, Session},
    },
};

/// A person with an account. `email` is shown to its owner only.
pub struct User {
    user: PublicUser,
    viewer_is_self: bool,
}

impl User {
    pub fn new(user: PublicUser, viewer: Option<&Actor>) -> Self {
        let viewer_is_self = viewer.is_some_and(|viewer| viewer.user_id == user.id);
        Self {
            user,
            viewer_is_self,
        }
    }

    /// The user's display name.
    pub fn display_name(&self) -> &str {
        &self.user.name
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.user.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.user.name
    }

    /// The account's email, visible only to the account itself.
    async fn email(&self) -> Option<&str> {
        self.viewer_is_self.then_some(self.user.email.as_str())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.user.created_at
    }
}

/// The credentials of a new session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A JWT for `Authorization: Bearer …`, valid for 15 minutes.
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    /// Single-use: exchange it with `refreshToken` for a new pair before it expires (7 days).
    refresh_token: String,
    user: User,
}

impl AuthPayload {
    fn new(user: PublicUser, session: Session) -> Self {
        let viewer = session.actor();
        Self {
            access_token: session.access_token.expose_secret().to_owned(),
            access_token_expires_at: session.access_token_expires_at,
            refresh_token: session.refresh_token.expose_secret().to_owned(),
            user: User::new(user, Some(&viewer)),
        }
    }
}

#[derive(InputObject)]
pub struct RegisterInput {
    /// Trimmed and lower-cased.
    email: String,
    /// 1 to 100 characters, trimmed.
    name: String,
    /// 8 to 128 characters with an upper-case letter, a lower-case letter and a digit.
    password: String,
}

/// What a personal access token may do.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TokenScope")]
pub enum Scope {
    /// Queries and subscriptions only.
    Read,
    /// Queries, subscriptions and mutations.
    Write,
}

impl From<Scope> for TokenScope {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::Read => TokenScope::Read,
            Scope::Write => TokenScope::Write,
        }
    }
}

impl From<TokenScope> for Scope {
    fn from(scope: TokenScope) -> Self {
        match scope {
            TokenScope::Read => Scope::Read,
            TokenScope::Write => Scope::Write,
        }
    }
}

/// A personal access token, without its secret.
pub struct AccessToken(access_token::Model);

#[Object]
impl AccessToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn scope(&self) -> Scope {
        self.0.scope.into()
    }
    /// The first characters after `tly_`, to recognise the token.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
}

/// A new personal access token; `token` is shown this once and never again.
#[derive(SimpleObject)]
pub struct CreatedAccessToken {
    token: String,
    access_token: AccessToken,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let actor = actor(ctx)?;
        let user = accounts::me(state(ctx)?, &actor).await?;
        Ok(User::new(user, Some(&actor)))
    }

    /// The caller's personal access tokens (without their secrets).
    async fn access_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AccessToken>> {
        let rows = access_tokens::list(state(ctx)?, &actor(ctx)?).await?;
        Ok(rows.into_iter().map(AccessToken).collect())
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account (with a personal book) and logs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let registration = Registration {
            email: &input.email,
            name: &input.name,
            password: &input.password,
        };
        let client = ctx.data_opt::<ClientAddress>().map(|address| address.0);
        let (user, session) = accounts::register(state(ctx)?, registration, client).await?;
        Ok(AuthPayload::new(user, session))
    }

    /// Logs in. A wrong password and an unknown email get the same UNAUTHENTICATED answer;
    /// repeated failures answer RATE_LIMITED with `retryAfter` seconds.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let client = ctx.data_opt::<ClientAddress>().map(|address| address.0);
        let (user, session) = accounts::login(state(ctx)?, &email, &password, client).await?;
        Ok(AuthPayload::new(user, session))
    }

    /// Exchanges a refresh token for a new session. Each refresh token works once: presenting
    /// it again ends the whole session.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let state = state(ctx)?;
        let session = sessions::refresh(state, &refresh_token).await?;
        let user = accounts::me(state, &session.actor()).await?;
        Ok(AuthPayload::new(user, session))
    }

    /// Ends the session the refresh token belongs to.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        sessions::logout(state(ctx)?, &refresh_token).await?;
        Ok(true)
    }

    /// Ends every session of the caller.
    async fn logout_all(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        sessions::logout_all(state(ctx)?, &actor(ctx)?).await?;
        Ok(true)
    }

    async fn update_profile(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<User> {
        let actor = actor(ctx)?;
        let user = accounts::update_profile(state(ctx)?, &actor, &name).await?;
        Ok(User::new(user, Some(&actor)))
    }

    /// Changes the password and ends every other session; returns a fresh session.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let actor = actor(ctx)?;
        let (user, session) =
            accounts::change_password(state(ctx)?, &actor, &current_password, &new_password)
                .await?;
        Ok(AuthPayload::new(user, session))
    }

    /// Creates a personal access token for scripts and dashboards. Needs a login session.
    async fn create_access_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        scope: Scope,
        expires_at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<CreatedAccessToken> {
        let (row, secret) =
            access_tokens::create(state(ctx)?, &actor(ctx)?, &name, scope.into(), expires_at)
                .await?;
        Ok(CreatedAccessToken {
            token: secret.expose_secret().to_owned(),
            access_token: AccessToken(row),
        })
    }

    async fn revoke_access_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = parse_id(&id, "id")?;
        access_tokens::revoke(state(ctx)?, &actor(ctx)?, id).await?;
        Ok(true)
    }
}

/// The client's network address, put into request data by the HTTP layer for throttling.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Parses an `ID` argument as a UUID; anything else is BAD_USER_INPUT naming the argument.
pub fn parse_id(id: &ID, field: &str) -> AppResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "not a valid id"))
}
