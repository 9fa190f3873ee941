//! Command-line arguments (clap). Help text is Chinese; option names are English.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "caseaudit",
    version,
    about = "行政执法案卷评查工具：按行政执法三项制度（公示、全过程记录、法制审核）审查执法案件台账",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 评查台账（xlsx、xlsm、xls、ods、csv、parquet；文件夹会被遍历），输出问题清单、评分和报告
    Audit(AuditArgs),
    /// 查看台账各工作表的表头如何对应到标准字段、缺少的字段及因此无法评查的规则、取值问题
    Inspect(InspectArgs),
    /// 根据评查结果（findings.json）为每个有问题的执法单位生成整改通知书
    Notices(NoticesArgs),
    /// 整改跟踪：比较前后两次评查结果，列出已整改、仍存在、新发现的问题和整改率
    Diff(DiffArgs),
    /// 规则包：列出、查看、运行示例、校验
    Rules(RulesArgs),
    /// 生成模拟台账（含按构造植入的问题清单），用于大规模正确性验证和性能测试
    Generate(GenerateArgs),
    /// 启动浏览器中的评查工作台（本机网页：上传台账、评查、下载报告和整改通知书、整改跟踪）
    Serve(ServeArgs),
}

/// `ADDR:PORT`, a host name allowed (`localhost:8787`).
fn parse_bind(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let bad = |e: String| format!("`{s}` 不是有效的“地址:端口”（如 127.0.0.1:8787）{e}");
    s.to_socket_addrs()
        .map_err(|e| bad(format!("：{e}")))?
        .next()
        .ok_or_else(|| bad(String::new()))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// 监听地址和端口；非本机地址必须设置访问令牌
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8787", value_parser = parse_bind)]
    pub bind: std::net::SocketAddr,
    /// 保存每次评查（上传的台账、输出、参数）的文件夹
    #[arg(long, value_name = "DIR", default_value = "caseaudit-data")]
    pub data: PathBuf,
    /// 访问令牌（也可用环境变量 CASEAUDIT_TOKEN 设置）；设置后每个请求都需要它
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// 每个请求上传内容的大小上限（MB）
    #[arg(long = "max-upload-mb", value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=102_400))]
    pub max_upload_mb: u64,
    #[command(flatten)]
    pub pack: PackArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StyleArg {
    /// 标准字段名、ISO 日期、true/false
    Canonical,
    /// 中文表头和台账中常见的各种写法
    Ledger,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// 案件数
    #[arg(long, value_name = "N")]
    pub cases: usize,
    /// 随机种子（同一种子生成相同台账）
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// 输出文件，按扩展名写 csv、xlsx 或 parquet
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// 写出植入问题清单（JSON）
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// 有问题案件的比例
    #[arg(long = "violation-rate", value_name = "R", default_value_t = 0.2)]
    pub violation_rate: f64,
    /// 评查日期 YYYY-MM-DD（植入的问题以此为准；默认：北京时间今天）
    #[arg(long = "as-of", value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// 参数配置
    #[arg(long, value_name = "NAME", default_value = "national")]
    pub profile: String,
    /// 写法：canonical（标准）或 ledger（中文表头和各种写法）
    #[arg(long, value_enum, default_value = "canonical")]
    pub style: StyleArg,
    #[command(flatten)]
    pub pack: PackArgs,
}

#[derive(Debug, Args)]
pub struct NoticesArgs {
    /// audit 生成的 findings.json
    #[arg(value_name = "FINDINGS.json")]
    pub findings: PathBuf,
    /// 输出文件夹
    #[arg(long, value_name = "DIR", default_value = "caseaudit-notices")]
    pub out: PathBuf,
    /// 发文机关，如“巴楚县司法局”
    #[arg(long, value_name = "NAME")]
    pub issuer: String,
    /// 文号前缀，如“巴司函〔2022〕”，依次编为 1号、2号……
    #[arg(long = "number-prefix", value_name = "TEXT")]
    pub number_prefix: Option<String>,
    /// 发文日期 YYYY-MM-DD（默认：北京时间今天）
    #[arg(long, value_name = "DATE")]
    pub issued: Option<String>,
    /// 整改期限（自发文之日起的日历天数，1–3650）
    #[arg(long = "deadline-days", value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub deadline_days: u32,
    /// 输出格式，逗号分隔：docx,md,html
    #[arg(
        long,
        value_name = "LIST",
        default_value = "docx,md",
        value_delimiter = ','
    )]
    pub format: Vec<String>,
    /// 也为只有数据质量问题的单位生成通知书，并在通知书中列出数据质量问题
    #[arg(long = "include-data-quality")]
    pub include_data_quality: bool,
    #[command(flatten)]
    pub pack: PackArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Table,
    Json,
    Html,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// 原评查结果 findings.json
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    /// 复查评查结果 findings.json
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// 输出格式：table（终端表格）、json、html
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
    /// 写入文件（默认输出到标准输出）
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Critical,
    Major,
    Minor,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// 规则包文件夹（默认使用内置规则包）
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// 加入或替换一年的工作日历（格式同规则包 calendar/ 中的年份文件；可重复）
    #[arg(long = "calendar", value_name = "FILE")]
    pub calendar: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// 台账文件或文件夹
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// 输出文件夹（不存在时自动创建）
    #[arg(long, value_name = "DIR", default_value = "caseaudit-out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub pack: PackArgs,
    /// 参数配置（如 national、urumqi、jiangxi、public-security）
    #[arg(long, value_name = "NAME", default_value = "national")]
    pub profile: String,
    /// 评查日期 YYYY-MM-DD：在该日期尚未届满的时限不算问题（默认：北京时间今天）
    #[arg(long = "as-of", value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// 输出格式，逗号分隔：json,csv,xlsx,html
    #[arg(
        long,
        value_name = "LIST",
        default_value = "json,xlsx,html",
        value_delimiter = ','
    )]
    pub format: Vec<String>,
    /// 存在该严重程度及以上的问题时以退出码 1 结束（critical|major|minor）
    #[arg(long = "fail-on", value_name = "SEVERITY", value_enum)]
    pub fail_on: Option<SeverityArg>,
    /// 为没有执法单位列的台账指定执法单位
    #[arg(long, value_name = "NAME")]
    pub agency: Option<String>,
    /// 公示平台（信用中国、双公示、行政执法公示平台）导出的公示记录文件或文件夹（可重复）：
    /// 只作比对依据，不作为案件评查；据此检查台账记载已公示的决定平台上是否有（PUB-008）、
    /// 信息是否一致（PUB-009）
    #[arg(long = "published", value_name = "FILE")]
    pub published: Vec<std::path::PathBuf>,
    /// 公示记录的覆盖截止日期 YYYY-MM-DD（默认：各记录文件中已识别日期列的最晚日期；不晚于评查日期）
    #[arg(long = "published-until", value_name = "DATE", requires = "published")]
    pub published_until: Option<String>,
    /// 不显示进度条和汇总表
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// 台账文件或文件夹
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub pack: PackArgs,
    /// 参数配置
    #[arg(long, value_name = "NAME", default_value = "national")]
    pub profile: String,
    /// 以 JSON 输出
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// 列出全部规则
    List(PackArgs),
    /// 显示一条规则的全部内容（条件、法律依据、整改要求、示例）
    Show {
        /// 规则编号，如 PUB-001
        id: String,
        #[command(flatten)]
        pack: PackArgs,
    },
    /// 运行每条规则的示例，输出通过/失败表；有失败时退出码为 1
    Test {
        #[command(flatten)]
        pack: PackArgs,
        /// 显示每个示例的求值过程
        #[arg(long)]
        verbose: bool,
    },
    /// 校验规则包，列出全部错误
    Check(PackArgs),
    /// 将规则包编译为一条 SQL 查询（DuckDB 或 Spark SQL），用于在集群上运行同样的规则；查询读取 cases、
    /// calendar 和 published（公示记录，audit --published --format cases 写出 published.parquet；没有时用空表）
    Sql(SqlArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Duckdb,
    Spark,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// SQL 方言
    #[arg(long, value_enum, default_value = "duckdb")]
    pub dialect: DialectArg,
    /// 参数配置
    #[arg(long, value_name = "NAME", default_value = "national")]
    pub profile: String,
    /// 评查日期 YYYY-MM-DD（默认：北京时间今天）
    #[arg(long = "as-of", value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// 同时写出工作日历表（CSV：day,ordinal）
    #[arg(long = "calendar-table", value_name = "FILE")]
    pub calendar_table: Option<PathBuf>,
    /// 同时写出 cases 表各列的 SQL 类型（JSON），供读取 CSV 时指定类型
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    #[command(flatten)]
    pub pack: PackArgs,
}
