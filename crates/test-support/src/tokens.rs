//! User tokens for tests: valid ones, and each way a token can be wrong.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scoreboard_auth::{JwtAlgorithm, JwtSettings, VerificationKey};
use secrecy::SecretString;
use serde_json::{json, Value};

pub const SECRET: &str = "test-only-secret-at-least-thirty-two-bytes-long";
pub const ISSUER: &str = "scoreboard-test";
pub const AUDIENCE: &str = "scoreboard-api";

pub const RSA_PRIVATE_PEM: &str = include_str!("../fixtures/rsa-private.pem");
pub const RSA_PUBLIC_PEM: &str = include_str!("../fixtures/rsa-public.pem");
pub const EC_PRIVATE_PEM: &str = include_str!("../fixtures/ec-private.pem");
pub const EC_PUBLIC_PEM: &str = include_str!("../fixtures/ec-public.pem");

/// HS256 settings matching [`token`].
pub fn hs256_settings() -> JwtSettings {
    JwtSettings {
        algorithm: JwtAlgorithm::Hs256,
        key: VerificationKey::Secret(SecretString::from(SECRET.to_owned())),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        leeway_secs: 5,
    }
}

/// RS256 settings with the fixture public key.
pub fn rs256_settings() -> JwtSettings {
    JwtSettings {
        algorithm: JwtAlgorithm::Rs256,
        key: VerificationKey::PublicKeyPem(RSA_PUBLIC_PEM.into()),
        ..hs256_settings()
    }
}

/// ES256 settings with the fixture public key.
pub fn es256_settings() -> JwtSettings {
    JwtSettings {
        algorithm: JwtAlgorithm::Es256,
        key: VerificationKey::PublicKeyPem(EC_PUBLIC_PEM.into()),
        ..hs256_settings()
    }
}

/// Claims valid for `user` for the next hour.
pub fn claims(user: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": user, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600 })
}

/// Signs any claims with HS256 and `secret`.
pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("sign HS256")
}

/// A valid HS256 token for `user`.
pub fn token(user: &str) -> String {
    hs256(&claims(user), SECRET.as_bytes())
}

/// A valid RS256 token for `user`, signed with the fixture private key.
pub fn rs256(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).expect("fixture RSA key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("sign RS256")
}

/// A valid ES256 token, signed with the fixture private key.
pub fn es256(claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(EC_PRIVATE_PEM.as_bytes()).expect("fixture EC key");
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), claims, &key).expect("sign ES256")
}

/// An unsigned token with `"alg": "none"`.
pub fn alg_none(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}
