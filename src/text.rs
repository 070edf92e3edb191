//! The characters a string may hold where it enters the server, checked before it can reach a
//! database, so that both backends give the same answer to the same input.
//!
//! Two classes: the Identity Store model's (the `SensitiveStringType` pattern of
//! `botocore/data/identitystore/2020-06-15/service-2.json`, `[\p{L}\p{M}\p{S}\p{N}\p{P}\t\n\r
//! \u{a0}\u{3000}]+`), which every string of a user, a group, an id, a filter value or a
//! listing token must match; and, for the AWS JSON APIs whose models allow more, a class
//! without control characters (no model of theirs takes a NUL, which PostgreSQL cannot store in
//! text). `first_outside` finds the first string of a JSON document outside a class.

use serde_json::Value;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// The Identity Store model's pattern of its strings, as AWS writes it in its messages.
pub const IDENTITY_PATTERN: &str = "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r \u{a0}\u{3000}]+";

/// The characters a string may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Letters, marks, symbols, numbers, punctuation, tab, line feed, carriage return, space,
    /// no-break space and ideographic space: the strings of the Identity Store.
    Identity,
    /// Anything but the control characters other than tab, line feed and carriage return.
    NoControls,
}

impl Class {
    pub fn admits(self, c: char) -> bool {
        let layout = matches!(c, '\t' | '\n' | '\r');
        match self {
            Self::Identity => {
                layout
                    || matches!(c, ' ' | '\u{a0}' | '\u{3000}')
                    || matches!(
                        c.general_category_group(),
                        GeneralCategoryGroup::Letter
                            | GeneralCategoryGroup::Mark
                            | GeneralCategoryGroup::Symbol
                            | GeneralCategoryGroup::Number
                            | GeneralCategoryGroup::Punctuation
                    )
            }
            Self::NoControls => layout || !c.is_control(),
        }
    }

    /// Whether every character of `s` is in the class. ASCII, what nearly every request
    /// holds, is checked by byte: both classes admit its printable characters and the layout
    /// ones, and nothing else of it.
    pub fn admits_all(self, s: &str) -> bool {
        if s.is_ascii() {
            return s
                .bytes()
                .all(|b| matches!(b, b'\t' | b'\n' | b'\r' | b' '..=b'~'));
        }
        s.chars().all(|c| self.admits(c))
    }
}

/// Bytes in lowercase hexadecimal, two digits each, in one allocation.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// A random (version 4) UUID from the thread's generator (`rand::rng`, seeded from the
/// operating system), which the server's secrets also come from: `Uuid::new_v4` asks the
/// operating system for every id, a system call in every request.
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// How `first_outside` names where it found a string.
#[derive(Debug, Clone, Copy)]
pub struct PathStyle {
    /// Turns a member name into the name the message shows.
    pub member: fn(&str) -> String,
    /// The segment that stands for an item of an array, if any (AWS writes `member`).
    pub item: Option<&'static str>,
}

impl PathStyle {
    /// Member names as the request spells them, array items unnamed: `clientName`.
    pub const AS_SENT: Self = Self {
        member: str::to_owned,
        item: None,
    };
}

/// The path (member names joined by `.`) of the first string of `value`, a member name or a
/// value, that holds a character outside `class`; `None` when there is none. The path of a
/// string at the top is empty.
pub fn first_outside(value: &Value, class: Class, style: PathStyle) -> Option<String> {
    let mut path = walk(value, class, style)?;
    path.reverse();
    Some(path.join("."))
}

/// The path, innermost segment first, to the first string of `value` outside `class`. The
/// path is built only once such a string is found, so a document that passes costs no
/// allocation.
fn walk(value: &Value, class: Class, style: PathStyle) -> Option<Vec<String>> {
    match value {
        Value::String(s) => (!class.admits_all(s)).then(Vec::new),
        Value::Array(items) => {
            let mut path = items.iter().find_map(|v| walk(v, class, style))?;
            path.extend(style.item.map(str::to_owned));
            Some(path)
        }
        Value::Object(members) => members.iter().find_map(|(name, v)| {
            let mut path = if class.admits_all(name) {
                walk(v, class, style)?
            } else {
                Vec::new()
            };
            path.push((style.member)(name));
            Some(path)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const AS_IS: PathStyle = PathStyle::AS_SENT;

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| random_uuid()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids {
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }

    #[test]
    fn the_identity_class_is_the_models_pattern() {
        for s in [
            "Jane Doe",
            "José Ñúñez",
            "山田\u{3000}太郎",
            "a\u{a0}b",
            "R&D / \"Ops\" (EU) #1 ½ €",
            "line\nbreak\r\tand tab",
            "👩🏽 💻 ✓",
            "e\u{301}",
        ] {
            assert!(Class::Identity.admits_all(s), "{s:?}");
        }
        for s in [
            "nul\0",
            "bell\u{7}",
            "escape\u{1b}[0m",
            "delete\u{7f}",
            "c1\u{85}",
            "zero\u{200b}width",
            "joiner\u{200d}",
            "bidi\u{202e}",
            "line\u{2028}separator",
            "em\u{2003}space",
            "private\u{e000}",
            "unassigned\u{378}",
        ] {
            assert!(!Class::Identity.admits_all(s), "{s:?}");
        }
    }

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
    }

    #[test]
    fn ascii_is_judged_by_byte_as_by_character() {
        for class in [Class::Identity, Class::NoControls] {
            for b in 0u8..=127 {
                let c = char::from(b);
                let by_char = class.admits(c);
                assert_eq!(
                    class.admits_all(&format!("ok{c}")),
                    by_char,
                    "{class:?} {b:#x}"
                );
                // Past the fast path, through the per-character rule.
                assert_eq!(
                    class.admits_all(&format!("é{c}")),
                    by_char,
                    "{class:?} {b:#x}"
                );
            }
        }
    }

    #[test]
    fn the_no_controls_class_refuses_control_characters_only() {
        assert!(Class::NoControls.admits_all("tab\t, newline\n, return\r, em\u{2003}space"));
        assert!(Class::NoControls.admits_all("zero\u{200b}width"));
        for s in ["nul\0", "\u{1}", "\u{7f}", "\u{9f}"] {
            assert!(!Class::NoControls.admits_all(s), "{s:?}");
        }
    }

    #[test]
    fn the_first_string_outside_a_class_is_named_by_its_path() {
        let doc = json!({"name": {"givenName": "Jane", "familyName": "D\u{0}e"}, "active": true});
        assert_eq!(
            first_outside(&doc, Class::Identity, AS_IS).as_deref(),
            Some("name.familyName")
        );
        let listed = json!({"Filters": [{"AttributePath": "UserName", "AttributeValue": "\u{1}"}]});
        let aws = PathStyle {
            member: str::to_lowercase,
            item: Some("member"),
        };
        assert_eq!(
            first_outside(&listed, Class::Identity, aws).as_deref(),
            Some("filters.member.attributevalue")
        );
        let in_a_name = json!({"ok": 1, "bad\u{0}": 2});
        assert_eq!(
            first_outside(&in_a_name, Class::NoControls, AS_IS).as_deref(),
            Some("bad\u{0}")
        );
        assert_eq!(
            first_outside(&json!("\u{0}"), Class::Identity, AS_IS).as_deref(),
            Some("")
        );
        let clean = json!({"a": ["x", {"b": "y"}], "c": null, "d": 1.5});
        assert_eq!(first_outside(&clean, Class::Identity, AS_IS), None);
    }
}
