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

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    /// A throwaway key (`openssl genpkey -algorithm RSA`) and its fingerprint as OpenSSL
    /// computes it: `openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary | base64`.
    const KEY: &str = include_str!("../../../tests/snowflake/test_key.p8");
    const OPENSSL_FINGERPRINT: &str = "SHA256:REc3z8yhHgxor3T6LsEm/S9FqBZ654YOjRrip05q+2I=";

    fn part(jwt: &str, i: usize) -> serde_json::Value {
        let text = URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&text).unwrap()
    }

    #[test]
    fn the_token_has_snowflakes_claims_and_verifies_with_the_public_key() {
        let jwt = key_pair_jwt("xy12345.us-east-1", "loader", KEY, 1_700_000_000).unwrap();
        assert_eq!(
            part(&jwt, 0),
            serde_json::json!({"alg": "RS256", "typ": "JWT"})
        );
        let claims = part(&jwt, 1);
        assert_eq!(
            claims["iss"],
            format!("XY12345.LOADER.{OPENSSL_FINGERPRINT}").as_str()
        );
        assert_eq!(claims["sub"], "XY12345.LOADER");
        assert_eq!(claims["iat"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_003_600u64);
        let key = RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
        let verifier = VerifyingKey::<Sha256>::new(key.to_public_key());
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let signature =
            Signature::try_from(URL_SAFE_NO_PAD.decode(signature).unwrap().as_slice()).unwrap();
        assert!(verifier.verify(signed.as_bytes(), &signature).is_ok());
        // The signature covers the claims: another subject doesn't verify.
        let other = signed.replace(
            signed.split('.').nth(1).unwrap(),
            &URL_SAFE_NO_PAD.encode(br#"{"sub":"XY12345.ADMIN"}"#),
        );
        assert!(verifier.verify(other.as_bytes(), &signature).is_err());
    }

    #[test]
    fn a_key_that_is_not_an_rsa_pem_is_invalid_input() {
        let err = key_pair_jwt("acct", "u", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 0).unwrap_err();
        assert!(matches!(err, PersistError::InvalidInput { .. }), "{err}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("private key"), "{err}");
    }
}
