//! The command line: clap structures, with examples in every `--help`.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand};
use ledger_core::Timestamp;
use ledger_domain::EventKind;

use crate::error::ToolError;
use crate::event_json::parse_kind;
use crate::times::parse_time;

const MAIN_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger demo                 create a ledger and append a demo trading session
  ledger -d ./demo-ledger verify               re-hash everything and report any damage
  ledger -d ./demo-ledger report               the performance report
  ledger -d ./demo-ledger replay --trade T3    why did we trade T3?
  ledger -d ./demo-ledger export --format csv --kind trade_closed --out closes.csv
  engine | ledger -d ./live append -           feed a ledger JSON lines through a pipe
  ledger -d ./live tail -f                     watch events as they are appended
  LEDGER_DIR=./demo-ledger ledger stats --json
  ledger keygen --out auditor.key              make a signing key (and auditor.key.pub)
  ledger -d ./demo-ledger checkpoint --key auditor.key --out head.checkpoint
  ledger -d ./demo-ledger verify --checkpoint head.checkpoint --trusted-key auditor.key.pub

Times are RFC 3339 (2026-01-05T14:30:00Z, any offset) or dates (2026-01-05,
midnight UTC). Event kinds: session_started, session_ended, decision,
execution, trade_opened, trade_filled, trade_closed, position_snapshot, risk,
system, metric, audit.

Exit codes: 0 success (ledger intact), 1 damage or tampering found,
2 usage, input or I/O error (also: a folder that holds no ledger).";

const INIT_EXAMPLES: &str = "\
Examples:
  ledger -d ./live init
  LEDGER_DIR=./live ledger init

The folder is created when it is absent; an empty folder is used; a folder
that holds a ledger or any other file is refused (exit code 2).";

const DEMO_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger demo
  ledger -d ./demo-ledger demo --events 100000 --segment-size 4MiB
  ledger -d ./year demo --events 200000 --days 365    a year of daily figures

The folder is created when it is absent; an empty folder is used; a folder
holding a ledger gets more records appended; any other folder is refused.";

const APPEND_EXAMPLES: &str = "\
Examples:
  ledger -d ./live append events.jsonl
  engine --emit-json | ledger -d ./live append
  ledger -d ./old export | ledger -d ./copy append -

