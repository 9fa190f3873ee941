#![warn(unreachable_pub, missing_docs)]

//! Generated ledgers with ground truth (`caseaudit generate`), for correctness at scale
//! and benchmarks.
//!
//! Every case starts compliant with every rule; a share of cases is then changed to
//! break one chosen rule, in a way that touches no other rule. The truth file lists
//! the (case id, rule id) pairs planted, decided by how each case was built, never by
//! running the rules. Deterministic for a seed.
//!
//! Cases can be streamed ([`generate_each`], [`CsvRows`]): a batch of any size is written
//! to CSV holding one case at a time and the truth.

use caseaudit_rules::calendar::{format_day, from_day};
use caseaudit_rules::{Calendar, Day, ParamValues, RulePack};
use chrono::Datelike;
use std::collections::BTreeMap;

/// A generated value.
#[derive(Debug, Clone, PartialEq)]
pub enum GenValue {
    /// Text.
    Text(String),
    /// A date.
    Date(Day),
    /// A boolean.
    Bool(bool),
    /// An amount in yuan.
    Money(f64),
    /// The items of a list.
    List(Vec<String>),
}

/// One generated case: field → value (absent = empty cell).
pub type GenCase = BTreeMap<&'static str, GenValue>;

/// What was planted: (case id, rule id), in case order (`-` for a case planted without
/// a case number, DQ-001).
pub type Truth = Vec<(String, &'static str)>;

/// A generated batch and what was planted in it.
pub struct Batch {
    /// The cases, in ledger order.
    pub cases: Vec<GenCase>,
    /// What was planted in them.
    pub truth: Truth,
}

/// Options of `caseaudit generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Cases to generate.
    pub cases: usize,
    /// The seed: the same seed gives the same batch.
    pub seed: u64,
    /// Share of cases changed to break one rule (0 to 1).
    pub violation_rate: f64,
    /// The audit date the planted findings are meant for.
    pub as_of: Day,
}

/// Rules the generator knows how to break.
pub const PLANTABLE: &[&str] = &[
    "PUB-001", "PUB-002", "PUB-003", "PUB-004", "PUB-005", "PUB-006", "PUB-007", "REC-001",
    "REC-002", "REC-003", "REC-004", "LR-001", "LR-002", "LR-003", "LR-004", "LR-005", "LR-006",
    "LR-007", "PRO-001", "PRO-002", "PRO-003", "DQ-001", "DQ-002", "DQ-003", "DQ-004", "DQ-005",
];

const AGENCIES: &[(&str, &str)] = &[
    ("巴楚县市场监督管理局", "巴市监"),
    ("巴楚县交通运输局", "巴交"),
    ("巴楚县城市管理局", "巴城管"),
    ("巴楚县卫生健康委员会", "巴卫"),
    ("巴楚县自然资源局", "巴自然资"),
    ("巴楚县生态环境分局", "巴环"),
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "艾", "买", "阿", "古", "热"];
const GIVEN: &[&str] = &["伟", "芳", "江", "丽", "力", "提", "娜", "军", "明", "尔"];

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

struct Ctx<'a> {
    cal: &'a Calendar,
    as_of: Day,
    first: Day,
}

impl Ctx<'_> {
    /// The `n`th working day after `d` (d itself not counted).
    fn add_workdays(&self, d: Day, n: i64) -> Day {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day += 1;
            if self.cal.is_workday(day).unwrap_or(false) {
                left -= 1;
            }
        }
        day
    }
}

fn name(rng: &mut Rng) -> String {
    format!(
        "{}{}{}",
        rng.pick(SURNAMES),
        rng.pick(GIVEN),
        rng.pick(GIVEN)
    )
}

fn text(s: impl Into<String>) -> GenValue {
    GenValue::Text(s.into())
}

