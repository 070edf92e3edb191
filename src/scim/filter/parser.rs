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
use crate::text::Class;

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
pub(super) fn parse_filter_unlimited(input: &str) -> Result<Filter, FilterError> {
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

/// The tokens of one character.
const PUNCTUATION: [(u8, Tok<'static>); 4] = [
    (b'(', Tok::LParen),
    (b')', Tok::RParen),
    (b'[', Tok::LBracket),
    (b']', Tok::RBracket),
];

fn is_word_end(b: u8) -> bool {
    is_space(b) || b == b'"' || PUNCTUATION.iter().any(|(c, _)| *c == b)
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
        let tok = if let Some((_, punctuation)) = PUNCTUATION.iter().find(|(c, _)| *c == b) {
            i += 1;
            punctuation.clone()
        } else if b == b'"' {
            let (s, end) = lex_string(src, start)?;
            i = end;
            Tok::Str(s)
        } else {
            while i < bytes.len() && !is_word_end(bytes[i]) {
                i += 1;
            }
            Tok::Word(&src[start..i])
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
            '"' if Class::Identity.admits_all(&out) => return Ok((out, i + 1)),
            '"' => {
                return Err(err_at(
                    src,
                    start,
                    "a string may hold letters, marks, symbols, numbers, punctuation and spaces only: the string starting",
                ));
            }
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
    CompareOp::ALL
        .into_iter()
        .find(|op| word.eq_ignore_ascii_case(op.as_str()))
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
        self.chain(None, "or", Self::and_chain, Filter::Or)
    }

    /// `FILTER *(SP "and" SP FILTER)`, built left-associatively. `after` is the index of the
    /// token before it (for error messages).
    fn and_chain(&mut self, after: Option<usize>) -> Result<Filter, FilterError> {
        self.chain(after, "and", Self::unary, Filter::And)
    }

    /// `operand *(SP keyword SP operand)`, joined left-associatively with `join`, in a loop.
    fn chain(
        &mut self,
        after: Option<usize>,
        keyword: &str,
        operand: fn(&mut Self, Option<usize>) -> Result<Filter, FilterError>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Filter, FilterError> {
        let mut left = operand(self, after)?;
        while self.peek_keyword(keyword) {
            let kw = self.next;
            self.bump();
            let right = operand(self, Some(kw))?;
            left = join(Box::new(left), Box::new(right));
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
