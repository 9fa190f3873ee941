#!/usr/bin/env bash
# Whole-run benchmark: caseaudit against DuckDB (same rules as SQL), a plain pandas
# implementation of a few rules, DuckDB merely reading the CSV (the floor), calamine's
# bare read of an xlsx, and peak memory. One command from a clean checkout:
#   bash benches/whole_run.sh            # 1M cases (default)
#   CASES=200000 bash benches/whole_run.sh
#   BIG=10000000 bash benches/whole_run.sh   # also the 10M peak-memory run
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${CASES:-1000000}
XLSX_CASES=${XLSX_CASES:-100000}
AS_OF=2022-12-31
WORK=${WORK:-target/bench-run}
mkdir -p "$WORK"
python3 -c "import duckdb, pandas" 2>/dev/null || python3 -m pip install -q duckdb pandas
# PROFILE=profiling: the same optimised build with symbols, for perf.
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet --bin caseaudit --example calamine_read
BIN=target/$PROFILE/caseaudit

secs() { # run a command, print its wall time in seconds
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
med3() { # the median wall time of three runs of a command
  { secs "$@"; echo; secs "$@"; echo; secs "$@"; echo; } | sort -n | sed -n 2p
}
settle() { # flush written outputs, start from an empty page cache where allowed (root),
  # and read the input once: every timed run starts from the same state (a cache full of
  # earlier outputs makes a large run reclaim pages as it goes, which doubled 10M times)
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
  cat "$@" > /dev/null
}
peak() { # peak resident set of a command, in MB
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ { printf "%.0f", $2/1024 }'
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
echo "generating $CASES cases…"
gen=$(secs "$BIN" generate --cases "$CASES" --seed 1 --as-of $AS_OF --out "$WORK/cases.csv" --truth "$WORK/truth.json")
"$BIN" rules sql --dialect duckdb --as-of $AS_OF --calendar-table "$WORK/calendar.csv" --schema "$WORK/schema.json" > "$WORK/rules.sql"
size=$(du -m "$WORK/cases.csv" | cut -f1)

cat > "$WORK/duck.py" <<'PY'
import json, sys, duckdb
mode, csv, cal, sql, schema = sys.argv[1:6]
con = duckdb.connect()
types = json.load(open(schema, encoding="utf-8"))
# A CSV has no case_key or party_key column (cases.parquet has them, NFKC-folded by
# caseaudit):
KEY = ("regexp_replace(regexp_replace(case_id, '\\s', '', 'g'), "
       "'[〔\\[【(（［]([0-9]{4})[〕\\]】)）］]', '〔\\1〕', 'g') AS case_key, "
       "regexp_replace(party_name, '\\s', '', 'g') AS party_key")
con.execute("CREATE TABLE cases AS SELECT *, " + KEY + " FROM read_csv(?, header=true, columns=?)", [csv, types])
if mode == "rules":
    con.execute("CREATE TABLE calendar AS SELECT * FROM read_csv(?, header=true, columns={'day':'DATE','ordinal':'INTEGER'})", [cal])
    # No publication records in the benchmark: PUB-008/PUB-009 read an empty table.
    con.execute("CREATE TABLE published (case_key VARCHAR, decision_date DATE, fine_amount DOUBLE, "
                "party_name VARCHAR, kind VARCHAR, covered_until DATE)")
    n = con.execute("SELECT COUNT(*) FROM (" + open(sql).read() + ")").fetchone()[0]
    print(n)
PY
cat > "$WORK/pandas_rules.py" <<'PY'
# A plain pandas implementation of four rules (REC-001, PUB-004, PUB-005, REC-004),
# the way an analyst would write them.
import sys, pandas as pd
df = pd.read_csv(sys.argv[1], dtype=str)
as_of = pd.Timestamp("2022-12-31")
out = []
out.append(df[df["text_record"].ne("true")][["case_id"]].assign(rule="REC-001"))
k = df["case_type"].isin(["行政处罚", "行政强制", "行政检查"])
out.append(df[k & df["credentials_shown"].ne("true")][["case_id"]].assign(rule="PUB-004"))
n = df["officers"].fillna("").apply(lambda s: len([x for x in s.split("、") if x]))
out.append(df[k & (df["officers"].isna() | (n < 2))][["case_id"]].assign(rule="PUB-005"))
closed = pd.to_datetime(df["closed_date"]); archived = pd.to_datetime(df["archived_date"])
late = (archived.isna() & ((as_of - closed).dt.days > 30)) | ((archived - closed).dt.days > 30)
out.append(df[closed.notna() & late][["case_id"]].assign(rule="REC-004"))
print(len(pd.concat(out)))
PY

settle "$WORK/cases.csv" "$BIN"
t_audit=$(med3 "$BIN" audit "$WORK/cases.csv" --as-of $AS_OF --format json --quiet --out "$WORK/out")
CASEAUDIT_TIMINGS=1 "$BIN" audit "$WORK/cases.csv" --as-of $AS_OF --format json --quiet --out "$WORK/out-t" 2> "$WORK/timings.txt"
t_duck=$(med3 python3 "$WORK/duck.py" rules "$WORK/cases.csv" "$WORK/calendar.csv" "$WORK/rules.sql" "$WORK/schema.json")
t_floor=$(med3 python3 "$WORK/duck.py" read "$WORK/cases.csv" "$WORK/calendar.csv" "$WORK/rules.sql" "$WORK/schema.json")
t_pandas=$(med3 python3 "$WORK/pandas_rules.py" "$WORK/cases.csv")
m_audit=$(peak "$BIN" audit "$WORK/cases.csv" --as-of $AS_OF --format json --quiet --out "$WORK/out-mem")

"$BIN" generate --cases "$XLSX_CASES" --seed 2 --as-of $AS_OF --out "$WORK/cases.xlsx" 2>/dev/null
t_xlsx=$(med3 "$BIN" audit "$WORK/cases.xlsx" --as-of $AS_OF --format json --quiet --out "$WORK/out-xlsx")
t_calamine=$(med3 target/$PROFILE/examples/calamine_read "$WORK/cases.xlsx")
# Every default output (json, xlsx with annotated copies, html) of the xlsx batch, and of
# the 1M-case CSV: peak memory.
m_xlsx_all=$(peak "$BIN" audit "$WORK/cases.xlsx" --as-of $AS_OF --quiet --out "$WORK/out-xlsx-all")
t_all=$(secs "$BIN" audit "$WORK/cases.csv" --as-of $AS_OF --quiet --out "$WORK/out-all")
m_all=$(peak "$BIN" audit "$WORK/cases.csv" --as-of $AS_OF --quiet --out "$WORK/out-all-mem")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "| measurement | seconds |"
echo "|---|---|"
printf "| generate %s cases (CSV %s MB) | %.2f |\n" "$CASES" "$size" "$gen"
printf "| caseaudit audit, findings.json written | %.2f |\n" "$t_audit"
printf "| DuckDB: load CSV + the pack as SQL | %.2f |\n" "$t_duck"
printf "| DuckDB: load CSV only (floor) | %.2f |\n" "$t_floor"
printf "| pandas: four rules | %.2f |\n" "$t_pandas"
printf "| caseaudit audit of %s-case xlsx | %.2f |\n" "$XLSX_CASES" "$t_xlsx"
printf "| calamine bare read of that xlsx | %.2f |\n" "$t_calamine"
printf "| caseaudit audit, every default output (json, xlsx, html) | %.2f |\n" "$t_all"
echo
echo "| ratio | value | target |"
echo "|---|---|---|"
echo "| caseaudit / DuckDB rules | $(ratio "$t_audit" "$t_duck") | ≤ 1.0 |"
echo "| caseaudit / CSV-read floor | $(ratio "$t_audit" "$t_floor") | ≤ 1.5 |"
echo "| pandas (4 rules) / caseaudit (whole pack) | $(ratio "$t_pandas" "$t_audit") | ≥ 20 |"
echo "| xlsx audit / calamine read | $(ratio "$t_xlsx" "$t_calamine") | ≤ 1.3 |"
echo "| peak memory, $CASES cases, findings.json | ${m_audit} MB (CSV ${size} MB) | ≤ 1024 MB |"
echo "| peak memory, $CASES cases, json + xlsx + html | ${m_all} MB | < 4096 MB |"
echo "| peak memory, $XLSX_CASES-case xlsx, json + xlsx (annotated copies) + html | ${m_xlsx_all} MB | ≤ 1024 MB |"
echo
echo "where caseaudit's time goes (CASEAUDIT_TIMINGS=1):"
sed 's/^timing: /- /' "$WORK/timings.txt"
if [ -n "${BIG:-}" ]; then
  # The big file is the 1M batch repeated (quicker than generating it), each copy's case
  # numbers given its own suffix (no duplicates across copies).
  head -1 "$WORK/cases.csv" > "$WORK/big.csv"
  for k in $(seq 1 $((BIG / CASES))); do
    tail -n +2 "$WORK/cases.csv" | awk -v k="$k" '{ sub(/^[^,]*/, "&-" k); print }' >> "$WORK/big.csv"
  done
  bsize=$(du -m "$WORK/big.csv" | cut -f1)
  rm -rf "$WORK"/out*
  big_run() { # one timed run from a settled cache; prints its wall time
    rm -rf "$WORK/out-big"
    settle "$WORK/big.csv" "$BIN"
    local t0 t1
    t0=$(date +%s.%N)
    CASEAUDIT_TIMINGS=1 /usr/bin/time -v "$BIN" audit "$WORK/big.csv" --as-of $AS_OF --format json \
      --quiet --out "$WORK/out-big" 2> "$WORK/big-timings.txt" || echo "10M run failed" >&2
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
  }
  t_big=$({ big_run; big_run; big_run; } | sort -n | sed -n 2p)
  m_big=$(awk -F: '/Maximum resident/ { printf "%.0f", $2/1024 }' "$WORK/big-timings.txt")
  echo "| $BIG cases (CSV ${bsize} MB): wall | ${t_big} s ($(ratio "$t_big" "$t_audit") ×) | ≤ 11 × ${t_audit} s |"
  echo "| $BIG cases: peak memory | ${m_big} MB | ≤ 8192 MB |"
  grep '^timing: ' "$WORK/big-timings.txt" | sed 's/^timing: /- /'
  rm -rf "$WORK/out-big"
fi