/// Builds a compliant case of a kind.
fn base(rng: &mut Rng, c: &Ctx, id: String, agency: &str, kind: &str) -> GenCase {
    let mut case = GenCase::new();
    // Everything happens between `first` and 45 days before the audit date.
    let latest = c.as_of - 45;
    let span = (latest - 80 - c.first).max(1) as i64;
    let filed = c.first + rng.below(span as u64) as Day;
    let decision = filed + rng.range(0, 40) as Day;
    let service = c.add_workdays(decision, rng.range(0, 3));
    let publication = c.add_workdays(decision, rng.range(1, 5));
    let closed = service.max(publication) + rng.range(1, 15) as Day;
    let archived = closed + rng.range(0, 25) as Day;
    case.insert("case_id", text(id));
    case.insert("agency", text(agency));
    case.insert("case_type", text(kind));
    case.insert(
        "case_name",
        text(
            rng.pick(&[
                "未按规定公示信息",
                "无证经营",
                "超限运输",
                "违法占道经营",
                "未取得许可擅自施工",
            ])
            .to_string(),
        ),
    );
    let person = rng.chance(0.4);
    case.insert("party_type", text(if person { "自然人" } else { "法人" }));
    case.insert(
        "party_name",
        text(if person {
            name(rng)
        } else {
            format!(
                "巴楚县{}有限公司",
                rng.pick(&["顺达", "天山", "丝路", "绿洲", "昆仑"])
            )
        }),
    );
    case.insert("filed_date", GenValue::Date(filed));
    case.insert("decision_date", GenValue::Date(decision));
    let officers = vec![name(rng), name(rng)];
    let certs: Vec<String> = (0..2)
        .map(|_| format!("6501{:07}", rng.below(10_000_000)))
        .collect();
    case.insert("officers", GenValue::List(officers));
    case.insert("officer_cert_nos", GenValue::List(certs));
    case.insert("credentials_shown", GenValue::Bool(true));
    case.insert("publication_date", GenValue::Date(publication));
    case.insert("publication_channel", text("巴楚县人民政府网"));
    case.insert("text_record", GenValue::Bool(true));
    case.insert("av_record", GenValue::Bool(true));
    case.insert("service_date", GenValue::Date(service));
    case.insert("service_method", text("直接送达"));
    case.insert("hearing_notified", GenValue::Bool(true));
    case.insert("hearing_held", GenValue::Bool(false));
    case.insert("is_major", GenValue::Bool(false));
    case.insert("closed_date", GenValue::Date(closed));
    case.insert("archived_date", GenValue::Date(archived));
    if kind == "行政处罚" {
        if rng.chance(0.15) {
            // Simple procedure within its limits (行政处罚法 第五十一条).
            case.insert("procedure", text("简易程序"));
            case.insert("penalty_kinds", GenValue::List(vec!["罚款".into()]));
            let fine = if person {
                rng.range(1, 4) * 50
            } else {
                rng.range(2, 30) * 100
            };
            case.insert("fine_amount", GenValue::Money(fine as f64));
            case.insert("filed_date", GenValue::Date(decision));
        } else {
            case.insert("procedure", text("一般程序"));
            let mut kinds = vec!["罚款".to_string()];
            if rng.chance(0.2) {
                kinds.insert(0, "警告".into());
            }
            case.insert("penalty_kinds", GenValue::List(kinds));
            // Below every profile's hearing threshold (公安 2000 / 10000, 乌鲁木齐 500).
            let fine = if person {
                rng.range(1, 9) * 50
            } else {
                rng.range(5, 95) * 100
            };
            case.insert("fine_amount", GenValue::Money(fine as f64));
        }
    }
    if kind == "行政强制" {
        case.insert(
            "measures",
            GenValue::List(vec![rng.pick(&["查封", "扣押"]).to_string()]),
        );
    }
    if kind == "行政检查" && rng.chance(0.5) {
        case.insert("measures", GenValue::List(vec!["现场检查".into()]));
    }
    case
}

