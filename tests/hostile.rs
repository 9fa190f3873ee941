//! Hostile input and clumsy use (decisions.md, rulings of 2026-12): nothing from data
//! controls the terminal, closed pipes and full disks, date options out of range, the
//! condition nesting limit, diff and notices never overwriting their inputs, the output
//! folder's marker, and input discovery (own outputs, the same file twice, links, FIFOs).

use super::{audit_fixtures, caseaudit, read_json, root};
use std::path::Path;
use std::process::Stdio;

const LEDGER: &str = "案件编号,执法单位,执法类别,文字记录\nG-1,某局,行政检查,否\n";

fn write(p: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// Runs `audit --quiet` on `inputs` into `out`: (exit code, stderr, findings.json).
fn audit(inputs: &[&Path], out: &Path) -> (Option<i32>, String, serde_json::Value) {
    let o = caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--quiet",
            "--format",
            "json,csv",
            "--out",
        ])
        .arg(out)
        .args(inputs)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = if out.join("findings.json").exists() {
        read_json(&out.join("findings.json"))
    } else {
        serde_json::Value::Null
    };
    (o.status.code(), stderr, report)
}

fn inputs(report: &serde_json::Value) -> Vec<String> {
    report["run"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["file"].as_str().map(String::from))
        .collect()
}

fn warnings(report: &serde_json::Value) -> String {
    report["run"]["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A character that can control a terminal or reorder what it shows (line breaks
/// aside: the output's own lines).
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF)
}

#[test]
fn a_file_name_with_a_line_break_cannot_forge_an_error_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // An empty file (a file error) whose name holds a line break, an escape sequence
    // and a right-to-left override.
    let bad = dir.path().join("坏\n错误：伪造的一行\u{1b}[2J\u{202e}.csv");
    write(&bad, b"");
    let good = dir.path().join("good.csv");
    write(
        &good,
        "案件编号,执法单位,执法类别,文字记录\nG-1,某局\u{1b}[31m\u{200b},行政检查,否\n",
    );
    let (code, stderr, report) = audit(&[&bad, &good], &dir.path().join("out"));
    assert_eq!(code, Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("错误：")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("坏\\n错误：伪造的一行\\u{1b}[2J\\u{202e}.csv"),
        "{stderr}"
    );
    assert!(!stderr.chars().any(hidden), "{stderr:?}");
    assert_eq!(report["run"]["errors"][0]["kind"], "empty_file");
    // The summary table (without --quiet) shows the agency escaped.
    let o = caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--format",
            "json",
            "--out",
        ])
        .arg(dir.path().join("out2"))
        .arg(&good)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("某局\\u{1b}[31m\\u{200b}"), "{stderr}");
    assert!(!stderr.chars().any(hidden), "{stderr:?}");
    // inspect prints to stdout, escaped the same way.
    let o = caseaudit()
        .arg("inspect")
        .arg(&bad)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("\\u{202e}"), "{stdout}");
    assert!(!stdout.chars().any(hidden), "{stdout:?}");
}

