#!/usr/bin/env python3
"""Runs the SQL of `caseaudit rules sql --dialect spark` with a real Spark (pyspark,
local mode): the cluster path, checked on one machine.

usage: run_spark.py QUERY.sql CASES.parquet CALENDAR.csv [QUERY CASES CALENDAR ...]
CASES is `caseaudit audit --format cases` output. Prints the findings as JSON lines:
[case_id, agency, rule_id], like run_duckdb.py; given several jobs (one Spark session
runs them all: it is slow to start), each job's lines follow a line `#job K`.
The `published` table (publication records) is the published.parquet beside CASES, or
empty.
"""
import json
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql.types import DateType, IntegerType, StructField, StructType

args = sys.argv[1:]
spark = (
    SparkSession.builder.master("local[2]")
    .appName("caseaudit-rules")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.shuffle.partitions", "4")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.driver.host", "127.0.0.1")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
schema = StructType([StructField("day", DateType()), StructField("ordinal", IntegerType())])
out = sys.stdout
for k in range(0, len(args), 3):
    query_file, cases, calendar = args[k:k + 3]
    if len(args) > 3:
        out.write(f"#job {k // 3}\n")
    spark.read.parquet(cases).createOrReplaceTempView("cases")
    spark.read.csv(calendar, header=True, schema=schema).createOrReplaceTempView("calendar")
    published = os.path.join(os.path.dirname(cases), "published.parquet")
    if os.path.exists(published):
        spark.read.parquet(published).createOrReplaceTempView("published")
    else:
        spark.sql("SELECT CAST(NULL AS STRING) AS case_key, CAST(NULL AS DATE) AS decision_date, "
                  "CAST(NULL AS DOUBLE) AS fine_amount, CAST(NULL AS STRING) AS party_name, "
                  "CAST(NULL AS STRING) AS kind, CAST(NULL AS DATE) AS covered_until "
                  "WHERE FALSE").createOrReplaceTempView("published")
    for r in spark.sql(open(query_file, encoding="utf-8").read()).collect():
        out.write(json.dumps([r[0], r[1], r[2]], ensure_ascii=False) + "\n")
out.flush()
spark.stop()
os._exit(0)
