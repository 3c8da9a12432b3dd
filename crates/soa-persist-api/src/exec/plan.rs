//! What of a `Scan` is left to do in Rust once a backend has done its part: the predicate
//! split into what the backend applied exactly (a WHERE clause, a partition it picked) and
//! what remains to be evaluated with Arrow kernels, then projection and batch size.

use futures::StreamExt;
use soa_persist_core::arrow::array::RecordBatch;
use soa_persist_core::query::{Expr, eval, project};

use super::chunk::split_rows;
use crate::error::PersistError;
use crate::scan::{BatchStream, Scan};

/// A scan as executed over batches: `remaining` is evaluated here, `applied` was done by the
/// backend (kept for its own use, e.g. to build its query).
#[derive(Clone, Debug)]
pub struct ScanPlan {
    /// Conjuncts the backend evaluates exactly itself.
    pub applied: Expr,
    /// Conjuncts evaluated here, on every batch the backend hands over.
    pub remaining: Expr,
    /// Only these top-level columns, in this order (all when `None`).
    pub projection: Option<Vec<String>>,
    /// At most this many rows per batch (as the backend produces them when `None`).
    pub batch_size: Option<usize>,
}

impl ScanPlan {
    /// Nothing pushed down: the whole predicate remains. Pruning that only skips data that
    /// can't match (statistics, partition folders) is not exact, so it pushes nothing down.
    pub fn new<T>(scan: Scan<T>) -> Self {
        Self::split(scan, |_| false)
    }

    /// The predicate's top-level conjuncts (`a AND b AND ...`) for which `exact` holds are
    /// applied by the backend; the others remain.
    pub fn split<T>(scan: Scan<T>, exact: impl Fn(&Expr) -> bool) -> Self {
        let mut conjuncts = Vec::new();
        conjuncts_of(scan.predicate.expr(), &mut conjuncts);
        let (applied, remaining): (Vec<&Expr>, Vec<&Expr>) =
            conjuncts.into_iter().partition(|e| exact(e));
        Self {
            applied: and_all(applied),
            remaining: and_all(remaining),
            projection: scan.projection,
            batch_size: scan.batch_size,
        }
    }

    /// The top-level columns a reader must produce: the projection and what the remaining
    /// predicate reads (`None`: every column).
    pub fn columns(&self) -> Option<Vec<String>> {
        let mut columns = self.projection.clone()?;
        for path in self.remaining.columns() {
            if let Some(first) = path.first()
                && !columns.iter().any(|c| c == first)
            {
                columns.push(first.to_string());
            }
        }
        Some(columns)
    }

    /// One batch through the plan: cut to the batch size, filtered by the remaining predicate,
    /// projected; batches left empty are dropped.
    pub fn apply(&self, batch: RecordBatch) -> Result<Vec<RecordBatch>, PersistError> {
        let mut out = Vec::new();
        // Cut first: each step then holds at most `batch_size` rows, however large the input.
        for part in split_rows(batch, self.batch_size) {
            let part = eval::filter(&self.remaining, &part)?;
            if part.num_rows() == 0 {
                continue;
            }
            out.push(match &self.projection {
                Some(columns) => project(&part, columns)?,
                None => part,
            });
        }
        Ok(out)
    }

    /// Batches through the plan, lazily.
    pub fn apply_iter(
        self,
        batches: impl IntoIterator<Item = RecordBatch>,
    ) -> impl Iterator<Item = Result<RecordBatch, PersistError>> {
        batches
            .into_iter()
            .flat_map(move |batch| match self.apply(batch) {
                Ok(parts) => parts.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            })
    }

    /// A stream through the plan, lazily.
    pub fn apply_stream(self, stream: BatchStream) -> BatchStream {
        let stream = stream
            .map(move |batch| {
                let parts = batch.and_then(|b| self.apply(b));
                futures::stream::iter(match parts {
                    Ok(parts) => parts.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            })
            .flatten();
        Box::pin(stream)
    }
}

fn conjuncts_of<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::And(a, b) => {
            conjuncts_of(a, out);
            conjuncts_of(b, out);
        }
        Expr::True => {}
        other => out.push(other),
    }
}

fn and_all(conjuncts: Vec<&Expr>) -> Expr {
    conjuncts
        .into_iter()
        .cloned()
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
        .unwrap_or(Expr::True)
}

#[cfg(test)]
mod tests {
    use super::*;
    use soa_persist_core::arrow::array::{Int64Array, StringArray};
    use soa_persist_core::soa::SoA;
    use soa_persist_macros::SoA;

    #[derive(SoA, Clone, Debug, PartialEq)]
    #[soa(crate = "crate")]
    struct Row {
        id: i64,
        tag: String,
    }

    fn batch(n: i64) -> RecordBatch {
        let ids: Vec<i64> = (0..n).collect();
        let tags: Vec<String> = ids.iter().map(|i| format!("t{}", i % 3)).collect();
        RecordBatch::try_from_iter([
            ("id", std::sync::Arc::new(Int64Array::from(ids)) as _),
            ("tag", std::sync::Arc::new(StringArray::from(tags)) as _),
        ])
        .unwrap()
    }

    #[test]
    fn the_exact_conjuncts_are_applied_the_rest_remains() {
        let f = || Row::fields();
        let scan = Scan::filter(f().id.gt(2i64).and(f().tag.eq("t1")).and(f().id.lt(9i64)));
        let plan = ScanPlan::split(
            scan,
            |e| matches!(e, Expr::Compare { column, .. } if column == &["tag"]),
        );
        assert_eq!(plan.applied.to_string(), "tag = \"t1\"");
        assert_eq!(plan.remaining.to_string(), "(id > 2 AND id < 9)");
        let all = ScanPlan::new(Scan::<Row>::all());
        assert!(matches!(all.remaining, Expr::True) && matches!(all.applied, Expr::True));
    }

    #[test]
    fn batches_are_cut_filtered_and_projected() {
        let f = Row::fields();
        let plan = ScanPlan::new(Scan::filter(f.id.ge(5i64)).project(["tag"]).batch_size(4));
        assert_eq!(
            plan.columns(),
            Some(vec!["tag".to_string(), "id".to_string()])
        );
        let out: Vec<RecordBatch> = plan
            .apply_iter([batch(12), batch(3)])
            .collect::<Result<_, _>>()
            .unwrap();
        // Slices 0..4 (no match: dropped), 4..8 (3 rows), 8..12 (4 rows); the 3-row batch has none.
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [3, 4]);
        assert!(out.iter().all(|b| b.num_columns() == 1));
    }
}