fn date(case: &GenCase, f: &str) -> Day {
    match case.get(f) {
        Some(GenValue::Date(d)) => *d,
        _ => 0,
    }
}

/// A compliant major decision: reviewed by a qualified reviewer and (penalties)
/// discussed by the heads, both before the decision.
fn make_major(rng: &mut Rng, case: &mut GenCase) {
    let decision = date(case, "decision_date");
    let filed = date(case, "filed_date");
    case.insert("is_major", GenValue::Bool(true));
    case.insert(
        "legal_review_date",
        GenValue::Date(decision - rng.range(0, 2) as Day),
    );
    case.insert("legal_review_result", text("通过"));
    case.insert("legal_reviewer", text(name(rng)));
    case.insert("reviewer_qualified", GenValue::Bool(true));
    case.insert(
        "collective_discussion_date",
        GenValue::Date(decision - rng.range(0, 1) as Day),
    );
    if filed > decision - 2 {
        case.insert("filed_date", GenValue::Date(decision - 3));
    }
}

/// The case types a rule can be planted in.
fn kinds_for(rule: &str) -> &'static [&'static str] {
    match rule {
        "PUB-001" | "PUB-002" => &["行政处罚", "行政许可"],
        "PUB-003" => &["行政检查", "行政强制"],
        "PUB-004" | "PUB-005" | "PUB-006" => &["行政处罚", "行政检查", "行政强制"],
        "REC-002" => &["行政强制"],
        "LR-005" | "LR-007" | "PRO-001" | "PRO-002" | "PRO-003" => &["行政处罚"],
        _ => &["行政处罚", "行政许可", "行政检查", "行政强制"],
    }
}

