//! Binning for the tearsheet's distributions (trade P&L, slippage), robust
//! to outliers: the bins span the values inside Tukey's outer fences, and
//! the few values beyond them are counted in the edge bins, so one outlier
//! cannot squeeze every other value into a single bar.
//!
//! With Q1 and Q3 the quartiles (nearest rank, like the report's p95) and
//! IQR = Q3 - Q1, the fences are Q1 - 3 x IQR and Q3 + 3 x IQR ("far out"
//! in Tukey's terms: beyond 4.7 standard deviations of a normal
//! distribution, so a well-behaved sample loses nothing). The range runs
//! from the smallest to the largest value inside the fences; when that
//! range is empty (IQR 0) but the values differ, it runs from the minimum
//! to the maximum and nothing is clipped.

/// One bar of a histogram: the values in `[from, to)` (the last bin
/// includes `to`), plus, in an edge bin, the outliers beyond it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    /// Lower edge of the bin's range.
    pub from: f64,
    /// Upper edge of the bin's range.
    pub to: f64,
    /// Values counted in this bin, outliers included.
    pub count: u64,
    /// Values below the range counted here (first bin only).
    pub below: u64,
    /// Values above the range counted here (last bin only).
    pub above: u64,
}

impl Bin {
    /// The bin's range in words: `< to` for a first bin holding values
    /// below the range, `≥ from` for a last bin holding values above it,
    /// `from to to` otherwise.
    pub fn label(&self) -> String {
        match (self.below > 0, self.above > 0) {
            (true, true) => "all values".into(),
            (true, false) => format!("< {:.2}", self.to),
            (false, true) => format!("≥ {:.2}", self.from),
            (false, false) => format!("{:.2} to {:.2}", self.from, self.to),
        }
    }
}

/// A histogram: equal-width bins over the robust range.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    /// The bars, lowest first.
    pub bins: Vec<Bin>,
    /// Lower end of the range the bins span.
    pub lo: f64,
    /// Upper end of the range the bins span.
    pub hi: f64,
}

impl Bins {
    /// Values below the range, counted in the first bin.
    pub fn below(&self) -> u64 {
        self.bins.first().map_or(0, |b| b.below)
    }

    /// Values above the range, counted in the last bin.
    pub fn above(&self) -> u64 {
        self.bins.last().map_or(0, |b| b.above)
    }
}

/// The value at nearest rank `ceil(q x n)` (at least 1) of sorted values.
fn rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let k = ((q * n as f64).ceil() as usize).clamp(1, n.max(1));
    sorted.get(k - 1).copied().unwrap_or(0.0)
}

