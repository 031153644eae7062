#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests of init, append, export, report, replay, stats,
//! inspect, tail and repair: the built `ledger` binary in temporary folders.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    assert_contains, bare, command, demo, file_name, finish, flip_middle_byte, json, ok, on,
    path_str, sealed_segments, ChildGuard, Run, PATIENCE,
};
use serde_json::Value;

/// `ledger -d DIR <args>` with `input` on standard input.
fn on_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Run {
    let mut child = ChildGuard::new(
        command(Some(dir), args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ledger"),
    );
    child
        .child()
        .stdin
        .take()
        .unwrap()
        .write_all(input)
        .unwrap();
    finish(child.wait_with_output_by(Instant::now() + PATIENCE))
}

/// The scripted demo session only: 40 events, 3 trades.
const SCRIPTED: u64 = 40;

/// Every event of a ledger, as exported JSON lines.
fn export_all(dir: &Path) -> Vec<Value> {
    let run = ok(on(dir, &["export"]));
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn active_segment(dir: &Path) -> PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension() == Some(OsStr::new("active")))
        .expect("an active segment")
}

/// Every file of a folder (not recursing) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (file_name(&p), fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn init_creates_an_empty_ledger_and_refuses_an_existing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("live");
    let run = ok(on(&dir, &["init"]));
    assert_contains(&run.stdout, "created an empty ledger");
    assert!(dir.join("LEDGER").is_file());
    let v = json(&ok(on(&dir, &["stats", "--json"])));
    assert_eq!(v["records"], 0);
    assert!(v["head"].is_null());
    ok(on(&dir, &["verify"]));

    // Again: refused, nothing changed.
    let before = snapshot(&dir);
    let run = on(&dir, &["init"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "already holds a ledger");
    assert_eq!(snapshot(&dir), before);

    // A folder with other files: refused, untouched.
    let other = tmp.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("notes.txt"), b"keep").unwrap();
    let run = on(&other, &["init", "--json"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "not empty");
    assert_eq!(fs::read_dir(&other).unwrap().count(), 1);
}

#[test]
fn commands_refuse_a_folder_without_a_ledger_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing-here");
    for args in [
        &["export"][..],
        &["report"],
        &["replay"],
        &["stats"],
        &["tail"],
        &["repair"],
        &["verify"],
    ] {
        let run = on(&missing, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains(path_str(&missing)),
            "{args:?}: {}",
            run.stderr
        );
        let run = on(tmp.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains("holds no ledger"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!missing.exists(), "nothing was created");
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn append_creates_the_ledger_and_a_bad_line_keeps_the_lines_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    demo(&src, 0);
    let lines: Vec<String> = ok(on(&src, &["export"]))
        .stdout
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len() as u64, SCRIPTED);

    // Line 11 opens a trade at a negative price.
    let bad = r#"{"kind":"trade_opened","data":{"session":"demo-1","trade_id":"T9","symbol":"X-USD","direction":"long","qty":"1","price":"-5","fees":"0"}}"#;
    let mut text = lines[..10].join("\n");
    text.push('\n');
    text.push_str(bad);
    text.push('\n');
    text.push_str(&lines[10..].join("\n"));
    let file = tmp.path().join("events.jsonl");
    fs::write(&file, &text).unwrap();

    let dst = tmp.path().join("dst");
    let run = on(
        &dst,
        &["append", path_str(&file), "--segment-size", "64KiB"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "events.jsonl: line 11: ");
    assert_contains(&run.stderr, "price: must be positive, got -5");
    assert_contains(&run.stderr, "10 event(s) before it");
    assert_contains(&run.stdout, "created ledger");
    assert!(
        run.stdout.contains("appended 10 event(s)") && run.stdout.contains("sequences 1..=10"),
        "{}",
        run.stdout
    );
    let v = json(&ok(on(&dst, &["verify", "--json"])));
    assert_eq!(v["records"], 10);
    assert_eq!(v["intact"], true);
    let kept = export_all(&dst);
    assert_eq!(kept.len(), 10);
    for (line, k) in lines[..10].iter().zip(&kept) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(essence(&v), essence(k), "the lines before the bad one");
        assert_eq!(v["seq"], k["seq"]);
    }

    // Malformed JSON and an unknown kind are refused by line, with --json
    // too; the good line before each is kept.
    let t11: Value = serde_json::from_str(&lines[10]).unwrap();
    let audit = format!(
        r#"{{"time":{},"kind":"audit","data":{{"session":"ops","who":"carol","action":"checked","target":"demo-1","reason":"test"}}}}"#,
        t11["time"]
    );
    for (input, line, why, last) in [
        (
            format!("{}\n\n{{not json\n", lines[10]),
            3,
            "not an event",
            11,
        ),
        (
            format!("{audit}\n{}\n", r#"{"kind":"tarde_opened","data":{}}"#),
            2,
            "\"tarde_opened\" is not an event kind",
            12,
        ),
    ] {
        let run = on_with_input(&dst, &["append", "--json"], input.as_bytes());
        assert_eq!(run.code, 2, "{}", run.all());
        assert_contains(&run.stderr, &format!("standard input: line {line}: "));
        assert_contains(&run.stderr, why);
        let v = json(&run);
        assert_eq!(v["refused"]["line"], line);
        assert_eq!(v["appended"], 1);
        assert_eq!(v["last_seq"], last);
        ok(on(&dst, &["verify"]));
    }
    let v = json(&ok(on(&dst, &["verify", "--json"])));
    assert_eq!(v["records"], 12);

    // A time before the ledger's last record is refused by line.
    let old = r#"{"time":"2000-01-01","kind":"audit","data":{"session":"s","who":"w","action":"a","target":"t","reason":"r"}}"#;
    let run = on_with_input(&dst, &["append"], format!("{old}\n").as_bytes());
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "line 1: time: 2000-01-01T00:00:00");
    assert_contains(&run.stdout, "appended no event");

    // The rest appends cleanly.
    let rest = lines[11..].join("\n");
    let run = ok(on_with_input(&dst, &["append", "-"], rest.as_bytes()));
    assert_contains(&run.stdout, "sequences 13..=41");
    let v = json(&ok(on(&dst, &["verify", "--json"])));
    assert_eq!(v["records"], SCRIPTED + 1);
}