/// Changes a compliant case so that it breaks `rule` and nothing else. Returns false
/// when the rule cannot be planted under these parameters (then nothing is changed).
fn plant(rng: &mut Rng, c: &Ctx, p: &ParamValues, case: &mut GenCase, rule: &str) -> bool {
    let decision = date(case, "decision_date");
    let person = matches!(case.get("party_type"), Some(GenValue::Text(t)) if t == "自然人");
    let wd = |name: &str, dflt: i64| p.get(name).map(|v| v as i64).unwrap_or(dflt);
    let keep_before_as_of = |d: Day| d <= c.as_of;
    // Publication rules exempt the simple procedure: plant them in general procedure.
    if matches!(rule, "PUB-001" | "PUB-002") && case.contains_key("procedure") {
        case.insert("procedure", text("一般程序"));
    }
    match rule {
        "PUB-001" => {
            case.remove("publication_date");
            case.remove("publication_channel");
        }
        "PUB-002" => {
            let n = wd("publication_workdays_permit_penalty", 7);
            let d = c.add_workdays(decision, n + rng.range(1, 8));
            if !keep_before_as_of(d) {
                return false;
            }
            case.insert("publication_date", GenValue::Date(d));
            case.insert("closed_date", GenValue::Date(d + 1));
            case.insert("archived_date", GenValue::Date(d + 2));
        }
        "PUB-003" => {
            if rng.chance(0.5) {
                case.remove("publication_date");
            } else {
                let n = wd("publication_workdays_other", 20);
                let d = c.add_workdays(decision, n + rng.range(1, 5));
                if !keep_before_as_of(d + 2) {
                    return false;
                }
                case.insert("publication_date", GenValue::Date(d));
                case.insert("closed_date", GenValue::Date(d + 1));
                case.insert("archived_date", GenValue::Date(d + 2));
            }
        }
        "PUB-004" => {
            if rng.chance(0.5) {
                case.insert("credentials_shown", GenValue::Bool(false));
            } else {
                case.remove("credentials_shown");
            }
        }
        "PUB-005" => {
            case.insert("officers", GenValue::List(vec![name(rng)]));
        }
        "PUB-006" => {
            if rng.chance(0.5) {
                case.remove("officer_cert_nos");
            } else {
                case.insert(
                    "officer_cert_nos",
                    GenValue::List(vec![format!("6501{:07}", rng.below(10_000_000))]),
                );
            }
        }
        "PUB-007" => {
            let revoked = date(case, "closed_date") + rng.range(1, 10) as Day;
            let n = wd("withdrawal_workdays", 3);
            let withdrawn = c.add_workdays(revoked, n + rng.range(1, 4));
            if !keep_before_as_of(withdrawn) {
                return false;
            }
            case.insert("revoked_date", GenValue::Date(revoked));
            if rng.chance(0.5) {
                case.insert("publication_withdrawn_date", GenValue::Date(withdrawn));
            }
        }
        "REC-001" => {
            if rng.chance(0.5) {
                case.insert("text_record", GenValue::Bool(false));
            } else {
                case.remove("text_record");
            }
        }
        "REC-002" => {
            case.insert(
                "measures",
                GenValue::List(vec![rng.pick(&["查封", "扣押", "强制拆除"]).to_string()]),
            );
            case.insert("av_record", GenValue::Bool(false));
        }
        "REC-003" => {
            case.remove("measures");
            case.insert("service_method", text(*rng.pick(&["留置送达", "公告送达"])));
            case.insert("av_record", GenValue::Bool(false));
        }
        "REC-004" => {
            let closed = date(case, "closed_date");
            let n = wd("archive_days", 30);
            let archived = closed + (n + rng.range(1, 20)) as Day;
            if !keep_before_as_of(archived) {
                return false;
            }
            case.insert("archived_date", GenValue::Date(archived));
        }
        "LR-001" => {
            make_major(rng, case);
            for f in [
                "legal_review_date",
                "legal_review_result",
                "legal_reviewer",
                "reviewer_qualified",
            ] {
                case.remove(f);
            }
        }
        "LR-002" => {
            make_major(rng, case);
            let d = decision + rng.range(1, 5) as Day;
            case.insert("legal_review_date", GenValue::Date(d));
            if date(case, "closed_date") < d {
                case.insert("closed_date", GenValue::Date(d));
                case.insert("archived_date", GenValue::Date(d + 1));
            }
        }
        "LR-003" => {
            make_major(rng, case);
            case.insert(
                "legal_review_result",
                text(*rng.pick(&["不通过", "退回补充"])),
            );
        }
        "LR-004" => {
            make_major(rng, case);
            if rng.chance(0.5) {
                case.insert("reviewer_qualified", GenValue::Bool(false));
            } else {
                case.remove("reviewer_qualified");
            }
        }
        "LR-005" => {
            make_major(rng, case);
            case.remove("collective_discussion_date");
        }
        "LR-006" => {
            let d = decision + rng.range(1, 5) as Day;
            case.insert("collective_discussion_date", GenValue::Date(d));
            if date(case, "closed_date") < d {
                case.insert("closed_date", GenValue::Date(d));
                case.insert("archived_date", GenValue::Date(d + 1));
            }
        }
        "LR-007" => {
            make_major(rng, case);
            case.insert("procedure", text("一般程序"));
            case.insert(
                "penalty_kinds",
                GenValue::List(vec![rng
                    .pick(&["吊销许可证件", "责令停产停业", "限制从业"])
                    .to_string()]),
            );
            if rng.chance(0.5) {
                case.insert("hearing_notified", GenValue::Bool(false));
            } else {
                case.remove("hearing_notified");
            }
        }
        "PRO-001" => {
            case.insert("procedure", text("一般程序"));
            let n = wd("decision_days", 90);
            let filed = decision - (n + rng.range(1, 30)) as Day;
            if filed < c.first {
                return false;
            }
            case.insert("filed_date", GenValue::Date(filed));
        }
        "PRO-002" => {
            let n = wd("service_workdays", 7);
            let d = c.add_workdays(decision, n + rng.range(1, 6));
            if !keep_before_as_of(d + 2) {
                return false;
            }
            case.insert("service_date", GenValue::Date(d));
            case.insert("closed_date", GenValue::Date(d + 1));
            case.insert("archived_date", GenValue::Date(d + 2));
        }
        "PRO-003" => {
            case.insert("procedure", text("简易程序"));
            case.insert("filed_date", GenValue::Date(decision));
            if rng.chance(0.5) {
                let cap = if person {
                    wd("simple_fine_individual_max", 200)
                } else {
                    wd("simple_fine_organization_max", 3000)
                };
                // Above the simple-procedure cap but below every hearing threshold
                // (公安 2000 / 10000; 乌鲁木齐 500), which the base case respects.
                let hearing_cap = if person { 500 } else { 10000 };
                let fine = rng.range(cap + 1, (hearing_cap - 1).max(cap + 1));
                case.insert("fine_amount", GenValue::Money(fine as f64));
                case.insert("penalty_kinds", GenValue::List(vec!["罚款".into()]));
            } else {
                case.insert(
                    "penalty_kinds",
                    GenValue::List(vec!["罚款".into(), "没收违法所得".into()]),
                );
                case.insert(
                    "fine_amount",
                    GenValue::Money(if person { 100.0 } else { 1000.0 }),
                );
            }
        }
        "DQ-001" => {
            case.remove("case_id");
        }
        "DQ-003" => {
            // A party type outside the vocabulary: kept as written and reported. Read as
            // "not a natural person", which only raises the thresholds the base case
            // stays below, so no other rule changes.
            case.insert(
                "party_type",
                text(*rng.pick(&["事业单位", "外籍人员", "社会团体"])),
            );
        }
        "DQ-004" => {
            let closed = date(case, "closed_date");
            case.insert(
                "archived_date",
                GenValue::Date(closed - rng.range(1, 5) as Day),
            );
        }
        "DQ-005" => {
            let d = c.as_of + rng.range(1, 20) as Day;
            if !c.cal.covers(d) {
                return false;
            }
            case.insert("publication_withdrawn_date", GenValue::Date(d));
        }
        _ => return false,
    }
    true
}

