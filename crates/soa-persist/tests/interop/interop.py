"""Cross-checks Parquet with the tools people read it with.

usage: interop.py TOOL OURS_DIR OUT_DIR ROWS
  - reads the soa-persist dataset OURS_DIR with TOOL (pyarrow | polars | duckdb | spark) and
    prints a JSON summary of what it saw;
  - writes ROWS generated rows with TOOL into OUT_DIR, for soa-persist to load.
The generator must match `interop_row` in parquet_interop.rs.
"""
import datetime as dt
import glob
import json
import math
import os
import sys

STATUSES = ["Pending", "Shipped", "Delivered", "Returned"]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def rows(n):
    for i in range(n):
        yield {
            "id": i,
            "customer": f"c{i % 17}",
            "amount": i * 0.25,
            "status": STATUSES[i % 4],
            "placed_at": EPOCH + dt.timedelta(microseconds=1_700_000_000_000_000 + i * 1_000_001),
            "note": None if i % 3 == 0 else f"n{i}",
            "qty": None if i % 5 == 0 else i % 11 - 3,
        }


def micros(value):
    if value is None:
        return None
    if isinstance(value, (int,)):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def summary(records):
    records = list(records)
    per_status = {}
    for r in records:
        per_status[str(r["status"])] = per_status.get(str(r["status"]), 0) + 1
    amounts = [r["amount"] for r in records if r["amount"] is not None and not math.isnan(r["amount"])]
    times = [micros(r["placed_at"]) for r in records]
    return {
        "rows": len(records),
        "sum_id": sum(int(r["id"]) for r in records),
        "sum_amount": round(sum(amounts), 6),
        "null_notes": sum(1 for r in records if r["note"] is None),
        "sum_qty": sum(int(r["qty"]) for r in records if r["qty"] is not None),
        "per_status": per_status,
        "min_micros": min(times) if times else None,
        "max_micros": max(times) if times else None,
    }


def with_pyarrow(ours, out, n):
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    table = ds.dataset(ours, format="parquet", partitioning="hive").to_table()
    seen = summary(table.to_pylist())
    data = list(rows(n))
    schema = pa.schema([
        ("id", pa.uint64()), ("customer", pa.string()), ("amount", pa.float64()), ("status", pa.string()),
        ("placed_at", pa.timestamp("us", tz="UTC")), ("note", pa.string()), ("qty", pa.int32()),
    ])
    pq.write_to_dataset(pa.Table.from_pylist(data, schema=schema), out, partition_cols=["status"])
    return seen


def with_polars(ours, out, n):
    import polars as pl

    frame = pl.scan_parquet(os.path.join(ours, "**", "*.parquet"), hive_partitioning=True).collect()
    seen = summary(frame.to_dicts())
    df = pl.DataFrame(list(rows(n)), schema={
        "id": pl.UInt64, "customer": pl.Utf8, "amount": pl.Float64, "status": pl.Utf8,
        "placed_at": pl.Datetime("us", "UTC"), "note": pl.Utf8, "qty": pl.Int32,
    })
    os.makedirs(out, exist_ok=True)
    df.write_parquet(os.path.join(out, "polars.parquet"))
    return seen


def with_duckdb(ours, out, n):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    pattern = os.path.join(ours, "**", "*.parquet")
    cur = con.execute(f"SELECT * REPLACE (epoch_us(placed_at) AS placed_at) FROM read_parquet('{pattern}', hive_partitioning = true)")
    names = [d[0] for d in cur.description]
    seen = summary(dict(zip(names, r)) for r in cur.fetchall())
    os.makedirs(out, exist_ok=True)
    con.execute(f"""
        COPY (
          SELECT i::UBIGINT AS id, 'c' || (i % 17) AS customer, (i * 0.25)::DOUBLE AS amount,
                 ['Pending','Shipped','Delivered','Returned'][(i % 4) + 1] AS status,
                 make_timestamptz(1700000000000000 + i * 1000001) AS placed_at,
                 CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || i END AS note,
                 CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 11 - 3)::INTEGER END AS qty
          FROM range({n}) t(i)
        ) TO '{os.path.join(out, "duckdb.parquet")}' (FORMAT parquet)
    """)
    return seen


def with_spark(ours, out, n):
    from pyspark.sql import SparkSession
    from pyspark.sql import types as T

    spark = (SparkSession.builder.master("local[1]").appName("soa-persist-interop")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    seen = summary(r.asDict() for r in spark.read.parquet(ours).collect())
    schema = T.StructType([
        T.StructField("id", T.LongType()), T.StructField("customer", T.StringType()),
        T.StructField("amount", T.DoubleType()), T.StructField("status", T.StringType()),
        T.StructField("placed_at", T.TimestampType()), T.StructField("note", T.StringType()),
        T.StructField("qty", T.IntegerType()),
    ])
    spark.createDataFrame([tuple(r.values()) for r in rows(n)], schema).coalesce(1).write.mode("overwrite").parquet(out)
    spark.stop()
    return seen


def main():
    tool, ours, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seen = {"pyarrow": with_pyarrow, "polars": with_polars, "duckdb": with_duckdb, "spark": with_spark}[tool](ours, out, n)
    print(json.dumps(seen, sort_keys=True))


if __name__ == "__main__":
    main()
