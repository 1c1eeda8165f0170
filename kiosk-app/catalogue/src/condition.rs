//! The condition language for `visible_if`.
//!
//! ```text
//! condition := or
//! or        := and ("or" and)*
//! and       := unary ("and" unary)*
//! unary     := "not" unary | primary
//! primary   := "(" condition ")"
//!            | "is_empty" "(" field ")"
//!            | field "=" literal
//!            | field "!=" literal
//!            | field "in" "[" literal ("," literal)* "]"
//! literal   := "text in double quotes" | true | false | integer
//! field     := [a-z][a-z0-9_]*
//! ```
//!
//! Example: `reason = "other" or (dogs_count in ["2", "3"] and not is_empty(phone))`.
//! A hidden field counts as empty, so conditions never see stale answers.

use std::fmt;

use serde::Serialize;

use crate::FieldValue;

/// A parsed `visible_if` condition.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(into = "String")]
pub struct Condition {
    source: String,
    expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Equals(String, Literal),
    NotEquals(String, Literal),
    In(String, Vec<Literal>),
    IsEmpty(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A constant in a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `"text"`
    Text(String),
    /// `true` / `false`
    Bool(bool),
    /// `42`
    Integer(i64),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => write!(f, "\"{t}\""),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Integer(i) => write!(f, "{i}"),
        }
    }
}

/// Where answers come from when a condition is evaluated.
pub trait Answers {
    /// The current value of the field `id`, or `None` when unanswered or hidden.
    fn value(&self, id: &str) -> Option<&FieldValue>;
}

/// Why a condition could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("condition `{condition}`: {problem} at character {position}")]
pub struct ConditionError {
    /// The condition text.
    pub condition: String,
    /// What is wrong.
    pub problem: String,
    /// 1-based character position.
    pub position: usize,
}

impl Condition {
    /// Parses a condition.
    pub fn parse(source: &str) -> Result<Self, ConditionError> {
        let tokens = tokenize(source)?;
        let mut parser = Parser {
            source,
            tokens,
            at: 0,
        };
        let expr = parser.or()?;
        if let Some((_, position)) = parser.tokens.get(parser.at) {
            return Err(parser.error("unexpected text after the condition", *position));
        }
        Ok(Self {
            source: source.to_owned(),
            expr,
        })
    }

