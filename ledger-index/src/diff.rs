//! How an index read from a file differs from the index its segment's
//! records give (`ledger verify` rebuilds every index and compares).

use crate::segment_index::{Postings, SegmentIndex};

/// At most this many differences are described.
const SHOWN: usize = 4;

/// The differences between `file` (read from an index file) and `real`
/// (built from the segment's records), described in words, the first ones
/// in file order; empty when they are the same index. `families` names the
/// key families.
pub(crate) fn differences(
    file: &SegmentIndex,
    real: &SegmentIndex,
    families: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    let seq = |p: u32| real.first_seq.saturating_add(u64::from(p));
    if file.first_seq != real.first_seq {
        out.push(format!(
            "it starts at sequence {}, the segment at {}",
            file.first_seq, real.first_seq
        ));
    }
    if file.offsets.len() != real.offsets.len() {
        out.push(format!(
            "it counts {} records, the segment holds {}",
            file.offsets.len(),
            real.offsets.len()
        ));
    }
    if let Some(p) = (0..file.offsets.len().min(real.offsets.len()))
        .find(|&p| file.offsets[p] != real.offsets[p])
    {
        out.push(format!(
            "it places record {} at offset {}, the segment at {}",
            seq(p as u32),
            file.offsets[p],
            real.offsets[p]
        ));
    }
    if file.times != real.times {
        out.push("its time samples are not the records' times".to_owned());
    }
    if file.end != real.end {
        out.push(format!(
            "it ends at offset {}, the segment's records at {}",
            file.end, real.end
        ));
    }
    let kinds = |ix: &SegmentIndex| -> Postings {
        ix.kinds
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    lists("kind", &kinds(file), &kinds(real), &seq, &mut out);
    for (f, (a, b)) in file.keys.iter().zip(&real.keys).enumerate() {
        let family = families.get(f).copied().unwrap_or("?");
        lists(family, a, b, &seq, &mut out);
    }
    if file.keys.len() != real.keys.len() {
        out.push(format!(
            "it has {} key families, the domain {}",
            file.keys.len(),
            real.keys.len()
        ));
    }
    if out.len() > SHOWN {
        let more = out.len() - SHOWN;
        out.truncate(SHOWN);
        out.push(format!("and {more} more difference(s)"));
    }
    out
}

/// The differences between two posting maps of one family.
fn lists(
    family: &str,
    file: &Postings,
    real: &Postings,
    seq: &dyn Fn(u32) -> u64,
    out: &mut Vec<String>,
) {
    let empty = Vec::new();
    let keys: std::collections::BTreeSet<&String> = file.keys().chain(real.keys()).collect();
    for key in keys {
        let a = file.get(key).unwrap_or(&empty);
        let b = real.get(key).unwrap_or(&empty);
        if a == b {
            continue;
        }
        let extra: Vec<u32> = a
            .iter()
            .filter(|p| b.binary_search(p).is_err())
            .copied()
            .collect();
        let missing: Vec<u32> = b
            .iter()
            .filter(|p| a.binary_search(p).is_err())
            .copied()
            .collect();
        let mut parts = Vec::new();
        if !extra.is_empty() {
            parts.push(format!("lists {} it does not have", records(&extra, seq)));
        }
        if !missing.is_empty() {
            parts.push(format!("leaves out {}", records(&missing, seq)));
        }
        out.push(format!("{family} {key:?}: {}", parts.join("; ")));
    }
}

/// "record 7" or "3 records (7, 9, 12)" or "40 records (7, 9, 12, ...)".
fn records(positions: &[u32], seq: &dyn Fn(u32) -> u64) -> String {
    let shown: Vec<String> = positions
        .iter()
        .take(3)
        .map(|&p| seq(p).to_string())
        .collect();
    match positions.len() {
        1 => format!("record {}", shown.join("")),
        n if n <= 3 => format!("{n} records ({})", shown.join(", ")),
        n => format!("{n} records ({}, ...)", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_posting_is_described_on_both_keys() {
        let mut real = SegmentIndex::new(ledger_core::Seq::new(10), 1);
        real.offsets = vec![4096, 4200, 4300];
        real.keys[0].insert("BTC".into(), vec![0, 2]);
        real.keys[0].insert("ETH".into(), vec![1]);
        let mut file = real.clone();
        file.keys[0].insert("BTC".into(), vec![0]);
        file.keys[0].insert("ETH".into(), vec![1, 2]);
        let d = differences(&file, &real, &["symbol"]);
        assert_eq!(
            d,
            [
                "symbol \"BTC\": leaves out record 12",
                "symbol \"ETH\": lists record 12 it does not have"
            ]
        );
        assert!(differences(&real, &real, &["symbol"]).is_empty());
    }
}
