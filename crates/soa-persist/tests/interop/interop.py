"""The interoperability matrix's Python side: every Python writer writes the same logical rows,
every Python reader reads every writer's files, each cell compared row for row (sorted by key)
in one canonical form. Run by tests/parquet_interop.rs, which plays soa-persist as writer and
reader and checks the rendered docs/interop.md.

usage:
  interop.py write ROOT           ROOT/ref/<case>/ (the rows with our Arrow types, for the Rust
                                  side) and ROOT/w/<writer>/<case>/ for every Python writer
  interop.py read ROOT READER...  reads ROOT/w/*/<case>/ with each READER (soa-persist: the Rust
                                  side's loads, saved again to ROOT/r/), and ROOT/states/<state>/
                                  (a dataset after delete, save, compact; before and after vacuum)
  interop.py report ROOT          ROOT/results.json and ROOT/interop.md
"""
import datetime as dt
import decimal
import fnmatch
import json
import math
import os
import re
import shutil
import sys
import time
import traceback
import uuid as uuidlib

import pyarrow as pa
import pyarrow.parquet as pq

from cases import CASES, EXCEPTIONS, FIXES, STATE_CASE, STATE_NOTES
from tools import READERS, WRITERS, read_with, versions, write_with

EPOCH_DATE = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
RUST_READER = "soa-persist"


# ---- canonical form: one JSON value per cell value, whatever the tool handed back ----------


