//! Secrets: made from the operating system's random generator, and compared in constant time.
//!
//! Every comparison of a secret with the one expected goes through [`eq`]: SCIM access tokens,
//! the admin credential, AWS secret keys and the signatures made with them, and the console
//! sessions and OIDC client secrets to come. Comparing with `==` would return at the first
//! differing byte and so tell a patient client how much of its guess was right.

use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether a presented secret is the expected one, in a time that depends on neither their
/// contents nor their lengths: both are hashed (SHA-256) and the digests compared with
/// `subtle`'s constant-time equality.
pub fn eq(presented: &[u8], expected: &[u8]) -> bool {
    let presented = Sha256::digest(presented);
    let expected = Sha256::digest(expected);
    presented.ct_eq(&expected).into()
}

/// A random string of `len` characters drawn uniformly from `alphabet`.
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_is_equal() {
        let expected = b"s3cr3t-of-some-length";
        assert!(eq(expected, expected));
        assert!(eq(b"", b""));
        // A wrong secret of the right length, and ones of other lengths.
        assert!(!eq(b"s3cr3t-of-some-lengtH", expected));
        assert!(!eq(b"s3cr3t-of-some-lengt", expected));
        assert!(!eq(b"s3cr3t-of-some-length-and-more", expected));
        assert!(!eq(b"", expected));
        assert!(!eq(expected, b""));
    }

    #[test]
    fn random_strings_use_their_alphabet_and_differ() {
        let a = random_string(40, b"AB");
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b == b'A' || b == b'B'));
        assert_ne!(
            random_string(32, b"0123456789abcdef"),
            random_string(32, b"0123456789abcdef")
        );
    }
}
