//! Configuration, read from the environment only.
//!
//! Every setting has a sane default for the embedded development mode, so `cargo run` works with
//! nothing configured. A variable that is set but malformed stops start-up with an error naming
//! the variable: a typo must never silently fall back to a default. Secrets live in
//! [`secrecy`] wrappers so they cannot reach a log through `Debug`.
//!
//! In `development`, missing secrets are generated once and kept in the data directory (with a
//! warning); in `production` a missing or weak secret is an error.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use ipnet::IpNet;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::{
    auth::pii::{DataKey, KeyId, PiiCipher},
    service::rate_limit::RateLimitConfig,
};

/// Minimum length of the JWT signing secret: HS256 needs at least its output size (RFC 7518 §3.2).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Whether the service runs for development (generated secrets, GraphiQL) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("{var} must be set when TALLY_ENV=production")]
    Missing { var: &'static str },
    #[error("cannot keep generated development secrets in {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The whole runtime configuration of one Tally instance.
#[derive(Debug)]
pub struct Config {
    pub environment: Environment,
    /// Address to serve on; port 0 asks the OS for a free one (tests do this).
    pub listen: SocketAddr,
    /// Where the embedded database and generated development secrets live.
    pub data_dir: PathBuf,
    /// SeaORM connection URL (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// HS256 signing key for access tokens, at least [`MIN_JWT_SECRET_BYTES`] long.
    pub jwt_secret: SecretBox<[u8]>,
    /// The PII keys: the current one (`TALLY_DATA_KEY`) and retired ones still read.
    pub data_keys: DataKeys,
    pub log_format: LogFormat,
    /// `TALLY_CORS_ORIGINS`: browser origins (comma-separated, e.g. `https://app.example`)
    /// allowed to call the API cross-origin. Empty: same-origin only.
    pub cors_origins: Vec<String>,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// How long activity log rows are kept (`TALLY_ACTIVITY_RETENTION_DAYS`, default 90).
    pub activity_retention: chrono::Duration,
    /// `TALLY_WS_INIT_TIMEOUT_SECS` (default 10): how long a new WebSocket may take to send
    /// `connection_init` before it is closed with 4408.
    pub ws_init_timeout: Duration,
    /// `TALLY_METRICS_LISTEN` (default: none, no metrics served): where `GET /metrics` answers,
    /// apart from the API so it is not public by accident.
    pub metrics_listen: Option<SocketAddr>,
    /// `TALLY_INTROSPECTION`: whether schema introspection, field suggestions ("did you mean")
    /// and GraphiQL are served. Default: yes in development, no in production.
    pub introspection: bool,
    /// `TALLY_REGISTRATIONS_PER_HOUR` (default 20): accounts one client address may register
    /// in an hour.
    pub registrations_per_hour: u32,
    /// The general request rate limit and socket cap (`0` turns one off):
    /// `TALLY_RATE_LIMIT_PER_ADDRESS` (default 1200 operations a minute per client address),
    /// `TALLY_RATE_LIMIT_PER_USER` (default 600 a minute per user) and
    /// `TALLY_SOCKETS_PER_ADDRESS` (default 50 open WebSockets per client address).
    pub rate_limits: RateLimitConfig,
    /// `TALLY_TRUSTED_PROXIES`: addresses or CIDR ranges of reverse proxies whose
    /// `Forwarded`/`X-Forwarded-For` headers name the real client. Empty: the peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// `TALLY_SESSION_MAX_DAYS` (default 30): a login session's absolute lifetime; refreshing
    /// never extends it past this.
    pub session_max_lifetime: chrono::Duration,
    /// Variables whose secrets were generated in the data directory (development only); the
    /// binary warns about them once logging is up.
    pub generated_secrets: Vec<&'static str>,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can supply variables without touching
    /// the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let environment = match var("TALLY_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "TALLY_ENV",
                    format!("expected `development` or `production`, got `{other}`"),
                ));
            }
        };
        let listen = parse_or("TALLY_LISTEN", var("TALLY_LISTEN"), "127.0.0.1:8000")?;
        let data_dir =
            PathBuf::from(var("TALLY_DATA_DIR").unwrap_or_else(|| "./tally-data".into()));
        let database_url = match var("DATABASE_URL") {
            Some(url)
                if crate::db::is_sqlite(&url)
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://") =>
            {
                url
            }
            Some(_) => {
                return Err(invalid(
                    "DATABASE_URL",
                    "expected a sqlite: or postgres:// URL".into(),
                ));
            }
            None => sqlite_url(&data_dir),
        };
        let cors_origins = parse_origins(var("TALLY_CORS_ORIGINS"))?;
        let log_format = match var("TALLY_LOG_FORMAT").as_deref() {
            // Log collectors read JSON; people at a terminal read the pretty form.
            None if environment == Environment::Production => LogFormat::Json,
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "TALLY_LOG_FORMAT",
                    format!("expected `pretty` or `json`, got `{other}`"),
                ));
            }
        };
        let shutdown_grace_secs: u64 = parse_or(
            "TALLY_SHUTDOWN_GRACE_SECS",
            var("TALLY_SHUTDOWN_GRACE_SECS"),
            "10",
        )?;
        let activity_retention_days: u16 = parse_or(
            "TALLY_ACTIVITY_RETENTION_DAYS",
            var("TALLY_ACTIVITY_RETENTION_DAYS"),
            "90",
        )?;
        if activity_retention_days == 0 {
            return Err(invalid(
                "TALLY_ACTIVITY_RETENTION_DAYS",
                "must be at least 1 day".into(),
            ));
        }
        let registrations_per_hour: u32 = parse_or(
            "TALLY_REGISTRATIONS_PER_HOUR",
            var("TALLY_REGISTRATIONS_PER_HOUR"),
            "20",
        )?;
        if registrations_per_hour == 0 {
            return Err(invalid(
                "TALLY_REGISTRATIONS_PER_HOUR",
                "must be at least 1".into(),
            ));
        }
        let rate_limits = RateLimitConfig {
            per_address_per_minute: parse_or(
                "TALLY_RATE_LIMIT_PER_ADDRESS",
                var("TALLY_RATE_LIMIT_PER_ADDRESS"),
                "1200",
            )?,
            per_user_per_minute: parse_or(
                "TALLY_RATE_LIMIT_PER_USER",
                var("TALLY_RATE_LIMIT_PER_USER"),
                "600",
            )?,
            sockets_per_address: parse_or(
                "TALLY_SOCKETS_PER_ADDRESS",
                var("TALLY_SOCKETS_PER_ADDRESS"),
                "50",
            )?,
        };
        let trusted_proxies = parse_proxies(var("TALLY_TRUSTED_PROXIES"))?;
        let ws_init_timeout_secs: u64 = parse_or(
            "TALLY_WS_INIT_TIMEOUT_SECS",
            var("TALLY_WS_INIT_TIMEOUT_SECS"),
            "10",
        )?;
        if ws_init_timeout_secs == 0 {
            return Err(invalid(
                "TALLY_WS_INIT_TIMEOUT_SECS",
                "must be at least 1 second".into(),
            ));
        }
        let metrics_listen = var("TALLY_METRICS_LISTEN")
            .map(|value| parse_or("TALLY_METRICS_LISTEN", Some(value), ""))
            .transpose()?;
        let introspection = match var("TALLY_INTROSPECTION").as_deref() {
            None => environment == Environment::Development,
            Some("1" | "true") => true,
            Some("0" | "false") => false,
            Some(other) => {
                return Err(invalid(
                    "TALLY_INTROSPECTION",
                    format!("expected 1 or 0, got `{other}`"),
                ));
            }
        };
        let session_max_days: u16 = parse_or(
            "TALLY_SESSION_MAX_DAYS",
            var("TALLY_SESSION_MAX_DAYS"),
            "30",
        )?;
        if session_max_days == 0 {
            return Err(invalid(
                "TALLY_SESSION_MAX_DAYS",
                "must be at least 1 day".into(),
            ));
        }

        let mut secrets = SecretSource {
            environment,
            data_dir: &data_dir,
            generated: Vec::new(),
        };
        let jwt_secret = secrets.jwt_secret(var("TALLY_JWT_SECRET"))?;
        let data_keys = DataKeys {
            current_id: parse_key_id("TALLY_DATA_KEY_ID", var("TALLY_DATA_KEY_ID"))?,
            current: secrets.data_key(var("TALLY_DATA_KEY"))?,
            previous: parse_previous_keys(var("TALLY_DATA_KEYS_PREVIOUS"))?,
            index_key_id: var("TALLY_DATA_INDEX_KEY_ID")
                .map(|value| parse_key_id("TALLY_DATA_INDEX_KEY_ID", Some(value)))
                .transpose()?,
        };

        let generated_secrets = secrets.generated;
        Ok(Self {
            environment,
            listen,
            data_dir,
            database_url,
            jwt_secret,
            data_keys,
            log_format,
            cors_origins,
            shutdown_grace: Duration::from_secs(shutdown_grace_secs),
            activity_retention: chrono::Duration::days(i64::from(activity_retention_days)),
            ws_init_timeout: Duration::from_secs(ws_init_timeout_secs),
            metrics_listen,
            introspection,
            registrations_per_hour,
            rate_limits,
            trusted_proxies,
            session_max_lifetime: chrono::Duration::days(i64::from(session_max_days)),
            generated_secrets,
        })
    }

    /// True when the database is the embedded SQLite file.
    pub fn is_sqlite(&self) -> bool {
        crate::db::is_sqlite(&self.database_url)
    }
}

