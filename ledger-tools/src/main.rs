//! The `ledger` binary: parses the command line and hands over to
//! [`ledger_tools::run`]; errors go to standard error as
//! `error: <message>: <causes>`, and the exit code is one of
//! [`ledger_tools::exit::Exit`]'s.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use ledger_tools::cli::Cli;
use ledger_tools::error::error_chain;
use ledger_tools::exit::Exit;
use ledger_tools::ToolError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = ledger_tools::run(&cli, &mut out).and_then(|exit| match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(ToolError::Output(e)),
        _ => Ok(exit),
    });
    let exit = match result {
        Ok(exit) => exit,
        // The reader of our output went away (`ledger verify | head -1`).
        Err(e) if e.is_broken_pipe() => Exit::Success,
        Err(ToolError::Usage(e)) => e.exit(),
        Err(e) => {
            let _ = out.flush();
            let _ = writeln!(std::io::stderr(), "error: {}", error_chain(&e));
            e.exit()
        }
    };
    exit.into()
}
