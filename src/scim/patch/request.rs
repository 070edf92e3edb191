//! A PatchOp request body (RFC 7644 §3.5.2) parsed into operations and checked for shape:
//! names in any case (`"Operations"`, `"OP"`), ops in any case (Entra ID's `"Replace"`), a path
//! that parses (`scim::filter`), a path for `remove` and a value for `add` and `replace`. Also
//! AWS's limit on the value filters of paths.

use serde_json::Value;

use super::{OpKind, PatchOp, path_required, value_required};
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{CompareOp, Filter, parse_path};
use crate::scim::json;
use crate::scim::schema::{PATCH_OP_URN, message};

/// Parses a PatchOp request body (RFC 7644 §3.5.2).
pub fn parse_request(body: Value) -> Result<Vec<PatchOp>> {
    let body = message(body, PATCH_OP_URN)?;
    let operations = match json::get(&body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => {
            return Err(ScimError::invalid_syntax(
                "Operations must be a non-empty array of operations.",
            ));
        }
    };
    operations.iter().map(parse_op).collect()
}

fn parse_op(op: &Value) -> Result<PatchOp> {
    let Value::Object(op) = op else {
        return Err(ScimError::invalid("Each operation must be an object."));
    };
    let kind = match json::get(op, "op") {
        None | Some(Value::Null) => {
            return Err(ScimError::invalid(
                "The op attribute of an operation is required.",
            ));
        }
        Some(other) => other.as_str().and_then(OpKind::named).ok_or_else(|| {
            ScimError::invalid(format!(
                "Operation {other} is not supported: op must be add, replace or remove."
            ))
        })?,
    };
    let path = match json::get(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(
            parse_path(p)
                .map_err(|e| ScimError::invalid_path(format!("Invalid path \"{p}\": {e}")))?,
        ),
        Some(_) => {
            return Err(ScimError::invalid(
                "The path of an operation must be a string.",
            ));
        }
    };
    let value = json::get(op, "value").filter(|v| !v.is_null()).cloned();
    match kind {
        OpKind::Remove if path.is_none() => return Err(path_required()),
        OpKind::Add | OpKind::Replace if value.is_none() => return Err(value_required(kind)),
        _ => {}
    }
    Ok(PatchOp {
        op: kind,
        path,
        value,
    })
}

/// AWS accepts only `eq` comparisons, possibly joined by `and`, in the value filters of PATCH
/// paths: any other operator is a 400.
pub fn check_only_eq(ops: &[PatchOp]) -> Result<()> {
    fn only_eq(f: &Filter) -> bool {
        match f {
            Filter::Compare(_, CompareOp::Eq, _) => true,
            Filter::And(a, b) => only_eq(a) && only_eq(b),
            _ => false,
        }
    }
    let filters = ops
        .iter()
        .filter_map(|op| op.path.as_ref()?.filter.as_ref());
    for f in filters {
        if !only_eq(f) {
            return Err(ScimError::unsupported_filter(
                "Only the eq operator, joined by and, is supported in filters.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::request;
    use super::*;

    #[test]
    fn parses_any_case_of_keys_and_ops() {
        let ops = parse_request(json!({
            "schemas": [PATCH_OP_URN.to_uppercase()],
            "operations": [
                {"op": "ADD", "path": "title", "value": "x"},
                {"OP": "Replace", "Value": {"title": "y"}},
                {"op": "remove", "path": "title", "value": null}
            ]
        }))
        .unwrap();
        let kinds: Vec<OpKind> = ops.iter().map(|o| o.op).collect();
        assert_eq!(kinds, [OpKind::Add, OpKind::Replace, OpKind::Remove]);
        assert_eq!(ops[0].path, Some(parse_path("title").unwrap()));
        assert_eq!(ops[1].value, Some(json!({"title": "y"})));
        assert_eq!(ops[2].value, None);
    }

    #[test]
    fn check_only_eq_accepts_eq_and_rejects_other_operators() {
        let check = |path: &str| {
            let ops = parse_request(request(json!([{"op": "remove", "path": path}]))).unwrap();
            check_only_eq(&ops)
        };
        for ok in [
            "title",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\" and primary eq true].value",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "emails[value co \"x\"]",
            "emails[type ne \"work\"]",
            "emails[type pr]",
            "emails[type eq \"a\" or type eq \"b\"]",
            "emails[not (type eq \"a\")]",
            "emails[type eq \"a\" and value sw \"b\"]",
        ] {
            match check(bad) {
                Err(ScimError::Validation { detail: d, .. }) => {
                    assert!(d.contains("eq"), "{bad}: {d}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