/// The fields an event keeps across ledgers: kind, session, time, data.
fn essence(v: &Value) -> (Value, Value, Value, Value) {
    (
        v["kind"].clone(),
        v["session"].clone(),
        v["time"].clone(),
        v["data"].clone(),
    )
}

#[test]
fn export_then_append_into_a_new_ledger_gives_the_same_events() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    demo(&src, 3000);
    assert!(sealed_segments(&src).len() >= 3);
    let file = tmp.path().join("all.jsonl");
    let run = ok(on(&src, &["export", "--out", path_str(&file)]));
    assert_contains(&run.stdout, "exported 3040 event(s)");
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let dst = tmp.path().join("dst");
    let run = ok(on(
        &dst,
        &["append", path_str(&file), "--segment-size", "64KiB"],
    ));
    assert_contains(&run.stdout, "appended 3040 event(s)");
    let a = export_all(&src);
    let b = export_all(&dst);
    assert_eq!(a.len(), 3040);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(essence(x), essence(y));
        assert_eq!(x["seq"], y["seq"]);
    }
    // Another ledger: another chain.
    assert_ne!(a[0]["chain_hash"], b[0]["chain_hash"]);
    ok(on(&dst, &["verify"]));

    // Through a pipe, from the JSON array form's objects too.
    let arr = json(&ok(on(
        &src,
        &["export", "--format", "json", "--session", "demo-1"],
    )));
    let arr = arr.as_array().unwrap();
    assert_eq!(arr.len() as u64, SCRIPTED);
    let lines: Vec<String> = arr.iter().map(|v| v.to_string()).collect();
    let third = tmp.path().join("third");
    ok(on_with_input(
        &third,
        &["append"],
        lines.join("\n").as_bytes(),
    ));
    let c = export_all(&third);
    assert_eq!(c.len() as u64, SCRIPTED);
    for (x, y) in arr.iter().zip(&c) {
        assert_eq!(essence(x), essence(y));
    }
    // The report of the copy is the original's.
    let r1 = json(&ok(on(&src, &["report", "--json", "--session", "demo-1"])));
    let r3 = json(&ok(on(&third, &["report", "--json"])));
    assert_eq!(r1, r3);
}