#[test]
fn a_reader_that_stops_reading_ends_the_command_quietly() {
    for args in [
        &["rules", "list"][..],
        &["rules", "show", "PUB-001"],
        &["rules", "test", "--verbose"],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseaudit"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        // Close the reading end before the command writes (as `| head -0` does).
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_full_disk_is_exit_2_with_a_chinese_message() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        return;
    };
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseaudit"))
        .args(["rules", "list"])
        .stdout(full)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("磁盘已满"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"));
}

#[test]
fn dates_out_of_range_in_options_are_usage_errors() {
    let (out, _) = audit_fixtures("national");
    let json = out.path().join("findings.json");
    let runs: Vec<Vec<String>> = vec![
        vec!["notices".into(), "--issued".into(), "+262142-12-31".into()],
        vec!["notices".into(), "--issued".into(), "9999-12-31".into()],
        vec![
            "notices".into(),
            "--deadline-days".into(),
            "4294967295".into(),
        ],
    ];
    for args in runs {
        let o = caseaudit()
            .args(&args)
            .args(["--issuer", "某局", "--out"])
            .arg(out.path().join("n"))
            .arg(&json)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    for date in ["+262142-12-31", "-0001-01-01", "3000-01-01"] {
        let o = caseaudit()
            .args(["audit", "--quiet", &format!("--as-of={date}"), "--out"])
            .arg(out.path().join("a"))
            .arg(root().join("fixtures/ledgers"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{date}: {stderr}");
        assert!(
            stderr.contains("--as-of") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_profile_is_named_in_chinese() {
    let o = caseaudit()
        .args(["rules", "sql", "--profile", "nationl"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("未知的参数配置 `nationl`"), "{stderr}");
    assert!(stderr.contains("是否想写 `national`"), "{stderr}");
}

/// A copy of the built-in pack in a temporary folder.
fn pack_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
        for e in std::fs::read_dir(from)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                copy(&p, &to.join(e.file_name()));
            } else {
                std::fs::copy(&p, to.join(e.file_name())).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy(&root().join("rules"), dir.path());
    dir
}

#[test]
fn rules_check_refuses_a_condition_of_five_thousand_ands() {
    let pack = pack_copy();
    let violation = vec!["decision_date IS NULL"; 5000].join(" AND ");
    write(
        &pack.path().join("three-systems/PUB-901.toml"),
        format!(
            "id = \"PUB-901\"\ntitle = \"测试\"\nsystem = \"publication\"\nseverity = \"minor\"\n\
             deduction = 1\nrequires = [\"decision_date\"]\nviolation = \"\"\"\n{violation}\n\"\"\"\n\
             basis = \"测试\"\nrectification = \"测试\"\n"
        ),
    );
    let o = caseaudit()
        .args(["rules", "check", "--rules"])
        .arg(pack.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("PUB-901") && stderr.contains("条件过长"),
        "{stderr}"
    );
    // audit refuses the pack the same way, without overflowing the stack.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("l.csv"), LEDGER);
    let o = caseaudit()
        .args(["audit", "--quiet", "--as-of", "2022-12-31", "--rules"])
        .arg(pack.path())
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(dir.path().join("l.csv"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("PUB-901"), "{stderr}");
}

#[test]
fn diff_refuses_to_overwrite_its_input_and_says_when_runs_differ() {
    let (old_dir, _) = audit_fixtures("national");
    let (new_dir, _) = audit_fixtures("urumqi");
    let old = old_dir.path().join("findings.json");
    let new = new_dir.path().join("findings.json");
    let before = std::fs::read(&old).unwrap_or_else(|e| panic!("{e}"));
    // Another spelling of the same path.
    let same = old_dir.path().join(".").join("findings.json");
    let o = caseaudit()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--out")
        .arg(&same)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("拒绝覆盖"), "{stderr}");
    assert_eq!(
        std::fs::read(&old).unwrap_or_else(|e| panic!("{e}")),
        before
    );
    // The table says the profiles differ, on a line above it.
    let o = caseaudit()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let first = stdout.lines().next().unwrap_or("");
    assert!(
        first.contains("参数配置不同") && first.contains("urumqi"),
        "{stdout}"
    );
    let o = caseaudit()
        .args(["diff", "--format", "json"])
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d["run_differences"][0]["what"], "profile", "{d}");
    assert_eq!(d["run_differences"][0]["new"], "urumqi", "{d}");
    // The same profile: nothing to say.
    let o = caseaudit()
        .args(["diff", "--format", "json"])
        .arg(&old)
        .arg(&old)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d["run_differences"], serde_json::json!([]), "{d}");
}

#[test]
fn notices_render_a_rule_they_do_not_know_and_warn_about_a_newer_file() {
    let (out, mut report) = audit_fixtures("national");
    report["tool"]["version"] = "99.0.0".into();
    let first = report["findings"]
        .as_array()
        .and_then(|a| a.iter().position(|f| f["system"] == "publication"))
        .unwrap_or_else(|| panic!("no finding"));
    let f = &mut report["findings"][first];
    f["rule_id"] = "NEW-001".into();
    f["system"] = "transparency".into();
    let agency = f["agency"].as_str().unwrap_or("").to_string();
    if let Some(rules) = report["run"]["rules"].as_array_mut() {
        rules.push(serde_json::json!({
            "id": "NEW-001", "system": "transparency", "severity": "major",
            "title": "新版本的规则标题", "basis": "新版本的法律依据",
            "rectification": "新版本的整改要求", "deduction": 2, "veto": false,
            "evaluated": true
        }));
    }
    let json = out.path().join("newer.json");
    write(&json, report.to_string());
    let notices = out.path().join("notices");
    let o = caseaudit()
        .args([
            "notices",
            "--issuer",
            "某司法局",
            "--issued",
            "2023-01-10",
            "--format",
            "md",
            "--out",
        ])
        .arg(&notices)
        .arg(&json)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("较新版本") && stderr.contains("99.0.0"),
        "{stderr}"
    );
    let md: String = std::fs::read_dir(&notices)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .filter(|t| t.contains(&agency))
        .collect();
    for want in [
        "新版本的规则标题",
        "新版本的法律依据",
        "新版本的整改要求",
        "NEW-001",
        "其他问题（transparency）",
    ] {
        assert!(md.contains(want), "{want} missing:\n{md}");
    }
}

#[test]
fn notices_refuse_to_overwrite_their_input() {
    let (out, _) = audit_fixtures("national");
    // A findings.json saved under the register's name, in the output folder.
    let notices = out.path().join("notices");
    let input = notices.join("整改通知书清单.csv");
    let text = std::fs::read(out.path().join("findings.json")).unwrap_or_else(|e| panic!("{e}"));
    write(&input, &text);
    let o = caseaudit()
        .args([
            "notices",
            "--issuer",
            "某司法局",
            "--issued",
            "2023-01-10",
            "--out",
        ])
        .arg(&notices)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("拒绝覆盖"), "{stderr}");
    assert_eq!(
        std::fs::read(&input).unwrap_or_else(|e| panic!("{e}")),
        text
    );
}

#[cfg(unix)]
#[test]
fn the_marker_is_never_written_through_a_link() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("l.csv"), LEDGER);
    let victim = dir.path().join("victim.txt");
    write(&victim, "keep");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&victim, out.join(".caseaudit-output"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, _) = audit(&[&dir.path().join("l.csv")], &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(".caseaudit-output") && stderr.contains("链接"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap_or_default(), "keep");
}

#[test]
fn caseaudit_never_reads_its_own_outputs_even_in_the_input_folder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("l.csv"), LEDGER);
    // The output folder is the input folder; audited three times.
    for _ in 0..3 {
        let (code, stderr, report) = audit(&[dir.path()], dir.path());
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(inputs(&report).len(), 1, "{}", report["run"]["inputs"]);
    }
    let (_, _, report) = audit(&[dir.path()], dir.path());
    assert!(
        warnings(&report).contains("findings.csv"),
        "{}",
        warnings(&report)
    );
    // The marker lists what was written.
    let marker = std::fs::read_to_string(dir.path().join(".caseaudit-output"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        marker.contains("findings.csv") && marker.contains("findings.json"),
        "{marker}"
    );
    // A ledger saved into an output folder is still read: the folder is not skipped.
    let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sub = other.path().join("sub");
    write(&sub.join("l.csv"), LEDGER);
    let (code, _, _) = audit(&[&sub.join("l.csv")], &sub);
    assert_eq!(code, Some(0));
    write(&sub.join("new.csv"), LEDGER.replace("G-1", "G-2"));
    let (code, stderr, report) = audit(&[other.path()], &other.path().join("out"));
    assert_eq!(code, Some(0), "{stderr}");
    let mut files = inputs(&report);
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("new.csv")), "{files:?}");
}

