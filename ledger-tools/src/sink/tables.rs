//! The sink's tables and their columns, in one place: loading writes the
//! columns in this order, `--check` reads them back in this order, and
//! `docs/SINK.md` lists them. The DDL is in [`crate::sink::schema`].

use ledger_domain::EventKind;

/// A column's SQL type, as far as loading and checking care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// `text`.
    Text,
    /// `bigint` or `integer`.
    Int,
    /// `numeric`: exact; compared by value.
    Numeric,
    /// `jsonb`: compared as JSON values (key order and spacing aside).
    Json,
    /// `timestamptz` (microseconds): compared in microseconds since 1970.
    Time,
}

/// A column: name and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColType,
}

const fn c(name: &'static str, ty: ColType) -> Column {
    Column { name, ty }
}

use ColType::{Int, Json, Numeric, Text, Time};

/// The columns every per-kind table starts with.
const LEDGER_EVENTS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("time_ns", Int),
    c("kind", Text),
    c("schema_version", Int),
    c("session", Text),
    c("symbol", Text),
    c("trade_id", Text),
    c("decision_id", Text),
    c("order_id", Text),
    c("chain_hash", Text),
    c("data", Json),
];

const SESSIONS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("engine_version", Text),
    c("config_digest", Text),
    c("starting_equity", Numeric),
    c("ended_seq", Int),
    c("ended_at", Time),
    c("end_reason", Text),
];

const DECISIONS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("decision_id", Text),
    c("symbol", Text),
    c("action", Text),
    c("size", Numeric),
    c("confidence", Numeric),
    c("reasoning", Json),
    c("market", Json),
];

const EXECUTIONS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("order_id", Text),
    c("decision_id", Text),
    c("symbol", Text),
    c("side", Text),
    c("status", Text),
    c("requested_qty", Numeric),
    c("filled_qty", Numeric),
    c("avg_price", Numeric),
    c("fees", Numeric),
    c("latency_us", Numeric),
    c("error", Text),
];

const TRADES: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("trade_id", Text),
    c("symbol", Text),
    c("direction", Text),
    c("qty", Numeric),
    c("price", Numeric),
    c("fees", Numeric),
    c("decision_id", Text),
    c("order_id", Text),
    c("closed_seq", Int),
    c("closed_at", Time),
    c("exit_price", Numeric),
    c("close_fees", Numeric),
    c("realized_pnl", Numeric),
    c("close_order_id", Text),
];

const TRADE_FILLS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("trade_id", Text),
    c("symbol", Text),
    c("effect", Text),
    c("qty", Numeric),
    c("price", Numeric),
    c("fees", Numeric),
    c("order_id", Text),
];

const POSITION_SNAPSHOTS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("symbol", Text),
    c("qty", Numeric),
    c("avg_entry", Numeric),
    c("mark", Numeric),
    c("unrealized_pnl", Numeric),
    c("realized_pnl", Numeric),
];

const RISK_EVENTS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("rule", Text),
    c("severity", Text),
    c("limit_value", Numeric),
    c("observed", Numeric),
    c("action", Text),
];

const SYSTEM_EVENTS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("component", Text),
    c("level", Text),
    c("message", Text),
    c("fields", Json),
];

const METRICS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("name", Text),
    c("value", Numeric),
    c("tags", Json),
];

const AUDIT_EVENTS: &[Column] = &[
    c("ledger_id", Text),
    c("seq", Int),
    c("time", Time),
    c("session", Text),
    c("who", Text),
    c("action", Text),
    c("target", Text),
    c("reason", Text),
];

/// The sink's data tables (the position and schema tables aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Every event.
    LedgerEvents,
    /// `session_started`, closed by `session_ended`.
    Sessions,
    /// `decision`.
    Decisions,
    /// `execution`.
    Executions,
    /// `trade_opened`, closed by `trade_closed`.
    Trades,
    /// `trade_filled`.
    TradeFills,
    /// `position_snapshot`.
    PositionSnapshots,
    /// `risk`.
    RiskEvents,
    /// `system`.
    SystemEvents,
    /// `metric`.
    Metrics,
    /// `audit`.
    AuditEvents,
}

