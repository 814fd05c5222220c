//! Tokens of one assembly line.
//!
//! The grammar of both syntaxes is C-like expression soup (`*(u64 *)(r10 -8) = r1`), so the lexer
//! only splits identifiers, unsigned numbers and operator symbols; signs are separate tokens and
//! the parser combines them (`s` + `>>=` is the arithmetic shift, `-` + `8` a negative offset).

use std::fmt;

/// One token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// Identifier: register, mnemonic, label, type name.
    Ident(&'a str),
    /// Unsigned number (decimal or `0x` hex), at most `u64::MAX`.
    Num(u64),
    /// Operator or punctuation.
    Sym(&'static str),
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Num(n) => write!(f, "`{n}`"),
            Tok::Sym(s) => write!(f, "`{s}`"),
        }
    }
}

/// Symbols, longest first so that the first match is the greedy one.
const SYMBOLS: [&str; 28] = [
    "<<=", ">>=", "==", "!=", ">=", "<=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", ">", "<", "=", "&",
    "+", "-", "*", "(", ")", "[", "]", ",", ":", "#",
];

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '$')
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')
}

/// Parses the digits of one number token (`0x1f`, `42`).
fn number(text: &str) -> Result<u64, String> {
    let bad = || format!("invalid number `{text}`");
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    u64::from_str_radix(digits, radix).map_err(|_| format!("number `{text}` does not fit in 64 bits"))
}

/// Splits a comment-free line into tokens.
pub(super) fn lex(line: &str) -> Result<Vec<Tok<'_>>, String> {
    let mut toks = Vec::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = |pred: fn(char) -> bool| rest.find(|ch: char| !pred(ch)).unwrap_or(rest.len());
        if ident_start(c) {
            let n = end(ident_char);
            toks.push(Tok::Ident(&rest[..n]));
            rest = &rest[n..];
        } else if c.is_ascii_digit() {
            let n = end(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            toks.push(Tok::Num(number(&rest[..n])?));
            rest = &rest[n..];
        } else if let Some(s) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            toks.push(Tok::Sym(s));
            rest = &rest[s.len()..];
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_kernel_and_llvm_forms() {
        use Tok::*;
        assert_eq!(
            lex("*(u64 *)(r10 -8) = r1").unwrap(),
            vec![
                Sym("*"),
                Sym("("),
                Ident("u64"),
                Sym("*"),
                Sym(")"),
                Sym("("),
                Ident("r10"),
                Sym("-"),
                Num(8),
                Sym(")"),
                Sym("="),
                Ident("r1")
            ]
        );
        assert_eq!(lex("r1 s>>= 0x1f").unwrap(), vec![Ident("r1"), Ident("s"), Sym(">>="), Num(31)]);
        assert_eq!(
            lex("call bpf_map_lookup_elem#1").unwrap(),
            vec![Ident("call"), Ident("bpf_map_lookup_elem"), Sym("#"), Num(1)]
        );
        assert!(lex("r1 = 12abc").is_err());
        assert!(lex("r1 = 0x").is_err());
        assert!(lex("r1 = 99999999999999999999").is_err());
        assert!(lex("r1 = @").is_err());
        assert!(lex("r1 = é").is_err());
    }
}
