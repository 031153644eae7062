//! The command line: clap structures, with examples in every `--help`.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::error::ToolError;

const MAIN_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger demo                 create a ledger and append 5000 demo records
  ledger -d ./demo-ledger verify               re-hash everything and report any damage
  LEDGER_DIR=./demo-ledger ledger verify --json
  ledger keygen --out auditor.key              make a signing key (and auditor.key.pub)
  ledger -d ./demo-ledger checkpoint --key auditor.key --out head.checkpoint
  ledger -d ./demo-ledger verify --checkpoint head.checkpoint --trusted-key auditor.key.pub

Exit codes: 0 success (ledger intact), 1 damage or tampering found, 2 usage or I/O error.";

const DEMO_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger demo
  ledger -d ./demo-ledger demo --events 100000 --segment-size 4MiB

The folder is created when it is absent; an empty folder is used; a folder
holding a ledger gets more records appended; any other folder is refused.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger verify
  ledger -d ./demo-ledger verify --json --threads 2
  ledger -d ./demo-ledger verify --checkpoint head.checkpoint --trusted-key auditor.key.pub

Exit codes: 0 intact (a torn tail the next open will cut is not damage),
1 damage, tampering or checkpoint mismatch found, 2 usage or I/O error
(including a missing folder or a folder that holds no ledger).";

const CHECKPOINT_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger checkpoint --key auditor.key --out head.checkpoint
  ledger -d ./demo-ledger checkpoint --key auditor.key > head.checkpoint

The ledger is verified first; a damaged ledger is not signed (exit code 1).
Keep the checkpoint somewhere the ledger's host cannot rewrite it.";

const KEYGEN_EXAMPLES: &str = "\
Examples:
  ledger keygen --out auditor.key

Writes the secret key to FILE (readable by its owner only) and the public
key to FILE.pub, and prints the public key. Existing files are never
overwritten.";

/// `ledger`: demo, verify and checkpoint an event-sourced, hash-chained ledger.
#[derive(Debug, Parser)]
#[command(
    name = "ledger",
    version,
    about = "Create, verify and checkpoint a hash-chained trading ledger",
    after_help = MAIN_EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    /// The ledger folder (every command but `keygen` needs it).
    #[arg(
        short = 'd',
        long = "dir",
        value_name = "DIR",
        env = "LEDGER_DIR",
        hide_env_values = true,
        global = true
    )]
    pub dir: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The ledger folder, or the usage error that says how to give one.
    pub fn ledger_dir(&self) -> Result<&Path, ToolError> {
        self.dir.as_deref().ok_or_else(|| {
            ToolError::Usage(Cli::command().error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "no ledger folder given: pass -d/--dir DIR or set LEDGER_DIR",
            ))
        })
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a ledger (or open the one in DIR) and append demo records, then verify it.
    #[command(after_help = DEMO_EXAMPLES)]
    Demo(DemoArgs),
    /// Re-hash every record and check the whole chain, every CRC and every content address.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Verify the ledger, then sign its head and write a checkpoint an auditor keeps.
    #[command(after_help = CHECKPOINT_EXAMPLES)]
    Checkpoint(CheckpointArgs),
    /// Generate an ed25519 signing key for checkpoints.
    #[command(after_help = KEYGEN_EXAMPLES)]
    Keygen(KeygenArgs),
}

/// Options of `ledger demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Also append a generated session of N events (many symbols, thousands
    /// of trades) after the scripted one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub events: u64,

    /// Seed of the generated session.
    #[arg(long, value_name = "SEED", default_value_t = 42)]
    pub seed: u64,

    /// Size of each segment file, in bytes or with a suffix (KiB, MiB, GiB);
    /// small by default so the demo seals several segments.
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "256KiB",
        value_parser = parse_segment_size
    )]
    pub segment_size: u64,
}

/// Options of `ledger verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// Also check the ledger against this signed checkpoint.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Require the checkpoint to be signed by this public key (a `.pub` file
    /// written by `ledger keygen`), not just by the key the checkpoint names.
    #[arg(long, value_name = "FILE", requires = "checkpoint")]
    pub trusted_key: Option<PathBuf>,

    /// Use at most this many threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
}

/// Options of `ledger checkpoint`.
#[derive(Debug, Clone, Args)]
pub struct CheckpointArgs {
    /// The secret key file to sign with (from `ledger keygen`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// Write the checkpoint to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Options of `ledger keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// The secret key file to create; the public key goes to FILE.pub.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Parses a byte size: digits with an optional binary suffix (`K`, `KiB`,
/// `M`, `MiB`, `G`, `GiB`, case-insensitive), at least
/// [`ledger_core::MIN_SEGMENT_SIZE`].
///
/// ```
/// use ledger_tools::cli::parse_segment_size;
/// assert_eq!(parse_segment_size("1MiB"), Ok(1 << 20));
/// assert_eq!(parse_segment_size("65536"), Ok(65536));
/// assert!(parse_segment_size("1k").is_err()); // below the minimum
/// ```
pub fn parse_segment_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => {
            return Err(format!(
                "unknown size suffix {other:?} (use KiB, MiB or GiB)"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size in bytes (e.g. 65536, 256KiB, 4MiB)"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    let min = ledger_core::MIN_SEGMENT_SIZE;
    if bytes < min {
        return Err(format!(
            "a segment holds at least {min} bytes, {s:?} is less"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse_with_suffixes_and_refuse_nonsense() {
        assert_eq!(parse_segment_size("256KiB"), Ok(256 << 10));
        assert_eq!(parse_segment_size("4 mib"), Ok(4 << 20));
        assert_eq!(parse_segment_size("1G"), Ok(1 << 30));
        assert!(parse_segment_size("").is_err());
        assert!(parse_segment_size("12 parsecs").is_err());
        assert!(parse_segment_size("-5").is_err());
        assert!(parse_segment_size("99999999999999G").is_err());
        assert!(parse_segment_size("4096").is_err());
    }
}
