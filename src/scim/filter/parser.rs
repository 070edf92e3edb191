//! A hand-written parser for SCIM filters (RFC 7644 §3.4.2.2, the ABNF of Figure 1) and for
//! PATCH paths (RFC 7644 §3.5.2, the `PATH` rule: `attrPath / valuePath [subAttr]`).
//!
//! The text is first split into tokens (words, JSON strings, `(`, `)`, `[`, `]`), then a
//! recursive-descent parser builds the tree defined in the parent module:
//!
//! * precedence, loosest first: `or`, `and`, then `not (..)` / grouping / attribute expressions;
//!   `and` and `or` are left-associative and their chains are built with loops, not recursion;
//! * keywords and operators are case-insensitive, attribute names keep their case;
//! * two words (an attribute path, an operator, a keyword, a value) must be separated by
//!   whitespace (spaces, tabs, CR or LF, any number of them); around `(`, `)`, `[` and `]` it is
//!   optional;
//! * `not` must be followed by a parenthesised filter; a value filter (`emails[...]`) cannot
//!   contain another value filter;
//! * compValue is `true`, `false`, `null` (case-insensitive), a JSON number or a JSON string with
//!   all JSON escapes.
//!
//! Limits: the input may be at most [`MAX_LEN`] bytes, and parentheses, `not (..)` and value
//! filters may be nested at most [`MAX_DEPTH`] levels deep (`not (` counts as one level). Only
//! those constructs recurse, so the parser's stack depth is bounded whatever the input.
//!
//! Error messages name what was wrong and where: positions are 1-based character positions in
//! the input.

use super::{AttrPath, CompValue, CompareOp, Filter, FilterError, PatchPath};

/// The maximum nesting of parentheses, `not (..)` and value filters (`attr[...]`).
pub const MAX_DEPTH: usize = 32;
/// The maximum length of a filter or path, in bytes.
pub const MAX_LEN: usize = 4096;

/// Parses a SCIM filter (the `filter` query parameter).
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    check_len(input, "filter")?;
    parse_filter_unlimited(input)
}

/// Parses a PATCH operation's `path`: `attrPath` or `valuePath ["." subAttr]`.
pub fn parse_path(input: &str) -> Result<PatchPath, FilterError> {
    check_len(input, "path")?;
    let mut p = Parser::new(input)?;
    let Some(first) = p.peek() else {
        return Err(FilterError("empty path".into()));
    };
    let (word, start) = match first.tok {
        Tok::Word(w) => (w, first.start),
        _ => {
            let found = p.describe_next();
            return Err(p.fail(
                first.start,
                format!("expected an attribute name, found {found}"),
            ));
        }
    };
    p.bump();
    let attr = p.attr_path(word, start)?;
    let mut filter = None;
    let mut sub_attr = None;
    if let Some(t) = p.peek()
        && matches!(t.tok, Tok::LBracket)
    {
        filter = Some(p.value_filter()?);
        if let Some(t) = p.peek()
            && let Tok::Word(w) = t.tok
            && let Some(name) = w.strip_prefix('.')
        {
            if !is_attr_name(name) {
                return Err(p.fail(
                    t.start,
                    format!("invalid sub-attribute {} after \"]\"", quote(w)),
                ));
            }
            sub_attr = Some(name.to_string());
            p.bump();
        }
    }
    if let Some(t) = p.peek() {
        let found = p.describe_next();
        return Err(p.fail(t.start, format!("unexpected {found} in path")));
    }
    Ok(PatchPath {
        attr,
        filter,
        sub_attr,
    })
}

/// `parse_filter` without the length limit (the depth limit still applies).
fn parse_filter_unlimited(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(input)?;
    if p.peek().is_none() {
        return Err(FilterError("empty filter".into()));
    }
    let filter = p.or_chain()?;
    if let Some(t) = p.peek() {
        let msg = match t.tok {
            Tok::RParen => "unmatched \")\"".to_string(),
            Tok::RBracket => "unmatched \"]\"".to_string(),
            _ => format!(
                "unexpected {} (expected \"and\", \"or\" or the end of the filter)",
                p.describe_next()
            ),
        };
        return Err(p.fail(t.start, msg));
    }
    Ok(filter)
}

