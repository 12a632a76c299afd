//! History tiers: samples folded into steps of 1 min, 30 min and 6 h (average and maximum of each series), the
//! shape Proxmox keeps; and which tier and how many steps answer each chart range.

/// (step seconds, steps kept) per tier.
pub const TIERS: [(i64, i64); 3] = [(60, 1440), (1800, 1440), (21600, 1460)];

/// How a range is answered: `None` tier = the recent samples in memory.
pub fn range_plan(range: &str) -> Option<(Option<usize>, i64)> {
    Some(match range {
        "hour" => (None, 3600),
        "day" => (Some(0), 86_400),
        "week" => (Some(1), 7 * 86_400),
        "month" => (Some(1), 30 * 86_400),
        "year" => (Some(2), 365 * 86_400),
        _ => return None,
    })
}

/// One step being filled.
#[derive(Debug, Clone, PartialEq)]
pub struct Acc {
    pub start_ms: i64,
    pub count: u32,
    pub sum: Vec<f64>,
    pub max: Vec<f64>,
}

impl Acc {
    fn new(start_ms: i64, width: usize) -> Acc {
        Acc {
            start_ms,
            count: 0,
            sum: vec![0.0; width],
            max: vec![f64::MIN; width],
        }
    }

    pub fn avg(&self) -> Vec<f64> {
        self.sum.iter().map(|s| s / self.count.max(1) as f64).collect()
    }

    pub fn maxes(&self) -> Vec<f64> {
        self.max.iter().map(|m| if *m == f64::MIN { 0.0 } else { *m }).collect()
    }
}

/// A finished step, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub tier: usize,
    pub start_ms: i64,
    pub avg: Vec<f64>,
    pub max: Vec<f64>,
}

/// The steps being filled for one target, one per tier.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    pub open: [Option<Acc>; 3],
}

impl Rollup {
    /// Adds a sample taken at `at_ms`; returns the steps it closed.
    pub fn add(&mut self, at_ms: i64, values: &[f64]) -> Vec<Step> {
        let mut done = Vec::new();
        for (tier, (step, _)) in TIERS.iter().enumerate() {
            let start = at_ms - at_ms.rem_euclid(step * 1000);
            let slot = &mut self.open[tier];
            if let Some(acc) = slot.as_ref() {
                if acc.start_ms != start || acc.sum.len() != values.len() {
                    if acc.count > 0 && acc.start_ms < start {
                        done.push(Step {
                            tier,
                            start_ms: acc.start_ms,
                            avg: acc.avg(),
                            max: acc.maxes(),
                        });
                    }
                    *slot = None;
                }
            }
            let acc = slot.get_or_insert_with(|| Acc::new(start, values.len()));
            acc.count += 1;
            for (i, v) in values.iter().enumerate() {
                acc.sum[i] += v;
                if *v > acc.max[i] {
                    acc.max[i] = *v;
                }
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_of_samples_becomes_one_step_with_average_and_maximum() {
        let mut r = Rollup::default();
        let base = 1_700_000_040_000; // a minute boundary
        assert!(r.add(base, &[10.0, 1.0]).is_empty());
        assert!(r.add(base + 10_000, &[30.0, 5.0]).is_empty());
        let done = r.add(base + 60_000, &[0.0, 0.0]);
        let first = done.iter().find(|s| s.tier == 0).unwrap();
        assert_eq!(first.start_ms, base);
        assert_eq!(first.avg, vec![20.0, 3.0]);
        assert_eq!(first.max, vec![30.0, 5.0]);
        // The 30-minute step is still open.
        assert!(done.iter().all(|s| s.tier == 0));
        assert_eq!(r.open[1].as_ref().unwrap().count, 3);
    }

    #[test]
    fn ranges_map_to_tiers() {
        assert_eq!(range_plan("hour"), Some((None, 3600)));
        assert_eq!(range_plan("day"), Some((Some(0), 86_400)));
        assert_eq!(range_plan("year").unwrap().0, Some(2));
        assert_eq!(range_plan("decade"), None);
    }
}