One event per line, the JSON that `ledger export` writes:
  {\"time\":\"2026-01-05T14:30:00Z\",\"kind\":\"session_ended\",\"data\":{\"session\":\"s1\",\"reason\":\"done\"}}
`kind` and `data` (docs/EVENTS.md) are required; `time` is optional (RFC 3339
or a date; absent: now); `seq` and `chain_hash` are accepted and ignored;
`session`, when given, must equal data.session (and fills it in when absent).
Blank lines are skipped. Every event is validated before it is appended.

A malformed or refused line stops the append: the error names the line
and the reason, the events of the lines before it are appended and durable,
nothing from that line on is appended; exit code 2. The folder is created
when it is absent or empty.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger verify
  ledger -d ./demo-ledger verify --json --threads 2
  ledger -d ./demo-ledger verify --checkpoint head.checkpoint --trusted-key auditor.key.pub

Exit codes: 0 intact (a torn tail or an interrupted seal, which the next
open recovers from, is not damage), 1 damage, tampering or checkpoint
mismatch found (including a damaged LEDGER identity file, and a forged
index file: one that disagrees with its segment's records, rebuilt from
each segment and compared), 2 usage or I/O error (including a missing
folder, a folder without a LEDGER file, and an unreadable segment).";

const EXPORT_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger export > all.jsonl
  ledger -d ./demo-ledger export --format csv --kind trade_opened --kind trade_closed --out trades.csv
  ledger -d ./demo-ledger export --format json --symbol BTC-USD --from 2026-01-05 --to 2026-01-06
  ledger -d ./demo-ledger export --trade T3
  ledger -d ./demo-ledger export --session demo-1 | ledger -d ./copy append

Each event carries seq, time (RFC 3339, nanoseconds), kind, session,
chain_hash and data. Filters combine with AND; a repeated filter matches any
of its values. --from is inclusive, --to exclusive. The export streams
through the ledger's indexes in constant memory. With --out, the file is
written under a temporary name and renamed into place when complete.
CSV columns: seq,time,kind,session,symbol,trade_id,decision_id,order_id,chain_hash,data
(data: the event's fields as JSON).";

const REPORT_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger report
  ledger -d ./demo-ledger report --session demo-1 --symbol BTC-USD --symbol ETH-USD
  ledger -d ./demo-ledger report --from 2026-01-01 --to 2026-02-01 --json
  ledger -d ./demo-ledger report --html report.html
  ledger -d ./demo-ledger report --period day --periods-per-year 365

A trade counts when it closed inside [--from, --to). Definitions of every
figure: docs/REPORT.md. --json prints the report as one JSON object (money
as decimal strings, times in nanoseconds); --html writes a self-contained
tearsheet (no scripts, no external files): the figures, the marked equity
curve, the underwater chart, monthly returns, the trade P&L and slippage
distributions, execution quality and the worst executions.";

const REPLAY_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger replay                    the state at the end of the log
  ledger -d ./demo-ledger replay --until-seq 20     the state right after record 20
  ledger -d ./demo-ledger replay --until 2026-01-05T14:35:00Z --session demo-1
  ledger -d ./demo-ledger replay --trade T3         the story of trade T3, decision to close
  ledger -d ./demo-ledger replay --until-seq 20 --json

The state: events by kind, sessions, open trades, positions with their
latest snapshot, the latest value of every metric.";

const STATS_EXAMPLES: &str = "\
Examples:
  ledger -d ./demo-ledger stats
  ledger -d ./demo-ledger stats --json | jq .counts

Reads every record once (sealed segments are checked against their
content address on the way); `ledger verify` also re-hashes the chain.";

const INSPECT_EXAMPLES: &str = "\
Examples:
  ledger inspect ./demo-ledger/0000000003-9f2c...e1.seg
  ledger inspect ./demo-ledger/0000000004.active --records 50
  ledger inspect damaged.seg --json

Reads one segment file on its own (no ledger folder needed) and never
changes it: header, durable watermark, footer, the first N records, and
every problem found (content address, header, records, footer, stray bytes).
Exit codes: 0 nothing wrong (a torn tail above the watermark is a notice),
1 damage found, 2 the file cannot be read.";

const TAIL_EXAMPLES: &str = "\
Examples:
  ledger -d ./live tail                 the newest 10 events
  ledger -d ./live tail -n 50
  ledger -d ./live tail -f              and follow new events as they are appended (Ctrl-C ends)

Each line: sequence, time, kind, session, and what the event says.";

const REPAIR_EXAMPLES: &str = "\
Examples:
  ledger -d ./ledger repair                         show what is damaged and what a cut would lose
  ledger -d ./ledger repair --truncate-after 41250  cut the ledger after record 41250

Without --truncate-after nothing is changed. With it, every byte the cut
removes is first moved into a folder repair-<time>/ inside the ledger folder
(whole segment files dropped, and the segment that is cut as it was), the
segment holding SEQ becomes the active segment ending with record SEQ, and
the ledger is verified. SEQ must not be after the last good record.";

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

/// `ledger`: the command line of an event-sourced, hash-chained trading ledger.
#[derive(Debug, Parser)]
#[command(
    name = "ledger",
    version,
    about = "Append, query, report, verify and repair a hash-chained trading ledger",
    after_help = MAIN_EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    /// The ledger folder (every command but `keygen` and `inspect` needs it).
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
    /// Create an empty ledger in DIR.
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Create a ledger (or open the one in DIR) and append demo records, then verify it.
    #[command(after_help = DEMO_EXAMPLES)]
    Demo(DemoArgs),
    /// Append events given as JSON lines (a file, or standard input), each validated.
    #[command(after_help = APPEND_EXAMPLES)]
    Append(AppendArgs),
    /// Re-hash every record and check the whole chain, every CRC and every content address.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Export events as JSON lines, a JSON array or CSV, filtered by kind, symbol, session, trade, time.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// The performance report: win rate, P&L, drawdown, Sharpe; as a table, JSON or an HTML page.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// The projected state at a point of the log, or one trade's story from decision to close.
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
    /// Segments, records, bytes, time span, events by kind, head hash.
    #[command(after_help = STATS_EXAMPLES)]
    Stats(StatsArgs),
    /// Header, footer and records of one segment file, and what is wrong with it.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
    /// Print the newest events, and follow new ones as they are appended.
    #[command(after_help = TAIL_EXAMPLES)]
    Tail(TailArgs),
    /// Show what is damaged and what a cut would lose; cut only with --truncate-after.
    #[command(after_help = REPAIR_EXAMPLES)]
    Repair(RepairArgs),
    /// Verify the ledger, then sign its head and write a checkpoint an auditor keeps.
    #[command(after_help = CHECKPOINT_EXAMPLES)]
    Checkpoint(CheckpointArgs),
    /// Generate an ed25519 signing key for checkpoints.
    #[command(after_help = KEYGEN_EXAMPLES)]
    Keygen(KeygenArgs),
    /// Incremental, compressed backups: create, list, verify, restore, prune.
    #[command(subcommand, after_help = BACKUP_EXAMPLES)]
    Backup(BackupCommand),
    /// Load the events into PostgreSQL tables (exactly once, resumable),
    /// follow the ledger, or check the database against it.
    #[command(after_help = crate::sink_cmd::SINK_EXAMPLES)]
    Sink(crate::sink_cmd::SinkArgs),
    /// Write the ledger anew in the current format (optionally upcasting
    /// old event schemas); the new ledger's first record names this one's
    /// id and head. This ledger is only read.
    #[command(after_help = MIGRATE_EXAMPLES)]
    Migrate(MigrateArgs),
    /// Copy every sealed segment into an object store (file://, s3://)
    /// under its content address; what is there already is not sent again,
    /// and every object is read back and re-hashed.
    #[command(after_help = SHIP_EXAMPLES)]
    Ship(ShipArgs),
}

const SHIP_EXAMPLES: &str = "Examples:
  ledger -d ./live ship --to file:///mnt/archive/live   # a local folder, as an object store
  ledger -d ./live ship --to s3://ledgers/desk-a        # credentials, region, endpoint from AWS_* variables
  AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ALLOW_HTTP=true ledger -d ./live ship --to s3://ledgers/desk-a
  ledger -d ./live ship --to s3://ledgers/desk-a --follow   # each segment as it is sealed, until killed
  ledger verify --remote s3://ledgers/desk-a               # the same checks as a local verify, from the bucket";

/// Options of `ledger ship`.
#[derive(Debug, Clone, Args)]
pub struct ShipArgs {
    /// The object store and prefix: file:///absolute/folder or
    /// s3://bucket/prefix (one ledger per prefix).
    #[arg(long, value_name = "URL")]
    pub to: String,

    /// Keep running: ship each segment as it is sealed (a pass every
    /// --interval-ms), retrying network failures with growing pauses.
    #[arg(long)]
    pub follow: bool,

    /// With --follow, the pause between passes in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, requires = "follow")]
    pub interval_ms: u64,

    /// Retries of each request to the store after its first attempt
    /// (exponential backoff from 100 ms, at most 5 s apart).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub retries: usize,

    /// Put every shipped object under S3 Object Lock retention (compliance
    /// mode) for N days: write once, read many. Refused where the store has
    /// no Object Lock (file://, or a bucket created without it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub retain_days: Option<u32>,

    /// Print one JSON object instead of text (not with --follow).
    #[arg(long, conflicts_with = "follow")]
    pub json: bool,
}

/// Options of `ledger init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
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

    /// Spread the generated session over about D days (by default its events
    /// come 1 to 51 ms apart), so that its daily statistics mean something.
    #[arg(long, value_name = "D")]
    pub days: Option<u32>,

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

    /// This ledger was migrated from the ledger in DIR: also verify DIR in
    /// full (any damage there breaks the link), check that the provenance
    /// record names its id and exactly its verified head and record count,
    /// and that every record of DIR was carried over.
    #[arg(long, value_name = "DIR", conflicts_with = "remote")]
    pub previous: Option<PathBuf>,

    /// Verify a ledger shipped to an object store (file:///folder,
    /// s3://bucket/prefix) in place, fetching one segment at a time: no
    /// local copy, and no -d needed.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
}

