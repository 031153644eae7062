//! `ledger report`: the performance report (`docs/REPORT.md`) over the
//! trades the log tells of, as a table, as JSON, and as a self-contained
//! HTML page ([`crate::html`]).

use std::io::Write;
use std::path::Path;

use ledger_core::Reader;
use ledger_domain::{replay, PerformanceReport, ReplayOptions, ReportFilter, SessionId, Symbol};

use crate::cli::ReportArgs;
use crate::error::{finish, ToolError};
use crate::exit::Exit;
use crate::html;
use crate::human::time;
use crate::outfile::OutFile;
use crate::report_fmt::{execution_table, report_table, time_table};

/// Describes the report's scope in words: session, symbols, window.
pub fn scope(args: &ReportArgs) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &args.session {
        parts.push(format!("session {s}"));
    }
    if !args.symbols.is_empty() {
        parts.push(args.symbols.join(", "));
    }
    match (args.from, args.to) {
        (Some(f), Some(t)) => parts.push(format!("trades closed from {} to {}", time(f), time(t))),
        (Some(f), None) => parts.push(format!("trades closed from {}", time(f))),
        (None, Some(t)) => parts.push(format!("trades closed before {}", time(t))),
        (None, None) => {}
    }
    if parts.is_empty() {
        "the whole ledger".into()
    } else {
        parts.join("; ")
    }
}

/// Runs `ledger report` on `dir`.
pub fn run(dir: &Path, args: &ReportArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let reader = Reader::open(dir)?;
    let projections = replay(
        &reader,
        &ReplayOptions {
            session: args.session.as_deref().map(SessionId::from),
            ..ReplayOptions::default()
        },
    )?;
    let filter = ReportFilter {
        from: args.from,
        to: args.to,
        symbols: args
            .symbols
            .iter()
            .map(|s| Symbol::new(s.as_str()))
            .collect(),
        period: args.period,
        periods_per_year: args.periods_per_year,
    };
    let session = args.session.as_deref().map(SessionId::from);
    let report = PerformanceReport::from_log(&reader, &projections, session.as_ref(), &filter)?;
    let scope = scope(args);
    if let Some(path) = &args.html {
        let page = html::report_page(&report, &scope, &reader.ledger_id().to_hex());
        let mut file = OutFile::create(path)?;
        file.write_all(page.as_bytes())
            .map_err(crate::error::io_err("write", path))?;
        file.commit()?;
    }
    let written = if args.json {
        serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::from)
            .and_then(|s| writeln!(out, "{s}"))
    } else {
        (|| {
            writeln!(
                out,
                "performance of {scope}: {} closed trade(s)",
                report.total.trades
            )?;
            write!(out, "{}", report_table(&report))?;
            writeln!(
                out,
                "\nover time, marked to market ({} returns, {} {}s a year):",
                report.time.period.name(),
                report.annualized.periods_per_year,
                report.time.period.name()
            )?;
            write!(out, "{}", time_table(&report))?;
            writeln!(
                out,
                "\nexecution quality ({} orders):",
                report.execution.total.orders
            )?;
            write!(out, "{}", execution_table(&report.execution))?;
            if let Some(path) = &args.html {
                writeln!(out, "HTML report written to {}", path.display())?;
            }
            Ok(())
        })()
    };
    finish(Exit::Success, written)
}
