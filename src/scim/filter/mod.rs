//! SCIM filters (RFC 7644 §3.4.2.2): the syntax tree, its parser and its printer.
//!
//! This module knows the full RFC grammar and nothing of AWS: which filters IAM Identity Center
//! accepts is decided by `crate::scim::query`, on the tree built here.
//!
//! ```
//! use idc_scim::scim::filter::{CompValue, CompareOp, Filter, parse_filter};
//!
//! let f = parse_filter(r#"userName EQ "jane@example.com" and not (active eq false)"#).unwrap();
//! let Filter::And(left, _) = &f else { panic!("and binds the two") };
//! let Filter::Compare(path, op, value) = left.as_ref() else { panic!() };
//! assert_eq!((path.attr.as_str(), *op), ("userName", CompareOp::Eq));
//! assert_eq!(value, &CompValue::Str("jane@example.com".into()));
//! // The printer writes the canonical form, which parses back to the same tree.
//! assert_eq!(parse_filter(&f.to_string()).unwrap(), f);
//! ```

mod parser;

pub use parser::{MAX_DEPTH, MAX_LEN, parse_filter, parse_path};

/// An attribute path: `[URN ":"] attr ["." subAttr]`. Names keep the case they were written in.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing colon, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

/// Comparison operators; keywords are case-insensitive in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        Self::Eq,
        Self::Ne,
        Self::Co,
        Self::Sw,
        Self::Ew,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
    ];

    /// The keyword, in lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }
}

/// A comparison value (`compValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op compValue`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attrPath pr`
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `not (filter)`
    Not(Box<Filter>),
    /// `attrPath [valFilter]`: the inner filter's paths are relative to the attribute.
    ValuePath(AttrPath, Box<Filter>),
}

/// A filter that `and`, `or` and `not` do not build: what they join.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Term<'f> {
    Compare(&'f AttrPath, CompareOp, &'f CompValue),
    Present(&'f AttrPath),
    ValuePath(&'f AttrPath, &'f Filter),
}

impl Filter {
    /// The terms of the filter, left to right. The walk keeps its own stack, so that a long
    /// `and` or `or` chain does not recurse.
    pub fn terms(&self) -> impl Iterator<Item = Term<'_>> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            while let Some(f) = stack.pop() {
                match f {
                    Filter::And(a, b) | Filter::Or(a, b) => {
                        stack.push(b);
                        stack.push(a);
                    }
                    Filter::Not(inner) => stack.push(inner),
                    Filter::Compare(path, op, value) => {
                        return Some(Term::Compare(path, *op, value));
                    }
                    Filter::Present(path) => return Some(Term::Present(path)),
                    Filter::ValuePath(path, inner) => return Some(Term::ValuePath(path, inner)),
                }
            }
            None
        })
    }
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The value filter in `attr[...]`, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// The attribute path, if there is no value filter: a PATCH path that is an `attrPath`
    /// (what `sortBy`, `attributes` and `excludedAttributes` name).
    pub fn into_attr(self) -> Option<AttrPath> {
        match (self.filter, self.sub_attr) {
            (None, None) => Some(self.attr),
            _ => None,
        }
    }
}

/// Why a filter or path did not parse. The text is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

// Printing: canonical text that parses back to an equal tree (lowercase keywords, JSON strings,
// parentheses only where the tree shape needs them).

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for CompareOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for CompValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompValue::Str(s) => {
                f.write_str(&serde_json::to_string(s).map_err(|_| std::fmt::Error)?)
            }
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
            Filter::And(..) | Filter::Or(..) => write_chain(f, self),
        }
    }
}

/// Prints an `and` or `or` chain. The left spine of a chain (`((a or b) or c) or d`, as the
/// left-associative parser builds it) is walked with a loop, so printing recurses only into
/// operands, whose depth the parser bounds.
fn write_chain(f: &mut std::fmt::Formatter<'_>, chain: &Filter) -> std::fmt::Result {
    let is_or = matches!(chain, Filter::Or(..));
    let mut rights = Vec::new();
    let mut leftmost = chain;
    while let (Filter::Or(l, r), true) | (Filter::And(l, r), false) = (leftmost, is_or) {
        rights.push(&**r);
        leftmost = l;
    }
    // `and` binds tighter than `or`: an operand needs parentheses if it is an `or`, or if it is
    // an `and` inside an `and` chain (which, not being on the left spine, is a right operand).
    let operand = |f: &mut std::fmt::Formatter<'_>, x: &Filter| match x {
        Filter::Or(..) => write!(f, "({x})"),
        Filter::And(..) if !is_or => write!(f, "({x})"),
        _ => write!(f, "{x}"),
    };
    operand(f, leftmost)?;
    let keyword = if is_or { " or " } else { " and " };
    for right in rights.iter().rev() {
        f.write_str(keyword)?;
        operand(f, right)?;
    }
    Ok(())
}

impl std::fmt::Display for PatchPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
