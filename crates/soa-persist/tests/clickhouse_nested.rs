//! Predicates on `#[soa(nested)]` fields on ClickHouse (a nested struct is an unnamed `Tuple`,
//! its fields reached by position): comparisons, `IN`, null tests, string matching, two
//! levels deep, negated and combined, in `count`, `query`, `scan` and `delete`, on one server
//! and on a two-shard cluster. Each answer is checked against the reference evaluation of the
//! same predicate over the same rows in memory.
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

mod clickhouse;
mod tools;

use clickhouse::{CLUSTER, Cluster, Server, fresh_database};
use futures::TryStreamExt;
use soa_persist::backends::clickhouse::ClickHousePersistence;
use soa_persist::prelude::*;

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Geo {
    pub lat: f64,
    pub label: Option<String>,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Dest {
    pub city: String,
    pub zip: Option<u32>,
    #[soa(nested)]
    pub geo: Geo,
}

#[derive(SoA, Clone, Debug, PartialEq)]
pub struct Shipment {
    #[soa(key)]
    pub id: u64,
    pub weight: f64,
    #[soa(nested)]
    pub dest: Dest,
}

const CITIES: [&str; 5] = ["Zürich", "Basel", "it's", "", "Bern"];

fn shipments(n: u64) -> Vec<Shipment> {
    (0..n)
        .map(|id| Shipment {
            id,
            weight: id as f64 / 4.0,
            dest: Dest {
                city: CITIES[(id % 5) as usize].to_string(),
                zip: (id % 3 != 0).then_some((id * 7 % 100) as u32),
                geo: Geo {
                    lat: if id % 11 == 0 {
                        f64::NAN
                    } else {
                        (id % 90) as f64 - 45.0
                    },
                    label: (id % 4 != 0).then(|| format!("label {}", id % 6)),
                },
            },
        })
        .collect()
}

/// The predicates checked, each with its name for failure messages.
fn predicates() -> Vec<Predicate<Shipment>> {
    let d = || Shipment::fields().dest;
    vec![
        d().city.eq("Zürich"),
        d().city.eq("it's"),
        d().city.ne(""),
        d().city.is_in(["Basel", "Bern"]),
        d().city.starts_with("B"),
        d().city.contains("ü"),
        d().zip.gt(50u32),
        d().zip.le(10u32),
        d().zip.is_null(),
        d().zip.is_not_null(),
        d().zip.between(20u32, 40u32),
        d().geo.lat.lt(0.0),
        d().geo.lat.eq(f64::NAN),
        d().geo.lat.ge(10.0),
        d().geo.label.eq("label 3"),
        d().geo.label.is_null(),
        d().geo.label.starts_with("label 1"),
        d().city.eq("Basel").and(d().zip.gt(30u32)),
        d().city.eq("Bern").or(d().geo.lat.gt(40.0)),
        d().zip.gt(50u32).not(),
        d().geo
            .label
            .is_null()
            .not()
            .and(Shipment::fields().id.lt(100u64)),
    ]
}

async fn check(p: &ClickHousePersistence<Shipment>) {
    let rows = shipments(600);
    let all: ShipmentSoA = rows.iter().cloned().collect();
    p.save(all.clone()).await.expect("save");
    let batch = all.to_record_batch().expect("batch");
    for predicate in predicates() {
        let want = predicate.filter(&batch).expect("reference");
        let want_ids: Vec<u64> = ShipmentSoA::from_record_batch(&want).unwrap().id;
        assert!(
            !want_ids.is_empty() && want_ids.len() < rows.len(),
            "{predicate} selects some rows, not all"
        );
        let count = p.count(&predicate).await.expect("count");
        assert_eq!(count, want_ids.len() as u64, "count {predicate}");
        let got = p.query(&predicate).await.expect("query");
        let mut order: Vec<usize> = (0..got.len()).collect();
        order.sort_by_key(|&i| got.id[i]);
        let got: Vec<Shipment> = order.iter().map(|&i| got.row(i).unwrap()).collect();
        let want_rows: Vec<Shipment> = want_ids
            .iter()
            .map(|&id| rows[id as usize].clone())
            .collect();
        assert_eq!(
            format!("{got:?}"),
            format!("{want_rows:?}"),
            "query {predicate}"
        );
        let projected: Vec<_> = p
            .scan(Scan::filter(predicate.clone()).project(["id"]))
            .await
            .expect("scan")
            .try_collect()
            .await
            .expect("scan rows");
        let scanned: usize = projected.iter().map(|b| b.num_rows()).sum();
        assert_eq!(scanned, want_ids.len(), "scan {predicate}");
    }
    // A delete by a nested field removes exactly the rows it matches.
    let gone = Shipment::fields().dest.geo.label.eq("label 5");
    let want_gone = gone.count(&batch).expect("reference") as u64;
    assert!(want_gone > 0);
    p.delete(&gone).await.expect("delete");
    assert_eq!(p.count(&gone).await.unwrap(), 0);
    assert_eq!(
        p.count(&Predicate::all()).await.unwrap(),
        rows.len() as u64 - want_gone
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_field_predicates_select_the_same_rows_as_the_reference() {
    let Some(server) = Server::start() else {
        return;
    };
    let client = fresh_database(&server.client().await, "nested").await;
    let p = ClickHousePersistence::<Shipment>::open(client, None)
        .await
        .expect("open");
    check(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_field_predicates_on_a_cluster() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let shards = cluster.fresh_databases("nested").await;
    let p = ClickHousePersistence::<Shipment>::cluster(shards, CLUSTER, None)
        .await
        .expect("cluster");
    check(&p).await;
}
