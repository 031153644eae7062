//! # ledger-tools
//!
//! The `ledger` command-line program over [`ledger_core`] (the engine),
//! [`ledger_domain`] (the trading events) and [`ledger_index`], as a
//! library: the binary (`src/main.rs`) only parses the command line, calls
//! [`run`], prints errors and ends with the fixed [`exit`] codes. The demo
//! session and its generator ([`sim`]) live here too, with the demo; other
//! crates' tests, examples and benchmarks use them.
//!
//! | command | what it does | module |
//! | --- | --- | --- |
//! | `ledger init` | creates an empty ledger; refuses an existing ledger or a folder holding other files | [`init_cmd`] |
//! | `ledger demo [--events N]` | the whole pipeline: a scripted trading session (plus `--events N` generated), verified, projections rebuilt, performance report, why-did-we-trade | [`demo`], [`sim`] |
//! | `ledger append [FILE\|-]` | appends events given as JSON lines ([`event_json`]), each validated; a refused line stops it, naming the line, with everything before it kept and durable | [`append_cmd`] |
//! | `ledger verify` | re-hashes everything, reports every finding (text or JSON), optionally against a checkpoint | [`verify_cmd`] |
//! | `ledger export` | streams events through the indexes as JSON lines, a JSON array or CSV, filtered by kind, symbol, session, trade and time | [`export_cmd`] |
//! | `ledger report` | the performance report as a table, JSON, or a self-contained HTML page with the equity curve and drawdown | [`report_cmd`], [`html`] |
//! | `ledger replay` | the projected state up to a record or a time (optionally one session); with `--trade`, the trade's story from decision to close | [`replay_cmd`] |
//! | `ledger stats` | segments, records, bytes, time span, events by kind, head | [`stats_cmd`] |
//! | `ledger inspect SEGMENT` | one segment file on its own: header, watermark, footer, records, and what is wrong with it | [`inspect_cmd`] |
//! | `ledger tail [-n N] [-f]` | the newest events, one line each, and with `-f` new ones as they are appended | [`tail_cmd`], [`summary`] |
//! | `ledger repair [--truncate-after SEQ]` | shows what is damaged and what a cut would lose; cuts only when asked, moving every removed byte into `repair-<time>/` first | [`repair_cmd`] |
//! | `ledger checkpoint` | verifies, then signs the head with a secret key | [`checkpoint_cmd`] |
//! | `ledger sink --postgres URL` | loads the events into PostgreSQL tables with `COPY`, exactly once (`--follow`: as they are appended); `--check` compares the database with the ledger | [`sink_cmd`], [`sink`] |
//! | `ledger keygen` | makes a signing key and its public key file | [`keys`] |
//! | `ledger ship --to URL` | copies sealed segments into an object store (`file://`, `s3://`) under their content address, skipping and re-hashing what is there | [`ship_cmd`] |
//!
//! Every command but `keygen` and `inspect` works on the ledger folder
//! given by `-d/--dir DIR` or the `LEDGER_DIR` environment variable; `init`,
//! `demo` and `append` create the ledger when the folder is absent or
//! empty, every other command refuses a folder that holds no ledger.
//! Times are RFC 3339 or dates ([`times`]); kinds are snake_case names.
//! Progress bars ([`progress`]) are drawn on standard error only when it is
//! a terminal. Files a command writes (`--out`, `--html`) are written whole
//! or not at all ([`outfile`]), and no command writes a file or folder
//! inside a ledger folder or a backup store, or over a ledger file
//! ([`out_path`]).
//!
//! Exit codes: 0 success, 1 damage or tampering found, 2 usage, input or
//! I/O error ([`exit::Exit`]). Nothing but `repair --truncate-after`
//! removes anything from a ledger, and it first moves what it removes
//! aside.
//!
//! ```
//! use clap::Parser;
//! use ledger_tools::{cli::Cli, exit::Exit, run};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tmp = tempfile::tempdir()?;
//! let dir = tmp.path().join("ledger");
//! let dir = dir.to_str().ok_or("not UTF-8")?;
//!
//! let mut out = Vec::new();
//! let demo = Cli::try_parse_from(["ledger", "-d", dir, "demo", "--events", "300"])?;
//! assert_eq!(run(&demo, &mut out)?, Exit::Success);
//!
//! let mut json = Vec::new();
//! let verify = Cli::try_parse_from(["ledger", "-d", dir, "verify", "--json"])?;
//! assert_eq!(run(&verify, &mut json)?, Exit::Success);
//! let report: serde_json::Value = serde_json::from_slice(&json)?;
//! let scripted = ledger_tools::demo::scripted_events() as u64;
//! assert_eq!(report["records"], 300 + scripted);
//! assert_eq!(report["intact"], true);
//! # Ok(())
//! # }
//! ```

