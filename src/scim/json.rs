//! Case-insensitive access to the members of JSON objects. Attribute names and schema URNs are
//! case-insensitive (RFC 7643 §2.1): a client may write `USERNAME` or `Emails`. Resources are
//! kept under the canonical names that `schema.rs` spells; these functions find a member
//! however it is spelled and write it under the name they are given, so that a resource never
//! holds two spellings of one attribute.

use serde::Serialize;
use serde_json::{Map, Value};

/// The member `name`, in any spelling (this one first).
pub fn get<'m>(m: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The member `name`, in any spelling (this one first), to change in place.
pub fn get_mut<'m>(m: &'m mut Map<String, Value>, name: &str) -> Option<&'m mut Value> {
    let key = if m.contains_key(name) {
        name.to_owned()
    } else {
        m.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone()
    };
    m.get_mut(&key)
}

/// Removes every spelling of `name`; returns the value under this spelling if there is one,
/// else under another.
pub fn take(m: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let exact = m.remove(name);
    let others: Vec<String> = m
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    others
        .into_iter()
        .fold(exact, |found, k| found.or(m.remove(&k)))
}

/// Sets `name`, spelled so, in place of any spelling of it.
pub fn set(m: &mut Map<String, Value>, name: &str, value: Value) {
    take(m, name);
    m.insert(name.to_owned(), value);
}

/// The object reached through the members of `path` (each in any spelling); `m` itself for an
/// empty path.
pub fn object_at<'m>(m: &'m Map<String, Value>, path: &[&str]) -> Option<&'m Map<String, Value>> {
    path.iter().try_fold(m, |m, name| get(m, name)?.as_object())
}

/// The object reached through the members of `path`, each renamed to its spelling in `path`.
/// With `create`, objects are put where members are missing or are not objects; without, the
/// path must lead to an object.
pub fn object_at_mut<'m>(
    m: &'m mut Map<String, Value>,
    path: &[&str],
    create: bool,
) -> Option<&'m mut Map<String, Value>> {
    path.iter().try_fold(m, |m, &name| {
        let inner = match take(m, name) {
            Some(Value::Object(inner)) => inner,
            Some(other) if !create => {
                m.insert(name.to_owned(), other);
                return None;
            }
            None if !create => return None,
            _ => Map::new(),
        };
        m.entry(name)
            .or_insert(Value::Object(inner))
            .as_object_mut()
    })
}

/// The JSON object a struct serialises to.
pub fn to_object(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("a struct serialises to an object"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("an object")
    }

    #[test]
    fn finds_any_spelling_and_writes_the_given_one() {
        let mut m = object(json!({"USERNAME": "a", "userName": "b", "Title": "t"}));
        assert_eq!(get(&m, "userName"), Some(&json!("b")));
        assert_eq!(get(&m, "title"), Some(&json!("t")));
        *get_mut(&mut m, "TITLE").unwrap() = json!("u");
        assert_eq!(m["Title"], "u");
        assert_eq!(take(&mut m, "userName"), Some(json!("b")));
        assert!(get(&m, "username").is_none());
        set(&mut m, "title", json!("v"));
        assert_eq!(Value::Object(m), json!({"title": "v"}));
    }

    #[test]
    fn walks_paths_of_objects() {
        let urn = "urn:x:Ext";
        let mut m = object(json!({"URN:X:EXT": {"a": 1}, "s": "text"}));
        assert_eq!(object_at(&m, &[urn]).unwrap()["a"], 1);
        assert!(object_at(&m, &["s"]).is_none());
        assert_eq!(object_at(&m, &[]), Some(&m));
        object_at_mut(&mut m, &[urn], false)
            .unwrap()
            .insert("b".into(), json!(2));
        assert_eq!(m[urn], json!({"a": 1, "b": 2}));
        assert!(object_at_mut(&mut m, &["s"], false).is_none());
        assert!(object_at_mut(&mut m, &["t"], false).is_none());
        assert_eq!(m["s"], "text");
        object_at_mut(&mut m, &["t", "u"], true).unwrap();
        assert_eq!(Value::Object(m)["t"], json!({"u": {}}));
    }
}
