//! Numbers as people read them: bytes, durations, rates.

/// `1.2 MB`, `640 KB`, `3.4 GB` (decimal units, like download managers and the Hub).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`.
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "—".into();
    }
    if ms < 1000.0 {
        return format!("{ms:.0} ms");
    }
    let s = ms / 1000.0;
    if s < 60.0 {
        return format!("{s:.1} s");
    }
    let total = s.round() as u64;
    if total < 3600 {
        format!("{} min {:02} s", total / 60, total % 60)
    } else {
        format!("{} h {:02} min", total / 3600, (total % 3600) / 60)
    }
}

/// Tokens per second with sensible precision.
pub fn rate(tps: f64) -> String {
    if !tps.is_finite() || tps <= 0.0 {
        "—".into()
    } else if tps < 10.0 {
        format!("{tps:.2}")
    } else if tps < 100.0 {
        format!("{tps:.1}")
    } else {
        format!("{tps:.0}")
    }
}

/// Download speed and time left from bytes over time, smoothed so the numbers do not flicker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meter {
    last: Option<(f64, u64)>,
    speed: Option<f64>,
}

impl Meter {
    /// Records that `loaded` bytes were done at `now_ms`.
    pub fn observe(&mut self, now_ms: f64, loaded: u64) {
        if let Some((t0, b0)) = self.last {
            let dt = now_ms - t0;
            if dt < 200.0 {
                return;
            }
            let inst = loaded.saturating_sub(b0) as f64 * 1000.0 / dt;
            self.speed = Some(match self.speed {
                Some(s) => 0.7 * s + 0.3 * inst,
                None => inst,
            });
        }
        self.last = Some((now_ms, loaded));
    }

    /// Bytes per second, once measured.
    pub fn speed(&self) -> Option<f64> {
        self.speed
    }

    /// Milliseconds left for `total` bytes, once a speed is known.
    pub fn eta_ms(&self, loaded: u64, total: u64) -> Option<f64> {
        let s = self.speed.filter(|s| *s > 0.0)?;
        Some(total.saturating_sub(loaded) as f64 * 1000.0 / s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_naturally() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_185_376), "1.2 MB");
        assert_eq!(bytes(145_000_000), "145 MB");
        assert_eq!(bytes(2_300_000_000), "2.3 GB");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_ms(12.4), "12 ms");
        assert_eq!(duration_ms(12_345.0), "12.3 s");
        assert_eq!(duration_ms(245_000.0), "4 min 05 s");
        assert_eq!(duration_ms(3_720_000.0), "1 h 02 min");
        assert_eq!(duration_ms(f64::NAN), "—");
    }

    #[test]
    fn meter_measures_speed_and_time_left() {
        let mut m = Meter::default();
        m.observe(0.0, 0);
        assert_eq!(m.speed(), None);
        m.observe(1000.0, 1_000_000);
        assert_eq!(m.speed(), Some(1_000_000.0));
        assert_eq!(m.eta_ms(1_000_000, 3_000_000), Some(2000.0));
        // Updates closer than 200 ms apart are ignored rather than producing spikes.
        m.observe(1050.0, 9_000_000);
        assert_eq!(m.speed(), Some(1_000_000.0));
    }
}
