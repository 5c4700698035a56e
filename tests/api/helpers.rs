//! The test harness: every test gets its own server on a free port and its own fresh database.
//!
//! SQLite is the default (a file in a temporary directory). With `TEST_DATABASE_URL` pointing at
//! a PostgreSQL server, each test instead creates a database with a random name there and drops it
//! when the test ends, so runs never see each other's data.

use std::{collections::HashMap, path::PathBuf};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tally::{config::Config, startup::Application};

/// A fixed development key pair: tests must not depend on generated secrets.
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-0123456789";
pub const TEST_DATA_KEY: &str = "8f4e2a1c9b7d6e5f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A connection to the test's database, for asserting what was stored.
    pub db: DatabaseConnection,
    /// Counts the SQL statements the server runs (for tests of batching).
    pub statements: tally::db::StatementCounter,
    database: TestDatabase,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database_url: String,
}

/// A further server on a test's database; dropping it stops the server.
pub struct Instance {
    pub address: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// One running server and the handles to reach and stop it.
struct Server {
    address: String,
    db: DatabaseConnection,
    statements: tally::db::StatementCounter,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(database_url: &str, overrides: &[(&str, &str)]) -> Self {
        let data_dir =
            std::env::temp_dir().join(format!("tally-test-data-{}", uuid::Uuid::new_v4()));
        let config = test_config(database_url, &data_dir.to_string_lossy(), overrides);
        let app = Application::build(config)
            .await
            .expect("build the application");
        let address = format!("http://{}", app.local_addr().expect("bound address"));
        let db = app.state().db.clone();
        let statements = app.state().statements.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            db,
            statements,
            stop,
            task,
        }
    }
}

enum TestDatabase {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    async fn create() -> (Self, String) {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
        {
            Some(admin_url) => {
                let name = format!("tally_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create the test database");
                admin.close().await.expect("close admin connection");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin_url);
                let url = format!("{base}/{name}");
                (Self::Postgres { admin_url, name }, url)
            }
            None => {
                let dir = std::env::temp_dir().join(format!("tally-test-{}", uuid::Uuid::new_v4()));
                let url = format!("sqlite://{}?mode=rwc", dir.join("tally.db").display());
                (Self::Sqlite { dir }, url)
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            Self::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { admin_url, name } => {
                // Drop runs inside the test's runtime, which cannot block on itself: use a
                // short-lived runtime on another thread.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime.block_on(async {
                        let admin = Database::connect(&admin_url).await?;
                        admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await?;
                        admin.close().await
                    })?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("could not drop test database {}", self.name_for_log());
                }
            }
        }
    }
}

impl TestDatabase {
    fn name_for_log(&self) -> String {
        match self {
            Self::Sqlite { dir } => dir.display().to_string(),
            Self::Postgres { name, .. } => name.clone(),
        }
    }
}