/// The keys that protect personal data at rest, so they can rotate: new ciphertexts use the
/// current key; rows written under a retired key stay readable while it is listed; blind indexes
/// (email lookup, throttling) stay under one key across rotations, or every lookup would break.
#[derive(Debug)]
pub struct DataKeys {
    /// `TALLY_DATA_KEY_ID` (default 1): the id stored beside each new ciphertext.
    pub current_id: KeyId,
    pub current: DataKey,
    /// `TALLY_DATA_KEYS_PREVIOUS`: `id:hex` pairs, comma-separated, of retired keys.
    pub previous: Vec<(KeyId, DataKey)>,
    /// `TALLY_DATA_INDEX_KEY_ID`: the key that keys blind indexes; default the lowest id
    /// configured (the key the first rows were indexed with).
    pub index_key_id: Option<KeyId>,
}

impl DataKeys {
    /// The cipher for all configured keys.
    pub fn cipher(&self) -> Result<PiiCipher, ConfigError> {
        let keys = std::iter::once((self.current_id, &self.current))
            .chain(self.previous.iter().map(|(id, key)| (*id, key)));
        let lowest = keys
            .clone()
            .map(|(id, _)| id)
            .min()
            .unwrap_or(self.current_id);
        PiiCipher::with_keys(self.current_id, self.index_key_id.unwrap_or(lowest), keys)
            .map_err(|error| invalid("TALLY_DATA_KEYS_PREVIOUS", error.to_string()))
    }
}

