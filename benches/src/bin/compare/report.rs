//! The markdown tables: every row, and every target with its ratio.

use ledger_benches::baselines::BATCH;

use crate::run::{Latency, Row};
use crate::workloads::NO_SYNC;

fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ns(x: u64) -> String {
    if x >= 10_000_000 {
        format!("{:.0} ms", x as f64 / 1e6)
    } else if x >= 10_000 {
        format!("{:.0} µs", x as f64 / 1e3)
    } else {
        format!("{x} ns")
    }
}

pub(crate) fn print_rows(rows: &[Row], reference: f64) {
    println!("| store | mode | events | events/s | durable events/s | p50 | p99 | p99.9 | max | calls > 100 µs | bytes on disk / event | ledger append ÷ this | an appended event survives |");
    println!(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for r in rows {
        let q = |f: fn(&Latency) -> u64| r.latency.as_ref().map_or("-".into(), |l| ns(f(l)));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2}× | {} |",
            r.store,
            r.mode,
            r.events,
            rate(r.per_sec),
            r.durable_per_sec.map_or("-".into(), rate),
            q(|l| l.p50),
            q(|l| l.p99),
            q(|l| l.p999),
            q(|l| l.max),
            r.latency
                .as_ref()
                .map_or("-".into(), |l| l.stalls.to_string()),
            r.bytes_per_event.map_or("-".into(), |b| format!("{b:.0}")),
            reference / r.per_sec,
            r.survives,
        );
    }
}

/// One checked target.
pub(crate) struct Target {
    what: String,
    ours: String,
    theirs: String,
    measured: String,
    wanted: String,
    met: bool,
}

/// A ratio target: what, the ledger's row, the baseline's row, the least
/// ratio wanted (0: informative only), and whether the ledger's durable
/// rate counts.
type Pair<'a> = (&'a str, Option<&'a Row>, Option<&'a Row>, f64, bool);

fn ratio_target(what: &str, ours: f64, theirs: f64, at_least: f64) -> Target {
    let r = ours / theirs;
    Target {
        what: what.into(),
        ours: format!("{}/s", rate(ours)),
        theirs: format!("{}/s", rate(theirs)),
        measured: format!("{r:.2}×"),
        wanted: format!("≥ {at_least}×"),
        met: r >= at_least,
    }
}

pub(crate) fn targets(rows: &[Row]) -> Vec<Target> {
    let find = |store: &str, mode: &str| {
        rows.iter()
            .find(|r| r.store == store && r.mode.starts_with(mode))
    };
    let mut out = Vec::new();
    let no_sync = rows
        .iter()
        .find(|r| r.store == "this ledger" && r.mode == NO_SYNC);
    let gc = find("this ledger", "append, group commit");
    let batch = find("this ledger", "append_batch");
    let pairs: [Pair<'_>; 9] = [
        (
            "append (no sync) vs SQLite, batched transactions",
            no_sync,
            find("SQLite (WAL)", &format!("synchronous=NORMAL, {BATCH} ")),
            3.0,
            false,
        ),
        (
            "append (no sync) vs SQLite, commit per event",
            no_sync,
            find("SQLite (WAL)", "synchronous=NORMAL, commit"),
            20.0,
            false,
        ),
        (
            "append (no sync) vs JSON lines + SHA-256, flush per batch",
            no_sync,
            find("JSON lines + SHA-256", "BufWriter, flush per batch"),
            2.5,
            false,
        ),
        (
            "append (no sync) vs batpak, batches (its best mode)",
            no_sync,
            find("batpak 0.10", "append_batch"),
            10.0,
            false,
        ),
        (
            "group commit, durable appends vs SQLite synchronous=FULL, commit per event",
            gc,
            find("SQLite (WAL)", "synchronous=FULL"),
            100.0,
            true,
        ),
        (
            "append (no sync) vs the bare blake3 chain (within 1.3×)",
            no_sync,
            find("limit", "blake3"),
            1.0 / 1.3,
            false,
        ),
        (
            "append_batch vs SQLite, batched transactions (like for like)",
            batch,
            find("SQLite (WAL)", &format!("synchronous=NORMAL, {BATCH} ")),
            0.0,
            false,
        ),
        (
            "append_batch vs JSON lines, flush per batch (like for like)",
            batch,
            find("JSON lines + SHA-256", "BufWriter, flush per batch"),
            0.0,
            false,
        ),
        (
            "append_batch vs batpak, batches (like for like)",
            batch,
            find("batpak 0.10", "append_batch"),
            0.0,
            false,
        ),
    ];
    for (what, ours, theirs, at_least, durable) in pairs {
        let (Some(o), Some(t)) = (ours, theirs) else {
            continue;
        };
        let ours = if durable {
            o.durable_per_sec.unwrap_or(0.0)
        } else {
            o.per_sec
        };
        let mut target = ratio_target(what, ours, t.per_sec, at_least);
        if at_least == 0.0 {
            target.wanted = "-".into();
        } else if at_least < 1.0 {
            target.wanted = format!("≥ {at_least:.2}× (1 / 1.3)");
        }
        out.push(target);
    }
    if let Some(r) = no_sync {
        let l = r.latency.as_ref();
        out.push(abs("append (no sync): throughput", r.per_sec, 2e6, true));
        if let Some(l) = l {
            out.push(abs_ns("append (no sync): p50", l.p50, 500));
            out.push(abs_ns("append (no sync): p99", l.p99, 1_000));
        }
    }
    if let Some(r) = gc {
        out.push(abs(
            "group commit: durable appends per second",
            r.durable_per_sec.unwrap_or(0.0),
            1e6,
            true,
        ));
        if let Some(l) = r.latency.as_ref() {
            out.push(abs_ns("group commit: writer p99.9", l.p999, 5_000));
        }
    }
    out
}

fn abs(what: &str, got: f64, want: f64, at_least: bool) -> Target {
    Target {
        what: what.into(),
        ours: format!("{}/s", rate(got)),
        theirs: "-".into(),
        measured: format!("{}/s", rate(got)),
        wanted: format!("{} {}/s", if at_least { "≥" } else { "≤" }, rate(want)),
        met: if at_least { got >= want } else { got <= want },
    }
}

fn abs_ns(what: &str, got: u64, max: u64) -> Target {
    Target {
        what: what.into(),
        ours: ns(got),
        theirs: "-".into(),
        measured: ns(got),
        wanted: format!("≤ {}", ns(max)),
        met: got <= max,
    }
}

pub(crate) fn print_targets(t: &[Target]) {
    println!("| target | this ledger | baseline | measured | wanted | met |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for x in t {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            x.what,
            x.ours,
            x.theirs,
            x.measured,
            x.wanted,
            if x.wanted == "-" {
                "-"
            } else if x.met {
                "yes"
            } else {
                "**no**"
            }
        );
    }
}