#[test]
fn the_same_file_given_twice_is_read_once_with_a_note() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let l = dir.path().join("in/l.csv");
    write(&l, LEDGER);
    let spelled = dir.path().join("in/./l.csv");
    let (code, stderr, report) = audit(
        &[&l, &l, dir.path().join("in").as_path(), &spelled],
        &dir.path().join("out"),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(inputs(&report).len(), 1, "{}", report["run"]["inputs"]);
    assert_eq!(report["run"]["cases_audited"], 1);
    assert!(
        warnings(&report).contains("同一个文件"),
        "{}",
        warnings(&report)
    );
}

#[cfg(unix)]
#[test]
fn links_are_followed_only_inside_the_folder_given() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let given = dir.path().join("given");
    write(&given.join("a/l.csv"), LEDGER);
    let outside = dir.path().join("elsewhere/secret.csv");
    write(&outside, LEDGER.replace("G-1", "S-1"));
    std::os::unix::fs::symlink(&outside, given.join("link-out.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), given.join("dir-out"))
        .unwrap_or_else(|e| panic!("{e}"));
    let inside = dir.path().join("given/b/in.csv");
    write(&inside, LEDGER.replace("G-1", "I-1"));
    std::os::unix::fs::symlink(&inside, given.join("link-in.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, stderr, report) = audit(&[&given], &dir.path().join("out"));
    assert_eq!(code, Some(0), "{stderr}");
    let files = inputs(&report);
    assert!(
        !files
            .iter()
            .any(|f| f.contains("secret") || f.contains("link-out")),
        "{files:?}"
    );
    assert_eq!(report["run"]["cases_audited"], 2, "{files:?}");
    let w = warnings(&report);
    assert!(w.contains("link-out.csv") && w.contains("之外"), "{w}");
    assert!(w.contains("dir-out"), "{w}");
}

#[cfg(unix)]
#[test]
fn a_fifo_given_as_a_ledger_is_unreadable_not_empty() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let good = dir.path().join("good.csv");
    write(&good, LEDGER);
    let (code, stderr, report) = audit(&[&fifo, &good], &dir.path().join("out"));
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("pipe.csv")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("不是普通文件"), "{stderr}");
    assert_eq!(report["run"]["errors"][0]["kind"], "unreadable");
    assert_eq!(report["run"]["cases_audited"], 1);
}

// ---- Budgets before allocation in the workbook readers ----

/// Audits `bytes` saved as `name` with a good ledger: exit 2, one stderr line naming
/// the file (returned), and its error of class `kind`; the good ledger still audited.
fn refused(name: &str, bytes: &[u8], kind: &str) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join(name);
    write(&bad, bytes);
    let good = dir.path().join("good.csv");
    write(&good, LEDGER);
    let (code, stderr, report) = audit(&[&bad, &good], &dir.path().join("out"));
    assert_eq!(code, Some(2), "{name}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(name)).collect();
    assert_eq!(lines.len(), 1, "{name}: {stderr}");
    let errors = report["run"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(errors.len(), 1, "{name}: {errors:?}");
    assert_eq!(errors[0]["kind"], kind, "{name}: {errors:?}");
    assert_eq!(report["run"]["cases_audited"], 1, "{name}");
    lines[0].to_string()
}

/// As [`refused`], of class `too_large`.
fn too_large(name: &str, bytes: &[u8]) {
    refused(name, bytes, "too_large");
}

/// Audits a workbook alone: (exit code, stderr, findings.json).
fn read_alone(name: &str, bytes: &[u8]) -> (Option<i32>, String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join(name);
    write(&p, bytes);
    audit(&[&p], &dir.path().join("out"))
}

fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend(data);
    r
}

/// A BIFF8 worksheet substream: DIMENSIONS (rows first..last exclusive, 3 columns)
/// and NUMBER cells at (row, column).
fn biff_sheet(rows: (u32, u32), cells: &[(u16, u16)]) -> Vec<u8> {
    let mut bof = vec![0x00, 0x06, 0x10, 0x00];
    bof.extend([0u8; 12]);
    let mut s = record(0x0809, &bof);
    let mut dims = Vec::new();
    dims.extend(rows.0.to_le_bytes());
    dims.extend(rows.1.to_le_bytes());
    dims.extend(0u16.to_le_bytes());
    dims.extend(3u16.to_le_bytes());
    dims.extend(0u16.to_le_bytes());
    s.extend(record(0x0200, &dims));
    for (r, c) in cells {
        let mut d = Vec::new();
        d.extend(r.to_le_bytes());
        d.extend(c.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(1.0f64.to_le_bytes());
        s.extend(record(0x0203, &d));
    }
    s.extend(record(0x000A, &[]));
    s
}

/// An .xls (a compound file holding a BIFF8 `Workbook` stream) of these sheets.
fn xls(sheets: &[Vec<u8>]) -> Vec<u8> {
    let mut bof = vec![0x00, 0x06, 0x05, 0x00];
    bof.extend([0u8; 12]);
    let name = |i: usize| format!("s{i}");
    let globals_len = 4
        + bof.len()
        + (0..sheets.len())
            .map(|i| 4 + 8 + name(i).len())
            .sum::<usize>()
        + 4;
    let mut stream = record(0x0809, &bof);
    let mut pos = globals_len;
    for (i, s) in sheets.iter().enumerate() {
        let mut b = (pos as u32).to_le_bytes().to_vec();
        b.extend([0, 0, name(i).len() as u8, 0]);
        b.extend(name(i).as_bytes());
        stream.extend(record(0x0085, &b));
        pos += s.len();
    }
    stream.extend(record(0x000A, &[]));
    for s in sheets {
        stream.extend(s);
    }
    let mut cf =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, std::io::Cursor::new(Vec::new()))
            .unwrap_or_else(|e| panic!("{e}"));
    {
        let mut w = cf
            .create_stream("/Workbook")
            .unwrap_or_else(|e| panic!("{e}"));
        std::io::Write::write_all(&mut w, &stream).unwrap_or_else(|e| panic!("{e}"));
    }
    cf.flush().unwrap_or_else(|e| panic!("{e}"));
    cf.into_inner().into_inner()
}

#[test]
fn an_xls_whose_dimensions_claim_four_billion_rows_is_too_large() {
    // The same workbook with honest dimensions is read (so the file is a real xls).
    let honest = xls(&[biff_sheet((0, 2), &[(0, 0), (1, 0)])]);
    let (code, stderr, report) = read_alone("honest.xls", &honest);
    assert!(
        report["run"]["errors"].as_array().is_none_or(|e| e
            .iter()
            .all(|e| e["kind"] != "too_large" && e["kind"] != "truncated")),
        "{code:?} {stderr}"
    );
    let bomb = xls(&[biff_sheet((0, u32::MAX), &[(0, 0)])]);
    assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
    too_large("dimensions.xls", &bomb);
}

/// `bytes` (an .xls) with its header's byte-order mark zeroed: calamine's reader of
/// compound files ignores the field, the `cfb` crate that the prescan reads with refuses
/// the file.
fn with_bad_byte_order(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[28] = 0;
    bytes[29] = 0;
    bytes
}

#[test]
fn an_xls_the_prescan_cannot_read_is_refused_not_read_uncounted() {
    use calamine::Reader;
    let small = with_bad_byte_order(xls(&[biff_sheet((0, 2), &[(0, 0), (1, 0)])]));
    // The gap is real: calamine reads the file, the prescan's reader cannot.
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(small.clone()))
        .unwrap_or_else(|e| panic!("calamine no longer opens the file: {e}"));
    let range = wb
        .worksheet_range("s0")
        .unwrap_or_else(|e| panic!("calamine no longer reads the sheet: {e}"));
    assert_eq!(range.get_size(), (2, 1));
    assert!(cfb::CompoundFile::open(std::io::Cursor::new(&small)).is_err());
    // Such a file is refused, not handed to calamine uncounted: with its DIMENSIONS
    // claiming 2³² rows, calamine would reserve them.
    for (name, bytes) in [
        ("small.xls", small),
        (
            "dimensions.xls",
            with_bad_byte_order(xls(&[biff_sheet((0, u32::MAX), &[(0, 0)])])),
        ),
    ] {
        let line = refused(name, &bytes, "truncated");
        assert!(line.contains("无法在读取前核算其大小"), "{line}");
    }
}

