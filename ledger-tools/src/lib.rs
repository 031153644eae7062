//! # ledger-tools
//!
//! The `ledger` command-line program over [`ledger_core`], as a library: the
//! binary (`src/main.rs`) only parses the command line, calls [`run`], prints
//! errors and ends with the fixed [`exit`] codes.
//!
//! | command | what it does | module |
//! | --- | --- | --- |
//! | `ledger demo` | the whole pipeline: a scripted trading session (plus `--events N` generated), verified, projections rebuilt, performance report, why-did-we-trade | [`demo`] |
//! | `ledger verify` | re-hashes everything, reports every finding (text or JSON), optionally against a checkpoint | [`verify_cmd`] |
//! | `ledger checkpoint` | verifies, then signs the head with a secret key | [`checkpoint_cmd`] |
//! | `ledger keygen` | makes a signing key and its public key file | [`keys`] |
//!
//! Every command but `keygen` works on the ledger folder given by
//! `-d/--dir DIR` or the `LEDGER_DIR` environment variable.
//! Exit codes: 0 success, 1 damage or tampering found, 2 usage or I/O
//! error ([`exit::Exit`]).
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

pub mod checkpoint_cmd;
pub mod cli;
pub mod demo;
pub mod error;
pub mod exit;
pub mod human;
pub mod keys;
pub mod report_fmt;
pub mod verify_cmd;

use std::io::Write;

pub use error::ToolError;

use cli::{Cli, Command};
use exit::Exit;

/// Runs the command `cli` names, writing its output to `out`. Errors are
/// returned, not printed; [`ToolError::exit`] gives their exit code.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<Exit, ToolError> {
    match &cli.command {
        Command::Demo(args) => demo::run(cli.ledger_dir()?, args, out),
        Command::Verify(args) => verify_cmd::run(cli.ledger_dir()?, args, out),
        Command::Checkpoint(args) => checkpoint_cmd::run(cli.ledger_dir()?, args, out),
        Command::Keygen(args) => keys::run_keygen(args, out),
    }
}