const BACKUP_EXAMPLES: &str = "Examples:
  ledger -d ./live backup create --to /backups/live      # copies only segments not yet in the store
  ledger backup list --in /backups/live
  ledger backup verify --in /backups/live                # every object decompressed and re-hashed
  ledger backup restore --from /backups/live --to ./restored
  ledger backup prune --in /backups/live --keep-last 7 --keep-within 30d";

const MIGRATE_EXAMPLES: &str = "Examples:
  ledger -d ./old migrate --to ./new
  ledger -d ./old migrate --to ./new --upcast            # re-encode old event schemas at their current version
  ledger -d ./new verify --previous ./old                # check the provenance link later";

/// `ledger backup` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum BackupCommand {
    /// Back the ledger (`-d`) up into a backup store, while its writer may
    /// keep appending.
    Create {
        /// The backup store (created if absent or empty).
        #[arg(long, value_name = "BACKUP_DIR")]
        to: PathBuf,
        /// Print the manifest summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the backups of a store: time, head, size, what each added.
    List {
        /// The backup store.
        #[arg(long = "in", value_name = "BACKUP_DIR")]
        store: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decompress and re-hash every object, check every manifest and the
    /// chain of manifests.
    Verify {
        /// The backup store.
        #[arg(long = "in", value_name = "BACKUP_DIR")]
        store: PathBuf,
        /// Only this backup's objects.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
    /// Restore a backup (the newest by default) into a new folder; it is
    /// verified end to end before it is put in place.
    Restore {
        /// The backup store.
        #[arg(long, value_name = "BACKUP_DIR")]
        from: PathBuf,
        /// The backup to restore.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// The new ledger folder (absent or empty).
        #[arg(long, value_name = "NEW_DIR")]
        to: PathBuf,
    },
    /// Remove old backups and the objects no remaining backup needs.
    Prune {
        /// The backup store.
        #[arg(long = "in", value_name = "BACKUP_DIR")]
        store: PathBuf,
        /// Keep the newest N backups.
        #[arg(long, value_name = "N")]
        keep_last: usize,
        /// Also keep every backup made within this long (e.g. 30d, 12h, 90m).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        keep_within: Option<std::time::Duration>,
    },
}

/// Options of `ledger migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The new ledger folder (absent or empty).
    #[arg(long, value_name = "NEW_DIR")]
    pub to: PathBuf,
    /// Re-encode every event at its current schema version.
    #[arg(long)]
    pub upcast: bool,
}

/// Parses `30d`, `12h`, `90m`, `3600s` (or plain seconds).
///
/// ```
/// use ledger_tools::cli::parse_duration;
/// assert_eq!(parse_duration("2h").unwrap().as_secs(), 7200);
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30d, 12h, 90m, 3600s)"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use s, m, h, d or w)"
            ))
        }
    };
    Ok(std::time::Duration::from_secs(n * secs))
}

