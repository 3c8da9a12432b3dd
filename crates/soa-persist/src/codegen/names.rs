//! Rust identifiers from column, table and value names: `snake_case` fields, `PascalCase` types
//! and variants, never a keyword, unique within their scope (`#[soa(rename)]` keeps the source's
//! spelling wherever the identifier differs).

use std::collections::HashSet;

/// Every Rust keyword, strict and reserved: none can be a plain identifier.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "try",
    "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "union",
];

/// Names already taken in one scope.
#[derive(Default)]
pub(super) struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// `wanted`, or `wanted2`, `wanted3`, ... if taken; then taken.
    pub(super) fn unique(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{wanted}{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// The words of `name`: split at anything not alphanumeric and where a lower-case letter or
/// digit meets an upper-case one (`orderID` -> `order`, `ID`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A name that is a valid identifier: ASCII alphanumerics only (others become `_`), not
/// starting with a digit, not a keyword.
fn fix(mut ident: String, prefix: &str) -> String {
    ident = ident
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident = format!("{prefix}{ident}");
    }
    if KEYWORDS.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// A `snake_case` field name for column `name`.
pub(super) fn field_ident(name: &str) -> String {
    let joined = words(name)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    fix(joined, "c_")
}

/// A `PascalCase` type or variant name for `name`.
pub(super) fn type_ident(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect();
    fix(joined, "V")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_and_keep_plain_names() {
        assert_eq!(field_ident("order_id"), "order_id");
        assert_eq!(field_ident("orderID"), "order_id");
        assert_eq!(field_ident("Unit Price ($)"), "unit_price");
        assert_eq!(field_ident("type"), "type_");
        assert_eq!(field_ident("2nd"), "c_2nd");
        assert_eq!(field_ident(""), "c_");
        assert_eq!(field_ident("ünï"), "_n_");
        assert_eq!(type_ident("Pending"), "Pending");
        assert_eq!(type_ident("in progress"), "InProgress");
        assert_eq!(type_ident("order_line"), "OrderLine");
        assert_eq!(type_ident("Self"), "Self_");
        assert_eq!(type_ident(""), "V");
        assert_eq!(type_ident("1st"), "V1st");
        let mut names = Names::default();
        assert_eq!(names.unique("a"), "a");
        assert_eq!(names.unique("a"), "a2");
        assert_eq!(names.unique("a"), "a3");
    }
}