/// Generates a batch in memory.
pub fn generate(
    pack: &RulePack,
    params: &ParamValues,
    calendar: &Calendar,
    opts: &GenerateOptions,
) -> Batch {
    let mut cases: Vec<GenCase> = Vec::with_capacity(opts.cases);
    let truth = generate_each(pack, params, calendar, opts, |c| {
        cases.push(c.clone());
        Ok::<(), std::convert::Infallible>(())
    });
    let truth = match truth {
        Ok(t) => t,
        Err(never) => match never {},
    };
    Batch { cases, truth }
}

/// Generates `opts.cases` cases, handing each to `sink` as it is made (nothing but the
/// truth is kept), and returns the truth. The cases are those [`generate`] returns.
pub fn generate_each<E>(
    pack: &RulePack,
    params: &ParamValues,
    calendar: &Calendar,
    opts: &GenerateOptions,
    mut sink: impl FnMut(&GenCase) -> Result<(), E>,
) -> Result<Truth, E> {
    let mut rng = Rng(opts.seed ^ 0x5EED_CA5E);
    let year_start = |y: i32| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .map(caseaudit_rules::calendar::to_day)
            .unwrap_or(0)
    };
    let first_covered = calendar
        .years()
        .map(|(y, _)| y)
        .min()
        .map(year_start)
        .unwrap_or(0);
    let first = (opts.as_of - 330).max(first_covered);
    let c = Ctx {
        cal: calendar,
        as_of: opts.as_of,
        first,
    };
    let year = from_day(opts.as_of).year();
    let mut counters: BTreeMap<&str, u64> = BTreeMap::new();
    let mut truth: Truth = Vec::new();
    let plantable: Vec<&'static str> = PLANTABLE
        .iter()
        .copied()
        .filter(|r| pack.rule(r).is_some_and(|r| r.is_active()))
        .collect();
    let mut i = 0;
    while i < opts.cases {
        let (agency, abbr) = *rng.pick(AGENCIES);
        let target = if rng.chance(opts.violation_rate) {
            Some(*rng.pick(&plantable))
        } else {
            None
        };
        const MIX: [&str; 6] = [
            "行政处罚",
            "行政处罚",
            "行政处罚",
            "行政许可",
            "行政检查",
            "行政强制",
        ];
        let kinds: &[&str] = match target {
            Some(r) => kinds_for(r),
            None => &MIX,
        };
        let kind: &str = rng.pick::<&str>(kinds);
        let tag = match kind {
            "行政许可" => "许",
            "行政检查" => "检",
            "行政强制" => "强",
            _ => "罚",
        };
        let n = counters.entry(abbr).or_insert(0);
        *n += 1;
        let id = format!("{abbr}{tag}〔{year}〕{n}号");
        let mut case = base(&mut rng, &c, id.clone(), agency, kind);
        if rng.chance(0.1) && target.is_none() {
            make_major(&mut rng, &mut case);
        }
        match target {
            Some("DQ-002") if i + 1 < opts.cases => {
                // Two rows share a case number within one agency: both are findings.
                let mut twin = base(&mut rng, &c, id.clone(), agency, kind);
                twin.insert("case_name", text("重复登记"));
                truth.push((id.clone(), "DQ-002"));
                truth.push((id, "DQ-002"));
                sink(&case)?;
                sink(&twin)?;
                i += 2;
                continue;
            }
            Some("DQ-002") => {}
            Some(rule) if plant(&mut rng, &c, params, &mut case, rule) => {
                let key = if rule == "DQ-001" {
                    "-".to_string()
                } else {
                    id
                };
                truth.push((key, rule));
            }
            Some(_) => {}
            None => {}
        }
        sink(&case)?;
        i += 1;
    }
    Ok(truth)
}

