//! Action kinds (what a user can do to earn points) and the demo kind's challenge.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// How a completion of a kind is proven to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionMode {
    /// The user answers a server-issued challenge; only the server knows the answer.
    Challenge,
    /// Only a trusted backend, with the service credential, may report a completion.
    Reported,
}

/// One kind of action X, with the rules its completions are held to. The amount is the server's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionKind {
    pub name: String,
    pub completion: CompletionMode,
    /// Points one completion is worth; never taken from a client.
    pub amount: i64,
    /// A completion sooner than this after the start is refused as implausible.
    #[serde(with = "millis")]
    pub min_duration: Duration,
    /// A completion later than this after the start is refused.
    #[serde(with = "millis")]
    pub time_limit: Duration,
    /// How long a minted key stays redeemable.
    #[serde(with = "millis")]
    pub key_ttl: Duration,
    /// Wrong answers allowed before the action fails for good.
    pub max_attempts: i32,
}

impl ActionKind {
    /// The built-in demo kind: a small sum a person solves in a few seconds.
    pub fn demo() -> Self {
        Self {
            name: "demo".to_owned(),
            completion: CompletionMode::Challenge,
            amount: 10,
            min_duration: Duration::from_millis(1_000),
            time_limit: Duration::from_secs(120),
            key_ttl: Duration::from_secs(24 * 3600),
            max_attempts: 3,
        }
    }

    /// A kind reported by a trusted game backend (for example a won match).
    pub fn reported(name: &str, amount: i64) -> Self {
        Self {
            name: name.to_owned(),
            completion: CompletionMode::Reported,
            amount,
            min_duration: Duration::ZERO,
            time_limit: Duration::ZERO,
            key_ttl: Duration::from_secs(24 * 3600),
            max_attempts: 0,
        }
    }
}

/// Why a kind catalog was refused at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindCatalogError {
    #[error("action kinds are not valid JSON: {0}")]
    Json(String),
    #[error("action kind {0:?}: {1}")]
    Invalid(String, &'static str),
    #[error("action kind {0:?} is defined twice")]
    Duplicate(String),
}

/// The configured action kinds, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCatalog(BTreeMap<String, ActionKind>);

impl KindCatalog {
    pub fn new(kinds: Vec<ActionKind>) -> Result<Self, KindCatalogError> {
        let mut by_name = BTreeMap::new();
        for kind in kinds {
            let invalid = |why| Err(KindCatalogError::Invalid(kind.name.clone(), why));
            if kind.name.is_empty()
                || kind.name.len() > 32
                || !kind.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                return invalid("name must be 1 to 32 characters of a-z and _");
            }
            if !(1..=1_000_000).contains(&kind.amount) {
                return invalid("amount must be between 1 and 1000000");
            }
            if kind.key_ttl.is_zero() {
                return invalid("key_ttl must be positive");
            }
            if kind.completion == CompletionMode::Challenge {
                if kind.time_limit <= kind.min_duration {
                    return invalid("time_limit must exceed min_duration");
                }
                if kind.max_attempts < 1 {
                    return invalid("max_attempts must be at least 1");
                }
            }
            if by_name.contains_key(&kind.name) {
                return Err(KindCatalogError::Duplicate(kind.name));
            }
            by_name.insert(kind.name.clone(), kind);
        }
        Ok(Self(by_name))
    }

    /// Parses a JSON array of kinds, as given in `ACTION_KINDS`.
    pub fn from_json(raw: &str) -> Result<Self, KindCatalogError> {
        let kinds: Vec<ActionKind> = serde_json::from_str(raw).map_err(|e| KindCatalogError::Json(e.to_string()))?;
        Self::new(kinds)
    }

    /// The default catalog: the demo kind and a reported `match_won` kind.
    pub fn default_kinds() -> Self {
        Self(BTreeMap::from([
            ("demo".to_owned(), ActionKind::demo()),
            ("match_won".to_owned(), ActionKind::reported("match_won", 25)),
        ]))
    }

    pub fn get(&self, name: &str) -> Option<&ActionKind> {
        self.0.get(name)
    }
}

/// A challenge for the demo kind: the prompt goes to the client, the answer stays on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub prompt: String,
    pub answer: String,
}

impl Challenge {
    /// A sum of two two-digit numbers.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let (a, b): (u32, u32) = (rng.random_range(10..100), rng.random_range(10..100));
        Self {
            prompt: format!("What is {a} + {b}?"),
            answer: (a + b).to_string(),
        }
    }

    /// Whether a submitted answer matches the stored one (surrounding spaces ignored).
    pub fn accepts(expected_answer: &str, submitted: &str) -> bool {
        submitted.trim() == expected_answer
    }
}

/// Where an action is in its life. Stored as text; the database checks the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Started,
    Completed,
    Failed,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "started" => Some(Self::Started),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Durations in configuration are whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_answer_is_the_sum() {
        let challenge = Challenge::generate();
        let numbers: Vec<u32> = challenge
            .prompt
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(numbers.len(), 2);
        assert_eq!(challenge.answer, (numbers[0] + numbers[1]).to_string());
        assert!(Challenge::accepts(
            &challenge.answer,
            &format!(" {} ", challenge.answer)
        ));
        assert!(!Challenge::accepts(&challenge.answer, "-1"));
    }

    #[test]
    fn catalog_parses_and_validates() {
        let json = r#"[{"name":"quiz","completion":"challenge","amount":5,"min_duration":0,
                        "time_limit":1000,"key_ttl":60000,"max_attempts":2}]"#;
        let catalog = KindCatalog::from_json(json).expect("valid catalog");
        assert_eq!(catalog.get("quiz").map(|k| k.amount), Some(5));
        let bad = json.replace("\"amount\":5", "\"amount\":0");
        assert!(matches!(
            KindCatalog::from_json(&bad),
            Err(KindCatalogError::Invalid(..))
        ));
        assert!(matches!(KindCatalog::from_json("{"), Err(KindCatalogError::Json(_))));
    }
}
