//! The label selector string parser: upstream `labels.Lexer` and `labels.Parser`, with their error messages.

use std::collections::BTreeSet;

use super::{LabelsError, Operator, Requirement, is_qualified_name};
use crate::labels::names::go_quote;

/// Binary operators as listed by upstream in "expected: ..." messages.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// Literal tokens (upstream `string2token`).
fn literal_token(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits the input into (token, literal) pairs, ending with `EndOfString`.
fn lex(input: &str) -> Vec<(Token, String)> {
    let bytes = input.as_bytes();
    let mut pos = 0;
    let mut items = Vec::new();
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            items.push((Token::EndOfString, String::new()));
            return items;
        }
        if is_special(bytes[pos]) {
            // Longest run of special characters that still forms a token ("!=" over "!").
            let start = pos;
            let mut last: Option<(Token, usize)> = None;
            let mut end = pos;
            while end < bytes.len() && is_special(bytes[end]) {
                end += 1;
                match literal_token(&input[start..end]) {
                    Some(tok) => last = Some((tok, end)),
                    None if last.is_some() => break,
                    None => {}
                }
            }
            match last {
                Some((tok, stop)) => {
                    items.push((tok, input[start..stop].to_string()));
                    pos = stop;
                }
                None => {
                    items.push((
                        Token::Error,
                        format!("error expected: keyword found '{}'", &input[start..end]),
                    ));
                    pos = end;
                }
            }
        } else {
            let start = pos;
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let literal = &input[start..pos];
            let tok = literal_token(literal).unwrap_or(Token::Identifier);
            items.push((tok, literal.to_string()));
        }
    }
}

/// Whether `in`/`notin` are keywords (key-and-operator position) or plain values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

fn syntax(message: String) -> LabelsError {
    LabelsError::Syntax(message)
}

impl Parser {
    fn peek(&self, context: Context) -> (Token, String) {
        // `lex` always ends with EndOfString and the parser never consumes past it.
        let (tok, lit) = self
            .items
            .get(self.position)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        match (context, tok) {
            (Context::Values, Token::In | Token::NotIn) => (Token::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.peek(context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, LabelsError> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.peek(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| LabelsError::Requirement(Box::new(e)))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.peek(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(syntax(format!(
                                    "found '{l2}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(syntax(format!(
                                "found '{l}', expected: ',' or 'end of string'"
                            )));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(syntax(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, LabelsError> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = inferred {
            return Requirement::new(key, op, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        // Upstream collects values in a string set: sorted and deduplicated.
        Requirement::new(key, operator, values.into_iter().collect())
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), LabelsError> {
        let mut operator = None;
        let (mut tok, mut literal) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (tok, literal) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(syntax(format!("found '{literal}', expected: identifier")));
        }
        let errs = is_qualified_name(&literal);
        if !errs.is_empty() {
            // The parser validates with a nil field path, which Go prints as "<nil>".
            return Err(LabelsError::Invalid(vec![format!(
                "<nil>: Invalid value: {}: {}",
                go_quote(&literal),
                errs.join("; ")
            )]));
        }
        let (next, _) = self.peek(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma)
            && operator != Some(Operator::DoesNotExist)
        {
            operator = Some(Operator::Exists);
        }
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, LabelsError> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(syntax(format!(
                    "found '{lit}', expected: {BINARY_OPERATORS}"
                )));
            }
        })
    }

    fn parse_values(&mut self) -> Result<BTreeSet<String>, LabelsError> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(syntax(format!("found '{lit}' expected: '('")));
        }
        let (tok, lit) = self.peek(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let set = self.parse_identifiers_list()?;
                let (closing, _) = self.consume(Context::Values);
                if closing != Token::ClosedPar {
                    // Upstream reports the literal seen before the list, not the bad token.
                    return Err(syntax(format!("found '{lit}', expected: ')'")));
                }
                Ok(set)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(syntax(format!(
                "found '{lit}', expected: ',', ')' or identifier"
            ))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, LabelsError> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    set.insert(lit);
                    let (next, next_lit) = self.peek(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set),
                        _ => {
                            return Err(syntax(format!(
                                "found '{next_lit}', expected: ',' or ')'"
                            )));
                        }
                    }
                }
                Token::Comma => {
                    // Empty values around commas: "(,a)", "(a,)", "(a,,b)" all contain "".
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (next, _) = self.peek(Context::Values);
                    if next == Token::ClosedPar {
                        set.insert(String::new());
                        return Ok(set);
                    }
                    if next == Token::Comma {
                        set.insert(String::new());
                    }
                }
                _ => {
                    return Err(syntax(format!(
                        "found '{lit}', expected: ',', or identifier"
                    )));
                }
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, LabelsError> {
        let (tok, _) = self.peek(Context::Values);
        if matches!(tok, Token::EndOfString | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            Ok(BTreeSet::from([lit]))
        } else {
            Err(syntax(format!("found '{lit}', expected: identifier")))
        }
    }
}

/// Parses a selector string into requirements in source order (the caller sorts by key).
pub(super) fn parse(selector: &str) -> Result<Vec<Requirement>, LabelsError> {
    Parser {
        items: lex(selector),
        position: 0,
    }
    .parse()
}
