//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use ledger_core::storage::{MemStorage, Storage};
use ledger_core::{
    Durability, Entry, Kind, Reader, Receipt, Record, SchemaVersion, Writer, WriterOptions,
};

/// A deterministic payload of varying length for record `i`.
pub fn payload(i: u64) -> Vec<u8> {
    let len = 20 + (i * 37 % 300) as usize;
    (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect()
}

/// The kind used for record `i`.
pub fn kind(i: u64) -> Kind {
    Kind::new(1 + (i % 9) as u16)
}

/// Small segments so that a few hundred records span several of them.
pub fn small(durability: Durability) -> WriterOptions {
    WriterOptions::default()
        .segment_size(16 << 10)
        .durability(durability)
}

/// Appends records `from..to` with [`payload`], returning the receipts.
pub fn append_range(w: &mut Writer, from: u64, to: u64) -> Vec<Receipt> {
    (from..to)
        .map(|i| {
            let p = payload(i);
            w.append(&Entry::new(kind(i), SchemaVersion::new(1), &p))
                .expect("append")
        })
        .collect()
}

/// The names of the sealed segment files in `dir`, in order.
pub fn sealed_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    v.sort();
    v
}

/// The name of the active segment file in `dir`.
pub fn active_file(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(".active"))
        .expect("an active segment")
}

/// Every record `r` holds, read with the chain checked.
pub fn chain_records(r: Reader) -> Vec<Record> {
    r.cursor()
        .unwrap()
        .verify_chain(true)
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The names of the sealed segment files in `st`, in list order.
pub fn mem_sealed(st: &MemStorage) -> Vec<String> {
    st.list()
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".seg"))
        .collect()
}