/// The configuration every test server runs with, plus per-test overrides.
fn test_config(database_url: &str, data_dir: &str, overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("TALLY_LISTEN", "127.0.0.1:0"),
        ("DATABASE_URL", database_url),
        ("TALLY_DATA_DIR", data_dir),
        ("TALLY_JWT_SECRET", TEST_JWT_SECRET),
        ("TALLY_DATA_KEY", TEST_DATA_KEY),
        ("TALLY_SHUTDOWN_GRACE_SECS", "2"),
        // Every test client registers from 127.0.0.1; the registration throttle's own test sets
        // a small limit.
        ("TALLY_REGISTRATIONS_PER_HOUR", "10000"),
        // Likewise every request: the general rate limit's own tests set small limits.
        ("TALLY_RATE_LIMIT_PER_ADDRESS", "0"),
        ("TALLY_RATE_LIMIT_PER_USER", "0"),
        ("TALLY_SOCKETS_PER_ADDRESS", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_lookup(move |name| vars.get(name).cloned()).expect("valid test configuration")
}

impl TestApp {
    /// Starts a server on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts a server on a fresh database with extra environment variables.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        let (database, url) = TestDatabase::create().await;
        let server = Server::start(&url, overrides).await;
        Self {
            address: server.address,
            client: reqwest::Client::new(),
            db: server.db,
            statements: server.statements,
            database,
            database_url: url,
            stop: Some(server.stop),
            server: Some(server.task),
        }
    }

    /// Stops the server and starts a new one on the same database with other settings, as an
    /// operator restarting with a changed configuration would.
    pub async fn restart_with(&mut self, overrides: &[(&str, &str)]) {
        self.stop().await.expect("the old server stops cleanly");
        let server = Server::start(&self.database_url, overrides).await;
        self.address = server.address;
        self.db = server.db;
        self.statements = server.statements;
        self.stop = Some(server.stop);
        self.server = Some(server.task);
    }

    pub fn is_postgres(&self) -> bool {
        self.database.is_postgres()
    }

    /// Starts another server on this test's database, as a second instance behind a load
    /// balancer would run; it stops when the returned handle is dropped.
    pub async fn another_instance(&self) -> Instance {
        let server = Server::start(&self.database_url, &[]).await;
        Instance {
            address: server.address,
            _stop: server.stop,
        }
    }

    /// The SQLite database file, when the test runs on SQLite.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.database {
            TestDatabase::Sqlite { dir } => Some(dir.join("tally.db")),
            TestDatabase::Postgres { .. } => None,
        }
    }

    /// POSTs a GraphQL document and returns the whole JSON response.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(None, query, variables).await
    }

    /// POSTs a GraphQL document with an optional bearer token.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_on(&self.address, token, query, variables).await
    }

    /// POSTs a GraphQL document to the server at `address` (this one or another instance).
    pub async fn gql_on(
        &self,
        address: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("{address}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send GraphQL request");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "GraphQL over HTTP answers 200"
        );
        response.json().await.expect("GraphQL response is JSON")
    }

    /// `SELECT COUNT(*)` of `table` rows matching the SQL condition `filter` (e.g. `"true"`), read
    /// straight from the database: how tests prove a refused request wrote nothing.
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {filter}");
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql,
            ))
            .await
            .expect("count rows")
            .expect("COUNT returns a row");
        row.try_get_by_index::<i64>(0).expect("COUNT is an integer")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("send GET request")
    }
}

impl TestApp {
    /// Sends the stop signal and waits for the server to finish, as SIGTERM would.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A WebSocket handshake request to `/graphql/ws` of the server at `address`, asking for the
/// `graphql-transport-ws` subprotocol.
pub fn socket_request(address: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};
    let url = format!("{}/graphql/ws", address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().expect("a WebSocket URL");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    request
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// A registered user and their session.
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A password that satisfies the policy.
pub const PASSWORD: &str = "Correct-Horse-9";

const REGISTER: &str = r#"mutation($input: RegisterInput!) {
    register(input: $input) { accessToken refreshToken user { id email name } }
}"#;

impl TestApp {
    /// Registers `name` with an email derived from it and the standard [`PASSWORD`].
    pub async fn register(&self, name: &str) -> TestUser {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let response = self
            .gql(
                REGISTER,
                json!({ "input": { "email": email, "name": name, "password": PASSWORD } }),
            )
            .await;
        let payload = &response["data"]["register"];
        assert!(payload.is_object(), "register failed: {response}");
        TestUser {
            id: payload["user"]["id"].as_str().unwrap().to_owned(),
            email,
            access_token: payload["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: payload["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Ends `user`'s login session (`logout` with their refresh token), asserting it worked.
    pub async fn logout(&self, user: &TestUser) {
        let logout = self
            .gql(
                "mutation($t: String!) { logout(refreshToken: $t) }",
                json!({ "t": user.refresh_token }),
            )
            .await;
        assert_eq!(logout["data"]["logout"], true, "{logout}");
    }

    /// Runs a document as `user`.
    pub async fn gql_user(&self, user: &TestUser, query: &str, variables: Value) -> Value {
        self.gql_as(Some(&user.access_token), query, variables)
            .await
    }
}
