//! Versions as entity tags (RFC 7644 §3.14, RFC 9110 §8.8.3) for the `rfc` profile: the weak
//! tag `W/"<version>"` of `meta.version` and the `ETag` header, and the weak comparison of
//! `If-Match` and `If-None-Match` lists.

/// The entity tag of a stored version.
pub fn of(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether a precondition header (`*` or a comma-separated list of tags, weak or strong)
/// names this version.
pub fn matches(header: &str, version: i64) -> bool {
    let wanted = version.to_string();
    header.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag
                .strip_prefix("W/")
                .unwrap_or(tag)
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                == Some(wanted.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_weakly() {
        assert_eq!(of(3), "W/\"3\"");
        assert!(matches("W/\"3\"", 3));
        assert!(matches("\"3\"", 3));
        assert!(matches("W/\"1\", W/\"3\"", 3));
        assert!(matches("*", 3));
        assert!(!matches("W/\"2\"", 3));
        assert!(!matches("3", 3));
        assert!(!matches("", 3));
    }
}