impl Table {
    /// Every data table, `ledger_events` first.
    pub const ALL: [Table; 11] = [
        Table::LedgerEvents,
        Table::Sessions,
        Table::Decisions,
        Table::Executions,
        Table::Trades,
        Table::TradeFills,
        Table::PositionSnapshots,
        Table::RiskEvents,
        Table::SystemEvents,
        Table::Metrics,
        Table::AuditEvents,
    ];

    /// The table's SQL name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::LedgerEvents => "ledger_events",
            Table::Sessions => "sessions",
            Table::Decisions => "decisions",
            Table::Executions => "executions",
            Table::Trades => "trades",
            Table::TradeFills => "trade_fills",
            Table::PositionSnapshots => "position_snapshots",
            Table::RiskEvents => "risk_events",
            Table::SystemEvents => "system_events",
            Table::Metrics => "metrics",
            Table::AuditEvents => "audit_events",
        }
    }

    /// Its columns, in the order rows are written and read.
    pub const fn columns(self) -> &'static [Column] {
        match self {
            Table::LedgerEvents => LEDGER_EVENTS,
            Table::Sessions => SESSIONS,
            Table::Decisions => DECISIONS,
            Table::Executions => EXECUTIONS,
            Table::Trades => TRADES,
            Table::TradeFills => TRADE_FILLS,
            Table::PositionSnapshots => POSITION_SNAPSHOTS,
            Table::RiskEvents => RISK_EVENTS,
            Table::SystemEvents => SYSTEM_EVENTS,
            Table::Metrics => METRICS,
            Table::AuditEvents => AUDIT_EVENTS,
        }
    }

    /// Its place in [`Table::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The table an event kind's row goes to (besides `ledger_events`).
    /// `session_ended` and `trade_closed` close a row of `sessions` and
    /// `trades` instead of adding one.
    pub const fn of_kind(kind: EventKind) -> Table {
        match kind {
            EventKind::SessionStarted | EventKind::SessionEnded => Table::Sessions,
            EventKind::Decision => Table::Decisions,
            EventKind::Execution => Table::Executions,
            EventKind::TradeOpened | EventKind::TradeClosed => Table::Trades,
            EventKind::TradeFilled => Table::TradeFills,
            EventKind::PositionSnapshot => Table::PositionSnapshots,
            EventKind::Risk => Table::RiskEvents,
            EventKind::System => Table::SystemEvents,
            EventKind::Metric => Table::Metrics,
            EventKind::Audit => Table::AuditEvents,
        }
    }

    /// `COPY <table> (<columns>) FROM STDIN`.
    pub fn copy_statement(self) -> String {
        let cols: Vec<&str> = self.columns().iter().map(|c| c.name).collect();
        format!("COPY {} ({}) FROM STDIN", self.name(), cols.join(", "))
    }

    /// The rows of one ledger (`$1`) in sequence order, every column as
    /// text as `--check` compares it (times in microseconds since 1970).
    pub fn check_query(self) -> String {
        let exprs: Vec<String> = self
            .columns()
            .iter()
            .map(|c| match c.ty {
                ColType::Time => format!(
                    "(extract(epoch from {0}) * 1000000)::bigint::text AS {0}",
                    c.name
                ),
                _ => format!("{0}::text AS {0}", c.name),
            })
            .collect();
        format!(
            // `t.seq`: the column, not its text alias (which sorts "10" before "2").
            "SELECT {} FROM {} AS t WHERE t.ledger_id = $1 ORDER BY t.seq",
            exprs.join(", "),
            self.name()
        )
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_the_ledger_and_the_sequence() {
        for t in Table::ALL {
            assert_eq!(t.columns()[0].name, "ledger_id", "{t}");
            assert_eq!(t.columns()[1].name, "seq", "{t}");
            assert_eq!(Table::ALL[t.index()], t);
        }
        for k in EventKind::ALL {
            assert_ne!(Table::of_kind(k), Table::LedgerEvents);
        }
    }
}