#[test]
fn report_figures_on_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 0);
    let run = ok(on(&dir, &["report"]));
    assert_contains(&run.stdout, "3 closed trade(s)");
    let win_rate = run
        .stdout
        .lines()
        .find(|l| l.starts_with("win rate"))
        .unwrap();
    assert_contains(win_rate, "66.7 %");
    let net = run
        .stdout
        .lines()
        .find(|l| l.starts_with("net P&L"))
        .unwrap();
    assert_contains(net, "+225.00");
    assert_contains(&run.stdout, "max drawdown");

    let v = json(&ok(on(&dir, &["report", "--json"])));
    let total = &v["total"];
    assert_eq!(total["trades"], 3);
    assert_eq!(total["wins"], 2);
    assert!((total["win_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(total["net_pnl"], "225");
    assert_eq!(total["gross_profit"], "570");
    assert_eq!(total["gross_loss"], "345");
    assert_eq!(total["max_drawdown"], "345");
    assert!((total["per_trade_sharpe"].as_f64().unwrap() + 0.109).abs() < 1e-3);
    assert_eq!(v["starting_equity"], "10000");
    assert_eq!(v["by_symbol"]["SOL-USD"]["net_pnl"], "-345");
    assert_eq!(total["equity_curve"].as_array().unwrap().len(), 3);
    // The schema of the time-based figures (docs/REPORT.md).
    let keys = |o: &serde_json::Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v["annualized"]),
        [
            "calmar",
            "min_periods",
            "periods_per_year",
            "return",
            "sharpe",
            "sortino",
            "volatility"
        ]
    );
    assert_eq!(v["annualized"]["periods_per_year"], 252.0);
    // One day of returns: too few to annualise, said so rather than
    // extrapolated (docs/REPORT.md).
    assert_eq!(v["annualized"]["min_periods"], 21);
    assert!(v["annualized"]["return"].is_null());
    assert!(v["annualized"]["calmar"].is_null());
    let annual = run
        .stdout
        .lines()
        .find(|l| l.starts_with("annualised return"))
        .unwrap();
    assert_contains(annual, "n/a (1 day, fewer than the 21 needed to annualise)");
    let returns = v["returns"].as_array().unwrap();
    assert_eq!(keys(&returns[0]), ["date", "equity", "return"]);
    assert_eq!(returns.last().unwrap()["equity"], "10225");
    assert_eq!(v["time"]["ending_equity"], "10225");
    assert!(v["time"]["marked_drawdown"]["max_drawdown"].is_string());
    assert!(total["max_relative_drawdown_fraction"].is_f64());
    let crypto = json(&ok(on(
        &dir,
        &[
            "report",
            "--json",
            "--period",
            "hour",
            "--periods-per-year",
            "8760",
        ],
    )));
    assert_eq!(crypto["annualized"]["periods_per_year"], 8760.0);
    assert_eq!(crypto["time"]["period"], "hour");
    // Execution quality: the demo's orders against their decisions.
    let x = &v["execution"];
    assert!(x["total"]["orders"].as_u64().unwrap() >= 3);
    assert!(x["total"]["slippage_mid_bps"]["mean"].is_f64());
    assert!(x["worst"][0]["reasoning"].as_array().is_some());
    assert!(x["by_symbol"]["BTC-USD"].is_object());

    // Filters: a symbol, a session, a window.
    let v = json(&ok(on(
        &dir,
        &[
            "report", "--json", "--symbol", "BTC-USD", "--symbol", "ETH-USD",
        ],
    )));
    assert_eq!(v["total"]["trades"], 2);
    assert_eq!(v["total"]["net_pnl"], "570");
    let v = json(&ok(on(&dir, &["report", "--json", "--session", "nobody"])));
    assert_eq!(v["total"]["trades"], 0);
    let v = json(&ok(on(&dir, &["report", "--json", "--from", "2262-01-01"])));
    assert_eq!(v["total"]["trades"], 0);
    let v = json(&ok(on(
        &dir,
        &["report", "--json", "--to", "1971-01-01T00:00:00Z"],
    )));
    assert_eq!(v["total"]["trades"], 0);
    let closes: Vec<Value> = export_all(&dir)
        .into_iter()
        .filter(|e| e["kind"] == "trade_closed")
        .collect();
    let t2 = closes[1]["time"].as_str().unwrap();
    let v = json(&ok(on(&dir, &["report", "--json", "--from", t2])));
    assert_eq!(
        v["total"]["trades"], 2,
        "T2 and T3 closed at or after T2's close"
    );
    let v = json(&ok(on(&dir, &["report", "--json", "--to", t2])));
    assert_eq!(v["total"]["trades"], 1, "only T1 closed before");

    // A bad time names the argument.
    let run = on(&dir, &["report", "--from", "last tuesday"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "--from");
    assert_contains(&run.stderr, "last tuesday");

    // The HTML page: self-contained, with every chart of the tearsheet.
    let page = tmp.path().join("report.html");
    let run = ok(on(&dir, &["report", "--html", path_str(&page)]));
    assert_contains(&run.stdout, "HTML report written to");
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<style>"));
    assert!(html.contains("66.7 %") && html.contains("+225.00"));
    // Marked equity, underwater, realized equity, drawdown, trade P&L and
    // slippage distributions.
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(html.contains(r#"<polyline class="equity""#));
    assert!(html.contains(r#"<polyline class="drawdown""#));
    for external in [
        "<script", "http://", "https://", "src=", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(external), "{external} in the page");
    }
}

/// With many symbols the text report stays readable in a terminal: the
/// total's figures one per line, then one row per symbol (and a total row)
/// in each table, no line wider than 120 characters.
#[test]
fn report_text_has_a_row_per_symbol_and_fits_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    ok(on(&dir, &["demo", "--events", "6000", "--days", "60"]));
    let run = ok(on(&dir, &["report"]));
    let text = &run.stdout;
    for line in text.lines() {
        assert!(line.chars().count() <= 120, "{} wide: {line}", line.len());
    }
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("symbol ")).collect();
    assert_eq!(headers.len(), 2, "{text}");
    assert!(headers[0].contains("net P&L") && headers[0].contains("win rate"));
    assert!(headers[1].contains("slip bps") && headers[1].contains("fill rate"));
    // Each table: the 24 generated symbols and the total, one row each;
    // the performance rows agree with the JSON.
    let v = json(&ok(on(&dir, &["report", "--json"])));
    let symbols = v["by_symbol"].as_object().unwrap();
    assert_eq!(symbols.len(), 24);
    for (sym, fig) in symbols {
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(sym.as_str()))
            .collect();
        assert_eq!(rows.len(), 2, "{sym}: {rows:?}");
        let cells: Vec<&str> = rows[0].split_whitespace().collect();
        assert_eq!(cells[1], fig["trades"].as_u64().unwrap().to_string());
        let net: ledger_domain::Decimal = fig["net_pnl"].as_str().unwrap().parse().unwrap();
        assert_eq!(cells[4].trim_start_matches('+'), format!("{net:.2}"));
    }
    // The total rows (not "total return"): "total" then a count.
    let totals: Vec<&str> = text
        .lines()
        .filter(|l| {
            let mut cells = l.split_whitespace();
            cells.next() == Some("total")
                && cells
                    .next()
                    .is_some_and(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        })
        .collect();
    assert_eq!(totals.len(), 2, "{text}");
    // Every generated symbol pays a positive slippage on average.
    for (sym, x) in v["execution"]["by_symbol"].as_object().unwrap() {
        let mean = x["slippage_mid_bps"]["mean"].as_f64().unwrap();
        assert!(mean > 0.5 && mean < 5.0, "{sym}: {mean} bps");
    }
}

/// How many events `export` gives with `args` in `format`, checking that
/// every format agrees and that each event carries what it must.
fn export_count(dir: &Path, args: &[&str]) -> usize {
    let mut counts = Vec::new();
    for format in ["jsonl", "json", "csv"] {
        let mut all = vec!["export", "--format", format];
        all.extend_from_slice(args);
        let run = ok(on(dir, &all));
        let n = match format {
            "jsonl" => {
                for l in run.stdout.lines() {
                    let v: Value = serde_json::from_str(l).unwrap();
                    let keys: Vec<&str> =
                        v.as_object().unwrap().keys().map(String::as_str).collect();
                    assert_eq!(keys.len(), 6, "{l}");
                    for k in ["seq", "time", "kind", "session", "chain_hash", "data"] {
                        assert!(keys.contains(&k), "{k} missing: {l}");
                    }
                    assert_eq!(v["chain_hash"].as_str().unwrap().len(), 64);
                    assert_eq!(v["session"], v["data"]["session"]);
                    // RFC 3339 with nanoseconds.
                    assert_eq!(v["time"].as_str().unwrap().len(), 30, "{l}");
                }
                run.stdout.lines().count()
            }
            "json" => json(&run).as_array().unwrap().len(),
            _ => {
                let mut rdr = csv::Reader::from_reader(run.stdout.as_bytes());
                let headers: Vec<String> =
                    rdr.headers().unwrap().iter().map(str::to_owned).collect();
                assert_eq!(
                    headers.join(","),
                    "seq,time,kind,session,symbol,trade_id,decision_id,order_id,chain_hash,data"
                );
                let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
                for r in &rows {
                    let data: Value = serde_json::from_str(&r[9]).unwrap();
                    assert_eq!(data["session"], r[3]);
                }
                rows.len()
            }
        };
        counts.push(n);
    }
    assert!(
        counts.iter().all(|&c| c == counts[0]),
        "{args:?}: {counts:?}"
    );
    counts[0]
}

#[test]
fn export_in_each_format_with_each_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 0);
    let all = export_all(&dir);
    assert_eq!(all.len() as u64, SCRIPTED);
    let t20 = all[19]["time"].as_str().unwrap().to_owned();
    let t30 = all[29]["time"].as_str().unwrap().to_owned();
    let at_or_after = |t: &str| {
        all.iter()
            .filter(|e| e["time"].as_str().unwrap() >= t)
            .count()
    };

    assert_eq!(export_count(&dir, &[]), 40);
    assert_eq!(export_count(&dir, &["--kind", "trade_closed"]), 3);
    assert_eq!(
        export_count(&dir, &["--kind", "decision", "--kind", "execution"]),
        14
    );
    assert_eq!(export_count(&dir, &["--kind", "position_snapshot"]), 9);
    assert_eq!(export_count(&dir, &["--symbol", "SOL-USD"]), 10);
    assert_eq!(
        export_count(&dir, &["--symbol", "BTC-USD", "--symbol", "ETH-USD"]),
        20
    );
    assert_eq!(
        export_count(&dir, &["--symbol", "SOL-USD", "--kind", "execution"]),
        3
    );
    assert_eq!(export_count(&dir, &["--session", "demo-1"]), 40);
    assert_eq!(export_count(&dir, &["--session", "nobody"]), 0);
    assert_eq!(export_count(&dir, &["--trade", "T1"]), 3);
    assert_eq!(export_count(&dir, &["--trade", "T2", "--trade", "T3"]), 4);
    assert_eq!(export_count(&dir, &["--from", &t20]), at_or_after(&t20));
    assert_eq!(export_count(&dir, &["--from", &t20]), 21);
    assert_eq!(export_count(&dir, &["--to", &t20]), 19);
    assert_eq!(export_count(&dir, &["--from", &t20, "--to", &t30]), 10);
    assert_eq!(export_count(&dir, &["--from", "2262-01-01"]), 0);
    assert_eq!(export_count(&dir, &["--to", "1970-01-02"]), 0);

    // The CSV of one trade, row by row.
    let run = ok(on(&dir, &["export", "--format", "csv", "--trade", "T3"]));
    let mut rdr = csv::Reader::from_reader(run.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
    assert_eq!(kinds, ["trade_opened", "trade_closed"]);
    assert_eq!(&rows[0][4], "SOL-USD");
    assert_eq!(&rows[0][5], "T3");
    assert_eq!(&rows[0][6], "D3");
    assert_eq!(&rows[0][7], "O5");

    // To a file; bad arguments are named.
    let out = tmp.path().join("closes.csv");
    let run = ok(on(
        &dir,
        &[
            "export",
            "--format",
            "csv",
            "--kind",
            "trade_closed",
            "--out",
            path_str(&out),
        ],
    ));
    assert_contains(&run.stdout, "exported 3 event(s)");
    assert_eq!(fs::read_to_string(&out).unwrap().lines().count(), 4);
    for (args, named) in [
        (&["export", "--kind", "trade"][..], "--kind"),
        (&["export", "--from", "2026-02-30"], "--from"),
        (&["export", "--format", "xml"], "--format"),
    ] {
        let run = on(&dir, args);
        assert_eq!(run.code, 2, "{}", run.all());
        assert_contains(&run.stderr, named);
    }
}

#[test]
fn replay_until_a_record_and_a_trades_story() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 0);
    let run = ok(on(&dir, &["replay", "--until-seq", "20"]));
    assert!(
        run.stdout.starts_with("state after record 20 "),
        "{}",
        run.stdout
    );
    assert_contains(&run.stdout, "20 event(s) folded");
    assert_contains(&run.stdout, "trades: 3 open, 0 closed");
    assert_contains(&run.stdout, "T3 long SOL-USD");

    let v = json(&ok(on(&dir, &["replay", "--until-seq", "20", "--json"])));
    assert_eq!(v["events"], 20);
    assert_eq!(v["last"]["seq"], 20);
    assert_eq!(v["counts"]["decision"], 3);
    assert_eq!(v["counts"]["trade_closed"], 0);
    assert_eq!(v["open_trades"].as_array().unwrap().len(), 3);
    assert_eq!(v["closed_trades"], 0);
    let positions = v["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 3);
    let sol = positions.iter().find(|p| p["symbol"] == "SOL-USD").unwrap();
    assert_eq!(sol["qty"], "100");
    assert_eq!(sol["seq"], 20);
    assert_eq!(v["sessions"][0]["session"], "demo-1");
    assert!(v["sessions"][0]["ended"].is_null());

    let v = json(&ok(on(&dir, &["replay", "--json"])));
    assert_eq!(v["events"], SCRIPTED);
    assert_eq!(v["closed_trades"], 3);
    assert_eq!(v["closed_net_pnl"], "225");
    assert_eq!(v["open_trades"].as_array().unwrap().len(), 0);
    assert_eq!(v["metrics"].as_array().unwrap().len(), 2);

    // By time: the state at record 20's time is the state at record 20.
    let t20 = export_all(&dir)[19]["time"].as_str().unwrap().to_owned();
    let v = json(&ok(on(&dir, &["replay", "--until", &t20, "--json"])));
    assert_eq!(v["last"]["seq"], 20);

    // Why did we trade T3?
    let run = ok(on(&dir, &["replay", "--trade", "T3"]));
    for want in [
        "trade T3",
        "decision D3",
        "1. breakout above 99.5 resistance on rising volume",
        "market: bid 99.95 ask 100.05 last 100",
        "insufficient margin",
        "net P&L -345.00",
    ] {
        assert!(run.stdout.contains(want), "{want}: {}", run.stdout);
    }
    let run = ok(on(&dir, &["replay", "--trade", "T3", "--until-seq", "20"]));
    assert_contains(&run.stdout, "open: 100");
    assert_contains(&run.stdout, "breakout above 99.5");
    let v = json(&ok(on(&dir, &["replay", "--trade", "T3", "--json"])));
    assert_eq!(v["decision"]["event"]["decision_id"], "D3");
    assert_eq!(v["executions"].as_array().unwrap().len(), 2);

    let run = on(&dir, &["replay", "--trade", "T3", "--until-seq", "18"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "no trade T3");
    let run = on(
        &dir,
        &["replay", "--until-seq", "5", "--until", "2026-01-01"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn stats_counts_segments_records_and_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 2000);
    let total = 2000 + SCRIPTED;
    let v = json(&ok(on(&dir, &["stats", "--json"])));
    assert_eq!(v["records"], total);
    assert_eq!(v["head"]["seq"], total);
    let counts = v["counts"].as_object().unwrap();
    let sum: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(sum, total);
    for k in counts.keys() {
        assert!(
            ledger_domain::EventKind::from_name(k).is_some(),
            "{k} is not a kind name"
        );
    }
    let sealed = sealed_segments(&dir).len();
    assert!(sealed >= 3);
    assert_eq!(v["segments"]["sealed"], sealed as u64);
    assert_eq!(v["segments"]["active"], 1);
    let files = v["segments"]["files"].as_array().unwrap();
    let per_file: u64 = files.iter().map(|f| f["records"].as_u64().unwrap()).sum();
    assert_eq!(per_file, total);
    assert_eq!(files[0]["first_seq"], 1);
    let verify = json(&ok(on(&dir, &["verify", "--json"])));
    assert_eq!(v["head"]["chain_hash"], verify["head"]["chain_hash"]);
    assert!(v["first_time"].as_str().unwrap() <= v["last_time"].as_str().unwrap());

    // The scripted session's counts, by kind.
    let small = tmp.path().join("small");
    demo(&small, 0);
    let v = json(&ok(on(&small, &["stats", "--json"])));
    let want = [
        ("session_started", 1),
        ("session_ended", 1),
        ("decision", 6),
        ("execution", 8),
        ("trade_opened", 3),
        ("trade_filled", 1),
        ("trade_closed", 3),
        ("position_snapshot", 9),
        ("risk", 2),
        ("system", 3),
        ("metric", 2),
        ("audit", 1),
    ];
    for (k, n) in want {
        assert_eq!(v["counts"][k], n, "{k}");
    }
    let run = ok(on(&small, &["stats"]));
    assert_contains(&run.stdout, "records: 40 (sequences 1..=40)");
    assert_contains(&run.stdout, "trade_closed");
    assert_contains(&run.stdout, "head: sequence 40, chain hash ");
}

#[test]
fn inspect_a_sealed_segment_and_a_damaged_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 2000);
    let seg = sealed_segments(&dir)[1].clone();
    let before = fs::read(&seg).unwrap();

    // No ledger folder needed.
    let run = ok(bare(&["inspect", path_str(&seg), "--records", "3"]));
    assert_contains(&run.stdout, "content address: the bytes hash to the name");
    assert_contains(&run.stdout, "header: format v1");
    assert_contains(&run.stdout, "footer at offset");
    assert_contains(&run.stdout, "first 3 record(s)");
    assert_contains(&run.stdout, "result: OK");

    let v = json(&ok(bare(&[
        "inspect",
        path_str(&seg),
        "--json",
        "--records",
        "5",
    ])));
    assert_eq!(v["damaged"], false);
    assert_eq!(v["name"]["state"], "sealed");
    assert_eq!(v["name"]["ordinal"], 1);
    assert_eq!(v["records"].as_array().unwrap().len(), 5);
    assert_eq!(v["records"][0]["offset"], 4096);
    assert_eq!(v["records"][0]["seq"], v["header"]["first_seq"]);
    assert_eq!(v["footer"]["count"], v["record_count"]);
    assert_eq!(v["footer"]["last_seq"], v["last_seq"]);
    assert_eq!(v["watermark"], v["footer"]["offset"]);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);

    // The active segment: no footer, fine.
    let v = json(&ok(bare(&[
        "inspect",
        path_str(&active_segment(&dir)),
        "--json",
    ])));
    assert_eq!(v["name"]["state"], "active");
    assert!(v["footer"].is_null());
    assert_eq!(v["damaged"], false);

    // One flipped byte: content address and the record, located.
    flip_middle_byte(&seg);
    let damaged = fs::read(&seg).unwrap();
    let run = bare(&["inspect", path_str(&seg)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "content address: MISMATCH");
    assert_contains(&run.stdout, "damage: content_address");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("  damage: crc at offset ") && l.contains("(sequence ")),
        "{}",
        run.stdout
    );
    assert_contains(&run.stdout, "result: DAMAGED");
    let v = json(&bare(&["inspect", path_str(&seg), "--json"]));
    assert_eq!(v["damaged"], true);
    assert!(v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["kind"] == "crc" && p["offset"].is_u64() && p["seq"].is_u64()));
    assert_eq!(fs::read(&seg).unwrap(), damaged, "inspect never writes");
    assert_ne!(before, damaged);

    // A file that is not a segment at all; a file that does not exist.
    let junk = tmp.path().join("junk.bin");
    fs::write(&junk, b"hello").unwrap();
    let run = bare(&["inspect", path_str(&junk)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "header: DAMAGED");
    let run = bare(&["inspect", "/no/such/segment.seg"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "/no/such/segment.seg");
}

#[test]
fn tail_prints_the_newest_events_and_follows_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 0);
    let run = ok(on(&dir, &["tail", "-n", "5"]));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(lines[0].trim_start().starts_with("36 "), "{}", lines[0]);
    assert_contains(lines[4], "session_ended");
    assert_contains(lines[4], "demo-1");
    assert_contains(lines[4], "end of demo session");
    assert_eq!(ok(on(&dir, &["tail"])).stdout.lines().count(), 10);
    assert_eq!(
        ok(on(&dir, &["tail", "-n", "1000"])).stdout.lines().count(),
        40
    );

    // Follow: start, read the last 2, append 2 more, read them. `tail -f`
    // never ends by itself: the guard kills it however this test ends.
    let mut tail = ChildGuard::new(
        command(Some(&dir), &["tail", "-f", "-n", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = tail.child().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // A guard against a hang, not a timing assertion.
    let next = || {
        rx.recv_timeout(Duration::from_secs(120))
            .expect("a line from tail -f")
    };
    assert!(next().trim_start().starts_with("39 "));
    assert!(next().trim_start().starts_with("40 "));
    let audit = |n: u32| {
        format!(
            r#"{{"kind":"audit","data":{{"session":"ops","who":"carol","action":"note {n}","target":"demo-1","reason":"followed"}}}}"#
        )
    };
    ok(on_with_input(
        &dir,
        &["append"],
        format!("{}\n{}\n", audit(1), audit(2)).as_bytes(),
    ));
    let l41 = next();
    assert!(l41.trim_start().starts_with("41 "), "{l41}");
    assert!(
        l41.contains("audit") && l41.contains("carol note 1"),
        "{l41}"
    );
    let l42 = next();
    assert!(l42.trim_start().starts_with("42 "), "{l42}");
    drop(tail); // killed and reaped: its output ends, and so does the reader
    reader.join().unwrap();
}

#[test]
fn repair_shows_the_damage_and_cuts_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    demo(&dir, 2000);
    let total = 2000 + SCRIPTED;

    // An intact ledger: nothing to repair, and no cut.
    let run = ok(on(&dir, &["repair"]));
    assert_contains(&run.stdout, "nothing to repair");
    let run = on(&dir, &["repair", "--truncate-after", "10"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "is intact");

    // An auditor's checkpoint of the intact head, kept outside.
    let key = tmp.path().join("auditor.key");
    ok(bare(&["keygen", "--out", path_str(&key)]));
    let cp = tmp.path().join("head.checkpoint");
    ok(on(
        &dir,
        &[
            "checkpoint",
            "--key",
            path_str(&key),
            "--out",
            path_str(&cp),
        ],
    ));

    // Damage the last sealed segment: the writer refuses to open.
    let sealed = sealed_segments(&dir);
    let victim = sealed.last().unwrap().clone();
    let victim_name = file_name(&victim);
    flip_middle_byte(&victim);
    let run = on_with_input(&dir, &["append"], b"");
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &victim_name);

    let head = json(&on(&dir, &["verify", "--json"]))["head"]["seq"]
        .as_u64()
        .unwrap();
    assert!(head < total);

    // The report: what is damaged, what a cut would remove; nothing changes.
    let before = snapshot(&dir);
    let run = on(&dir, &["repair"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "DAMAGED");
    assert_contains(&run.stdout, &victim_name);
    assert_contains(
        &run.stdout,
        &format!("the last good record (before the first damage): sequence {head}"),
    );
    assert_contains(
        &run.stdout,
        &format!("a cut after sequence {head} keeps records 1..={head}"),
    );
    assert_contains(
        &run.stdout,
        &format!(
            "in all: {} record(s), sequences {}..={total}",
            total - head,
            head + 1
        ),
    );
    assert_contains(&run.stdout, &format!("repair --truncate-after {head}"));
    assert_eq!(snapshot(&dir), before, "the report changes nothing");

    // A cut after a record that follows the damage is refused.
    let after_damage = (head + 1).to_string();
    let run = on(&dir, &["repair", "--truncate-after", &after_damage]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, "the last good record is");
    assert_eq!(snapshot(&dir), before);

    // The cut: every removed byte saved first.
    let head_s = head.to_string();
    let run = ok(on(&dir, &["repair", "--truncate-after", &head_s]));
    assert_contains(&run.stdout, "every removed byte was moved to");
    assert_contains(&run.stdout, ": intact");
    let saved: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(saved.len(), 1);
    let saved_name = file_name(&saved[0]);
    assert!(saved_name.starts_with("repair-"), "{saved_name}");
    let kept = snapshot(&saved[0]);
    // The cut segment as it was, and the active segment after it, unchanged.
    assert_eq!(kept.get(&victim_name), before.get(&victim_name));
    let old_active = before
        .keys()
        .find(|n| n.ends_with(".active"))
        .unwrap()
        .clone();
    assert_eq!(kept.get(&old_active), before.get(&old_active));
    assert!(kept.contains_key("REPAIR.txt"));
    // Every segment file of the ledger before the cut is either still in
    // the ledger unchanged, or saved unchanged.
    let now = snapshot(&dir);
    for (name, bytes) in &before {
        if name.ends_with(".seg") || name.ends_with(".active") {
            assert!(
                now.get(name) == Some(bytes) || kept.get(name) == Some(bytes),
                "{name} lost"
            );
        }
    }

    let v = json(&ok(on(&dir, &["verify", "--json"])));
    assert_eq!(v["head"]["seq"], head);
    assert_eq!(v["intact"], true);
    assert_eq!(v["records"], head);
    // The checkpoint of the old head proves records were cut.
    let run = on(&dir, &["verify", "--checkpoint", path_str(&cp)]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stdout, "does not hold the checkpointed record");
    // The ledger opens and takes appends again.
    let note = r#"{"kind":"audit","data":{"session":"ops","who":"carol","action":"repaired","target":"ledger","reason":"flipped byte"}}"#;
    let run = ok(on_with_input(&dir, &["append"], note.as_bytes()));
    assert_contains(
        &run.stdout,
        &format!("sequences {}..={}", head + 1, head + 1),
    );
    ok(on(&dir, &["verify"]));
    let run = ok(on(&dir, &["repair"]));
    assert_contains(&run.stdout, "nothing to repair");
}