    /// The condition as written in the catalogue.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every `(field, literal)` pair compared in the condition, and every field
    /// named by `is_empty`, for the catalogue checker.
    pub fn references(&self) -> Vec<(&str, Option<&Literal>)> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<(&'a str, Option<&'a Literal>)>) {
            match e {
                Expr::Equals(f, l) | Expr::NotEquals(f, l) => out.push((f, Some(l))),
                Expr::In(f, ls) => {
                    if ls.is_empty() {
                        out.push((f, None));
                    }
                    out.extend(ls.iter().map(|l| (f.as_str(), Some(l))));
                }
                Expr::IsEmpty(f) => out.push((f, None)),
                Expr::Not(e) => walk(e, out),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// Evaluates the condition against the current answers.
    pub fn holds(&self, answers: &dyn Answers) -> bool {
        eval(&self.expr, answers)
    }
}

impl From<Condition> for String {
    fn from(c: Condition) -> String {
        c.source
    }
}

fn eval(expr: &Expr, answers: &dyn Answers) -> bool {
    match expr {
        Expr::Equals(field, literal) => matches(answers.value(field), literal),
        Expr::NotEquals(field, literal) => !matches(answers.value(field), literal),
        Expr::In(field, literals) => literals.iter().any(|l| matches(answers.value(field), l)),
        Expr::IsEmpty(field) => answers.value(field).is_none_or(FieldValue::is_empty),
        Expr::Not(e) => !eval(e, answers),
        Expr::And(a, b) => eval(a, answers) && eval(b, answers),
        Expr::Or(a, b) => eval(a, answers) || eval(b, answers),
    }
}

/// Whether a value equals a literal. A multiple choice "equals" a value when
/// that option is among the chosen ones.
fn matches(value: Option<&FieldValue>, literal: &Literal) -> bool {
    match (value, literal) {
        (None, Literal::Bool(false)) => true,
        (None, _) => false,
        (Some(FieldValue::Checked(c)), Literal::Bool(b)) => c == b,
        (Some(FieldValue::Choice(v) | FieldValue::Text(v)), Literal::Text(t)) => v.trim() == t,
        (Some(FieldValue::Choices(vs)), Literal::Text(t)) => vs.iter().any(|v| v == t),
        (Some(FieldValue::Text(v) | FieldValue::Choice(v)), Literal::Integer(i)) => {
            v.trim().parse::<i64>().ok() == Some(*i)
        }
        (Some(FieldValue::Group(items)), Literal::Integer(i)) => items.len() as i64 == *i,
        _ => false,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Integer(i64),
    Equals,
    NotEquals,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

fn tokenize(source: &str) -> Result<Vec<(Token, usize)>, ConditionError> {
    let error = |problem: &str, position: usize| ConditionError {
        condition: source.to_owned(),
        problem: problem.to_owned(),
        position,
    };
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let position = i + 1;
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' | ')' | '[' | ']' | ',' | '=' => {
                tokens.push((
                    match c {
                        '(' => Token::LParen,
                        ')' => Token::RParen,
                        '[' => Token::LBracket,
                        ']' => Token::RBracket,
                        ',' => Token::Comma,
                        _ => Token::Equals,
                    },
                    position,
                ));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push((Token::NotEquals, position));
                i += 2;
            }
            '"' => {
                let start = i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or_else(|| error("text is missing its closing '\"'", position))?;
                tokens.push((
                    Token::Text(chars[start..start + end].iter().collect()),
                    position,
                ));
                i = start + end + 1;
            }
            '-' | '0'..='9' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse()
                    .map_err(|_| error("not a whole number", position))?;
                tokens.push((Token::Integer(n), position));
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push((Token::Ident(chars[start..i].iter().collect()), position));
            }
            other => return Err(error(&format!("unexpected character '{other}'"), position)),
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<(Token, usize)>,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, problem: &str, position: usize) -> ConditionError {
        ConditionError {
            condition: self.source.to_owned(),
            problem: problem.to_owned(),
            position,
        }
    }

    fn end_position(&self) -> usize {
        self.source.chars().count() + 1
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(k)) if k == keyword)
    }

    fn next(&mut self, expected: &str) -> Result<(Token, usize), ConditionError> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| self.error(&format!("expected {expected}"), self.end_position()))?;
        self.at += 1;
        Ok(token)
    }

    fn expect(&mut self, wanted: Token, expected: &str) -> Result<(), ConditionError> {
        let (token, position) = self.next(expected)?;
        if token == wanted {
            Ok(())
        } else {
            Err(self.error(&format!("expected {expected}"), position))
        }
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.peek_keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        let (token, position) = self.next("a field name, 'not', 'is_empty(' or '('")?;
        match token {
            Token::LParen => {
                let inner = self.or()?;
                self.expect(Token::RParen, "')'")?;
                Ok(inner)
            }
            Token::Ident(name) if name == "is_empty" => {
                self.expect(Token::LParen, "'(' after is_empty")?;
                let field = self.field_name()?;
                self.expect(Token::RParen, "')'")?;
                Ok(Expr::IsEmpty(field))
            }
            Token::Ident(name) if is_keyword(&name) => Err(self.error(
                &format!("'{name}' cannot start a comparison; expected a field name"),
                position,
            )),
            Token::Ident(field) => {
                check_field_name(&field).map_err(|p| self.error(&p, position))?;
                let (op, op_position) = self.next("'=', '!=' or 'in' after the field name")?;
                match op {
                    Token::Equals => Ok(Expr::Equals(field, self.literal()?)),
                    Token::NotEquals => Ok(Expr::NotEquals(field, self.literal()?)),
                    Token::Ident(k) if k == "in" => {
                        self.expect(Token::LBracket, "'[' after 'in'")?;
                        let mut literals = vec![self.literal()?];
                        loop {
                            let (t, p) = self.next("',' or ']'")?;
                            match t {
                                Token::Comma => literals.push(self.literal()?),
                                Token::RBracket => break,
                                _ => return Err(self.error("expected ',' or ']'", p)),
                            }
                        }
                        Ok(Expr::In(field, literals))
                    }
                    _ => Err(self.error(
                        "expected '=', '!=' or 'in' after the field name",
                        op_position,
                    )),
                }
            }
            _ => Err(self.error("expected a field name, 'not', 'is_empty(' or '('", position)),
        }
    }

    fn field_name(&mut self) -> Result<String, ConditionError> {
        let (token, position) = self.next("a field name")?;
        match token {
            Token::Ident(name) if !is_keyword(&name) => {
                check_field_name(&name).map_err(|p| self.error(&p, position))?;
                Ok(name)
            }
            _ => Err(self.error("expected a field name", position)),
        }
    }

    fn literal(&mut self) -> Result<Literal, ConditionError> {
        let (token, position) = self.next("a value: \"text\", a number, true or false")?;
        match token {
            Token::Text(t) => Ok(Literal::Text(t)),
            Token::Integer(i) => Ok(Literal::Integer(i)),
            Token::Ident(k) if k == "true" => Ok(Literal::Bool(true)),
            Token::Ident(k) if k == "false" => Ok(Literal::Bool(false)),
            Token::Ident(k) => Err(self.error(
                &format!("expected a value; put text in double quotes: \"{k}\""),
                position,
            )),
            _ => Err(self.error(
                "expected a value: \"text\", a number, true or false",
                position,
            )),
        }
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "and" | "or" | "not" | "in" | "true" | "false" | "is_empty"
    )
}

