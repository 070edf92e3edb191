//! The secrets of sign-in: how they are made (random, in the forms AWS's look like), kept
//! (SHA-256, or argon2 for passwords) and checked (PKCE's S256, RFC 7636 §4.6).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::auth::TokenHash;

/// `prefix` and `bytes` random bytes, base64url-encoded.
pub fn random(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf))
}

/// The hex SHA-256 a secret is stored and looked up as.
pub fn hash(secret: &str) -> String {
    TokenHash::of(secret).to_hex()
}

/// Whether a secret is the one whose stored hash is `expected_hex`, compared in constant
/// time (`secret::eq`).
pub fn matches_hash(secret: &str, expected_hex: &str) -> bool {
    crate::secret::eq(hash(secret).as_bytes(), expected_hex.as_bytes())
}

/// The letters of user codes: consonants only, so that no code spells a word, none mistaken
/// for a digit.
const USER_CODE_LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// A user code as AWS shows them: `WDPK-XLZJ`.
pub fn user_code() -> String {
    let mut rng = rand::rng();
    let letters: String = (0..USER_CODE_LEN)
        .map(|_| USER_CODE_LETTERS[rng.random_range(0..USER_CODE_LETTERS.len())] as char)
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// A user code as a person may type it (any case, with or without the dash or spaces) in
/// the form it is shown in; `None` for what cannot be one.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (letters.len() == USER_CODE_LEN && letters.bytes().all(|b| USER_CODE_LETTERS.contains(&b)))
        .then(|| format!("{}-{}", &letters[..4], &letters[4..]))
}

/// Whether a PKCE verifier (43 to 128 unreserved characters) answers an S256 challenge.
/// Challenges are compared without base64 padding: the AWS CLI trims it.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let challenge = challenge.trim_end_matches('=');
    well_formed && crate::secret::eq(computed.as_bytes(), challenge.as_bytes())
}

/// An argon2id hash of a password, as a PHC string. Slow on purpose: call it off the async
/// threads (`tokio::task::spawn_blocking`).
pub fn hash_password(password: &str) -> String {
    use argon2::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 hashes any password with its default parameters")
        .to_string()
}

/// Whether a password is the one of a PHC string; a string that does not parse matches no
/// password. Slow on purpose, like `hash_password`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_read_as_typed() {
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(
            normalize_user_code(&code.to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(normalize_user_code(&code.replace('-', " ")), Some(code));
        assert_eq!(
            normalize_user_code("ABCD-EFGH"),
            None,
            "vowels are never in a code"
        );
        assert_eq!(normalize_user_code("BCDF-GHJ"), None);
    }

    #[test]
    fn pkce_checks_the_s256_challenge() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(pkce_matches(verifier, &format!("{challenge}=")));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches("short", challenge));
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horse ", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn secrets_match_their_hash() {
        let secret = random("aoa", 32);
        assert!(secret.starts_with("aoa") && secret.len() > 40);
        assert!(matches_hash(&secret, &hash(&secret)));
        assert!(!matches_hash(&secret, &hash("other")));
    }
}
