//! Typed configuration from environment variables, and tracing set-up.
//!
//! Each service reads its settings once at start-up through [`Env`], fails fast with the variable's name
//! when one is missing or malformed, and keeps secrets in `secrecy` types so they never reach a log.
//! The variables are listed in the README's configuration table.

use std::collections::HashMap;
use std::str::FromStr;

use scoreboard_auth::{JwtAlgorithm, JwtSettings, VerificationKey};
use secrecy::SecretString;

/// A variable that is missing or cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where settings come from: the process environment, or a map in tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    overrides: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self { overrides: None }
    }

    /// Only the given variables (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            overrides: Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        match &self.overrides {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|value| !value.is_empty())
    }

    pub fn string(&self, name: &'static str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.get(name)
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    pub fn secret(&self, name: &'static str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }

    pub fn parse<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
        }
    }

    pub fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => Err(ConfigError::Invalid {
                name,
                reason: format!("{other:?} is not a boolean"),
            }),
        }
    }

    /// `JWT_ALGORITHM`, `JWT_SECRET` or `JWT_PUBLIC_KEY_FILE`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY_SECS`.
    pub fn jwt(&self) -> Result<JwtSettings, ConfigError> {
        let algorithm =
            JwtAlgorithm::parse(&self.string("JWT_ALGORITHM", "HS256")).map_err(|e| ConfigError::Invalid {
                name: "JWT_ALGORITHM",
                reason: e.to_string(),
            })?;
        let key = match algorithm {
            JwtAlgorithm::Hs256 => {
                VerificationKey::Secret(self.secret("JWT_SECRET").ok_or(ConfigError::Missing("JWT_SECRET"))?)
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                let path = self.required("JWT_PUBLIC_KEY_FILE")?;
                let pem = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                    name: "JWT_PUBLIC_KEY_FILE",
                    reason: format!("{path}: {e}"),
                })?;
                VerificationKey::PublicKeyPem(pem)
            }
        };
        Ok(JwtSettings {
            algorithm,
            key,
            issuer: self.string("JWT_ISSUER", "scoreboard"),
            audience: self.string("JWT_AUDIENCE", "scoreboard-api"),
            leeway_secs: self.parse("JWT_LEEWAY_SECS", 5)?,
        })
    }
}

/// Log output format, from `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global tracing subscriber: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for
/// machine-readable lines.
pub fn init_tracing(env: &Env) -> Result<(), ConfigError> {
    let format = match env.string("LOG_FORMAT", "text").as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(ConfigError::Invalid {
                name: "LOG_FORMAT",
                reason: format!("{other:?} (use text or json)"),
            })
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    // A second call (tests starting several apps) keeps the first subscriber.
    let _already_set = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_the_variable_name() {
        let env = Env::from_pairs([("N", "12"), ("BAD", "x"), ("F", "true")]);
        assert_eq!(env.parse("N", 1u32).expect("number"), 12);
        assert_eq!(env.parse("ABSENT", 7u32).expect("default"), 7);
        let err = env.parse("BAD", 1u32).expect_err("not a number");
        assert!(err.to_string().starts_with("BAD is invalid"));
        assert!(env.flag("F").expect("flag"));
    }

    #[test]
    fn jwt_secret_is_required_for_hs256() {
        let err = Env::from_pairs([]).jwt().expect_err("no secret");
        assert!(matches!(err, ConfigError::Missing("JWT_SECRET")));
    }
}