/// Options of `ledger append`.
#[derive(Debug, Clone, Args)]
pub struct AppendArgs {
    /// The JSON lines to append; `-` or nothing: standard input.
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,

    /// Size of each new segment file, in bytes or with a suffix (KiB, MiB, GiB).
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "64MiB",
        value_parser = parse_segment_size
    )]
    pub segment_size: u64,

    /// Refuse events whose time is more than this far ahead of this
    /// machine's clock (seconds, or with a suffix s, m, h, d; `off`: no
    /// limit). Times never decrease along the chain, so one event stamped
    /// far ahead would hold every later event to its time.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1d",
        value_parser = parse_skew
    )]
    pub max_clock_skew: Skew,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A clock-skew limit: a duration, or none (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skew(pub Option<std::time::Duration>);

/// Parses `--max-clock-skew`: `off`, or a whole number with an optional
/// suffix `s`, `m`, `h` or `d` (seconds without one).
pub fn parse_skew(s: &str) -> Result<Skew, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(Skew(None));
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let unit: u64 = match suffix.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "unknown duration suffix {other:?} (use s, m, h or d, or `off`)"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 90s, 15m, 1d, off)"))?;
    let secs = n
        .checked_mul(unit)
        .ok_or_else(|| format!("{s:?} is too long"))?;
    Ok(Skew(Some(std::time::Duration::from_secs(secs))))
}

