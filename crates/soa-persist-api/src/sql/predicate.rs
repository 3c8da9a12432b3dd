//! Typed predicates as SQL: the `Expr` tree becomes a `WHERE` clause whose every value is a
//! bound parameter, written in the dialect's placeholders.

use std::sync::Arc;

use soa_persist_core::arrow::array::StringArray;
use soa_persist_core::arrow::datatypes::{DataType, Field, Schema};
use soa_persist_core::query::{Expr, Literal};

use super::{Dialect, Param};
use crate::PersistError;
use crate::exec::resolve_field;

/// A `WHERE` clause (without the keyword) and its parameters, in placeholder order.
#[derive(Debug, Default)]
pub struct WhereClause {
    /// The condition, with one placeholder per parameter.
    pub sql: String,
    /// The parameters, in the order of their placeholders.
    pub params: Vec<Param>,
}

/// The `WHERE` clause of `expr` over `table` with `schema`, or a `SchemaMismatch` naming a
/// predicate column the table lacks.
pub fn where_clause<D: Dialect + ?Sized>(
    dialect: &D,
    expr: &Expr,
    schema: &Schema,
    table: &str,
) -> Result<WhereClause, PersistError> {
    let mut out = WhereClause::default();
    let mut writer = Writer {
        dialect,
        schema,
        table,
        params: &mut out.params,
    };
    out.sql = writer.render(expr)?;
    Ok(out)
}

struct Writer<'a, D: ?Sized> {
    dialect: &'a D,
    schema: &'a Schema,
    table: &'a str,
    params: &'a mut Vec<Param>,
}

impl<D: Dialect + ?Sized> Writer<'_, D> {
    /// The column's SQL (qualified by the table for nested paths, which an engine would
    /// otherwise read as `table.column`) and its Arrow field.
    fn column(&self, path: &[&'static str]) -> Result<(String, Field), PersistError> {
        let field =
            resolve_field(self.schema, path).ok_or_else(|| PersistError::SchemaMismatch {
                backend: self.dialect.backend(),
                detail: format!("predicate column `{}` is not in the table", path.join(".")),
            })?;
        let sql = match path {
            [one] => self.dialect.quote_ident(one),
            _ => self.dialect.nested_column(self.table, path),
        };
        Ok((sql, field.clone()))
    }

    fn bind(&mut self, literal: &Literal, field: &Field) -> Result<String, PersistError> {
        self.push(Param {
            value: Arc::clone(literal.array()),
            column: Arc::new(field.clone()),
        })
    }

    fn bind_text(&mut self, text: &str) -> Result<String, PersistError> {
        self.push(Param {
            value: Arc::new(StringArray::from(vec![text])),
            column: Arc::new(Field::new("text", DataType::Utf8, false)),
        })
    }

    fn push(&mut self, param: Param) -> Result<String, PersistError> {
        let placeholder = self.dialect.placeholder(self.params.len(), &param)?;
        self.params.push(param);
        Ok(placeholder)
    }

    fn render(&mut self, expr: &Expr) -> Result<String, PersistError> {
        Ok(match expr {
            Expr::True => self.dialect.boolean(true).into(),
            Expr::Compare { column, op, value } => {
                let (col, field) = self.column(column)?;
                let value = self.bind(value, &field)?;
                self.dialect.compare(&col, *op, &value, &field)
            }
            Expr::Between { column, low, high } => {
                let (col, field) = self.column(column)?;
                let low = self.bind(low, &field)?;
                let high = self.bind(high, &field)?;
                format!("{col} BETWEEN {low} AND {high}")
            }
            Expr::In { column, values } => {
                let (col, field) = self.column(column)?;
                if values.is_empty() {
                    return Ok(self.dialect.boolean(false).into());
                }
                let list = values
                    .iter()
                    .map(|v| self.bind(v, &field))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{col} IN ({})", list.join(", "))
            }
            Expr::IsNull(c) => format!("{} IS NULL", self.column(c)?.0),
            Expr::IsNotNull(c) => format!("{} IS NOT NULL", self.column(c)?.0),
            Expr::StartsWith { column, prefix } => {
                let (col, _) = self.column(column)?;
                let p = self.bind_text(prefix)?;
                self.dialect.starts_with(&col, &p)
            }
            Expr::Contains { column, needle } => {
                let (col, _) = self.column(column)?;
                let p = self.bind_text(needle)?;
                self.dialect.contains(&col, &p)
            }
            Expr::And(a, b) => format!("({} AND {})", self.render(a)?, self.render(b)?),
            Expr::Or(a, b) => format!("({} OR {})", self.render(a)?, self.render(b)?),
            Expr::Not(a) => format!("(NOT {})", self.render(a)?),
        })
    }
}
