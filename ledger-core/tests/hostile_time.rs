//! A far-future time cannot poison the ledger: the writer refuses a record
//! stamped further ahead of its clock than `max_clock_skew` allows (default
//! a day), in single and batch appends, and a record without a time of its
//! own that would inherit such a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ledger_core::{
    AppendError, Durability, Entry, Kind, SchemaVersion, Seq, Timestamp, Writer, WriterOptions,
    DEFAULT_MAX_CLOCK_SKEW,
};

const HOUR: i64 = 3_600_000_000_000;

fn opts() -> WriterOptions {
    WriterOptions::default().durability(Durability::NoSync)
}

fn entry(ts: Option<Timestamp>) -> Entry<'static> {
    let e = Entry::new(Kind::new(7), SchemaVersion::new(1), b"payload");
    match ts {
        Some(t) => e.at(t),
        None => e,
    }
}

fn in_hours(h: i64) -> Timestamp {
    Timestamp::from_nanos(Timestamp::now().as_nanos() + h * HOUR)
}

#[test]
fn the_default_allows_a_day_ahead() {
    assert_eq!(DEFAULT_MAX_CLOCK_SKEW, Duration::from_secs(86_400));
    assert_eq!(
        WriterOptions::default().max_clock_skew,
        Some(DEFAULT_MAX_CLOCK_SKEW)
    );
}

#[test]
fn the_end_of_time_is_refused_and_the_ledger_keeps_taking_real_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), opts()).unwrap();
    let _ = w.append(&entry(None)).unwrap();
    let end = Timestamp::from_nanos(i64::MAX);
    match w.append(&entry(Some(end))) {
        Err(AppendError::TimeTooFarAhead {
            seq,
            found,
            skew_secs,
            ..
        }) => {
            assert_eq!(seq, Seq::new(2));
            assert_eq!(found, end);
            assert_eq!(skew_secs, 86_400);
        }
        other => panic!("expected TimeTooFarAhead, got {other:?}"),
    }
    // Two days ahead is refused too; an hour ahead is not.
    assert!(matches!(
        w.append(&entry(Some(in_hours(48)))),
        Err(AppendError::TimeTooFarAhead { .. })
    ));
    assert_eq!(w.next_seq(), Seq::new(2), "nothing appended");
    let _ = w.append(&entry(Some(in_hours(1)))).unwrap();
    let _ = w.append(&entry(None)).unwrap();
    assert_eq!(w.next_seq(), Seq::new(4));
    // A batch with one such record appends none of them.
    let batch = [entry(None), entry(Some(end)), entry(None)];
    assert!(matches!(
        w.append_batch(&batch),
        Err(AppendError::TimeTooFarAhead { seq, .. }) if seq == Seq::new(5)
    ));
    assert_eq!(w.next_seq(), Seq::new(4));
    w.close().unwrap();
}

#[test]
fn a_record_without_a_time_does_not_inherit_a_time_beyond_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Written with the limit off (or before it existed): the last record
    // sits three days ahead.
    let mut w = Writer::create(dir.path(), opts().max_clock_skew(None)).unwrap();
    let ahead = in_hours(72);
    let _ = w.append(&entry(Some(ahead))).unwrap();
    w.close().unwrap();

    let mut w = Writer::open(dir.path(), opts()).unwrap();
    match w.append(&entry(None)) {
        Err(AppendError::TimeTooFarAhead { seq, found, .. }) => {
            assert_eq!((seq, found), (Seq::new(2), ahead));
        }
        other => panic!("expected TimeTooFarAhead, got {other:?}"),
    }
    let msg = w.append(&entry(None)).unwrap_err().to_string();
    assert!(
        msg.contains("ahead of this machine's clock") && msg.contains("max_clock_skew"),
        "{msg}"
    );
    // Raising the limit is the explicit way on.
    w.close().unwrap();
    let mut w = Writer::open(
        dir.path(),
        opts().max_clock_skew(Some(Duration::from_secs(4 * 86_400))),
    )
    .unwrap();
    let r = w.append(&entry(None)).unwrap();
    assert_eq!(r.seq, Seq::new(2));
}
