"""Runs caseaudit's compiled rules on a Spark cluster (see README.md beside this file).

usage: spark-submit audit_on_spark.py RULES.sql CASES_PARQUET CALENDAR_CSV OUT
"""
import sys

from pyspark.sql import SparkSession
from pyspark.sql.types import DateType, IntegerType, StructField, StructType

rules, cases, calendar, out = sys.argv[1:5]
spark = SparkSession.builder.appName("caseaudit").getOrCreate()
spark.read.parquet(cases).createOrReplaceTempView("cases")
schema = StructType([StructField("day", DateType()), StructField("ordinal", IntegerType())])
spark.read.csv(calendar, header=True, schema=schema).createOrReplaceTempView("calendar")
query = spark.sparkContext.wholeTextFiles(rules).first()[1] if "://" in rules else open(rules, encoding="utf-8").read()
spark.sql(query).write.mode("overwrite").parquet(out)
spark.stop()
