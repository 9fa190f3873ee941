//! `caseaudit serve`: the real binary starts and answers, refuses a public address
//! without a token, and a workbench run writes the findings.json `caseaudit audit`
//! writes for the same inputs and options, byte for byte.

use super::caseaudit;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::Stdio;

#[test]
fn serve_refuses_a_public_address_without_a_token() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = caseaudit()
        .args(["serve", "--bind", "0.0.0.0:0", "--data"])
        .arg(dir.path())
        .env_remove("CASEAUDIT_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("拒绝") && err.contains("--token"), "{err}");
    let help = caseaudit()
        .args(["serve", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--max-upload-mb") && help.contains("访问令牌"),
        "{help}"
    );
}

#[test]
fn serve_binary_starts_on_loopback_and_answers_health() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = assert_cmd::cargo::cargo_bin("caseaudit");
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env_remove("CASEAUDIT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .map(String::from);
    let reply = addr.as_ref().map(|a| {
        let mut s = std::net::TcpStream::connect(a).unwrap_or_else(|e| panic!("{e}"));
        let _ = write!(
            s,
            "GET /api/health HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n"
        );
        let mut r = String::new();
        let _ = s.read_to_string(&mut r);
        r
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.contains("请在浏览器中打开 http://127.0.0.1:"),
        "{line}"
    );
    let reply = reply.unwrap_or_default();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"ok\":true"), "{reply}");
    assert!(dir.path().join("data/runs").is_dir());
}

#[test]
fn a_workbench_run_writes_the_cli_findings_json() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let bin = assert_cmd::cargo::cargo_bin("caseaudit");
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env_remove("CASEAUDIT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The reader stays open for the whole test (the server keeps writing to it).
    let mut line = String::new();
    let mut stdout = child.stdout.take().map(std::io::BufReader::new);
    if let Some(out) = stdout.as_mut() {
        let _ = out.read_line(&mut line);
    }
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or("")
        .to_string();
    assert!(!addr.is_empty(), "serve printed no address: {line}");
    let request = |head: String, body: &[u8]| -> (String, String) {
        let mut s = std::net::TcpStream::connect(&addr).unwrap_or_else(|e| panic!("{e}"));
        let sent = s.write_all(head.as_bytes()).and_then(|_| s.write_all(body));
        let mut r = Vec::new();
        let read = s.read_to_end(&mut r);
        let r = String::from_utf8_lossy(&r).to_string();
        match r.split_once("\r\n\r\n") {
            Some((h, b)) => (h.to_string(), b.to_string()),
            None => (
                format!("no answer (write: {sent:?}, read: {read:?}) {r}"),
                String::new(),
            ),
        }
    };
    // Upload every sample ledger.
    let boundary = "----caseaudit-boundary";
    let mut body = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(super::root().join("fixtures/ledgers"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for p in &files {
        let name = p.file_name().map(|n| n.to_string_lossy().to_string());
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\r\n",
                name.unwrap_or_default()
            )
            .as_bytes(),
        );
        body.extend(std::fs::read(p).unwrap_or_else(|e| panic!("{e}")));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"as_of\"\r\n\r\n2022-12-31\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    let (head, reply) = request(
        format!(
            "POST /api/runs HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
        &body,
    );
    assert!(head.starts_with("HTTP/1.1 201"), "{head}\n{reply}");
    let id = super::serde_json_value(&reply)["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut status = String::new();
    for _ in 0..2400 {
        let (_, r) = request(
            format!("GET /api/runs/{id} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
            b"",
        );
        status = super::serde_json_value(&r)["status"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if status == "done" || status == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, "done");

    // The CLI on the very files the run stored, in the run's order, same options.
    let run = data.join("runs").join(&id);
    let params = super::read_json(&run.join("params.json"));
    let inputs: Vec<_> = params["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["stored"].as_str())
        .map(|s| run.join("inputs").join(s))
        .collect();
    assert_eq!(inputs.len(), files.len());
    let out = dir.path().join("cli-out");
    let o = caseaudit()
        .args([
            "audit",
            "--as-of",
            "2022-12-31",
            "--profile",
            "national",
            "--quiet",
            "--format",
            "json",
            "--out",
        ])
        .arg(&out)
        .args(&inputs)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(o.status.code(), Some(0) | Some(2)));
    let cli = std::fs::read(out.join("findings.json")).unwrap_or_else(|e| panic!("{e}"));
    let served = std::fs::read(run.join("out/findings.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cli == served,
        "findings.json differs between serve and audit"
    );
    assert!(Path::new(&run.join("out/findings.xlsx")).is_file());
}

#[test]
fn serve_keeps_running_when_its_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = format!("127.0.0.1:{port}");
    let bin = assert_cmd::cargo::cargo_bin("caseaudit");
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--bind", &addr, "--data"])
        .arg(dir.path().join("data"))
        .env_remove("CASEAUDIT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The reader goes away before the server prints its address.
    drop(child.stdout.take());
    let mut reply = String::new();
    for _ in 0..400 {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = write!(
                s,
                "GET /api/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            );
            let _ = s.read_to_string(&mut reply);
            break;
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let exited = child.try_wait().ok().flatten();
    let _ = child.kill();
    let _ = child.wait();
    assert!(exited.is_none(), "serve exited: {exited:?}");
    assert!(reply.contains("\"ok\":true"), "{reply}");
}