fn parse_key_id(var: &'static str, value: Option<String>) -> Result<KeyId, ConfigError> {
    let id: KeyId = parse_or(var, value, "1")?;
    if id == 0 {
        return Err(invalid(var, "key ids start at 1".into()));
    }
    Ok(id)
}

fn parse_previous_keys(value: Option<String>) -> Result<Vec<(KeyId, DataKey)>, ConfigError> {
    const VAR: &str = "TALLY_DATA_KEYS_PREVIOUS";
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(|pair| {
            let (id, hex_key) = pair.trim().split_once(':').ok_or_else(|| {
                invalid(VAR, "expected id:hexkey pairs separated by commas".into())
            })?;
            let id = parse_key_id(VAR, Some(id.to_owned()))?;
            let key =
                DataKey::from_hex(hex_key).map_err(|error| invalid(VAR, error.to_string()))?;
            Ok((id, key))
        })
        .collect()
}

/// Origins are compared byte for byte by browsers, so each must be exactly `scheme://host[:port]`.
fn parse_origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    const VAR: &str = "TALLY_CORS_ORIGINS";
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| {
                    invalid(
                        VAR,
                        format!("`{origin}` must start with http:// or https://"),
                    )
                })?;
            if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '*']) {
                return Err(invalid(
                    VAR,
                    format!("`{origin}` must be scheme://host[:port], with no path or wildcard"),
                ));
            }
            Ok(origin.to_owned())
        })
        .collect()
}

fn invalid(var: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { var, reason }
}

/// `TALLY_TRUSTED_PROXIES`: comma-separated addresses (`10.0.0.7`, `::1`) or ranges
/// (`10.0.0.0/8`).
fn parse_proxies(value: Option<String>) -> Result<Vec<IpNet>, ConfigError> {
    const VAR: &str = "TALLY_TRUSTED_PROXIES";
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|proxy| !proxy.is_empty())
        .map(|proxy| {
            proxy
                .parse::<IpNet>()
                .or_else(|_| proxy.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| invalid(VAR, format!("`{proxy}` is not an IP address or CIDR range")))
        })
        .collect()
}

fn parse_or<T: FromStr>(
    var: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let raw = value.unwrap_or_else(|| default.to_owned());
    raw.trim()
        .parse()
        .map_err(|error| invalid(var, format!("cannot parse `{raw}`: {error}")))
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("tally.db").display())
}

/// Where secrets come from: the environment, or (development only) files in the data directory
/// that are generated on first start and reused afterwards, so restarts keep sessions and
/// encrypted data readable.
struct SecretSource<'a> {
    environment: Environment,
    data_dir: &'a Path,
    /// The variables that came from (or were written to) the data directory.
    generated: Vec<&'static str>,
}

