//! Identifier newtypes: each validates once, at the edge, so the rest of the code can trust it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a string was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    #[error("user id must be 1 to {max} characters of letters, digits and . _ - @ : |", max = UserId::MAX_LEN)]
    UserId,
    #[error("score key must be {len} characters of base64url", len = ScoreKey::ENCODED_LEN)]
    ScoreKey,
}

/// The user a token speaks for (the JWT `sub`), as the identity provider names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | ':' | '|');
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.chars().all(valid_char) {
            return Err(InvalidId::UserId);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One started action X.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub Uuid);

impl ActionId {
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A one-time score key: 256 random bits, base64url without padding.
///
/// The key is bound to its owner in the database, so knowing it is not enough to spend it; the randomness
/// only makes keys unguessable and unique.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ScoreKey(String);

impl ScoreKey {
    const RANDOM_BYTES: usize = 32;
    pub const ENCODED_LEN: usize = 43;

    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::RANDOM_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if raw.len() != Self::ENCODED_LEN || !raw.chars().all(valid_char) {
            return Err(InvalidId::ScoreKey);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keys are shown abbreviated in logs and debug output; the whole key stays between owner and server.
impl fmt::Debug for ScoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScoreKey({}…)", &self.0[..6.min(self.0.len())])
    }
}

impl<'de> Deserialize<'de> for ScoreKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Where a score key is in its life. Stored as text; the database checks the same three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Pending,
    Redeemed,
    Expired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Redeemed => "redeemed",
            Self::Expired => "expired",
        }
    }

    pub fn from_db(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "redeemed" => Some(Self::Redeemed),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_differ() {
        let a = ScoreKey::generate();
        let b = ScoreKey::generate();
        assert_eq!(a.as_str().len(), ScoreKey::ENCODED_LEN);
        assert_eq!(ScoreKey::parse(a.as_str()), Ok(a.clone()));
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_keys_are_refused() {
        for raw in ["", "short", &"a".repeat(44), &format!("{}!", "a".repeat(42))] {
            assert_eq!(ScoreKey::parse(raw), Err(InvalidId::ScoreKey), "{raw:?}");
        }
    }

    #[test]
    fn key_debug_does_not_reveal_the_key() {
        let key = ScoreKey::generate();
        assert!(!format!("{key:?}").contains(key.as_str()));
    }

    #[test]
    fn user_ids_are_validated() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse("auth0|123").is_ok());
        assert!(UserId::parse("alice<script>").is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"x".repeat(65)).is_err());
        assert!(UserId::parse("a b").is_err());
    }
}
