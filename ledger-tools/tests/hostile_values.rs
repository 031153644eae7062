//! Hostile values through the command line: a far-future time cannot poison
//! the ledger, and sums over a log written without validation are errors
//! naming the trade, never a panic (exit 101) or a silent wrap.
#![allow(clippy::unwrap_used, clippy::expect_used, unused_must_use)]

mod common;

use common::*;
use ledger_core::{Durability, Entry, Timestamp, Writer, WriterOptions};
use ledger_domain::*;

const END_OF_TIME: &str = "2262-04-11T23:47:16.854775807Z";

fn audit_line(time: Option<&str>, reason: &str) -> String {
    let time = time.map_or(String::new(), |t| format!(r#""time":"{t}","#));
    format!(
        r#"{{"kind":"audit",{time}"data":{{"session":"s","who":"alice","action":"note","target":"t","reason":"{reason}"}}}}"#
    )
}

fn append_lines(dir: &std::path::Path, lines: &[String], extra: &[&str]) -> Run {
    let file = dir.with_extension("jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let mut args = vec!["append", path_str(&file)];
    args.extend_from_slice(extra);
    on(dir, &args)
}

fn records(dir: &std::path::Path) -> u64 {
    json(&ok(on(dir, &["verify", "--json"])))["records"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_far_future_time_is_refused_and_the_ledger_keeps_taking_real_times() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    ok(append_lines(&dir, &[audit_line(None, "first")], &[]));

    let run = append_lines(&dir, &[audit_line(Some(END_OF_TIME), "poison")], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.all(), "ahead of this machine's clock");
    assert_contains(&run.all(), END_OF_TIME);
    assert_eq!(records(&dir), 1, "nothing appended");

    // Events without a time, and with a real one, still go in.
    ok(append_lines(&dir, &[audit_line(None, "later")], &[]));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    ok(append_lines(
        &dir,
        &[audit_line(Some(&now), "real time")],
        &[],
    ));
    assert_eq!(records(&dir), 3);

    // A custom limit: an hour ahead passes a 2-hour limit, fails the default.
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let run = append_lines(
        &dir,
        &[audit_line(Some(&soon), "soon")],
        &["--max-clock-skew", "10m"],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    ok(append_lines(
        &dir,
        &[audit_line(Some(&soon), "soon")],
        &["--max-clock-skew", "2h"],
    ));
    assert_eq!(records(&dir), 4);
}

#[test]
fn a_ledger_already_at_the_end_of_time_is_refused_clearly_never_a_panic() {
    // Only with the limit switched off (or a ledger written before it) can
    // a record sit at the end of time; `demo` used to panic there (exit 101).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    ok(append_lines(
        &dir,
        &[audit_line(Some(END_OF_TIME), "poison")],
        &["--max-clock-skew", "off"],
    ));
    let run = on(&dir, &["demo", "--events", "10"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.all(), "no event can follow it");
    // A later event without a time would inherit the end of time: refused.
    let run = append_lines(&dir, &[audit_line(None, "after")], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.all(), "ahead of this machine's clock");
    assert_eq!(records(&dir), 1);
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A log written through the plain engine writer, without validation: a
/// trade opened with fees of -1e30 and closed with the matching P&L, twice.
fn unvalidated_overflowing_log(dir: &std::path::Path) {
    let huge = "1000000000000000000000000000000";
    let mut w =
        Writer::create(dir, WriterOptions::default().durability(Durability::NoSync)).unwrap();
    let mut buf = Vec::new();
    for (i, id) in ["T1", "T2"].into_iter().enumerate() {
        let open = Event::TradeOpened(TradeOpened {
            session: "s".into(),
            trade_id: id.into(),
            symbol: "BTC-USD".into(),
            qty: d("1"),
            price: d("100"),
            fees: d(&format!("-{huge}")),
            ..Default::default()
        });
        let close = Event::TradeClosed(TradeClosed {
            session: "s".into(),
            trade_id: id.into(),
            symbol: "BTC-USD".into(),
            price: d("100"),
            fees: d("0"),
            realized_pnl: d(huge),
            ..Default::default()
        });
        for (j, e) in [open, close].iter().enumerate() {
            buf.clear();
            let (kind, version) = encode(e, &mut buf).unwrap();
            let at = Timestamp::from_nanos(1_700_000_000_000_000_000 + (i * 2 + j) as i64);
            w.append(&Entry::new(kind, version, &buf).at(at)).unwrap();
        }
    }
    w.close().unwrap();
}

#[test]
fn report_and_replay_over_overflowing_sums_name_the_trade_instead_of_panicking() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    unvalidated_overflowing_log(&dir);
    for args in [
        &["report"][..],
        &["report", "--json"],
        &["replay"],
        &["replay", "--json"],
    ] {
        let run = on(&dir, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert_contains(&run.stderr, "overflows at trade T2");
    }
    // `replay --trade` of one trade still answers: its own amounts fit.
    let run = ok(on(&dir, &["replay", "--trade", "T1"]));
    assert_contains(&run.stdout, "net P&L");
    assert_eq!(records(&dir), 4);
}

#[test]
fn replay_lists_the_events_an_unvalidated_log_holds_that_cannot_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let mut w = Writer::create(
        &dir,
        WriterOptions::default().durability(Durability::NoSync),
    )
    .unwrap();
    let close = Event::TradeClosed(TradeClosed {
        session: "s".into(),
        trade_id: "T9".into(),
        symbol: "BTC-USD".into(),
        price: d("1"),
        fees: d("0"),
        realized_pnl: d("1000000"),
        ..Default::default()
    });
    let mut buf = Vec::new();
    let (kind, version) = encode(&close, &mut buf).unwrap();
    w.append(&Entry::new(kind, version, &buf)).unwrap();
    w.close().unwrap();
    let run = ok(on(&dir, &["replay"]));
    assert_contains(&run.stdout, "events not folded (1");
    assert_contains(
        &run.stdout,
        "record 1 (trade_closed): no trade T9 was opened",
    );
    let v = json(&ok(on(&dir, &["replay", "--json"])));
    assert_eq!(v["unfolded"][0]["seq"], 1);
    assert_eq!(v["unfolded"][0]["kind"], "trade_closed");
}
