//! Key-pair authentication: the JWT Snowflake accepts in place of a password. Its issuer is
//! `ACCOUNT.USER.SHA256:<base64 of the SHA-256 of the public key's DER>`, its subject
//! `ACCOUNT.USER`, signed RS256, valid for an hour.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::sha2::{Digest, Sha256};
use rsa::signature::{SignatureEncoding, Signer};

use super::NAME;
use soa_persist_api::PersistError;

/// How long a token is valid (Snowflake accepts at most an hour).
const LIFETIME_SECS: u64 = 3600;

/// A signed JWT for `user` of `account`, issued at `now` (seconds since the epoch).
pub fn key_pair_jwt(
    account: &str,
    user: &str,
    private_key_pem: &str,
    now: u64,
) -> Result<String, PersistError> {
    let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(private_key_pem))
        .map_err(|e| {
            PersistError::invalid_input(
                NAME,
                format!("the private key is not an unencrypted RSA key in PEM: {e}"),
            )
        })?;
    let fingerprint = public_key_fingerprint(&key)?;
    let subject = format!("{}.{}", account_for_jwt(account), user.to_uppercase());
    let claims = serde_json::json!({
        "iss": format!("{subject}.{fingerprint}"),
        "sub": subject,
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{body}");
    let signature = SigningKey::<Sha256>::new(key).sign(signed.as_bytes());
    Ok(format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// `SHA256:<base64>` of the public key's DER (SubjectPublicKeyInfo), as Snowflake shows it in
/// `DESC USER` (`RSA_PUBLIC_KEY_FP`).
pub(crate) fn public_key_fingerprint(key: &RsaPrivateKey) -> Result<String, PersistError> {
    let der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| PersistError::invalid_input(NAME, format!("public key: {e}")))?;
    Ok(format!(
        "SHA256:{}",
        STANDARD.encode(Sha256::digest(der.as_bytes()))
    ))
}

/// The account part of the claims: upper case, without a region or cloud suffix
/// (`xy12345.us-east-1` -> `XY12345`).
fn account_for_jwt(account: &str) -> String {
    account.split('.').next().unwrap_or(account).to_uppercase()
}
