//! The hidden gesture that opens staff mode: five taps in the attract
//! screen's top corner within three seconds. Citizens do not tap an empty
//! corner five times by chance; staff learn it once.

use std::time::Duration;

/// Taps needed.
pub(crate) const TAPS: usize = 5;
/// Within this time.
pub(crate) const WITHIN: Duration = Duration::from_secs(3);

/// Counts corner taps by the kiosk's monotonic clock.
#[derive(Debug, Default)]
pub(crate) struct CornerTaps {
    taps: Vec<Duration>,
}

impl CornerTaps {
    /// Records a tap at `now`; `true` when it completes the gesture (which
    /// then starts over).
    pub(crate) fn tap(&mut self, now: Duration) -> bool {
        self.taps.retain(|&t| now.saturating_sub(t) < WITHIN);
        self.taps.push(now);
        if self.taps.len() >= TAPS {
            self.taps.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn five_quick_taps_complete_the_gesture() {
        let mut taps = CornerTaps::default();
        let results: Vec<bool> = (0..5).map(|i| taps.tap(ms(1000 + i * 300))).collect();
        assert_eq!(results, [false, false, false, false, true]);
        assert!(!taps.tap(ms(2600)), "the next gesture starts from zero");
    }

    #[test]
    fn slow_taps_do_not_count() {
        let mut taps = CornerTaps::default();
        for i in 0..10 {
            assert!(!taps.tap(ms(i * 800)), "tap {i}");
        }
    }
}
