#!/usr/bin/env python3
"""Runs the SQL of `caseaudit rules sql --dialect duckdb` with DuckDB.

usage: run_duckdb.py QUERY.sql CASES CALENDAR.csv [SCHEMA.json]
CASES is a parquet file (`caseaudit audit --format cases`) or a CSV with canonical
headers, typed by SCHEMA.json (`caseaudit rules sql --schema`). Prints the findings as
JSON lines: [case_id, agency, rule_id].
"""
import json
import sys

import duckdb

query_file, cases, calendar = sys.argv[1:4]
schema = json.load(open(sys.argv[4], encoding="utf-8")) if len(sys.argv) > 4 else None
con = duckdb.connect()
if cases.endswith(".parquet"):
    con.execute("CREATE TABLE cases AS SELECT * FROM read_parquet(?)", [cases])
else:
    con.execute("CREATE TABLE cases AS SELECT * FROM read_csv(?, header=true, columns=?)", [cases, schema])
con.execute(
    "CREATE TABLE calendar AS SELECT CAST(day AS DATE) AS day, CAST(ordinal AS INTEGER) AS ordinal "
    "FROM read_csv(?, header=true, columns={'day': 'DATE', 'ordinal': 'INTEGER'})",
    [calendar],
)
for row in con.execute(open(query_file, encoding="utf-8").read()).fetchall():
    print(json.dumps(list(row), ensure_ascii=False))