/// The text a canonical ledger holds for a value.
pub fn canonical_text(v: &GenValue) -> String {
    match v {
        GenValue::Text(s) => s.clone(),
        GenValue::Date(d) => format_day(*d),
        GenValue::Bool(b) => b.to_string(),
        GenValue::Money(m) => format!("{m}"),
        GenValue::List(l) => l.join(caseaudit_rules::spelling::LIST_SEPARATOR),
    }
}

/// The text a messy agency ledger might hold for a value (schema.md's forms), chosen
/// deterministically from the row.
pub fn ledger_text(v: &GenValue, row: usize) -> String {
    match v {
        GenValue::Date(d) => {
            let x = from_day(*d);
            match row % 5 {
                0 => format_day(*d),
                1 => format!("{}/{}/{}", x.year(), x.month(), x.day()),
                2 => format!("{}年{}月{}日", x.year(), x.month(), x.day()),
                3 => x.format("%Y%m%d").to_string(),
                _ => format!("{}.{}.{}", x.year(), x.month(), x.day()),
            }
        }
        GenValue::Bool(b) => match (row % 3, b) {
            (0, true) => "是".into(),
            (0, false) => "否".into(),
            (1, true) => "√".into(),
            (1, false) => "×".into(),
            (_, true) => "有".into(),
            (_, false) => "无".into(),
        },
        GenValue::Money(m) => {
            if row.is_multiple_of(2) {
                format!("{m}元")
            } else {
                format!("{m}")
            }
        }
        GenValue::List(l) => l.join(if row.is_multiple_of(2) { "、" } else { "，" }),
        GenValue::Text(s) => s.clone(),
    }
}

/// How generated values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Canonical field names, ISO dates, true/false, yuan.
    Canonical,
    /// Chinese headers (each field's first alias) and the mixed forms of schema.md.
    Ledger,
}

