//! Chart geometry of the cost projection (pure, tested natively): scales, nice axis ticks,
//! polyline points, break-even markers and legend entries, as plain numbers and strings that
//! the cost panel turns into SVG elements (text always as text nodes, never as markup).
//! Floats here only place points; money is never computed with them.

use arbitre_pricing::{Currency, Curve, CurveKind, crossings};

/// The chart's size and margins, in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartFrame {
    /// Whole width.
    pub width: f64,
    /// Whole height.
    pub height: f64,
    /// Room for the money labels.
    pub left: f64,
    /// Right margin.
    pub right: f64,
    /// Top margin.
    pub top: f64,
    /// Room for the month labels.
    pub bottom: f64,
}

impl Default for ChartFrame {
    fn default() -> Self {
        Self { width: 720.0, height: 340.0, left: 76.0, right: 20.0, top: 14.0, bottom: 42.0 }
    }
}

/// One axis tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Position along the axis in SVG units (x for months, y for money).
    pub pos: f64,
    /// The value (months, or currency units).
    pub value: f64,
    /// The label.
    pub label: String,
}

/// One curve drawn as a polyline.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// CSS class: `series-api-N`, `series-local` or `series-self`.
    pub class: String,
    /// Dashed line (local and self-hosted curves).
    pub dashed: bool,
    /// Points (month 0 at zero, then the end of each month).
    pub points: Vec<(f64, f64)>,
    /// The points as an SVG `points` attribute ("x,y x,y …").
    pub svg_points: String,
    /// Total over the horizon, formatted.
    pub total: String,
}

/// A break-even point between a local/self-hosted curve and an API curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Position of the crossing (interpolated between the two months).
    pub x: f64,
    /// Position of the crossing.
    pub y: f64,
    /// The month at the end of which the order has changed.
    pub month: u32,
    /// Whether the non-API curve became the cheaper one (false: the API became cheaper again).
    pub break_even: bool,
    /// A sentence, e.g. "Self-hosted cheaper than GPT-4o (openai) from month 7".
    pub label: String,
}

/// Everything the chart component draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Size and margins.
    pub frame: ChartFrame,
    /// Left edge of the plot area.
    pub plot_x: f64,
    /// Top edge of the plot area.
    pub plot_y: f64,
    /// Width of the plot area.
    pub plot_w: f64,
    /// Height of the plot area.
    pub plot_h: f64,
    /// Month ticks along the bottom.
    pub x_ticks: Vec<Tick>,
    /// Money ticks along the left.
    pub y_ticks: Vec<Tick>,
    /// One line per curve, in curve order.
    pub series: Vec<Series>,
    /// Break-even points.
    pub markers: Vec<Marker>,
    /// Top of the money axis, in currency units.
    pub y_max: f64,
    /// Currency of the money axis.
    pub currency: Currency,
    /// Months on the horizon.
    pub months: u32,
}

/// A "nice" step (1, 2 or 5 × 10^k) close to `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    let f = raw / base;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// Ticks from 0 to at least `max` with a nice step, about `target` of them (never fewer than
/// two). Returns the values.
pub fn nice_ticks(max: f64, target: usize) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
    let step = nice_step(max / target.max(1) as f64);
    let n = (max / step - 1e-9).ceil().max(1.0) as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// Month ticks for a horizon: 0 and multiples of 1, 2, 3, 6, 12, 24, 60 or 120 months, at most
/// about eight intervals.
pub fn month_ticks(horizon: u32) -> Vec<u32> {
    let horizon = horizon.max(1);
    let step = [1u32, 2, 3, 6, 12, 24, 60, 120].into_iter().find(|s| horizon / s <= 8).unwrap_or(120);
    (0..=horizon / step).map(|i| i * step).collect()
}

/// A money amount for an axis label: "$0", "$250", "$1.5k", "$2M", "3.5k €".
pub fn compact_money(units: f64, currency: Currency) -> String {
    let abs = units.abs();
    let (v, suffix) = if abs >= 1e9 {
        (units / 1e9, "B")
    } else if abs >= 1e6 {
        (units / 1e6, "M")
    } else if abs >= 1e3 {
        (units / 1e3, "k")
    } else {
        (units, "")
    };
    let mut num = if v.abs() >= 100.0 || (v.fract() == 0.0) { format!("{v:.0}") } else { format!("{v:.2}") };
    if num.contains('.') {
        while num.ends_with('0') {
            num.pop();
        }
        if num.ends_with('.') {
            num.pop();
        }
    }
    if num == "-0" {
        num = "0".to_string();
    }
    match currency {
        Currency::Usd => match num.strip_prefix('-') {
            Some(n) => format!("-${n}{suffix}"),
            None => format!("${num}{suffix}"),
        },
        Currency::Eur => format!("{num}{suffix} €"),
    }
}

