//! The parser of ClickHouse type strings (`Nullable(DateTime64(6, 'UTC'))`, `Tuple(a String)`,
//! `Enum8('it\\'s' = 1)`): recursive descent over the bytes, whitespace anywhere (servers
//! pretty-print tuples over several lines), quoted names with backslash escapes. Types this
//! codec doesn't model are an error quoting their name.

use super::chtype::ChType;

/// Parses one complete type string.
pub(super) fn parse_type(text: &str) -> Result<ChType, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    let t = p.ty().map_err(|e| format!("type `{text}`: {e}"))?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(format!("type `{text}`: unexpected text at byte {}", p.pos));
    }
    Ok(t)
}

/// A recursive-descent parser over one type string.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", c as char, self.pos))
        }
    }

    fn word(&mut self) -> String {
        self.ws();
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    fn number(&mut self) -> Result<i64, String> {
        self.ws();
        let neg = self.eat(b'-');
        let digits = self.word();
        let v: i64 = digits
            .parse()
            .map_err(|_| format!("expected a number, found `{digits}`"))?;
        Ok(if neg { -v } else { v })
    }

    /// A quoted string (`'...'`, backslash escapes) or identifier (backquotes or double quotes).
    fn quoted(&mut self, quote: u8) -> Result<String, String> {
        self.expect(quote)?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.pos).ok_or("unterminated quoted text")?;
            self.pos += 1;
            match c {
                b'\\' => {
                    let e = *self.s.get(self.pos).ok_or("unterminated escape")?;
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'0' => 0,
                        b'b' => 8,
                        b'f' => 12,
                        e => e,
                    });
                }
                c if c == quote => return String::from_utf8(out).map_err(|e| e.to_string()),
                c => out.push(c),
            }
        }
    }

    fn ty(&mut self) -> Result<ChType, String> {
        let name = self.word();
        if name.is_empty() {
            return Err(format!("expected a type name at byte {}", self.pos));
        }
        let simple = match name.as_str() {
            "Bool" | "Boolean" => Some(ChType::Bool),
            "UInt8" => Some(ChType::UInt8),
            "UInt16" => Some(ChType::UInt16),
            "UInt32" => Some(ChType::UInt32),
            "UInt64" => Some(ChType::UInt64),
            "Int8" => Some(ChType::Int8),
            "Int16" => Some(ChType::Int16),
            "Int32" => Some(ChType::Int32),
            "Int64" => Some(ChType::Int64),
            "Float32" => Some(ChType::Float32),
            "Float64" => Some(ChType::Float64),
            "String" => Some(ChType::String),
            "UUID" => Some(ChType::Uuid),
            "Date" => Some(ChType::Date),
            "Date32" => Some(ChType::Date32),
            "Nothing" => Some(ChType::Nothing),
            _ => None,
        };
        if let Some(t) = simple {
            return Ok(t);
        }
        let has_args = self.eat(b'(');
        let t = match (name.as_str(), has_args) {
            ("DateTime" | "DateTime32", false) => ChType::DateTime { tz: None },
            ("DateTime" | "DateTime32", true) => ChType::DateTime {
                tz: Some(self.quoted(b'\'')?),
            },
            ("DateTime64", true) => self.datetime64()?,
            ("FixedString", true) => ChType::FixedString(self.size()?),
            ("Decimal", true) => self.decimal()?,
            ("Decimal32" | "Decimal64" | "Decimal128", true) => {
                let precision = match name.as_str() {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    _ => 38,
                };
                let scale = self.size()?;
                decimal(precision, scale as i64)?
            }
            ("Enum8", true) => ChType::Enum8(self.enum_items()?),
            ("Enum16", true) => ChType::Enum16(self.enum_items()?),
            ("Nullable", true) => ChType::Nullable(Box::new(self.ty()?)),
            ("Array", true) => ChType::Array(Box::new(self.ty()?)),
            ("LowCardinality", true) => ChType::LowCardinality(Box::new(self.ty()?)),
            ("Tuple", true) => ChType::Tuple(self.tuple_items()?),
            _ => return Err(format!("unsupported ClickHouse type `{name}`")),
        };
        if has_args && !matches!(t, ChType::Enum8(_) | ChType::Enum16(_) | ChType::Tuple(_)) {
            self.expect(b')')?;
        }
        Ok(t)
    }

    fn size(&mut self) -> Result<usize, String> {
        let n = self.number()?;
        usize::try_from(n).map_err(|_| format!("bad size {n}"))
    }

    fn datetime64(&mut self) -> Result<ChType, String> {
        let precision = self.number()?;
        if !(0..=9).contains(&precision) {
            return Err(format!("DateTime64 precision {precision} is not in 0..=9"));
        }
        let tz = if self.eat(b',') {
            Some(self.quoted(b'\'')?)
        } else {
            None
        };
        Ok(ChType::DateTime64 {
            precision: precision as u8,
            tz,
        })
    }

    fn decimal(&mut self) -> Result<ChType, String> {
        let precision = self.number()?;
        let scale = if self.eat(b',') { self.number()? } else { 0 };
        decimal(precision, scale)
    }

    fn enum_items<V: TryFrom<i64>>(&mut self) -> Result<Vec<(String, V)>, String> {
        let mut items = Vec::new();
        loop {
            let name = self.quoted(b'\'')?;
            self.expect(b'=')?;
            let v = self.number()?;
            let v = V::try_from(v).map_err(|_| format!("enum value {v} out of range"))?;
            items.push((name, v));
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b')')?;
        Ok(items)
    }

    fn tuple_items(&mut self) -> Result<Vec<(Option<String>, ChType)>, String> {
        let mut items = Vec::new();
        loop {
            items.push(self.tuple_item()?);
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b')')?;
        Ok(items)
    }

    /// `T`, `name T`, or a quoted name then `T`.
    fn tuple_item(&mut self) -> Result<(Option<String>, ChType), String> {
        if let Some(q @ (b'`' | b'"')) = self.peek() {
            let name = self.quoted(q)?;
            return Ok((Some(name), self.ty()?));
        }
        let save = self.pos;
        let first = self.word();
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => Ok((Some(first), self.ty()?)),
            _ => {
                self.pos = save;
                Ok((None, self.ty()?))
            }
        }
    }
}

fn decimal(precision: i64, scale: i64) -> Result<ChType, String> {
    if !(1..=38).contains(&precision) || !(0..=precision).contains(&scale) {
        return Err(format!(
            "Decimal({precision}, {scale}) is not supported (precision 1..=38, scale 0..=precision)"
        ));
    }
    Ok(ChType::Decimal {
        precision: precision as u8,
        scale: scale as u8,
    })
}
