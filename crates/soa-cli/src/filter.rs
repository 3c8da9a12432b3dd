//! `--where`: a small filter language over columns, parsed up front (errors point at the
//! offending token) and evaluated on Arrow batches with SQL null semantics:
//! `amount > 100 and (status = "Shipped" or note is null)`.

use std::sync::Arc;

use soa_persist::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar, StringArray};
use soa_persist::arrow::compute::kernels::cmp;
use soa_persist::arrow::compute::{
    and_kleene, cast, filter_record_batch, is_not_null, is_null, or_kleene,
};
use soa_persist::arrow::datatypes::{DataType, Schema};

use crate::format::in_utc;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Number(String),
    Text(String),
    Op(&'static str),
    Open,
    Close,
}

/// A parsed filter.
#[derive(Debug)]
pub(crate) enum Filter {
    Cmp {
        column: String,
        op: &'static str,
        value: String,
        at: usize,
        value_at: usize,
    },
    Null {
        column: String,
        negated: bool,
        at: usize,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

const OPS: [&str; 7] = ["<=", ">=", "!=", "<>", "=", "<", ">"];

fn tokens(text: &str) -> Result<Vec<(Tok, usize)>, String> {
    let bytes = text.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if c == '(' || c == ')' {
            i += 1;
            if c == '(' { Tok::Open } else { Tok::Close }
        } else if c == '"' || c == '\'' {
            let end = text[i + 1..]
                .find(c)
                .ok_or_else(|| format!("--where: unclosed string at position {}", start + 1))?;
            i += end + 2;
            Tok::Text(text[start + 1..i - 1].to_string())
        } else if let Some(op) = OPS.iter().find(|op| text[i..].starts_with(**op)) {
            i += op.len();
            Tok::Op(op)
        } else if c.is_ascii_digit() || c == '-' || c == '.' {
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || b".-+:".contains(&bytes[i]))
            {
                i += 1;
            }
            Tok::Number(text[start..i].to_string())
        } else if c.is_alphabetic() || c == '_' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            Tok::Ident(text[start..i].to_string())
        } else {
            return Err(format!(
                "--where: unexpected `{c}` at position {}",
                start + 1
            ));
        };
        out.push((tok, start));
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn keyword(&mut self, word: &str) -> bool {
        let hit = matches!(self.toks.get(self.pos), Some((Tok::Ident(w), _)) if w.eq_ignore_ascii_case(word));
        self.pos += usize::from(hit);
        hit
    }

    fn error(&self, expected: &str) -> String {
        match self.toks.get(self.pos) {
            Some((_, at)) => {
                let token: String = self.text[*at..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(20)
                    .collect();
                format!(
                    "--where: expected {expected} at position {}, found `{token}`",
                    at + 1
                )
            }
            None => format!("--where: expected {expected} at the end"),
        }
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.atom()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Filter, String> {
        let Some((tok, at)) = self.toks.get(self.pos).cloned() else {
            return Err(self.error("a column name"));
        };
        if tok == Tok::Open {
            self.pos += 1;
            let inner = self.or()?;
            if self.toks.get(self.pos).map(|t| &t.0) != Some(&Tok::Close) {
                return Err(self.error("`)`"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        let Tok::Ident(column) = tok else {
            return Err(self.error("a column name"));
        };
        self.pos += 1;
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return Err(self.error("`null`"));
            }
            return Ok(Filter::Null {
                column,
                negated,
                at,
            });
        }
        let Some((Tok::Op(op), _)) = self.toks.get(self.pos).cloned() else {
            return Err(self.error("a comparison (= != < <= > >=) or `is null`"));
        };
        self.pos += 1;
        let (value, value_at) = match self.toks.get(self.pos).cloned() {
            Some((Tok::Number(v) | Tok::Text(v) | Tok::Ident(v), p)) => (v, p),
            _ => return Err(self.error("a value")),
        };
        self.pos += 1;
        Ok(Filter::Cmp {
            column,
            op,
            value,
            at,
            value_at,
        })
    }
}

impl Filter {
    /// Parses `text`; the error names the position and the token that did not fit.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser {
            toks: tokens(text)?,
            pos: 0,
            text,
        };
        let filter = p.or()?;
        if p.pos < p.toks.len() {
            return Err(p.error("`and`, `or` or the end"));
        }
        Ok(filter)
    }

    /// Checks that every column exists in `schema`.
    pub(crate) fn check(&self, schema: &Schema) -> Result<(), String> {
        match self {
            Filter::Cmp { column, at, .. } | Filter::Null { column, at, .. } => {
                if schema.column_with_name(column).is_none() {
                    return Err(format!(
                        "--where: no column `{column}` (position {})",
                        at + 1
                    ));
                }
                Ok(())
            }
            Filter::And(a, b) | Filter::Or(a, b) => a.check(schema).and(b.check(schema)),
        }
    }

    /// The rows of `batch` the filter keeps.
    pub(crate) fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, String> {
        let mask = self.mask(batch)?;
        filter_record_batch(batch, &mask).map_err(|e| e.to_string())
    }

    fn mask(&self, batch: &RecordBatch) -> Result<BooleanArray, String> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| format!("--where: no column `{name}`"))
        };
        let r = match self {
            Filter::And(a, b) => and_kleene(&a.mask(batch)?, &b.mask(batch)?),
            Filter::Or(a, b) => or_kleene(&a.mask(batch)?, &b.mask(batch)?),
            Filter::Null {
                column: c,
                negated: false,
                ..
            } => is_null(&column(c)?),
            Filter::Null {
                column: c,
                negated: true,
                ..
            } => is_not_null(&column(c)?),
            Filter::Cmp {
                column: c,
                op,
                value,
                value_at,
                ..
            } => return compare(&column(c)?, c, op, value, *value_at),
        };
        r.map_err(|e| e.to_string())
    }
}

fn compare(
    col: &ArrayRef,
    name: &str,
    op: &str,
    value: &str,
    at: usize,
) -> Result<BooleanArray, String> {
    // Dictionary (enum) columns compare as their text.
    let col = match col.data_type() {
        DataType::Dictionary(..) => cast(col, &DataType::Utf8).map_err(|e| e.to_string())?,
        _ => in_utc(col)?,
    };
    let bad = || {
        format!(
            "--where: `{value}` is not a {} (column `{name}`, position {})",
            col.data_type(),
            at + 1
        )
    };
    let text: ArrayRef = Arc::new(StringArray::from(vec![value]));
    let literal = cast(&text, col.data_type()).map_err(|_| bad())?;
    if literal.is_null(0) {
        return Err(bad());
    }
    let literal = Scalar::new(literal);
    let r = match op {
        "=" => cmp::eq(&col, &literal),
        "!=" | "<>" => cmp::neq(&col, &literal),
        "<" => cmp::lt(&col, &literal),
        "<=" => cmp::lt_eq(&col, &literal),
        ">" => cmp::gt(&col, &literal),
        _ => cmp::gt_eq(&col, &literal),
    };
    r.map_err(|e| e.to_string())
}