pub(crate) fn series_classes(curves: &[Curve]) -> Vec<String> {
    let mut api = 0;
    curves
        .iter()
        .map(|c| match c.kind {
            CurveKind::Api { .. } => {
                api += 1;
                format!("series-api-{}", (api - 1) % 6)
            }
            CurveKind::Local => "series-local".to_string(),
            CurveKind::SelfHosted => "series-self".to_string(),
        })
        .collect()
}

fn fmt_coord(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Lays out the chart of `curves` (all in one currency and of one horizon) in `frame`: linear
/// scales from month 0 to the horizon and from zero to a nice top above the largest
/// cumulative cost; break-even markers where a local or self-hosted curve and an API curve
/// change order after month 1.
pub fn build_chart(curves: &[Curve], frame: ChartFrame) -> Chart {
    let currency = curves.first().map(|c| c.currency).unwrap_or(Currency::Usd);
    let months = curves.iter().map(|c| c.cumulative.len()).max().unwrap_or(0).max(1) as u32;
    let plot_x = frame.left;
    let plot_y = frame.top;
    let plot_w = (frame.width - frame.left - frame.right).max(1.0);
    let plot_h = (frame.height - frame.top - frame.bottom).max(1.0);
    let data_max = curves.iter().flat_map(|c| c.cumulative.iter().map(|m| m.as_f64())).fold(0.0f64, f64::max);
    let y_values = nice_ticks(data_max, 5);
    let y_max = y_values.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let sx = |month: f64| plot_x + month / f64::from(months) * plot_w;
    let sy = |v: f64| plot_y + plot_h - (v / y_max).clamp(-0.05, 1.05) * plot_h;

    let x_ticks = month_ticks(months)
        .into_iter()
        .map(|m| Tick { pos: sx(f64::from(m)), value: f64::from(m), label: m.to_string() })
        .collect();
    let y_ticks = y_values.iter().map(|&v| Tick { pos: sy(v), value: v, label: compact_money(v, currency) }).collect();

    let classes = series_classes(curves);
    let series = curves
        .iter()
        .zip(&classes)
        .map(|(c, class)| {
            let mut points = vec![(sx(0.0), sy(0.0))];
            points.extend(c.cumulative.iter().enumerate().map(|(i, m)| (sx(i as f64 + 1.0), sy(m.as_f64()))));
            let svg_points = points
                .iter()
                .map(|(x, y)| format!("{},{}", fmt_coord(*x), fmt_coord(*y)))
                .collect::<Vec<_>>()
                .join(" ");
            Series {
                label: c.label.clone(),
                class: class.clone(),
                dashed: !matches!(c.kind, CurveKind::Api { .. }),
                points,
                svg_points,
                total: c.total().to_string(),
            }
        })
        .collect();

    let mut markers = Vec::new();
    for a in curves.iter().filter(|c| !matches!(c.kind, CurveKind::Api { .. })) {
        for b in curves.iter().filter(|c| matches!(c.kind, CurveKind::Api { .. })) {
            for month in crossings(a, b).into_iter().filter(|&m| m >= 2) {
                let k = month as usize - 1; // index of the month where the order changed
                let now = a.cumulative_picos[k] <= b.cumulative_picos[k];
                let d0 = (a.cumulative_picos[k - 1] - b.cumulative_picos[k - 1]) as f64;
                let d1 = (a.cumulative_picos[k] - b.cumulative_picos[k]) as f64;
                let t = if d0 == d1 { 1.0 } else { (d0 / (d0 - d1)).clamp(0.0, 1.0) };
                let (y0, y1) = (a.cumulative[k - 1].as_f64(), a.cumulative[k].as_f64());
                let label = if now {
                    format!("{} cheaper than {} from month {month}", a.label, b.label)
                } else {
                    format!("{} cheaper than {} again from month {month}", b.label, a.label)
                };
                markers.push(Marker { x: sx(k as f64 + t), y: sy(y0 + t * (y1 - y0)), month, break_even: now, label });
            }
        }
    }

    Chart { frame, plot_x, plot_y, plot_w, plot_h, x_ticks, y_ticks, series, markers, y_max, currency, months }
}