def canon_float(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    return repr(float(x))


def canon(v, kind):
    """A value's canonical JSON form; `kind` (the case's kind) only reconciles spellings of one
    value (a UUID as 16 bytes or as text), never different values."""
    import numpy as np
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return canon_float(float(v))
    if isinstance(v, decimal.Decimal):
        if v.is_nan():
            return "NaN"
        return {"decimal": format(v.normalize(), "f") if v != 0 else "0"}
    if isinstance(v, uuidlib.UUID):
        return {"uuid": v.hex}
    if isinstance(v, str):
        if kind == "uuid":
            return {"uuid": v.replace("-", "").lower()}
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        if kind == "uuid":
            return {"uuid": bytes(v).hex()}
        return {"hex": bytes(v).hex()}
    if isinstance(v, pd.Timestamp):
        return {"ts": int(v.as_unit("ns").value)}
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        d = v - EPOCH
        return {"ts": ((d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds) * 1_000}
    if isinstance(v, dt.date):
        return {"date": (v - EPOCH_DATE).days}
    if isinstance(v, np.datetime64):
        return canon(pd.Timestamp(v), kind)
    if isinstance(v, dict):
        return {k: canon(x, None) for k, x in v.items()}
    if isinstance(v, tuple):
        return [canon(x, None) for x in v]
    if isinstance(v, (list, np.ndarray)):
        return [canon(x, kind if kind == "uuid" else None) for x in v]
    raise TypeError(f"no canonical form for {type(v).__name__}: {v!r}")


def canon_arrow(arr, kind):
    """Canonical values of an Arrow column; timestamps and dates as integers, so no unit or
    range is lost on the way through Python's datetime."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    t = arr.type
    if isinstance(t, pa.BaseExtensionType):
        arr, t = arr.storage, arr.storage.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_timestamp(t):
        scale = UNIT_NS[t.unit]
        return [None if x is None else {"ts": x * scale} for x in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_date32(t):
        return [None if x is None else {"date": x} for x in arr.cast(pa.int32()).to_pylist()]
    if pa.types.is_date64(t):
        return [None if x is None else {"date": x // 86_400_000} for x in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        # Bytes a tool labelled text (ClickHouse has one String type for both) stay visible.
        return [None if b is None else text_or_hex(b, kind) for b in arr.cast(pa.large_binary()).to_pylist()]
    return [canon(x, kind) for x in arr.to_pylist()]


def text_or_hex(b, kind):
    try:
        return canon(b.decode("utf-8"), kind)
    except UnicodeDecodeError:
        return {"not utf-8": b.hex()}


def canon_table(table, case):
    """{column: [canonical values sorted by id]} for the case's columns."""
    names = table.column_names
    ids = canon_arrow(table.column("id"), None)
    order = sorted(range(len(ids)), key=lambda i: (ids[i] is None, ids[i]))
    out = {"id": [ids[i] for i in order]}
    for col in case.columns():
        if col not in names:
            out[col] = f"no column {col!r} (columns: {names})"
            continue
        vals = canon_arrow(table.column(col), case.kind)
        out[col] = [vals[i] for i in order]
    return out


def canon_pandas(frame, case):
    """Like canon_table for a pandas DataFrame, from pandas' own values (its NaN for a missing
    integer stays visible)."""
    import pandas as pd

    cols = {}
    for col in ["id"] + case.columns():
        if col not in frame.columns:
            continue
        s = frame[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or str(s.dtype).startswith("datetime64"):
            cols[col] = canon_arrow(pa.array(s), case.kind)
        else:
            cols[col] = [canon(x, case.kind if col != "id" else None) for x in s.tolist()]
    ids = cols["id"]
    order = sorted(range(len(ids)), key=lambda i: (ids[i] is None, ids[i]))
    out = {"id": [ids[i] for i in order]}
    for col in case.columns():
        out[col] = [cols[col][i] for i in order] if col in cols else \
            f"no column {col!r} (columns: {list(frame.columns)})"
    return out


def expected(case):
    return canon_table(case.table(), case)


def compare(seen, want, col):
    """None when equal, else a short description of the first difference."""
    if isinstance(seen[col], str):
        return seen[col]
    if seen["id"] != want["id"]:
        return f"ids {seen['id']} != {want['id']}"
    for i, (a, b) in enumerate(zip(seen[col], want[col])):
        if a != b:
            return f"id {want['id'][i]}: {json.dumps(a)} != {json.dumps(b)}"
    return None


# ---- steps ---------------------------------------------------------------------------------


def step_write(root):
    for case in CASES:
        d = os.path.join(root, "ref", case.name)
        os.makedirs(d, exist_ok=True)
        if case.rust:
            pq.write_table(case.table(), os.path.join(d, "ref.parquet"))
    outcome = {}
    for writer in WRITERS:
        outcome[writer] = {}
        for case in CASES:
            d = os.path.join(root, "w", writer, case.name)
            try:
                write_with(writer, case, d)
                outcome[writer][case.name] = None
            except BaseException as e:  # the cell records it; the next case goes on
                shutil.rmtree(d, ignore_errors=True)
                outcome[writer][case.name] = one_line(e)
    with open(os.path.join(root, "writes.json"), "w") as f:
        json.dump(outcome, f, indent=1, sort_keys=True)


def one_line(e):
    """A cell's note for a failure. Caught as BaseException, since a tool's panic (pyo3's
    PanicException) is no Exception; an interrupt still stops the run."""
    if isinstance(e, (KeyboardInterrupt, SystemExit)):
        raise e
    text = str(e).strip().splitlines()
    head = text[0] if text else ""
    return f"{type(e).__name__}: {head}"[:300]


def read_cell(reader, root, writer, case):
    """(column -> difference or None) for one writer's case read by `reader`."""
    want = expected(case)
    if reader == RUST_READER:
        errors = load_json(os.path.join(root, "rust-reads.json")).get(writer, {})
        if errors.get(case.name):
            raise RuntimeError(errors[case.name])
        d = os.path.join(root, "r", writer, case.name)
        seen = canon_table(read_with("pyarrow", d, case), case)
    else:
        d = os.path.join(root, "w", writer, case.name)
        table = read_with(reader, d, case)
        seen = canon_pandas(table, case) if reader == "pandas" else canon_table(table, case)
    return {col: compare(seen, want, col) for col in case.columns()}


def step_read(root, readers):
    writes = all_writes(root)
    for reader in readers:
        start = time.monotonic()
        out = {}
        for writer in writes:
            out[writer] = {}
            for case in CASES:
                if writes[writer].get(case.name):
                    continue
                try:
                    out[writer][case.name] = read_cell(reader, root, writer, case)
                except BaseException as e:
                    out[writer][case.name] = {col: "read: " + one_line(e) for col in case.columns()}
        print(f"{reader}: {time.monotonic() - start:.1f} s", file=sys.stderr)
        with open(os.path.join(root, f"reads-{reader}.json"), "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    step_states(root, [r for r in readers if r != RUST_READER])


def step_states(root, readers):
    states = load_json(os.path.join(root, "states", "expected.json"))
    for reader in readers:
        out = {}
        for state, ids in states.items():
            try:
                table = read_with(reader, os.path.join(root, "states", state), STATE_CASE)
                seen = canon_pandas(table, STATE_CASE) if reader == "pandas" else canon_table(table, STATE_CASE)
                got = sorted(seen["id"])
                stale, missing = set(got) - set(ids), set(ids) - set(got)
                doubled = len(got) - len(set(got))
                out[state] = "equal" if got == sorted(ids) else \
                    f"{len(got)} rows: {len(stale)} not live, {doubled} twice, {len(missing)} missing"
            except BaseException as e:
                out[state] = "read: " + one_line(e)
        with open(os.path.join(root, f"states-{reader}.json"), "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def all_writes(root):
    """writer -> case -> error or None, the Rust writers' outcomes included."""
    writes = load_json(os.path.join(root, "rust-writes.json"))
    writes.update(load_json(os.path.join(root, "writes.json")))
    return writes


def documented(writer, reader, case, col, diff):
    """The index of the first EXCEPTIONS line covering the cell, or None."""
    label = case.label(col)
    for rule, (w, r, t, _, *seen) in enumerate(EXCEPTIONS):
        if fnmatch.fnmatchcase(writer, w) and fnmatch.fnmatchcase(reader, r) and \
                (fnmatch.fnmatchcase(label, t) or fnmatch.fnmatchcase(case.name, t)) and \
                all(re.search(pattern, diff) for pattern in seen):
            return rule
    return None


def step_report(root):
    writes = all_writes(root)
    writers = [w for w in ALL_WRITERS if w in writes]
    cells = []
    for reader in ALL_READERS:
        reads = load_json(os.path.join(root, f"reads-{reader}.json"))
        for writer in writers:
            for case in CASES:
                for col in case.columns():
                    error = writes[writer].get(case.name)
                    diff = "write: " + error if error else reads.get(writer, {}).get(case.name, {}).get(col, "not read")
                    rule = None if diff is None else documented(writer, reader, case, col, diff)
                    if diff is None:
                        status, note = "equal", ""
                    elif rule is not None:
                        status, note = "documented", EXCEPTIONS[rule][3]
                    else:
                        status, note = "fail", diff
                    cells.append({"writer": writer, "reader": reader, "type": case.label(col),
                                  "status": status, "note": note, "rule": rule, "seen": diff or ""})
    states = {r: load_json(os.path.join(root, f"states-{r}.json")) for r in ALL_READERS
              if os.path.exists(os.path.join(root, f"states-{r}.json"))}
    results = {"versions": versions(), "cells": cells, "states": states}
    with open(os.path.join(root, "results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    from render import render

    with open(os.path.join(root, "interop.md"), "w") as f:
        f.write(render(results, writers, ALL_READERS, CASES, STATE_NOTES, EXCEPTIONS, FIXES))


ALL_WRITERS = ["soa-persist", "soa-persist (spark_compatible)"] + WRITERS
ALL_READERS = [RUST_READER] + READERS


def main():
    step, root, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if step == "write":
        step_write(root)
    elif step == "read":
        step_read(root, rest)
    elif step == "report":
        step_report(root)
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
