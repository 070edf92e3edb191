//! The filter's tests: one per operator and construct of the grammar, the error messages, the
//! limits, the printer, and properties (what is printed parses back to the same tree; no input
//! makes the parser panic).

use proptest::prelude::*;

use super::parser::parse_filter_unlimited;
use super::*;
use crate::text::Class;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn path(attr: &str) -> AttrPath {
    AttrPath {
        urn: None,
        attr: attr.into(),
        sub_attr: None,
    }
}

fn sub(attr: &str, sub_attr: &str) -> AttrPath {
    AttrPath {
        urn: None,
        attr: attr.into(),
        sub_attr: Some(sub_attr.into()),
    }
}

fn s(v: &str) -> CompValue {
    CompValue::Str(v.into())
}

fn cmp(p: AttrPath, op: CompareOp, v: CompValue) -> Filter {
    Filter::Compare(p, op, v)
}

fn eq(attr: &str, v: &str) -> Filter {
    cmp(path(attr), CompareOp::Eq, s(v))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn vp(p: AttrPath, f: Filter) -> Filter {
    Filter::ValuePath(p, Box::new(f))
}

fn ok(input: &str) -> Filter {
    match parse_filter(input) {
        Ok(f) => f,
        Err(e) => panic!("{input:?} did not parse: {e}"),
    }
}

fn err(input: &str) -> String {
    match parse_filter(input) {
        Ok(f) => panic!("{input:?} parsed as {f:?}"),
        Err(e) => e.0,
    }
}

/// Checks that `input` does not parse, with an error that mentions `want`.
fn fails_with(input: &str, want: &str) {
    let e = err(input);
    assert!(e.contains(want), "{input}: {e}");
}

/// Parses, and checks that the printed form parses back to the same tree.
fn round(input: &str) -> Filter {
    let f = ok(input);
    assert_eq!(
        parse_filter(&f.to_string()),
        Ok(f.clone()),
        "printed as {f}"
    );
    f
}

// --- comparison operators

#[test]
fn op_eq() {
    assert_eq!(round("userName eq \"bjensen\""), eq("userName", "bjensen"));
}

#[test]
fn op_ne() {
    assert_eq!(
        round("title ne \"x\""),
        cmp(path("title"), CompareOp::Ne, s("x"))
    );
}

#[test]
fn op_co() {
    assert_eq!(
        round("name.familyName co \"O'Malley\""),
        cmp(sub("name", "familyName"), CompareOp::Co, s("O'Malley"))
    );
}

#[test]
fn op_sw() {
    assert_eq!(
        round("userName sw \"J\""),
        cmp(path("userName"), CompareOp::Sw, s("J"))
    );
}

#[test]
fn op_ew() {
    assert_eq!(
        round("userName ew \"n\""),
        cmp(path("userName"), CompareOp::Ew, s("n"))
    );
}

#[test]
fn op_gt() {
    assert_eq!(
        round("meta.lastModified gt \"2011-05-13T04:42:34Z\""),
        cmp(
            sub("meta", "lastModified"),
            CompareOp::Gt,
            s("2011-05-13T04:42:34Z")
        )
    );
}

#[test]
fn op_ge() {
    assert_eq!(
        round("n ge 3"),
        cmp(path("n"), CompareOp::Ge, CompValue::Num(3.into()))
    );
}

#[test]
fn op_lt() {
    assert_eq!(
        round("n lt -3"),
        cmp(path("n"), CompareOp::Lt, CompValue::Num((-3).into()))
    );
}

#[test]
fn op_le() {
    assert_eq!(
        round("n le 0"),
        cmp(path("n"), CompareOp::Le, CompValue::Num(0.into()))
    );
}

#[test]
fn op_pr() {
    assert_eq!(round("title pr"), Filter::Present(path("title")));
    assert_eq!(
        round("name.givenName pr"),
        Filter::Present(sub("name", "givenName"))
    );
}

// --- logical operators, precedence, grouping

#[test]
fn logical_and() {
    assert_eq!(
        round("a eq \"1\" and b eq \"2\""),
        and(eq("a", "1"), eq("b", "2"))
    );
}

#[test]
fn logical_or() {
    assert_eq!(
        round("a eq \"1\" or b eq \"2\""),
        or(eq("a", "1"), eq("b", "2"))
    );
}

#[test]
fn logical_not() {
    assert_eq!(round("not (a eq \"1\")"), not(eq("a", "1")));
    assert_eq!(round("not(a eq \"1\")"), not(eq("a", "1")));
    assert_eq!(
        round("a pr and not ( b pr or c pr )"),
        and(
            Filter::Present(path("a")),
            not(or(Filter::Present(path("b")), Filter::Present(path("c"))))
        )
    );
}

#[test]
fn precedence_and_binds_tighter() {
    assert_eq!(
        round("a eq \"1\" or b eq \"2\" and c eq \"3\""),
        or(eq("a", "1"), and(eq("b", "2"), eq("c", "3")))
    );
    assert_eq!(
        round("a eq \"1\" and b eq \"2\" or c eq \"3\""),
        or(and(eq("a", "1"), eq("b", "2")), eq("c", "3"))
    );
}

#[test]
fn left_associative() {
    assert_eq!(
        round("a eq \"1\" or b eq \"2\" or c eq \"3\""),
        or(or(eq("a", "1"), eq("b", "2")), eq("c", "3"))
    );
    assert_eq!(
        round("a eq \"1\" and b eq \"2\" and c eq \"3\""),
        and(and(eq("a", "1"), eq("b", "2")), eq("c", "3"))
    );
}

#[test]
fn grouping() {
    assert_eq!(
        round("(a eq \"1\" or b eq \"2\") and c eq \"3\""),
        and(or(eq("a", "1"), eq("b", "2")), eq("c", "3"))
    );
    assert_eq!(
        round("a eq \"1\" or (b eq \"2\" or c eq \"3\")"),
        or(eq("a", "1"), or(eq("b", "2"), eq("c", "3")))
    );
    assert_eq!(round("((a eq \"1\"))"), eq("a", "1"));
    assert_eq!(
        round("(a eq \"1\")and(b eq \"2\")"),
        and(eq("a", "1"), eq("b", "2"))
    );
}

#[test]
fn rfc_examples() {
    for f in [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"meta.resourceType eq "User""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        round(f);
    }
}

// --- value filters

#[test]
fn value_filter() {
    assert_eq!(
        round("emails[type eq \"work\" and value co \"@example.com\"]"),
        vp(
            path("emails"),
            and(
                eq("type", "work"),
                cmp(path("value"), CompareOp::Co, s("@example.com"))
            )
        )
    );
    assert_eq!(
        round("emails[not (type eq \"work\")] and x pr"),
        and(
            vp(path("emails"), not(eq("type", "work"))),
            Filter::Present(path("x"))
        )
    );
    assert_eq!(
        round("members[(value eq \"x\")]"),
        vp(path("members"), eq("value", "x"))
    );
}

#[test]
fn nested_value_filter_is_rejected() {
    let e = err("a[b[c pr]]");
    assert!(e.contains("cannot be nested"), "{e}");
    let e = err("a[(b[c pr])]");
    assert!(e.contains("cannot be nested"), "{e}");
}

#[test]
fn value_filter_sub_attr_is_not_a_filter() {
    err("emails[type eq \"work\"].value eq \"x\"");
}

// --- attribute paths

#[test]
fn urn_paths() {
    let f = round(&format!("{ENTERPRISE}:manager.value eq \"x\""));
    assert_eq!(
        f,
        cmp(
            AttrPath {
                urn: Some(ENTERPRISE.into()),
                attr: "manager".into(),
                sub_attr: Some("value".into())
            },
            CompareOp::Eq,
            s("x")
        )
    );
    let f = round(&format!("{ENTERPRISE}:department eq \"x\""));
    assert_eq!(
        f,
        cmp(
            AttrPath {
                urn: Some(ENTERPRISE.into()),
                attr: "department".into(),
                sub_attr: None
            },
            CompareOp::Eq,
            s("x")
        )
    );
    let f = round("URN:IETF:params:scim:schemas:core:2.0:User:userName pr");
    assert_eq!(
        f,
        Filter::Present(AttrPath {
            urn: Some("URN:IETF:params:scim:schemas:core:2.0:User".into()),
            attr: "userName".into(),
            sub_attr: None
        })
    );
}

#[test]
fn ref_and_name_chars() {
    assert_eq!(
        round("members.$ref pr"),
        Filter::Present(sub("members", "$ref"))
    );
    assert_eq!(round("a-b_c9 pr"), Filter::Present(path("a-b_c9")));
}

#[test]
fn bad_attr_paths() {
    for f in [
        "1abc pr",
        "a.b.c pr",
        "a. pr",
        ".a pr",
        "ab:c pr",
        "urn: pr",
        "urn:x: pr",
        "urn:x::y pr",
        "é pr",
        "a.é pr",
        "_a pr",
    ] {
        fails_with(f, "attribute path");
    }
}

// --- keywords and values

#[test]
fn case_insensitive_keywords() {
    assert_eq!(
        round("A EQ \"1\" AND NOT (B Pr) Or c Ne TRUE"),
        or(
            and(
                cmp(path("A"), CompareOp::Eq, s("1")),
                not(Filter::Present(path("B")))
            ),
            cmp(path("c"), CompareOp::Ne, CompValue::Bool(true))
        )
    );
}

#[test]
fn attributes_named_like_keywords() {
    assert_eq!(round("not pr"), Filter::Present(path("not")));
    assert_eq!(
        round("and eq \"x\" and or pr"),
        and(eq("and", "x"), Filter::Present(path("or")))
    );
    assert_eq!(
        round("not[x pr]"),
        vp(path("not"), Filter::Present(path("x")))
    );
}

#[test]
fn escapes() {
    assert_eq!(round(r#"userName eq "a\"b""#), eq("userName", "a\"b"));
    assert_eq!(round(r#"a eq "\u00e9\u00E9""#), eq("a", "éé"));
    assert_eq!(round(r#"a eq "\ud83d\ude00""#), eq("a", "😀"));
    assert_eq!(round(r#"a eq "\\ \/ \n \r \t""#), eq("a", "\\ / \n \r \t"));
    assert_eq!(round("a eq \"é😀 raw\""), eq("a", "é😀 raw"));
    assert_eq!(round("a eq \"\""), eq("a", ""));
}

#[test]
fn bad_escapes() {
    for (f, want) in [
        (r#"a eq "\x""#, "invalid escape"),
        (r#"a eq "\u12""#, "\\u escape"),
        (r#"a eq "\u12g4""#, "\\u escape"),
        (r#"a eq "\ud83d""#, "unpaired surrogate"),
        (r#"a eq "\ud83dx""#, "unpaired surrogate"),
        (r#"a eq "\ud83d\u0041""#, "unpaired surrogate"),
        (r#"a eq "\ude00""#, "unpaired surrogate"),
        (r#"a eq "\"#, "unterminated"),
        (r#"a eq "\u"#, "\\u escape"),
        ("a eq \"\\é\"", "invalid escape"),
        ("a eq \"\\u00é\"", "\\u escape"),
    ] {
        fails_with(f, want);
    }
}

/// A string holds what the Identity Store holds: no control character, raw or escaped, and
/// no format character.
#[test]
fn strings_outside_the_identity_stores_characters_are_refused() {
    for f in [
        "a eq \"nul\0\"",
        r#"a eq "\u0000""#,
        r#"a eq "\b""#,
        r#"a eq "\f""#,
        r#"a eq "\u001b[0m""#,
        "a eq \"\u{7f}\"",
        r#"a eq "zero\u200bwidth""#,
        r#"emails[value eq "\u0000"]"#,
    ] {
        fails_with(
            f,
            "letters, marks, symbols, numbers, punctuation and spaces only",
        );
    }
    assert!(
        parse_path(r#"members[value eq "\u0001"]"#)
            .unwrap_err()
            .0
            .contains("at position 18")
    );
}

#[test]
fn numbers() {
    let num = |f: &str| match round(f) {
        Filter::Compare(_, _, CompValue::Num(n)) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(num("a eq 42"), serde_json::Number::from(42));
    assert_eq!(num("a eq -7"), serde_json::Number::from(-7));
    assert_eq!(
        num("a eq 18446744073709551615"),
        serde_json::Number::from(u64::MAX)
    );
    assert_eq!(num("a eq 1.5").as_f64(), Some(1.5));
    assert_eq!(num("a eq -2.5e3").as_f64(), Some(-2500.0));
    assert_eq!(num("a eq 1E2").as_f64(), Some(100.0));
    for bad in [
        "a eq 01",
        "a eq 1.",
        "a eq .5",
        "a eq -",
        "a eq 1e",
        "a eq +1",
        "a eq 1e999",
        "a eq 0x10",
        "a eq 1,5",
    ] {
        let e = err(bad);
        assert!(e.contains("number") || e.contains("value"), "{bad}: {e}");
    }
}

#[test]
fn literals() {
    assert_eq!(
        round("active eq true"),
        cmp(path("active"), CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        round("active eq False"),
        cmp(path("active"), CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(
        round("x ne NULL"),
        cmp(path("x"), CompareOp::Ne, CompValue::Null)
    );
}

#[test]
fn whitespace_tolerance() {
    assert_eq!(
        round("  \t a   eq\t\"1\"   and  \r\n (  b pr )  "),
        and(eq("a", "1"), Filter::Present(path("b")))
    );
    assert_eq!(
        round("emails [ type eq \"w\" ]"),
        vp(path("emails"), eq("type", "w"))
    );
}

#[test]
fn whitespace_required_between_words() {
    for f in [
        "a eq\"1\"",
        "a eq \"1\"and b pr",
        "a eq \"1\"\"2\"",
        "a eq 1\"x\"",
    ] {
        fails_with(f, "expected whitespace");
    }
}

// --- AWS shapes

#[test]
fn aws_shapes() {
    assert_eq!(
        round("userName eq \"jane@example.com\""),
        eq("userName", "jane@example.com")
    );
    assert_eq!(
        round("id eq \"g\" and members eq \"u\""),
        and(eq("id", "g"), eq("members", "u"))
    );
    assert_eq!(round("externalId eq \"1\""), eq("externalId", "1"));
    assert_eq!(
        round("members.value eq \"x\""),
        cmp(sub("members", "value"), CompareOp::Eq, s("x"))
    );
    assert_eq!(
        round("groups.value eq \"x\""),
        cmp(sub("groups", "value"), CompareOp::Eq, s("x"))
    );
    assert_eq!(
        round("displayName eq \"O'Brien & Co\""),
        eq("displayName", "O'Brien & Co")
    );
}

// --- errors

#[test]
fn error_messages() {
    assert_eq!(err(""), "empty filter");
    assert_eq!(err("   \t"), "empty filter");
    assert_eq!(
        err("userName"),
        "expected a comparison operator after \"userName\" at position 9"
    );
    assert_eq!(
        err("userName eq"),
        "expected a value after \"eq\" at position 12"
    );
    assert_eq!(
        err("userName xx \"a\""),
        "unknown operator \"xx\" after \"userName\" (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr) at position 10"
    );
    assert_eq!(
        err("userName eq \"abc"),
        "unterminated string starting at position 13"
    );
    assert_eq!(
        err("ü eq \"abc"),
        "unterminated string starting at position 6"
    );
    assert_eq!(
        err("a pr b pr"),
        "unexpected \"b\" (expected \"and\", \"or\" or the end of the filter) at position 6"
    );
    assert_eq!(
        err("a pr and"),
        "expected a filter after \"and\", found the end of the input at position 9"
    );
    assert_eq!(
        err("a pr or )"),
        "expected a filter after \"or\", found \")\" at position 9"
    );
    assert_eq!(
        err("(a pr"),
        "expected \")\" to close the \"(\" at position 1, found the end of the input at position 6"
    );
    assert_eq!(err("a pr)"), "unmatched \")\" at position 5");
    assert_eq!(err("a pr]"), "unmatched \"]\" at position 5");
    assert_eq!(
        err("not a pr"),
        "expected \"(\" after \"not\" at position 5"
    );
    assert_eq!(
        err("a eq foo"),
        "expected a value (a \"string\", a number, true, false or null) after \"eq\", found \"foo\" at position 6"
    );
    assert_eq!(err("()"), "expected a filter, found \")\" at position 2");
    assert_eq!(
        err("emails[type eq \"work\""),
        "expected \"]\" to close the \"[\" at position 7, found the end of the input at position 22"
    );
}

#[test]
fn more_errors() {
    for f in [
        "and",
        "a pr and and",
        "a pr or",
        "(",
        ")",
        "((a pr)",
        "(a pr))",
        "\"a\" eq \"b\"",
        "a eq",
        "a eq (",
        "a eq \"x\" b",
        "not",
        "a pr and not",
        "not (",
        "not ()",
        "a[]",
        "a[",
        "[a pr]",
        "a eq \"x\" extra",
        "a pr pr",
    ] {
        err(f);
    }
}

#[test]
fn too_long() {
    let long = format!("a eq \"{}\"", "x".repeat(MAX_LEN));
    assert!(err(&long).contains("too long"));
    let just = format!("a eq \"{}\"", "x".repeat(MAX_LEN - 7));
    assert_eq!(just.len(), MAX_LEN);
    ok(&just);
    let over = " ".repeat(MAX_LEN + 1);
    assert!(err(&over).contains("too long"));
    assert!(
        parse_path(&"a".repeat(MAX_LEN + 1))
            .unwrap_err()
            .0
            .contains("too long")
    );
}

#[test]
fn depth_limit() {
    let nest = |open: &str, n: usize| format!("{}a pr{}", open.repeat(n), ")".repeat(n));
    ok(&nest("(", MAX_DEPTH));
    ok(&nest("not (", MAX_DEPTH));
    assert!(err(&nest("(", MAX_DEPTH + 1)).contains("nested"));
    assert!(err(&nest("not (", MAX_DEPTH + 1)).contains("nested"));
    assert!(err(&nest("(", 1000)).contains("nested"));
    // Beyond MAX_LEN the length check answers first...
    err(&nest("(", 10_000));
    err(&nest("not (", 10_000));
    err(&"(".repeat(10_000));
    // ...but the depth check alone also keeps the stack bounded.
    for open in ["(", "not (", "not(", "a[(", "(a pr and "] {
        let e = parse_filter_unlimited(&nest(open, 100_000)).unwrap_err().0;
        assert!(e.contains("nested"), "{open}: {e}");
        let e = parse_filter_unlimited(&open.repeat(100_000)).unwrap_err().0;
        assert!(e.contains("nested"), "{open}: {e}");
    }
    // A value filter counts as one level.
    let mut f = String::from("a[");
    f.push_str(&"(".repeat(MAX_DEPTH - 1));
    f.push_str("b pr");
    f.push_str(&")".repeat(MAX_DEPTH - 1));
    f.push(']');
    ok(&f);
    assert!(parse_path(&f).is_ok());
    let too_deep = f.replacen('(', "((", 1).replacen(')', "))", 1);
    assert!(err(&too_deep).contains("nested"));
    assert!(parse_path(&too_deep).unwrap_err().0.contains("nested"));
}

#[test]
fn long_flat_chains() {
    let mut f = String::from("a eq \"0\"");
    let mut n = 0;
    while f.len() + 12 <= MAX_LEN {
        n += 1;
        f.push_str(&format!(" or a eq \"{}\"", n % 10));
    }
    let tree = round(&f);
    let mut depth = 0;
    let mut cur = &tree;
    while let Filter::Or(l, _) = cur {
        depth += 1;
        cur = l;
    }
    assert_eq!(depth, n);
    assert!(n > 300);
    // Shortest possible chain links.
    let mut g = String::from("a pr");
    while g.len() + 17 <= MAX_LEN {
        g.push_str(" and a pr or a pr");
    }
    round(&g);
}

#[test]
fn terms_left_to_right() {
    let f = ok(r#"a pr and not (b eq "1" or emails[type eq "w"]) or c lt 2"#);
    let terms: Vec<String> = f
        .terms()
        .map(|t| match t {
            Term::Compare(p, op, v) => format!("{p} {op} {v}"),
            Term::Present(p) => format!("{p} pr"),
            Term::ValuePath(p, inner) => format!("{p}[{inner}]"),
        })
        .collect();
    assert_eq!(
        terms,
        ["a pr", "b eq \"1\"", "emails[type eq \"w\"]", "c lt 2"]
    );
}

// --- parse_path

fn pp(input: &str) -> PatchPath {
    let p = parse_path(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    assert_eq!(parse_path(&p.to_string()), Ok(p.clone()), "printed as {p}");
    p
}

#[test]
fn path_plain() {
    assert_eq!(
        pp("active"),
        PatchPath {
            attr: path("active"),
            filter: None,
            sub_attr: None
        }
    );
    assert_eq!(
        pp("name.givenName"),
        PatchPath {
            attr: sub("name", "givenName"),
            filter: None,
            sub_attr: None
        }
    );
    assert_eq!(
        pp("  displayName  "),
        PatchPath {
            attr: path("displayName"),
            filter: None,
            sub_attr: None
        }
    );
}

#[test]
fn path_value_filters() {
    assert_eq!(
        pp("emails[type eq \"work\"].value"),
        PatchPath {
            attr: path("emails"),
            filter: Some(eq("type", "work")),
            sub_attr: Some("value".into())
        }
    );
    assert_eq!(
        pp("addresses[type eq \"work\"].streetAddress"),
        PatchPath {
            attr: path("addresses"),
            filter: Some(eq("type", "work")),
            sub_attr: Some("streetAddress".into())
        }
    );
    assert_eq!(
        pp("members[value eq \"abc\"]"),
        PatchPath {
            attr: path("members"),
            filter: Some(eq("value", "abc")),
            sub_attr: None
        }
    );
    assert_eq!(
        pp("emails[type eq \"work\" and not (primary eq false)]"),
        PatchPath {
            attr: path("emails"),
            filter: Some(and(
                eq("type", "work"),
                not(cmp(path("primary"), CompareOp::Eq, CompValue::Bool(false)))
            )),
            sub_attr: None
        }
    );
}

#[test]
fn path_urns() {
    assert_eq!(
        pp(&format!("{ENTERPRISE}:department")),
        PatchPath {
            attr: AttrPath {
                urn: Some(ENTERPRISE.into()),
                attr: "department".into(),
                sub_attr: None
            },
            filter: None,
            sub_attr: None
        }
    );
    assert_eq!(
        pp(&format!("{ENTERPRISE}:manager")),
        PatchPath {
            attr: AttrPath {
                urn: Some(ENTERPRISE.into()),
                attr: "manager".into(),
                sub_attr: None
            },
            filter: None,
            sub_attr: None
        }
    );
    assert_eq!(
        pp(&format!("{ENTERPRISE}:manager.value"))
            .attr
            .sub_attr
            .as_deref(),
        Some("value")
    );
}

#[test]
fn path_errors() {
    for (p, want) in [
        ("emails[type eq \"work\"", "expected \"]\""),
        ("emails[]", "expected a filter"),
        (".value", "invalid attribute path"),
        ("", "empty path"),
        ("  ", "empty path"),
        ("emails[type eq \"work\"].", "invalid sub-attribute"),
        ("emails[type eq \"work\"].a.b", "invalid sub-attribute"),
        ("emails[type eq \"work\"].1", "invalid sub-attribute"),
        ("emails[type eq \"work\"]x", "unexpected"),
        ("emails[type eq \"work\"][value pr]", "unexpected"),
        ("emails[a[b pr]]", "cannot be nested"),
        ("a b", "unexpected"),
        ("a pr", "unexpected"),
        ("a eq \"x\"", "unexpected"),
        ("(a)", "expected an attribute name"),
        ("\"a\"", "expected an attribute name"),
        ("a.b.c", "invalid attribute path"),
    ] {
        let e = parse_path(p).unwrap_err().0;
        assert!(e.contains(want), "{p}: {e}");
    }
}

// --- printing

#[test]
fn display_values_and_paths() {
    let p = AttrPath {
        urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
        attr: "manager".into(),
        sub_attr: Some("value".into()),
    };
    assert_eq!(
        p.to_string(),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
    );
    assert_eq!(
        CompValue::Str("a\"b\\c\n".into()).to_string(),
        r#""a\"b\\c\n""#
    );
    assert_eq!(CompValue::Num((-3).into()).to_string(), "-3");
    assert_eq!(CompValue::Bool(true).to_string(), "true");
    assert_eq!(CompValue::Null.to_string(), "null");
    assert_eq!(CompareOp::Le.to_string(), "le");
}

#[test]
fn display_filters_with_minimal_parentheses() {
    let (a, b, c) = (eq("a", "1"), eq("b", "2"), eq("c", "3"));
    let cases = [
        (
            or(or(a.clone(), b.clone()), c.clone()),
            r#"a eq "1" or b eq "2" or c eq "3""#,
        ),
        (
            or(a.clone(), or(b.clone(), c.clone())),
            r#"a eq "1" or (b eq "2" or c eq "3")"#,
        ),
        (
            and(or(a.clone(), b.clone()), c.clone()),
            r#"(a eq "1" or b eq "2") and c eq "3""#,
        ),
        (
            or(a.clone(), and(b.clone(), c.clone())),
            r#"a eq "1" or b eq "2" and c eq "3""#,
        ),
        (
            and(a.clone(), and(b.clone(), c.clone())),
            r#"a eq "1" and (b eq "2" and c eq "3")"#,
        ),
        (
            Filter::Not(Box::new(and(a.clone(), b.clone()))),
            r#"not (a eq "1" and b eq "2")"#,
        ),
        (
            Filter::ValuePath(path("emails"), Box::new(or(a.clone(), b.clone()))),
            r#"emails[a eq "1" or b eq "2"]"#,
        ),
        (Filter::Present(path("title")), "title pr"),
    ];
    for (filter, text) in cases {
        assert_eq!(filter.to_string(), text);
        assert_eq!(parse_filter(text), Ok(filter));
    }
}

#[test]
fn display_patch_path() {
    let p = PatchPath {
        attr: path("emails"),
        filter: Some(eq("type", "work")),
        sub_attr: Some("value".into()),
    };
    assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
    assert_eq!(parse_path(&p.to_string()), Ok(p));
}

// --- property tests

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![9 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}", 1 => Just("$ref".to_string())]
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    (
        proptest::option::weighted(0.2, "[uU][rR][nN](:[a-zA-Z0-9.-]{1,8}){1,5}"),
        arb_name(),
        proptest::option::of(arb_name()),
    )
        .prop_map(|(urn, attr, sub_attr)| AttrPath {
            urn,
            attr,
            sub_attr,
        })
}

/// A string value a filter may hold: characters of the Identity Store's class.
fn admitted(chars: impl IntoIterator<Item = char>) -> CompValue {
    CompValue::Str(
        chars
            .into_iter()
            .filter(|c| Class::Identity.admits(*c))
            .collect(),
    )
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..12).prop_map(admitted),
        "[\"\\\\/a\u{e9}\u{1F600}\u{3000}\t\n]{0,6}".prop_map(|s| admitted(s.chars())),
        any::<i64>().prop_map(|n| CompValue::Num(n.into())),
        any::<u64>().prop_map(|n| CompValue::Num(n.into())),
        (-100_000i32..100_000).prop_map(|n| CompValue::Num(
            serde_json::Number::from_f64(f64::from(n) / 8.0).expect("finite")
        )),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

fn arb_leaf() -> BoxedStrategy<Filter> {
    prop_oneof![
        4 => (arb_path(), arb_op(), arb_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
        1 => arb_path().prop_map(Filter::Present),
    ]
    .boxed()
}

fn arb_filter(value_paths: bool) -> BoxedStrategy<Filter> {
    arb_leaf()
        .prop_recursive(4, 24, 2, move |inner| {
            let mut options = vec![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| and(a, b))
                    .boxed(),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| or(a, b))
                    .boxed(),
                inner.clone().prop_map(not).boxed(),
            ];
            if value_paths {
                options.push(
                    (arb_path(), arb_filter(false))
                        .prop_map(|(p, f)| vp(p, f))
                        .boxed(),
                );
            }
            proptest::strategy::Union::new(options)
        })
        .boxed()
}

fn filterish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec![
            "a", "b.c", "eq", "pr", "and", "or", "not", "(", ")", "[", "]", " ", "  ", "\"x\"",
            "\"", "\\", "\\u", "d83d", "1", "-", "1.5e3", "true", "null", "urn:x:y", ".", ":", "é",
            "😀", "\t",
        ]),
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn printed_filters_parse_back(f in arb_filter(true)) {
        let text = f.to_string();
        prop_assert_eq!(parse_filter_unlimited(&text), Ok(f.clone()), "text: {}", text);
        if text.len() <= MAX_LEN {
            prop_assert_eq!(parse_filter(&text), Ok(f));
        }
    }

    #[test]
    fn printed_paths_parse_back(
        attr in arb_path(),
        filter in proptest::option::of(arb_filter(false)),
        sub_attr in proptest::option::of(arb_name()),
    ) {
        let sub_attr = if filter.is_some() { sub_attr } else { None };
        let p = PatchPath { attr, filter, sub_attr };
        let text = p.to_string();
        prop_assume!(text.len() <= MAX_LEN);
        prop_assert_eq!(parse_path(&text), Ok(p), "text: {}", text);
    }

    #[test]
    fn never_panics_on_any_string(s in any::<String>()) {
        let _ = parse_filter(&s);
        let _ = parse_path(&s);
    }

    #[test]
    fn never_panics_on_filterish_chars(s in "[a-z\"\\\\()\\[\\] .:]{0,64}") {
        let _ = parse_filter(&s);
        let _ = parse_path(&s);
    }

    #[test]
    fn never_panics_on_filterish_tokens(s in filterish()) {
        if let Ok(f) = parse_filter(&s) {
            prop_assert_eq!(parse_filter(&f.to_string()), Ok(f));
        }
        if let Ok(p) = parse_path(&s) {
            prop_assert_eq!(parse_path(&p.to_string()), Ok(p));
        }
    }
}