pub mod append_cmd;
pub mod backup_cmd;
pub mod checkpoint_cmd;
pub mod cli;
pub mod demo;
pub mod error;
pub mod exit;
pub mod export_cmd;
pub mod histogram;
pub mod html;
pub mod human;
pub mod init_cmd;
pub mod inspect_cmd;
pub mod keys;
pub mod out_path;
pub mod outfile;
pub mod progress;
pub mod remote;
pub mod repair_cmd;
pub mod replay_cmd;
pub mod report_cmd;
pub mod report_fmt;
pub mod ship_cmd;
pub mod sim;
pub mod sink;
pub mod sink_cmd;
pub mod stats_cmd;
pub mod summary;
pub mod tail_cmd;
pub mod verify_cmd;

use std::io::Write;

/// The JSON line form of an event, now in the domain crate (the Python
/// package reads it too).
pub use ledger_domain::event_json;
/// Times on the command line and in exports, now in the domain crate.
pub use ledger_domain::times;

pub use error::ToolError;

use cli::{Cli, Command};
use exit::Exit;

/// Runs the command `cli` names, writing its output to `out`. Errors are
/// returned, not printed; [`ToolError::exit`] gives their exit code.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<Exit, ToolError> {
    // Before any work: no output inside a ledger folder or a backup store.
    out_path::check_command(cli)?;
    match &cli.command {
        Command::Init(args) => init_cmd::run(cli.ledger_dir()?, args, out),
        Command::Demo(args) => demo::run(cli.ledger_dir()?, args, out),
        Command::Append(args) => {
            append_cmd::run(cli.ledger_dir()?, args, &mut std::io::stdin().lock(), out)
        }
        Command::Verify(args) => match &args.remote {
            Some(url) => verify_cmd::run_remote(url, args, out),
            None => verify_cmd::run(cli.ledger_dir()?, args, out),
        },
        Command::Export(args) => export_cmd::run(cli.ledger_dir()?, args, out),
        Command::Report(args) => report_cmd::run(cli.ledger_dir()?, args, out),
        Command::Replay(args) => replay_cmd::run(cli.ledger_dir()?, args, out),
        Command::Stats(args) => stats_cmd::run(cli.ledger_dir()?, args, out),
        Command::Inspect(args) => inspect_cmd::run(args, out),
        Command::Tail(args) => tail_cmd::run(cli.ledger_dir()?, args, out),
        Command::Repair(args) => repair_cmd::run(cli.ledger_dir()?, args, out),
        Command::Checkpoint(args) => checkpoint_cmd::run(cli.ledger_dir()?, args, out),
        Command::Keygen(args) => keys::run_keygen(args, out),
        Command::Backup(cmd) => {
            let dir = match cmd {
                cli::BackupCommand::Create { .. } => Some(cli.ledger_dir()?),
                _ => None,
            };
            backup_cmd::run(dir, cmd, out)
        }
        Command::Sink(args) => sink_cmd::run(cli.ledger_dir()?, args, out),
        Command::Migrate(args) => backup_cmd::run_migrate(cli.ledger_dir()?, args, out),
        Command::Ship(args) => ship_cmd::run(cli.ledger_dir()?, args, out),
    }
}
