//! Identifier newtypes: a trade id is never an order id.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a string.
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }

            /// The string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether the id is empty (or only white space).
            pub fn is_blank(&self) -> bool {
                self.0.trim().is_empty()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        /// Hashes and compares as its string, so maps keyed by the id are
        /// searched with a borrowed `&str` (the fold's views).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

id_type!(
    /// A trading session of the engine.
    SessionId
);
id_type!(
    /// A trading decision.
    DecisionId
);
id_type!(
    /// An order sent to a venue.
    OrderId
);
id_type!(
    /// A trade: one position from open to close.
    TradeId
);
id_type!(
    /// An instrument, e.g. `BTC-USD`.
    Symbol
);
