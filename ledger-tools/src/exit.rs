//! The program's exit codes, fixed in one place.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success; for `verify`: the ledger is intact (a torn tail alone is not damage) |
//! | 1 | damage or tampering found: a finding, a checkpoint mismatch, a forged index file (`verify`: the records themselves may be intact), a ledger too damaged to open (any command), a damaged segment (`inspect`), damage that `repair` reports without cutting |
//! | 2 | usage error (also clap's own); bad input (a line `ledger append` refused, a bad time or kind); a refused request (`init` on an existing ledger, `repair --truncate-after` past the last good record or on an intact ledger); an I/O error: folder missing, folder without a ledger, unreadable file |
//!
//! A closed output pipe (`ledger verify | head -1`) is not an error, as in
//! other command-line tools: the verdict stands (`verify` still ends with 1
//! on a damaged ledger), and a command cut short by it ends with 0.

use std::process::ExitCode;

/// How the program ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Code 0: the command did what it was asked, and found nothing wrong.
    Success,
    /// Code 1: damage or tampering was found.
    Damage,
    /// Code 2: a usage or I/O error stopped the command.
    Failure,
}

impl Exit {
    /// The numeric exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Damage => 1,
            Exit::Failure => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_fixed() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Damage.code(), 1);
        assert_eq!(Exit::Failure.code(), 2);
    }
}