#[test]
fn four_far_apart_cells_in_four_xls_sheets_are_too_large() {
    let sheet = || biff_sheet((0, 1), &[(0, 0), (65535, 255)]);
    too_large("far.xls", &xls(&[sheet(), sheet(), sheet(), sheet()]));
}

/// An xlsx from raw parts: the workbook's sheets (name, part) and the parts' XML.
fn raw_xlsx(sheets: &[(String, usize)], parts: &[String]) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, text: &str| {
        z.start_file(name, opts).unwrap_or_else(|e| panic!("{e}"));
        z.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    };
    let overrides: String = (0..parts.len())
        .map(|i| format!("<Override PartName=\"/xl/worksheets/sheet{i}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"))
        .collect();
    put("[Content_Types].xml", &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>{overrides}</Types>"));
    put("_rels/.rels", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>");
    let list: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (n, p))| {
            format!(
                "<sheet name=\"{n}\" sheetId=\"{}\" r:id=\"rId{p}\"/>",
                i + 1
            )
        })
        .collect();
    put("xl/workbook.xml", &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>{list}</sheets></workbook>"));
    let rels: String = (0..parts.len())
        .map(|i| format!("<Relationship Id=\"rId{i}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet{i}.xml\"/>"))
        .collect();
    put("xl/_rels/workbook.xml.rels", &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{rels}</Relationships>"));
    for (i, p) in parts.iter().enumerate() {
        put(&format!("xl/worksheets/sheet{i}.xml"), p);
    }
    z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

fn worksheet(body: &str, after: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{body}</sheetData>{after}</worksheet>")
}

fn text_cell(r: &str, t: &str) -> String {
    format!("<c r=\"{r}\" t=\"inlineStr\"><is><t>{t}</t></is></c>")
}

#[test]
fn an_xlsx_with_one_cell_at_row_4294967295_is_too_large() {
    let part = worksheet(
        &format!(
            "<row r=\"4294967295\">{}</row>",
            text_cell("A4294967295", "x")
        ),
        "",
    );
    let bytes = raw_xlsx(&[("台账".into(), 0)], &[part]);
    assert!(bytes.len() < 4096, "{}", bytes.len());
    too_large("far-row.xlsx", &bytes);
}

#[test]
fn an_xlsx_of_thousands_of_sheets_sharing_one_part_is_too_large() {
    // A part costing 60,000 cells (its one cell is on row 60,000), read by 1,000 sheets.
    let part = worksheet(
        &format!("<row r=\"60000\">{}</row>", text_cell("A60000", "x")),
        "",
    );
    let sheets: Vec<(String, usize)> = (0..1000).map(|i| (format!("s{i}"), 0)).collect();
    too_large(
        "shared.xlsx",
        &raw_xlsx(&sheets, std::slice::from_ref(&part)),
    );
    // More sheets than a workbook may hold.
    let sheets: Vec<(String, usize)> = (0..3000).map(|i| (format!("s{i}"), 0)).collect();
    too_large("many-sheets.xlsx", &raw_xlsx(&sheets, &[worksheet("", "")]));
}

#[test]
fn a_hundred_thousand_identical_merged_ranges_are_read_at_once() {
    let mut rows = format!(
        "<row r=\"1\">{}{}{}{}</row>",
        text_cell("A1", "案件编号"),
        text_cell("B1", "执法单位"),
        text_cell("C1", "执法类别"),
        text_cell("D1", "文字记录")
    );
    // The agency is written once, in B2, merged down to B201.
    for r in 2..=201 {
        let agency = if r == 2 {
            text_cell("B2", "某局")
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<row r=\"{r}\">{}{agency}{}{}</row>",
            text_cell(&format!("A{r}"), &format!("M-{r}")),
            text_cell(&format!("C{r}"), "行政检查"),
            text_cell(&format!("D{r}"), "否")
        ));
    }
    let merges = format!(
        "<mergeCells count=\"100000\">{}</mergeCells>",
        "<mergeCell ref=\"B2:B201\"/>".repeat(100_000)
    );
    let part = worksheet(&rows, &merges);
    let (code, stderr, report) =
        read_alone("merged.xlsx", &raw_xlsx(&[("台账".into(), 0)], &[part]));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["run"]["cases_audited"], 200, "{stderr}");
    // The merged agency fills every row of the area.
    let agencies: Vec<&serde_json::Value> = report["scores"]["agencies"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(agencies.len(), 1, "{agencies:?}");
    assert_eq!(agencies[0]["agency"], "某局");
}

/// An .ods whose content.xml holds this table body.
fn ods(table: &str) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, text: &str, o| {
        z.start_file(name, o).unwrap_or_else(|e| panic!("{e}"));
        z.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    };
    put(
        "mimetype",
        "application/vnd.oasis.opendocument.spreadsheet",
        stored,
    );
    put("META-INF/manifest.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.2\"><manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/><manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/></manifest:manifest>", deflated);
    put("content.xml", &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\"><office:body><office:spreadsheet><table:table table:name=\"台账\">{table}</table:table></office:spreadsheet></office:body></office:document-content>"), deflated);
    z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

