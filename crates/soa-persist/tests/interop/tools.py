"""How each Python tool writes a case's rows and reads a folder back, the way its users would:
its own types for ours (nearest type where it has none), its own Hive partitioning."""
import os

import pyarrow as pa
import pyarrow.parquet as pq

WRITERS = ["pyarrow", "pandas", "polars", "duckdb", "spark", "chdb", "datafusion"]
READERS = WRITERS


def sql_str(path):
    return "'" + path.replace("'", "''") + "'"


def glob_of(d):
    return os.path.join(d, "**", "*.parquet")


# ---- writers -----------------------------------------------------------------------------


def pandas_frame(table):
    """The rows as a pandas user holds them: nullable integer and boolean dtypes for Option."""
    import pandas as pd

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return table.to_pandas(types_mapper=nullable.get)


def spark_type(t):
    """The nearest type Spark has: no unsigned integers (UInt64 as decimal(20,0), as Spark reads
    it), timestamps in microseconds, no fixed binary, UUIDs as text, no dictionaries."""
    if pa.types.is_uint8(t):
        return pa.int16()
    if pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_uint64(t):
        return pa.decimal128(20, 0)
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", "UTC" if t.tz else None)
    if pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return t.value_type
    if pa.types.is_list(t):
        return pa.list_(spark_type(t.value_type))
    if pa.types.is_map(t):
        return pa.map_(spark_type(t.key_type), spark_type(t.item_type))
    if pa.types.is_struct(t):
        return pa.struct([(f.name, spark_type(f.type)) for f in t])
    return t


def spark_table(table):
    import uuid

    cols = []
    for name in table.column_names:
        col = table.column(name)
        if isinstance(col.type, pa.BaseExtensionType):  # UUID: Spark's users keep them as text
            col = pa.array([None if b is None else str(uuid.UUID(bytes=b))
                            for b in col.combine_chunks().storage.to_pylist()], pa.string())
        else:
            col = col.cast(spark_type(col.type), safe=False)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


_spark = None


def spark():
    """One session for every Spark read and write (it takes seconds to start)."""
    global _spark
    if _spark is None:
        from pyspark.sql import SparkSession

        _spark = (SparkSession.builder.master("local[1]").appName("soa-persist-interop")
                  .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
                  .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
                  .config("spark.sql.shuffle.partitions", "1")
                  .getOrCreate())
        _spark.sparkContext.setLogLevel("OFF")
    return _spark


_duckdb = None


def duckdb_con():
    global _duckdb
    if _duckdb is None:
        import duckdb

        _duckdb = duckdb.connect()
        _duckdb.execute("SET TimeZone = 'UTC'")
    return _duckdb


def write_with(writer, case, d):
    table = case.table()
    os.makedirs(d, exist_ok=True)
    file = os.path.join(d, "data.parquet")
    part = case.partition
    if writer == "pyarrow":
        if part:
            pq.write_to_dataset(table, d, partition_cols=["v"])
        else:
            pq.write_table(table, file)
    elif writer == "pandas":
        frame = pandas_frame(table)
        if part:
            frame.to_parquet(d, partition_cols=["v"], index=False)
        else:
            frame.to_parquet(file, index=False)
    elif writer == "polars":
        import polars as pl

        frame = pl.from_arrow(table)
        if part:
            frame.write_parquet(d, partition_by="v")
        else:
            frame.write_parquet(file)
    elif writer == "duckdb":
        con = duckdb_con()
        con.register("t", table)
        if part:
            con.execute(f"COPY (SELECT * FROM t) TO {sql_str(d)} (FORMAT parquet, PARTITION_BY (v), OVERWRITE)")
        else:
            con.execute(f"COPY (SELECT * FROM t) TO {sql_str(file)} (FORMAT parquet)")
        con.unregister("t")
    elif writer == "spark":
        frame = spark().createDataFrame(spark_table(table)).coalesce(1)
        w = frame.write.mode("overwrite")
        (w.partitionBy("v") if part else w).parquet(d)
    elif writer == "chdb":
        t = table  # noqa: F841 (read by name through Python(t))
        if part:
            target = f"file({sql_str(os.path.join(d, 'v={_partition_id}', 'data.parquet'))}, Parquet) PARTITION BY v"
        else:
            target = f"file({sql_str(file)}, Parquet)"
        import chdb

        chdb.query(f"INSERT INTO FUNCTION {target} SELECT * FROM Python(t)")
    elif writer == "datafusion":
        import datafusion

        ctx = datafusion.SessionContext()
        ctx.register_record_batches("t", [table.to_batches()])
        if part:
            ctx.sql(f"COPY t TO {sql_str(d)} STORED AS PARQUET PARTITIONED BY (v)").collect()
        else:
            ctx.sql(f"COPY t TO {sql_str(file)} STORED AS PARQUET").collect()
    else:
        raise ValueError(writer)


# ---- readers -----------------------------------------------------------------------------


def read_with(reader, d, case):
    """A pyarrow Table (a pandas DataFrame for pandas) of everything the reader sees in `d`."""
    if not os.path.isdir(d):
        raise FileNotFoundError(d)
    if reader == "pyarrow":
        import pyarrow.dataset as ds

        return ds.dataset(d, format="parquet", partitioning="hive").to_table()
    if reader == "pandas":
        import pandas as pd

        return pd.read_parquet(d)
    if reader == "polars":
        import polars as pl

        return pl.scan_parquet(glob_of(d), hive_partitioning=True).collect().to_arrow()
    if reader == "duckdb":
        return duckdb_con().sql(
            f"SELECT * FROM read_parquet({sql_str(glob_of(d))}, hive_partitioning = true)").to_arrow_table()
    if reader == "spark":
        return spark().read.parquet(d).toArrow()
    if reader == "chdb":
        import chdb

        # Stateless queries, as bytes: in one chdb session, file() results were seen mixed up
        # between folders and zero-copy Arrow results corrupted by the next query.
        result = chdb.query(
            f"SELECT * FROM file({sql_str(glob_of(d))}, Parquet) SETTINGS use_hive_partitioning = 1",
            "ArrowStream")
        return pa.ipc.open_stream(result.bytes()).read_all()
    if reader == "datafusion":
        import datafusion

        ctx = datafusion.SessionContext()
        cols = [("v", pa.string())] if case.partition else None
        return ctx.read_parquet(d, table_partition_cols=cols).to_arrow_table()
    raise ValueError(reader)


def versions():
    """Each tool's version, for the matrix's header."""
    import chdb
    import datafusion
    import duckdb
    import pandas
    import polars
    import pyspark

    import subprocess

    engine = chdb.query("SELECT version()", "CSV").bytes().decode().strip().strip('"')
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {"pyarrow": pa.__version__, "pandas": pandas.__version__, "polars": polars.__version__,
            "duckdb": duckdb.__version__, "spark": f"pyspark {pyspark.__version__} ({java})",
            "chdb": f"{chdb.__version__} (ClickHouse {engine})", "datafusion": datafusion.__version__}