fn check_len(input: &str, what: &str) -> Result<(), FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError(format!(
            "{what} is too long ({} bytes; the limit is {MAX_LEN})",
            input.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    /// A run of characters other than whitespace, `(`, `)`, `[`, `]` and `"`: an attribute path,
    /// an operator, a keyword, a number or a literal.
    Word(&'a str),
    /// A JSON string, decoded.
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    tok: Tok<'a>,
    /// Byte offsets into the input; always on character boundaries.
    start: usize,
    end: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_word_end(b: u8) -> bool {
    is_space(b) || matches!(b, b'(' | b')' | b'[' | b']' | b'"')
}

/// 1-based character position of byte offset `byte` in `src`.
fn position(src: &str, byte: usize) -> usize {
    src.get(..byte).map_or(byte, |s| s.chars().count()) + 1
}

fn err_at(src: &str, byte: usize, msg: impl std::fmt::Display) -> FilterError {
    FilterError(format!("{msg} at position {}", position(src, byte)))
}

/// Quotes a piece of input for an error message, shortened if long.
fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut out = String::from('"');
    for (i, c) in s.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn tokenize(src: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let bytes = src.as_bytes();
    let mut toks: Vec<Token<'_>> = Vec::new();
    let mut i = 0;
    let mut space_before = true;
    while i < bytes.len() {
        let b = bytes[i];
        if is_space(b) {
            space_before = true;
            i += 1;
            continue;
        }
        let start = i;
        let tok = match b {
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'[' => {
                i += 1;
                Tok::LBracket
            }
            b']' => {
                i += 1;
                Tok::RBracket
            }
            b'"' => {
                let (s, end) = lex_string(src, start)?;
                i = end;
                Tok::Str(s)
            }
            _ => {
                while i < bytes.len() && !is_word_end(bytes[i]) {
                    i += 1;
                }
                Tok::Word(&src[start..i])
            }
        };
        let wordlike = |t: &Tok<'_>| matches!(t, Tok::Word(_) | Tok::Str(_));
        if !space_before
            && wordlike(&tok)
            && let Some(prev) = toks.last()
            && wordlike(&prev.tok)
        {
            return Err(err_at(
                src,
                start,
                format!("expected whitespace before {}", quote(&src[start..i])),
            ));
        }
        toks.push(Token { tok, start, end: i });
        space_before = false;
    }
    Ok(toks)
}

/// Reads the JSON string whose opening quote is at byte `start`; returns it decoded and the byte
/// offset just past its closing quote.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), FilterError> {
    let unterminated = || err_at(src, start, "unterminated string starting");
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        let c = src
            .get(i..)
            .and_then(|s| s.chars().next())
            .ok_or_else(unterminated)?;
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let e = src
                    .get(i + 1..)
                    .and_then(|s| s.chars().next())
                    .ok_or_else(unterminated)?;
                let decoded = match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let (c, len) = unicode_escape(src, i)?;
                        out.push(c);
                        i += len;
                        continue;
                    }
                    other => {
                        return Err(err_at(
                            src,
                            i,
                            format!("invalid escape \"\\{other}\" in string"),
                        ));
                    }
                };
                out.push(decoded);
                i += 1 + e.len_utf8();
            }
            c => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
}