fn ods_row(cells: &[&str], repeated: u64) -> String {
    let cells: String = cells
        .iter()
        .map(|c| format!("<table:table-cell office:value-type=\"string\"><text:p>{c}</text:p></table:table-cell>"))
        .collect();
    format!("<table:table-row table:number-rows-repeated=\"{repeated}\">{cells}<table:table-cell table:number-columns-repeated=\"60\" office:value-type=\"float\" office:value=\"1\"/></table:table-row>")
}

#[test]
fn an_ods_row_repeated_a_million_times_is_too_large_not_truncated() {
    let header = ods_row(&["案件编号", "执法单位", "执法类别", "文字记录"], 1);
    // Repeated a few times, it is read (the rows are cases).
    let (code, stderr, report) = read_alone(
        "few.ods",
        &ods(&format!(
            "{header}{}",
            ods_row(&["R-1", "某局", "行政检查", "否"], 3)
        )),
    );
    assert!(code == Some(0) || code == Some(1), "{stderr}");
    assert_eq!(report["run"]["cases_audited"], 3, "{stderr}");
    too_large(
        "repeated.ods",
        &ods(&format!(
            "{header}{}",
            ods_row(&["R-1", "某局", "行政检查", "否"], 1_000_000)
        )),
    );
}

#[test]
fn an_xlsx_declaring_a_hundred_billion_shared_strings_is_too_large() {
    let part = worksheet(&format!("<row r=\"1\">{}</row>", text_cell("A1", "x")), "");
    let mut bytes = raw_xlsx(&[("台账".into(), 0)], &[part]);
    // Add a shared-string table that declares 10^11 strings and holds one.
    let mut z = zip::ZipWriter::new_append(std::io::Cursor::new(std::mem::take(&mut bytes)))
        .unwrap_or_else(|e| panic!("{e}"));
    z.start_file(
        "xl/sharedStrings.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::io::Write::write_all(
        &mut z,
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"1\" uniqueCount=\"100000000000\"><si><t>x</t></si></sst>",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bytes = z.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
    too_large("strings.xlsx", &bytes);
}

#[test]
fn a_closed_stderr_does_not_crash_the_audit() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("l.csv"), LEDGER);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseaudit"))
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--format",
            "json",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg(dir.path().join("l.csv"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    drop(child.stderr.take());
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(0));
    assert!(dir.path().join("out/findings.json").exists());
}

