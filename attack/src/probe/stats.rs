//! The statistics of the timing check: a Mann–Whitney U test (two samples, no assumption of normality, robust to
//! the long tail request latency has), with the normal approximation and the tie correction.

/// The outcome of comparing two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Two-sided p-value: the chance of a difference this large if both samples came from one distribution.
    pub p_value: f64,
    /// Median of `a` minus median of `b`.
    pub median_difference: f64,
}

/// Compares two samples (at least two values each).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Comparison {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut all: Vec<(f64, bool)> = a.iter().map(|&x| (x, true)).chain(b.iter().map(|&x| (x, false))).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Average ranks over ties; collect the tie correction term Σ(t³ − t).
    let mut rank_sum_a = 0.0;
    let mut ties = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_sum_a += all[i..=j].iter().filter(|v| v.1).count() as f64 * rank;
        i = j + 1;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let p_value = if variance <= 0.0 {
        1.0
    } else {
        // Continuity correction of one half toward the mean.
        let z = ((u - mean).abs() - 0.5).max(0.0) / variance.sqrt();
        erfc(z / std::f64::consts::SQRT_2).min(1.0)
    };
    Comparison { p_value, median_difference: median(a) - median(b) }
}

pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) { (v[mid - 1] + v[mid]) / 2.0 } else { v[mid] }
}

/// The complementary error function (Numerical Recipes' `erfcc`, fractional error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in
            [(0.0, 1.0), (0.5, 0.479_500_122), (1.0, 0.157_299_207), (2.0, 0.004_677_735), (-1.0, 1.842_700_793)]
        {
            assert!((erfc(x) - want).abs() < 1e-6, "erfc({x}) = {} want {want}", erfc(x));
        }
    }

    #[test]
    fn identical_distributions_are_not_told_apart() {
        let a: Vec<f64> = (0..30).map(|i| 20.0 + f64::from(i % 7)).collect();
        let b: Vec<f64> = (0..30).map(|i| 20.0 + f64::from((i + 3) % 7)).collect();
        let c = mann_whitney(&a, &b);
        assert!(c.p_value > 0.5, "{c:?}");
    }

    #[test]
    fn a_shift_is_found() {
        // Overlapping noise, shifted by 3 ms: the test must see it with 24 samples each.
        let a: Vec<f64> = (0..24).map(|i| 20.0 + f64::from(i % 5)).collect();
        let b: Vec<f64> = (0..24).map(|i| 23.0 + f64::from(i % 5)).collect();
        let c = mann_whitney(&a, &b);
        assert!(c.p_value < 0.001, "{c:?}");
        assert!((c.median_difference + 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_small_textbook_case() {
        // U = 1 for a = {1, 2, 4}, b = {3, 5, 6, 7}: z = (|1 − 6| − 0.5) / √8 = 1.591, p = 0.1116.
        let c = mann_whitney(&[1.0, 2.0, 4.0], &[3.0, 5.0, 6.0, 7.0]);
        assert!((c.p_value - 0.1116).abs() < 1e-3, "{c:?}");
    }
}
