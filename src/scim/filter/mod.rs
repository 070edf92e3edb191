//! SCIM filters (RFC 7644 §3.4.2.2): the syntax tree, its parser and its printer.
//!
//! This module knows the full RFC grammar and nothing of AWS: which filters IAM Identity Center
//! accepts is decided by `crate::scim::query`, on the tree built here.

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

/// A PATCH path (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The value filter in `attr[...]`, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

/// Why a filter or path did not parse. The text is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);
