//! Who is calling: users with a JWT, trusted backends with the service credential.
//!
//! Tokens are verified with one pinned algorithm (HS256 with a strong secret for development, RS256 or
//! ES256 public keys for production); `exp`, `iss` and `aud` are required and checked with a small leeway.
//! A token's `alg` header never chooses the algorithm, so `alg: none` and HS/RS confusion fail.

use std::fmt;

use chrono::{Duration as ChronoDuration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use scoreboard_domain::UserId;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Shortest HS256 secret accepted: 256 bits.
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// Why a credential was refused, or a verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token subject is not a valid user id")]
    BadSubject,
    #[error("invalid key configuration: {0}")]
    Config(String),
}

/// The algorithms a deployment may pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    Rs256,
    Es256,
}

impl JwtAlgorithm {
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        match raw {
            "HS256" => Ok(Self::Hs256),
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            other => Err(AuthError::Config(format!(
                "unsupported JWT algorithm {other:?} (use HS256, RS256 or ES256)"
            ))),
        }
    }

    fn as_jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// The verification key: a shared secret (HS256) or a PEM public key (RS256, ES256).
pub enum VerificationKey {
    Secret(SecretString),
    PublicKeyPem(String),
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([redacted])"),
            Self::PublicKeyPem(_) => f.write_str("PublicKeyPem(..)"),
        }
    }
}

/// Everything needed to verify user tokens.
#[derive(Debug)]
pub struct JwtSettings {
    pub algorithm: JwtAlgorithm,
    pub key: VerificationKey,
    pub issuer: String,
    pub audience: String,
    pub leeway_secs: u64,
}

/// The claims Scoreboard reads from a user token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// Verifies user tokens against one pinned algorithm and key.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn new(settings: &JwtSettings) -> Result<Self, AuthError> {
        let key = match (&settings.algorithm, &settings.key) {
            (JwtAlgorithm::Hs256, VerificationKey::Secret(secret)) => {
                check_secret_strength(secret)?;
                DecodingKey::from_secret(secret.expose_secret().as_bytes())
            }
            (JwtAlgorithm::Rs256, VerificationKey::PublicKeyPem(pem)) => {
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| AuthError::Config(e.to_string()))?
            }
            (JwtAlgorithm::Es256, VerificationKey::PublicKeyPem(pem)) => {
                DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| AuthError::Config(e.to_string()))?
            }
            (algorithm, _) => {
                return Err(AuthError::Config(format!(
                    "{algorithm:?} needs {}",
                    match algorithm {
                        JwtAlgorithm::Hs256 => "a shared secret",
                        _ => "a PEM public key",
                    }
                )))
            }
        };
        let mut validation = Validation::new(settings.algorithm.as_jwt());
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = settings.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        Ok(Self { key, validation })
    }

    /// The user a token speaks for, if it is valid now.
    pub fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        UserId::parse(&data.claims.sub).map_err(|_| AuthError::BadSubject)
    }
}

fn check_secret_strength(secret: &SecretString) -> Result<(), AuthError> {
    if secret.expose_secret().len() < MIN_HS256_SECRET_LEN {
        return Err(AuthError::Config(format!(
            "HS256 secret must be at least {MIN_HS256_SECRET_LEN} bytes"
        )));
    }
    Ok(())
}

/// Mints HS256 user tokens for development sign-in. Only built when a deployment turns it on.
pub struct DevTokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
    ttl: ChronoDuration,
}

impl fmt::Debug for DevTokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevTokenIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A freshly minted token and when it stops working.
#[derive(Debug, Clone, Serialize)]
pub struct MintedToken {
    pub token: String,
    pub expires_at: chrono::DateTime<Utc>,
}

impl DevTokenIssuer {
    /// Needs the HS256 settings: development tokens are signed with the shared secret.
    pub fn new(settings: &JwtSettings, ttl: std::time::Duration) -> Result<Self, AuthError> {
        let VerificationKey::Secret(secret) = &settings.key else {
            return Err(AuthError::Config(
                "development tokens need JWT_ALGORITHM=HS256 and JWT_SECRET".into(),
            ));
        };
        check_secret_strength(secret)?;
        Ok(Self {
            key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl: ChronoDuration::from_std(ttl).map_err(|e| AuthError::Config(e.to_string()))?,
        })
    }

    pub fn mint(&self, user: &UserId) -> Result<MintedToken, AuthError> {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user.as_str().to_owned(),
            exp: expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: Some(now.timestamp()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        Ok(MintedToken { token, expires_at })
    }
}

/// The credential trusted backends present to report completions. Only its SHA-256 digest is kept, and
/// comparison is constant-time; a user JWT can never equal it.
#[derive(Clone)]
pub struct ServiceCredential {
    digest: [u8; 32],
}

impl fmt::Debug for ServiceCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceCredential([redacted])")
    }
}

impl ServiceCredential {
    /// Shortest credential accepted.
    pub const MIN_LEN: usize = 32;

    pub fn new(secret: &SecretString) -> Result<Self, AuthError> {
        if secret.expose_secret().len() < Self::MIN_LEN {
            return Err(AuthError::Config(format!(
                "service credential must be at least {} bytes",
                Self::MIN_LEN
            )));
        }
        Ok(Self {
            digest: Sha256::digest(secret.expose_secret().as_bytes()).into(),
        })
    }

    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        presented.ct_eq(&self.digest).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs_settings(secret: &str) -> JwtSettings {
        JwtSettings {
            algorithm: JwtAlgorithm::Hs256,
            key: VerificationKey::Secret(SecretString::from(secret.to_owned())),
            issuer: "scoreboard".into(),
            audience: "scoreboard-api".into(),
            leeway_secs: 5,
        }
    }

    #[test]
    fn minted_dev_token_verifies() {
        let settings = hs_settings(&"s".repeat(40));
        let issuer = DevTokenIssuer::new(&settings, std::time::Duration::from_secs(60)).expect("issuer");
        let verifier = JwtVerifier::new(&settings).expect("verifier");
        let alice = UserId::parse("alice").expect("valid id");
        let token = issuer.mint(&alice).expect("mint");
        assert_eq!(verifier.verify(&token.token).expect("valid token"), alice);
    }

    #[test]
    fn weak_secret_is_refused() {
        assert!(matches!(
            JwtVerifier::new(&hs_settings("short")),
            Err(AuthError::Config(_))
        ));
    }

    #[test]
    fn service_credential_compares_exactly() {
        let credential = ServiceCredential::new(&SecretString::from("c".repeat(40))).expect("credential");
        assert!(credential.matches(&"c".repeat(40)));
        assert!(!credential.matches(&"c".repeat(39)));
        assert!(!format!("{credential:?}").contains('c'.to_string().repeat(40).as_str()));
    }
}
