#!/usr/bin/env python3
"""Runs the SQL of `caseaudit rules sql --dialect duckdb` with DuckDB.

usage: run_duckdb.py QUERY.sql CASES CALENDAR.csv [SCHEMA.json]
       run_duckdb.py QUERY.sql CASES.parquet CALENDAR.csv [QUERY CASES CALENDAR ...]
CASES is a parquet file (`caseaudit audit --format cases`) or a CSV with canonical
headers, typed by SCHEMA.json (`caseaudit rules sql --schema`). Prints the findings as
JSON lines: [case_id, agency, rule_id]. Given several jobs (parquet only), each job's
lines follow a line `#job K`. The `published` table (publication records) is the
published.parquet beside CASES (`caseaudit audit --published … --format cases` writes
it), or empty.
"""
import json
import os
import sys

import duckdb



def run(query_file, cases, calendar, schema=None):
    con = duckdb.connect()
    if cases.endswith(".parquet"):
        con.execute("CREATE TABLE cases AS SELECT * FROM read_parquet(?)", [cases])
    else:
        # A CSV has no case_key or party_key column (cases.parquet has them, NFKC-folded
        # by caseaudit):
        KEY = ("regexp_replace(regexp_replace(case_id, '\\s', '', 'g'), "
               "'[〔\\[【(（［]([0-9]{4})[〕\\]】)）］]', '〔\\1〕', 'g') AS case_key, "
               "regexp_replace(party_name, '\\s', '', 'g') AS party_key")
        con.execute("CREATE TABLE cases AS SELECT *, " + KEY + " FROM read_csv(?, header=true, columns=?)", [cases, schema])
    con.execute(
        "CREATE TABLE calendar AS SELECT CAST(day AS DATE) AS day, CAST(ordinal AS INTEGER) AS ordinal "
        "FROM read_csv(?, header=true, columns={'day': 'DATE', 'ordinal': 'INTEGER'})",
        [calendar],
    )
    published = os.path.join(os.path.dirname(cases), "published.parquet")
    if os.path.exists(published):
        con.execute("CREATE TABLE published AS SELECT * FROM read_parquet(?)", [published])
    else:
        con.execute("CREATE TABLE published (case_key VARCHAR, decision_date DATE, fine_amount DOUBLE, "
                    "party_name VARCHAR, kind VARCHAR, covered_until DATE)")
    for row in con.execute(open(query_file, encoding="utf-8").read()).fetchall():
        print(json.dumps(list(row), ensure_ascii=False))


args = sys.argv[1:]
if len(args) == 4:
    run(*args[:3], schema=json.load(open(args[3], encoding="utf-8")))
elif len(args) == 3:
    run(*args)
else:
    for k in range(0, len(args), 3):
        print(f"#job {k // 3}")
        run(*args[k:k + 3])