/// Output formats of `ledger export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line (what `ledger append` reads).
    Jsonl,
    /// One JSON array of the same objects.
    Json,
    /// CSV with a header row and stable columns.
    Csv,
}

/// Options of `ledger export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,

    /// Only events of this kind (repeat for several).
    #[arg(long = "kind", value_name = "KIND", value_parser = parse_kind)]
    pub kinds: Vec<EventKind>,

    /// Only events of this symbol (repeat for several).
    #[arg(long = "symbol", value_name = "SYMBOL")]
    pub symbols: Vec<String>,

    /// Only events of this session (repeat for several).
    #[arg(long = "session", value_name = "ID")]
    pub sessions: Vec<String>,

    /// Only events of this trade (repeat for several).
    #[arg(long = "trade", value_name = "ID")]
    pub trades: Vec<String>,

    /// Only events at or after this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<Timestamp>,

    /// Only events before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: Option<Timestamp>,

    /// Write to this file (replaced when complete) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Options of `ledger report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Only trades closed at or after this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<Timestamp>,

    /// Only trades closed before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: Option<Timestamp>,

    /// Only trades of this symbol (repeat for several).
    #[arg(long = "symbol", value_name = "SYMBOL")]
    pub symbols: Vec<String>,

    /// Only this session's events.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,

    /// The return series' period: hour, day or week (UTC).
    #[arg(long, value_name = "PERIOD", default_value = "day", value_parser = parse_period)]
    pub period: ledger_domain::Period,

    /// Periods per year for the annualised figures: 252 (exchange days) or
    /// 365 (markets that never close), or any positive number.
    #[arg(long, value_name = "N", default_value_t = 252.0, value_parser = parse_periods_per_year)]
    pub periods_per_year: f64,

    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,

    /// Also write a self-contained HTML tearsheet (charts and tables, no network).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Options of `ledger replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Fold the log up to and including this record.
    #[arg(long, value_name = "N", conflicts_with = "until")]
    pub until_seq: Option<u64>,

    /// Fold the records at or before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<Timestamp>,

    /// Fold only this session's events.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,

    /// Tell this trade's story (decision, reasoning, market, executions, fills, close).
    #[arg(long, value_name = "ID")]
    pub trade: Option<String>,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `ledger stats`.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `ledger inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The segment file (`.seg`, `.active` or `.prealloc`).
    #[arg(value_name = "SEGMENT")]
    pub segment: PathBuf,

    /// How many records to list (the rest are checked and counted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub records: usize,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `ledger tail`.
#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// How many of the newest events to print.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    pub lines: u64,

    /// Keep running and print new events as they are appended.
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// How often to look for new events while following, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200, hide = true)]
    pub poll_ms: u64,
}

/// Options of `ledger repair`.
#[derive(Debug, Clone, Args)]
pub struct RepairArgs {
    /// Cut the ledger after this record (0: keep no record), first moving
    /// every byte cut into `repair-<time>/`.
    #[arg(long, value_name = "SEQ")]
    pub truncate_after: Option<u64>,
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
/// [`ledger_core::MIN_SEGMENT_SIZE`] and at most
/// [`ledger_core::MAX_SEGMENT_SIZE`].
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
    let max = ledger_core::MAX_SEGMENT_SIZE;
    if bytes > max {
        return Err(format!(
            "a segment holds at most {max} bytes (4 GiB), {s:?} is more"
        ));
    }
    Ok(bytes)
}

/// A return series' period.
fn parse_period(s: &str) -> Result<ledger_domain::Period, String> {
    match s {
        "hour" => Ok(ledger_domain::Period::Hour),
        "day" => Ok(ledger_domain::Period::Day),
        "week" => Ok(ledger_domain::Period::Week),
        _ => Err(format!("{s:?} is not a period: hour, day or week")),
    }
}

/// A positive, finite number of periods per year.
fn parse_periods_per_year(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!(
            "{s:?} is not a positive number of periods per year (252, 365, ...)"
        )),
    }
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
        assert_eq!(
            parse_segment_size("4GiB"),
            Ok(ledger_core::MAX_SEGMENT_SIZE)
        );
        assert!(parse_segment_size("5GiB").is_err(), "above the maximum");
        assert!(parse_segment_size("99999999999999G").is_err());
        assert!(parse_segment_size("4096").is_err());
    }
}