/// Decodes the `\uXXXX` escape (or surrogate pair `\uXXXX\uXXXX`) whose backslash is at byte
/// `at`; returns the character and the escape's length in bytes.
fn unicode_escape(src: &str, at: usize) -> Result<(char, usize), FilterError> {
    let hex4 = |from: usize| {
        src.get(from..from + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let bad = |msg: &str| err_at(src, at, msg);
    let hi = hex4(at + 2).ok_or_else(|| bad("invalid \\u escape (expected 4 hex digits)"))?;
    let (code, len) = match hi {
        0xD800..=0xDBFF => {
            let lo = src
                .get(at + 6..)
                .filter(|rest| rest.starts_with("\\u"))
                .and_then(|_| hex4(at + 8))
                .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                .ok_or_else(|| bad("unpaired surrogate in \\u escape"))?;
            (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), 12)
        }
        0xDC00..=0xDFFF => return Err(bad("unpaired surrogate in \\u escape")),
        _ => (hi, 6),
    };
    let c = char::from_u32(code).ok_or_else(|| bad("invalid \\u escape"))?;
    Ok((c, len))
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token<'a>>,
    next: usize,
    /// Current nesting of parentheses, `not (..)` and value filters.
    depth: usize,
    in_value_filter: bool,
}

fn compare_op(word: &str) -> Option<CompareOp> {
    const OPS: [(&str, CompareOp); 9] = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ];
    OPS.iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|&(_, op)| op)
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`, or `$ref`.
fn is_attr_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Result<Self, FilterError> {
        Ok(Parser {
            src,
            toks: tokenize(src)?,
            next: 0,
            depth: 0,
            in_value_filter: false,
        })
    }

    fn peek(&self) -> Option<&Token<'a>> {
        self.toks.get(self.next)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token<'a>> {
        self.toks.get(self.next + ahead)
    }

    fn bump(&mut self) {
        self.next += 1;
    }

    /// Byte offset of the next token, or of the end of the input.
    fn next_start(&self) -> usize {
        self.peek().map_or(self.src.len(), |t| t.start)
    }

    fn describe_next(&self) -> String {
        match self.peek() {
            Some(t) => quote(&self.src[t.start..t.end]),
            None => "the end of the input".to_string(),
        }
    }

    fn fail(&self, byte: usize, msg: impl std::fmt::Display) -> FilterError {
        err_at(self.src, byte, msg)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        let Some(Token {
            tok: Tok::Word(w), ..
        }) = self.peek()
        else {
            return false;
        };
        w.eq_ignore_ascii_case(keyword)
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(
                at,
                format!(
                    "too many nested parentheses, \"not\" or value filters (the limit is {MAX_DEPTH})"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `FILTER *(SP "or" SP FILTER)`, built left-associatively.
    fn or_chain(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and_chain(None)?;
        while self.peek_keyword("or") {
            let kw = self.next;
            self.bump();
            let right = self.and_chain(Some(kw))?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `FILTER *(SP "and" SP FILTER)`, built left-associatively. `after` is the index of the
    /// token before it (for error messages).
    fn and_chain(&mut self, after: Option<usize>) -> Result<Filter, FilterError> {
        let mut left = self.unary(after)?;
        while self.peek_keyword("and") {
            let kw = self.next;
            self.bump();
            let right = self.unary(Some(kw))?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `"not" "(" FILTER ")"`, `"(" FILTER ")"`, `attrExp` or `valuePath`.
    fn unary(&mut self, after: Option<usize>) -> Result<Filter, FilterError> {
        let Some(tok) = self.peek() else {
            return Err(self.expected_filter(after));
        };
        let start = tok.start;
        match tok.tok {
            Tok::LParen => {
                self.bump();
                self.group(start)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                match self.peek_at(1).map(|t| &t.tok) {
                    Some(Tok::LParen) => {
                        let open = self.toks[self.next + 1].start;
                        self.bump();
                        self.bump();
                        Ok(Filter::Not(Box::new(self.group(open)?)))
                    }
                    // An attribute called "not".
                    Some(Tok::LBracket) => self.attr_exp(),
                    Some(Tok::Word(op))
                        if op.eq_ignore_ascii_case("pr") || compare_op(op).is_some() =>
                    {
                        self.attr_exp()
                    }
                    _ => {
                        self.bump();
                        Err(self.fail(
                            self.next_start(),
                            format!("expected \"(\" after {}", quote(w)),
                        ))
                    }
                }
            }
            Tok::Word(_) => self.attr_exp(),
            _ => Err(self.expected_filter(after)),
        }
    }

    fn expected_filter(&self, after: Option<usize>) -> FilterError {
        let found = self.describe_next();
        let msg = match after {
            Some(i) => {
                let t = &self.toks[i];
                format!(
                    "expected a filter after {}, found {found}",
                    quote(&self.src[t.start..t.end])
                )
            }
            None => format!("expected a filter, found {found}"),
        };
        self.fail(self.next_start(), msg)
    }

    /// The rest of `"(" FILTER ")"`, the `(` (at byte `open`) having been consumed.
    fn group(&mut self, open: usize) -> Result<Filter, FilterError> {
        self.enter(open)?;
        let inner = self.or_chain()?;
        self.close(Tok::RParen, open)?;
        self.leave();
        Ok(inner)
    }

    fn close(&mut self, closer: Tok<'static>, open: usize) -> Result<(), FilterError> {
        match self.peek() {
            Some(t) if t.tok == closer => {
                self.bump();
                Ok(())
            }
            _ => {
                let (c, o) = if closer == Tok::RParen {
                    (")", "(")
                } else {
                    ("]", "[")
                };
                Err(self.fail(
                    self.next_start(),
                    format!(
                        "expected \"{c}\" to close the \"{o}\" at position {}, found {}",
                        position(self.src, open),
                        self.describe_next()
                    ),
                ))
            }
        }
    }

    /// `"[" valFilter "]"`, the next token being the `[`.
    fn value_filter(&mut self) -> Result<Filter, FilterError> {
        let open = self.next_start();
        if self.in_value_filter {
            return Err(self.fail(
                open,
                "value filters cannot be nested (\"[\" inside \"[...]\")",
            ));
        }
        self.bump();
        self.enter(open)?;
        self.in_value_filter = true;
        let inner = self.or_chain()?;
        self.close(Tok::RBracket, open)?;
        self.in_value_filter = false;
        self.leave();
        Ok(inner)
    }

    /// `attrPath SP "pr"`, `attrPath SP compareOp SP compValue` or `attrPath "[" valFilter "]"`;
    /// the next token is the attribute path's word.
    fn attr_exp(&mut self) -> Result<Filter, FilterError> {
        let (word, start) = match self.peek() {
            Some(Token {
                tok: Tok::Word(w),
                start,
                ..
            }) => (*w, *start),
            _ => return Err(self.expected_filter(None)),
        };
        self.bump();
        let path = self.attr_path(word, start)?;
        let op_word = match self.peek().map(|t| &t.tok) {
            Some(Tok::LBracket) => {
                let inner = self.value_filter()?;
                return Ok(Filter::ValuePath(path, Box::new(inner)));
            }
            Some(Tok::Word(w)) => *w,
            _ => {
                return Err(self.fail(
                    self.next_start(),
                    format!("expected a comparison operator after {}", quote(word)),
                ));
            }
        };
        let op_start = self.next_start();
        if op_word.eq_ignore_ascii_case("pr") {
            self.bump();
            return Ok(Filter::Present(path));
        }
        let Some(op) = compare_op(op_word) else {
            return Err(self.fail(
                op_start,
                format!(
                    "unknown operator {} after {} (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)",
                    quote(op_word),
                    quote(word)
                ),
            ));
        };
        self.bump();
        let value = self.comp_value(op_word)?;
        Ok(Filter::Compare(path, op, value))
    }

    /// `compValue`, after the operator `op_word`.
    fn comp_value(&mut self, op_word: &str) -> Result<CompValue, FilterError> {
        let Some(t) = self.peek() else {
            return Err(self.fail(
                self.next_start(),
                format!("expected a value after {}", quote(op_word)),
            ));
        };
        let start = t.start;
        let value = match &t.tok {
            Tok::Str(s) => CompValue::Str(s.clone()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Tok::Word(w) if w.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                match serde_json::from_str::<serde_json::Number>(w) {
                    Ok(n) => CompValue::Num(n),
                    Err(_) => {
                        return Err(self.fail(start, format!("invalid number {}", quote(w))));
                    }
                }
            }
            _ => {
                return Err(self.fail(
                    start,
                    format!(
                        "expected a value (a \"string\", a number, true, false or null) after {}, found {}",
                        quote(op_word),
                        self.describe_next()
                    ),
                ));
            }
        };
        self.bump();
        Ok(value)
    }

    /// `[URN ":"] ATTRNAME ["." subAttr]`, from the word starting at byte `start`.
    fn attr_path(&self, word: &str, start: usize) -> Result<AttrPath, FilterError> {
        let invalid = |why: &str| {
            self.fail(
                start,
                format!("invalid attribute path {} ({why})", quote(word)),
            )
        };
        let is_urn = word
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        let (urn, rest) = if is_urn {
            // The URN may contain dots ("2.0"): the attribute is what follows the last colon.
            let colon = word.rfind(':').unwrap_or(3);
            let urn = &word[..colon];
            if urn.split(':').any(str::is_empty)
                || urn.len() <= 4
                || !urn.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(invalid("malformed schema URN"));
            }
            (Some(urn), &word[colon + 1..])
        } else if word.contains(':') {
            return Err(invalid("a schema URN must start with \"urn:\""));
        } else {
            (None, word)
        };
        let mut parts = rest.split('.');
        let attr = parts.next().unwrap_or_default();
        let sub_attr = parts.next();
        if parts.next().is_some() {
            return Err(invalid("more than one \".\""));
        }
        if attr.is_empty() {
            return Err(invalid("missing attribute name"));
        }
        if !is_attr_name(attr) || sub_attr.is_some_and(|s| !is_attr_name(s)) {
            return Err(invalid(
                "names start with a letter and contain only letters, digits, \"-\" and \"_\"",
            ));
        }
        Ok(AttrPath {
            urn: urn.map(str::to_string),
            attr: attr.to_string(),
            sub_attr: sub_attr.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
            let e = err(f);
            assert!(e.contains("attribute path"), "{f}: {e}");
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
        assert_eq!(
            round(r#"a eq "\\ \/ \b \f \n \r \t""#),
            eq("a", "\\ / \u{8} \u{c} \n \r \t")
        );
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
            let e = err(f);
            assert!(e.contains(want), "{f}: {e}");
        }
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
            let e = err(f);
            assert!(e.contains("expected whitespace"), "{f}: {e}");
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

    fn arb_value() -> impl Strategy<Value = CompValue> {
        prop_oneof![
            proptest::collection::vec(any::<char>(), 0..12)
                .prop_map(|c| CompValue::Str(c.into_iter().collect())),
            "[\"\\\\/a\u{e9}\u{1F600}\u{0}\n]{0,6}".prop_map(CompValue::Str),
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
        use CompareOp::*;
        proptest::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le])
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
                "\"", "\\", "\\u", "d83d", "1", "-", "1.5e3", "true", "null", "urn:x:y", ".", ":",
                "é", "😀", "\t",
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
}