#[test]
fn the_deepest_condition_allowed_is_audited_without_overflowing_the_stack() {
    // A rule nested as deep as the limit allows through a chain of derived fields (they
    // are compiled inline): the audit runs; one level more is refused by the check.
    let deepest = |links: usize| {
        let pack = pack_copy();
        let mut derived =
            std::fs::read_to_string(pack.path().join("derived.toml")).unwrap_or_default();
        derived.push_str("\n[[derived]]\nname = \"chain0\"\ntype = \"bool\"\nlabel = \"链\"\nexpr = \"decision_date IS NULL\"\nbasis = \"测试\"\n");
        for i in 1..links {
            derived.push_str(&format!(
                "\n[[derived]]\nname = \"chain{i}\"\ntype = \"bool\"\nlabel = \"链\"\nexpr = \"chain{} OR decision_date > DATE '2099-01-01'\"\nbasis = \"测试\"\n",
                i - 1
            ));
        }
        write(&pack.path().join("derived.toml"), derived);
        write(
            &pack.path().join("three-systems/PUB-901.toml"),
            format!(
                "id = \"PUB-901\"\ntitle = \"测试\"\nsystem = \"publication\"\nseverity = \"minor\"\n\
                 deduction = 1\nrequires = [\"decision_date\"]\nviolation = \"decision_date IS NOT NULL AND chain{}\"\n\
                 basis = \"测试\"\nrectification = \"测试\"\n",
                links - 1
            ),
        );
        pack
    };
    // chain_k nests k + 2 deep; under the AND, one more: 62 links nest 64 deep.
    let ok = deepest(62);
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .args([
            "audit",
            "--quiet",
            "--as-of",
            "2022-12-31",
            "--format",
            "json",
            "--rules",
        ])
        .arg(ok.path())
        .arg("--out")
        .arg(out.path())
        .arg(root().join("fixtures/ledgers"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let too_deep = deepest(63);
    let o = caseaudit()
        .args(["rules", "check", "--rules"])
        .arg(too_deep.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("PUB-901") && stderr.contains("嵌套过深"),
        "{stderr}"
    );
}

// ---- Classes of the issue without a test of their own until now ----

#[test]
fn a_csv_of_commas_is_too_large_not_read_into_memory() {
    // One line of 300,000 commas: as many fields, past the limit of one record.
    let mut text = String::from(LEDGER);
    text.push_str(&",".repeat(300_000));
    let line = refused("commas.csv", text.as_bytes(), "too_large");
    assert!(line.contains("第 3 行"), "{line}");
}

#[test]
fn inspect_on_a_full_disk_is_exit_2_with_a_chinese_message() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger = dir.path().join("l.csv");
    write(&ledger, LEDGER);
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("caseaudit"))
        .arg("inspect")
        .arg(&ledger)
        .stdout(full)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("磁盘已满"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"));
}

#[test]
fn a_run_removes_the_temp_files_an_interrupted_run_left() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger = dir.path().join("l.csv");
    write(&ledger, LEDGER);
    let out = dir.path().join("out");
    // Left by a process that no longer runs (no process has an id past the kernel's
    // limit of 2²²), and one being written by a process that still runs (this one).
    let stale = out.join(".caseaudit-4999999-findings.json.tmp");
    let live = out.join(format!(
        ".caseaudit-{}-findings.json.tmp",
        std::process::id()
    ));
    write(&stale, "{");
    write(&live, "{");
    let (code, stderr, _) = audit(&[&ledger], &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stale.exists(), "the stale temp file was left");
    assert!(live.exists(), "a running writer's temp file was removed");
}

#[test]
fn a_parquet_file_declaring_millions_of_rows_is_too_large() {
    // 908 bytes declaring 26 million rows of three columns (tests/data/README.md): past
    // the budget of one file, refused from its metadata before polars reads it.
    let bytes = std::fs::read(root().join("tests/data/many-rows.parquet"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.len() < 2048, "{}", bytes.len());
    too_large("many-rows.parquet", &bytes);
}

#[test]
fn a_panic_in_a_polars_thread_prints_no_panic_text() {
    // A damaged parquet file found by the fuzz target `parquet`: polars' decoder asserts
    // in one of its own threads (fuzz/regressions/parquet/polars-thread-panic).
    let bytes = std::fs::read(root().join("fuzz/regressions/parquet/polars-thread-panic"))
        .unwrap_or_else(|e| panic!("{e}"));
    let line = refused("damaged.parquet", &bytes, "invalid_parquet");
    assert!(line.contains("损坏"), "{line}");
}