impl SecretSource<'_> {
    fn jwt_secret(&mut self, value: Option<String>) -> Result<SecretBox<[u8]>, ConfigError> {
        const VAR: &str = "TALLY_JWT_SECRET";
        let secret = match value {
            Some(value) => value.into_bytes(),
            None => self.generated(VAR, "jwt-secret")?,
        };
        if secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(invalid(
                VAR,
                format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"),
            ));
        }
        Ok(SecretBox::new(secret.into_boxed_slice()))
    }

    fn data_key(&mut self, value: Option<String>) -> Result<DataKey, ConfigError> {
        const VAR: &str = "TALLY_DATA_KEY";
        let hex_key = match value {
            Some(value) => value,
            None => String::from_utf8(self.generated(VAR, "data-key")?)
                .map_err(|_| invalid(VAR, "generated key file is not text".into()))?,
        };
        DataKey::from_hex(&hex_key).map_err(|error| invalid(VAR, error.to_string()))
    }

    /// Reads `data_dir/secrets/<file>`, creating it with 32 random bytes (hex) when absent.
    fn generated(&mut self, var: &'static str, file: &str) -> Result<Vec<u8>, ConfigError> {
        if self.environment == Environment::Production {
            return Err(ConfigError::Missing { var });
        }
        let dir = self.data_dir.join("secrets");
        let path = dir.join(file);
        let io_error = |source| ConfigError::SecretFile {
            path: path.clone(),
            source,
        };
        self.generated.push(var);
        match std::fs::read(&path) {
            Ok(existing) => return Ok(existing.trim_ascii().to_vec()),
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(error));
            }
            Err(_) => {}
        }
        std::fs::create_dir_all(&dir).map_err(io_error)?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let encoded = hex::encode(bytes);
        write_private(&path, encoded.as_bytes()).map_err(io_error)?;
        Ok(encoded.into_bytes())
    }
}

/// Writes a file readable by its owner only (on Unix), so generated secrets are not world-readable.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents)
}

/// Exposes a secret's bytes to the code that must use them (signing, encryption), nowhere else.
pub fn expose(secret: &SecretBox<[u8]>) -> &[u8] {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |name| vars.get(name).cloned())
    }

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const JWT: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn production_refuses_missing_secrets_and_names_the_variable() {
        let error =
            config_with(&[("TALLY_ENV", "production"), ("TALLY_DATA_KEY", KEY)]).unwrap_err();
        assert!(error.to_string().contains("TALLY_JWT_SECRET"), "{error}");
    }

    #[test]
    fn a_short_jwt_secret_is_refused() {
        let error =
            config_with(&[("TALLY_JWT_SECRET", "short"), ("TALLY_DATA_KEY", KEY)]).unwrap_err();
        assert!(error.to_string().starts_with("TALLY_JWT_SECRET"), "{error}");
    }

    #[test]
    fn production_logs_json_unless_told_otherwise() {
        let base = [("TALLY_JWT_SECRET", JWT), ("TALLY_DATA_KEY", KEY)];
        let development = config_with(&base).unwrap();
        assert_eq!(development.log_format, LogFormat::Pretty);
        let production = config_with(&[base[0], base[1], ("TALLY_ENV", "production")]).unwrap();
        assert_eq!(production.log_format, LogFormat::Json);
        let told = config_with(&[
            base[0],
            base[1],
            ("TALLY_ENV", "production"),
            ("TALLY_LOG_FORMAT", "pretty"),
        ])
        .unwrap();
        assert_eq!(told.log_format, LogFormat::Pretty);
    }

    #[test]
    fn a_malformed_variable_is_named_not_defaulted() {
        for (var, value) in [
            ("TALLY_LISTEN", "localhost"),
            ("TALLY_ENV", "prod"),
            ("TALLY_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("TALLY_DATA_KEY", "abc"),
            ("TALLY_DATA_KEY_ID", "0"),
            ("TALLY_CORS_ORIGINS", "https://app.example/path"),
            ("TALLY_CORS_ORIGINS", "*"),
            ("TALLY_DATA_KEYS_PREVIOUS", "2-deadbeef"),
            ("TALLY_ACTIVITY_RETENTION_DAYS", "0"),
            ("TALLY_ACTIVITY_RETENTION_DAYS", "ninety"),
        ] {
            let error = config_with(&[
                ("TALLY_JWT_SECRET", JWT),
                ("TALLY_DATA_KEY", KEY),
                (var, value),
            ])
            .unwrap_err();
            assert!(error.to_string().starts_with(var), "{var}: {error}");
        }
    }

    #[test]
    fn development_generates_secrets_once_and_reuses_them() {
        let dir = std::env::temp_dir().join(format!("tally-config-{}", uuid::Uuid::new_v4()));
        let dir_str = dir.to_string_lossy().to_string();
        let first = config_with(&[("TALLY_DATA_DIR", &dir_str)]).unwrap();
        let second = config_with(&[("TALLY_DATA_DIR", &dir_str)]).unwrap();
        assert_eq!(
            first.jwt_secret.expose_secret(),
            second.jwt_secret.expose_secret()
        );
        let key = first.data_keys.current.to_hex();
        assert_eq!(
            key.expose_secret(),
            second.data_keys.current.to_hex().expose_secret()
        );
        assert!(first.database_url.starts_with("sqlite://"));
        assert!(!format!("{first:?}").contains(key.expose_secret()));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
