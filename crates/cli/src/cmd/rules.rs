//! `caseaudit rules list|show|test|check`.

use crate::args::{RulesArgs, RulesCommand};
use crate::summary::table;
use crate::EXIT_INPUT;
use anyhow::{anyhow, Result};
use caseaudit_report::safe::{terminal as t, terminal_lines};
use caseaudit_rules::RulePack;
use caseaudit_rules::{run_examples, Expect};

pub fn run(a: RulesArgs) -> Result<u8> {
    match a.command {
        RulesCommand::List(p) => {
            let pack = super::pack_from(&p)?;
            let mut rows = vec![vec![
                "编号".to_string(),
                "制度".into(),
                "严重程度".into(),
                "扣分".into(),
                "名称".into(),
            ]];
            for r in &pack.rules {
                rows.push(vec![
                    r.id.clone(),
                    r.system.label().into(),
                    r.severity.label().into(),
                    if r.veto {
                        "一票否决".into()
                    } else {
                        r.deduction.to_string()
                    },
                    r.title.clone(),
                ]);
            }
            crate::out!("{}", table(&rows));
            crate::outln!(
                "规则包 {} {}（{}），共 {} 条规则",
                t(&pack.name),
                t(&pack.version),
                t(&pack.source),
                pack.rules.len()
            );
            Ok(0)
        }
        RulesCommand::Show { id, pack } => {
            let pack = super::pack_from(&pack)?;
            let Some(rule) = pack.rule(&id.to_uppercase()) else {
                let hint = pack
                    .suggest_rule(&id.to_uppercase())
                    .map(|s| format!("，是否想查看 `{s}`？"))
                    .unwrap_or_default();
                return Err(anyhow!("没有编号为 `{id}` 的规则{hint}"));
            };
            crate::outln!("# {} {}（{}）", t(&rule.id), t(&rule.title), t(&rule.file));
            crate::outln!("{}", terminal_lines(rule.source_text.trim_end()));
            let mut derived = Vec::new();
            for e in rule.applies.iter().chain(rule.violation.iter()) {
                e.derived_refs(&mut derived);
            }
            for d in derived {
                if let Some(def) = pack.derived.iter().find(|x| x.name == d) {
                    crate::outln!(
                        "\n# 派生字段 {}（{}）：{}\n#   依据：{}",
                        t(&def.name),
                        t(&def.label),
                        t(def.text.trim()),
                        t(&def.basis)
                    );
                }
            }
            Ok(0)
        }
        RulesCommand::Test { pack, verbose } => {
            let pack = super::pack_from(&pack)?;
            test(&pack, verbose)
        }
        RulesCommand::Sql(a) => sql(a),
        RulesCommand::Check(p) => match super::pack_with_calendars(&p) {
            Ok(pack) => {
                crate::outln!(
                    "规则包有效：{} 条规则，{} 个字段，{} 个参数，{} 个参数配置，工作日历 {} 年",
                    pack.rules.len(),
                    pack.fields.len(),
                    pack.params.len(),
                    pack.profiles.len(),
                    pack.calendar_years.len()
                );
                Ok(0)
            }
            Err(e) => {
                crate::errln!("{}", terminal_lines(&e.to_string()));
                Ok(EXIT_INPUT)
            }
        },
    }
}

/// Runs every example, prints the table, returns the exit code.
pub fn test(pack: &RulePack, verbose: bool) -> Result<u8> {
    let outcomes = run_examples(pack);
    let mut rows = vec![vec![
        "规则".to_string(),
        "示例".into(),
        "预期".into(),
        "结果".into(),
        "".into(),
    ]];
    let word = |fire: bool| if fire { "触发" } else { "不触发" }.to_string();
    for o in &outcomes {
        rows.push(vec![
            o.rule_id.clone(),
            o.name.clone(),
            word(o.expect == Expect::Fire),
            word(o.fired),
            if o.passed {
                "通过".into()
            } else {
                "失败".into()
            },
        ]);
    }
    crate::out!("{}", table(&rows));
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    for o in outcomes.iter().filter(|o| verbose || !o.passed) {
        crate::outln!(
            "\n{} {}（{}:{}）\n{}",
            t(&o.rule_id),
            t(&o.name),
            t(&o.file),
            o.line,
            terminal_lines(&o.explanation)
        );
    }
    crate::outln!(
        "通过 {} 个，失败 {} 个",
        outcomes.len() - failed.len(),
        failed.len()
    );
    Ok(if failed.is_empty() { 0 } else { 1 })
}

fn sql(a: crate::args::SqlArgs) -> Result<u8> {
    use caseaudit_rules::sql::{calendar_rows, cases_schema, pack_query, Dialect};
    let pack = super::pack_from(&a.pack)?;
    let profile = pack.profile(&a.profile)?;
    let params = pack.param_values(profile);
    let calendar = pack.calendar(profile);
    let as_of = super::as_of(a.as_of.as_deref())?;
    if !calendar.covers(as_of) {
        // SQL has no "not evaluable": the as-of year must be in the calendar here.
        let year = chrono::Datelike::year(&caseaudit_rules::calendar::from_day(as_of));
        return Err(anyhow!(
            "评查日期 {} 所在的 {year} 年不在工作日历内：请按《{}》写出 {year}.toml 并用 --calendar {year}.toml 加入",
            caseaudit_rules::calendar::format_day(as_of),
            caseaudit_engine::coverage::notice_title(year)
        ));
    }
    let dialect = match a.dialect {
        crate::args::DialectArg::Duckdb => Dialect::DuckDb,
        crate::args::DialectArg::Spark => Dialect::Spark,
    };
    let q = pack_query(&pack, &params, &calendar, as_of, dialect).map_err(anyhow::Error::msg)?;
    if let Some(path) = &a.calendar_table {
        let mut text = String::from("day,ordinal\n");
        for (d, o) in calendar_rows(&calendar) {
            text.push_str(&format!("{d},{o}\n"));
        }
        caseaudit_report::write_atomic(path, text.as_bytes())?;
    }
    if let Some(path) = &a.schema {
        let schema: serde_json::Map<String, serde_json::Value> = cases_schema(&pack, dialect)
            .into_iter()
            .map(|(c, t)| (c, t.into()))
            .collect();
        caseaudit_report::write_atomic(path, serde_json::to_string_pretty(&schema)?.as_bytes())?;
    }
    crate::outln!(
        "-- caseaudit rules sql: pack {} {}, profile {}, as of {}",
        pack.name,
        pack.version,
        a.profile,
        caseaudit_rules::calendar::format_day(as_of)
    );
    crate::outln!(
        "-- tables: cases (canonical fields; lists joined with '{}'), calendar (day DATE, ordinal INTEGER)",
        caseaudit_rules::spelling::LIST_SEPARATOR
    );
    crate::out!("{q}");
    Ok(0)
}