/// Bins `values` (non-finite ones ignored) into at most `max_bins` equal
/// bins over the robust range (module docs); `None` when no value is
/// finite. As many bins as values, up to `max_bins`; one bin when every
/// value is the same.
pub fn bins(values: &[f64], max_bins: usize) -> Option<Bins> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let (min, max) = (v[0], v[v.len() - 1]);
    let (q1, q3) = (rank(&v, 0.25), rank(&v, 0.75));
    let iqr = q3 - q1;
    let (fence_lo, fence_hi) = (q1 - 3.0 * iqr, q3 + 3.0 * iqr);
    let inside = v
        .iter()
        .copied()
        .filter(|x| *x >= fence_lo && *x <= fence_hi);
    let lo = inside.clone().fold(f64::INFINITY, f64::min);
    let hi = inside.fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo < hi { (lo, hi) } else { (min, max) };
    if lo >= hi {
        let n = v.len() as u64;
        return Some(Bins {
            bins: vec![Bin {
                from: lo,
                to: hi,
                count: n,
                below: 0,
                above: 0,
            }],
            lo,
            hi,
        });
    }
    let n = max_bins.max(1).min(v.len());
    let width = (hi - lo) / n as f64;
    let mut out: Vec<Bin> = (0..n)
        .map(|i| Bin {
            from: lo + width * i as f64,
            to: if i + 1 == n {
                hi
            } else {
                lo + width * (i + 1) as f64
            },
            count: 0,
            below: 0,
            above: 0,
        })
        .collect();
    for x in v {
        // Saturating float-to-int conversion: below lo gives 0.
        let i = (((x - lo) / width).floor().max(0.0) as usize).min(n - 1);
        if let Some(b) = out.get_mut(i) {
            b.count += 1;
            if x < lo {
                b.below += 1;
            } else if x > hi {
                b.above += 1;
            }
        }
    }
    Some(Bins { bins: out, lo, hi })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(b: &Bins) -> Vec<u64> {
        b.bins.iter().map(|b| b.count).collect()
    }

    #[test]
    fn a_sample_without_outliers_spans_min_to_max() {
        // Q1 = 2 (rank 3), Q3 = 7 (rank 8), IQR 5: fences -13 and 22 hold
        // everything; 0..9 in 5 bins of 1.8.
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        let b = bins(&v, 5).unwrap();
        assert_eq!((b.lo, b.hi), (0.0, 9.0));
        assert_eq!(counts(&b), [2, 2, 2, 2, 2]);
        assert_eq!((b.below(), b.above()), (0, 0));
        assert!((b.bins[1].from - 1.8).abs() < 1e-12);
        assert_eq!(b.bins[0].label(), "0.00 to 1.80");
    }

    #[test]
    fn an_outlier_is_counted_in_the_edge_bin() {
        // 1..9 and 1000: Q1 = 3, Q3 = 8, IQR 5, upper fence 23: the range
        // is 1..9 (4 bins of 2) and 1000 lands in the last bin, >= 7.
        let mut v: Vec<f64> = (1..10).map(f64::from).collect();
        v.push(1000.0);
        let b = bins(&v, 4).unwrap();
        assert_eq!((b.lo, b.hi), (1.0, 9.0));
        assert_eq!(counts(&b), [2, 2, 2, 4]);
        assert_eq!((b.below(), b.above()), (0, 1));
        assert_eq!(b.bins[3].label(), "≥ 7.00");
        // And the mirror image below: Q1 = -8, Q3 = -3, lower fence -23;
        // [-9, -7) holds -9, -8 and -1000; [-3, -1] holds -3, -2, -1.
        let neg: Vec<f64> = v.iter().map(|x| -x).collect();
        let b = bins(&neg, 4).unwrap();
        assert_eq!((b.lo, b.hi), (-9.0, -1.0));
        assert_eq!(counts(&b), [3, 2, 2, 3]);
        assert_eq!((b.below(), b.above()), (1, 0));
        assert_eq!(b.bins[0].label(), "< -7.00");
    }

    #[test]
    fn outliers_on_both_sides() {
        // 20 values 0..19 and -500, +500: n = 22, Q1 = rank 6 = 4,
        // Q3 = rank 17 = 15, IQR 11, fences -29 and 48: range 0..19.
        let mut v: Vec<f64> = (0..20).map(f64::from).collect();
        v.extend([-500.0, 500.0]);
        let b = bins(&v, 2).unwrap();
        assert_eq!((b.lo, b.hi), (0.0, 19.0));
        // [0, 9.5): 0..9 and -500; [9.5, 19]: 10..19 and 500.
        assert_eq!(counts(&b), [11, 11]);
        assert_eq!((b.below(), b.above()), (1, 1));
    }

    #[test]
    fn degenerate_samples() {
        assert_eq!(bins(&[], 30), None);
        assert_eq!(bins(&[f64::NAN, f64::INFINITY], 30), None);
        // All equal: one bin.
        let b = bins(&[5.0, 5.0, 5.0], 30).unwrap();
        assert_eq!(counts(&b), [3]);
        assert_eq!((b.lo, b.hi), (5.0, 5.0));
        // IQR 0 but the values differ: min to max, nothing clipped.
        // Nine zeros and 50 in 10 bins of 5: 50 is in the last.
        let mut v = vec![0.0; 9];
        v.push(50.0);
        let b = bins(&v, 10).unwrap();
        assert_eq!((b.lo, b.hi), (0.0, 50.0));
        assert_eq!(counts(&b), [9, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!((b.below(), b.above()), (0, 0));
        // Fewer values than bins: as many bins as values.
        assert_eq!(bins(&[1.0, 2.0], 30).unwrap().bins.len(), 2);
    }
}