fn headers(pack: &RulePack, style: Style) -> Vec<String> {
    pack.fields
        .iter()
        .map(|f| match style {
            Style::Canonical => f.name.clone(),
            Style::Ledger => f
                .aliases
                .first()
                .cloned()
                .unwrap_or_else(|| f.label.clone()),
        })
        .collect()
}

fn cell(case: &GenCase, field: &str, style: Style, row: usize) -> String {
    match (pack_key(case, field), style) {
        (None, _) => String::new(),
        (Some(v), Style::Canonical) => canonical_text(v),
        (Some(v), Style::Ledger) => ledger_text(v, row),
    }
}

fn pack_key<'a>(case: &'a GenCase, field: &str) -> Option<&'a GenValue> {
    case.iter().find(|(k, _)| **k == field).map(|(_, v)| v)
}

/// A CSV ledger (UTF-8) written one case at a time.
pub struct CsvRows<W: std::io::Write> {
    w: csv::Writer<W>,
    names: Vec<String>,
    style: Style,
    row: usize,
}

impl<W: std::io::Write> CsvRows<W> {
    /// Starts the ledger: writes its header.
    pub fn new(pack: &RulePack, style: Style, out: W) -> csv::Result<CsvRows<W>> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(headers(pack, style))?;
        Ok(CsvRows {
            w,
            names: pack.fields.iter().map(|f| f.name.clone()).collect(),
            style,
            row: 0,
        })
    }

    /// Writes the next case.
    pub fn push(&mut self, case: &GenCase) -> csv::Result<()> {
        let (style, row) = (self.style, self.row);
        self.w
            .write_record(self.names.iter().map(|n| cell(case, n, style, row)))?;
        self.row += 1;
        Ok(())
    }

    /// Writes out what is buffered.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Writes a batch as CSV (UTF-8).
pub fn write_csv(
    pack: &RulePack,
    batch: &Batch,
    style: Style,
    out: impl std::io::Write,
) -> Result<(), String> {
    let mut rows = CsvRows::new(pack, style, out).map_err(|e| e.to_string())?;
    for case in &batch.cases {
        rows.push(case).map_err(|e| e.to_string())?;
    }
    rows.finish().map_err(|e| e.to_string())
}

/// Writes a batch as an xlsx workbook (one sheet, text cells).
pub fn write_xlsx(pack: &RulePack, batch: &Batch, style: Style) -> Result<Vec<u8>, String> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    for (c, h) in headers(pack, style).iter().enumerate() {
        ws.write_string(0, c as u16, h).map_err(e)?;
    }
    let names: Vec<String> = pack.fields.iter().map(|f| f.name.clone()).collect();
    for (i, case) in batch.cases.iter().enumerate() {
        for (c, n) in names.iter().enumerate() {
            let v = cell(case, n, style, i);
            if !v.is_empty() {
                ws.write_string(i as u32 + 1, c as u16, v).map_err(e)?;
            }
        }
    }
    wb.save_to_buffer().map_err(e)
}

/// Writes a batch as parquet (text columns).
pub fn write_parquet(
    pack: &RulePack,
    batch: &Batch,
    style: Style,
    out: impl std::io::Write,
) -> Result<(), String> {
    use polars::prelude::*;
    let names: Vec<String> = pack.fields.iter().map(|f| f.name.clone()).collect();
    let cols: Vec<Column> = headers(pack, style)
        .iter()
        .zip(&names)
        .map(|(h, n)| {
            let vals: Vec<Option<String>> = batch
                .cases
                .iter()
                .enumerate()
                .map(|(i, c)| Some(cell(c, n, style, i)).filter(|s| !s.is_empty()))
                .collect();
            Column::new(h.as_str().into(), vals)
        })
        .collect();
    let mut df = DataFrame::new(batch.cases.len(), cols).map_err(|e| e.to_string())?;
    ParquetWriter::new(out)
        .finish(&mut df)
        .map_err(|e| e.to_string())?;
    Ok(())
}