/// Field and page ids: a lower-case letter, then lower-case letters, digits and `_`.
pub(crate) fn check_field_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if first_ok && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid id: use lower-case letters, digits and '_', starting with a letter"
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Map(HashMap<&'static str, FieldValue>);
    impl Answers for Map {
        fn value(&self, id: &str) -> Option<&FieldValue> {
            self.0.get(id)
        }
    }

    fn answers(pairs: &[(&'static str, FieldValue)]) -> Map {
        Map(pairs.iter().cloned().collect())
    }

    fn holds(source: &str, a: &Map) -> bool {
        Condition::parse(source).unwrap().holds(a)
    }

    #[test]
    fn equals_in_not_and_or_and_is_empty_evaluate() {
        let a = answers(&[
            ("reason", FieldValue::Choice("other".into())),
            (
                "items",
                FieldValue::Choices(vec!["fridge".into(), "sofa".into()]),
            ),
            ("phone", FieldValue::Text(String::new())),
            ("agreed", FieldValue::Checked(true)),
            ("count", FieldValue::Text("3".into())),
        ]);
        assert!(holds(r#"reason = "other""#, &a));
        assert!(!holds(r#"reason != "other""#, &a));
        assert!(holds(r#"items = "fridge""#, &a));
        assert!(holds(r#"reason in ["lost", "other"]"#, &a));
        assert!(!holds(r#"reason in ["lost"]"#, &a));
        assert!(holds("is_empty(phone)", &a));
        assert!(holds("is_empty(unknown)", &a));
        assert!(!holds("not is_empty(phone)", &a));
        assert!(holds("agreed = true and count = 3", &a));
        assert!(holds(r#"agreed = false or reason = "other""#, &a));
        assert!(!holds(
            r#"agreed = false or (reason = "lost" and agreed = true)"#,
            &a
        ));
        assert!(holds("missing = false", &a));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let a = answers(&[("x", FieldValue::Choice("1".into()))]);
        // x = "1" or (x = "2" and x = "3")
        assert!(holds(r#"x = "1" or x = "2" and x = "3""#, &a));
        assert!(!holds(r#"(x = "1" or x = "2") and x = "3""#, &a));
    }

    #[test]
    fn errors_name_the_problem_and_position() {
        let e = Condition::parse("reason = other").unwrap_err();
        assert_eq!(e.position, 10);
        assert!(e.problem.contains("double quotes"), "{e}");
        let e = Condition::parse(r#"reason = "x"#).unwrap_err();
        assert!(e.problem.contains("closing"), "{e}");
        let e = Condition::parse("reason =").unwrap_err();
        assert!(e.problem.contains("expected a value"), "{e}");
        let e = Condition::parse(r#"reason = "a" "b""#).unwrap_err();
        assert!(e.problem.contains("after the condition"), "{e}");
        let e = Condition::parse(r#"Reason = "a""#).unwrap_err();
        assert!(e.problem.contains("not a valid id"), "{e}");
        assert!(Condition::parse("").is_err());
        assert!(Condition::parse("a in []").is_err());
    }

    #[test]
    fn references_lists_fields_and_literals() {
        let c = Condition::parse(r#"a = "x" or not is_empty(b) and c in [1, 2]"#).unwrap();
        let refs: Vec<_> = c.references().into_iter().map(|(f, _)| f).collect();
        assert_eq!(refs, vec!["a", "b", "c", "c"]);
    }
}
