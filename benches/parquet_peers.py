"""Peers of the Parquet benchmark, on the same data: reads the dataset soa-persist wrote
(untimed), then times pyarrow write_table/read_table and DuckDB COPY TO/read_parquet with the
same codec, both writing one folder per status as soa-persist does (pyarrow write_to_dataset,
DuckDB COPY ... PARTITION_BY), and DuckDB's filtered read_parquet. Prints one JSON object of
seconds.

usage: parquet_peers.py DATASET_DIR WORK_DIR CODEC LOW HIGH
"""
import json
import os
import sys
import time

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def best(f, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    dataset, work, codec, low, high = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    os.makedirs(work, exist_ok=True)
    table = ds.dataset(dataset, format="parquet", partitioning="hive").to_table()
    path = os.path.join(work, f"pyarrow-{codec}.parquet")
    # The bench's zstd level, 3 (DuckDB's default too); pyarrow's own default is 1, a faster
    # and larger setting that would compare different work.
    level = {"compression_level": 3} if codec == "zstd" else {}
    out = {
        "rows": table.num_rows,
        "pyarrow_write": best(lambda: pq.write_table(table, path, compression=codec, **level)),
        "pyarrow_read": best(lambda: pq.read_table(path)),
        # The layout soa-persist writes: one folder per status.
        "pyarrow_write_dataset": best(lambda: pq.write_to_dataset(
            table, os.path.join(work, f"pyarrow-{codec}-dataset"), partition_cols=["status"],
            existing_data_behavior="delete_matching", compression=codec, **level)),
    }
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("src", table)
    con.execute("CREATE TABLE t AS SELECT * FROM src")
    dpath = os.path.join(work, f"duckdb-{codec}.parquet")
    out["duckdb_copy_to"] = best(lambda: con.execute(f"COPY t TO '{dpath}' (FORMAT parquet, COMPRESSION {codec})"))
    ddir = os.path.join(work, f"duckdb-{codec}-dataset")
    out["duckdb_copy_partitioned"] = best(lambda: con.execute(
        f"COPY t TO '{ddir}' (FORMAT parquet, COMPRESSION {codec}, PARTITION_BY (status), OVERWRITE_OR_IGNORE)"))

    def duck_read():
        con.execute("DROP TABLE IF EXISTS r")
        con.execute(f"CREATE TABLE r AS SELECT * FROM read_parquet('{dpath}')")

    out["duckdb_read_parquet"] = best(duck_read)
    pattern = os.path.join(dataset, "**", "*.parquet")
    out["duckdb_filtered"] = best(lambda: con.execute(
        f"SELECT * FROM read_parquet('{pattern}', hive_partitioning = true) WHERE order_id BETWEEN {low} AND {high}").to_arrow_table())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
