//! Line charts of monitoring figures: an SVG drawn from a `MetricSeries`, one line per chosen column (its
//! average over each step) over a light area (its maximum), with the y axis in the figures' unit, times on the x
//! axis in the browser's time zone, a legend with the latest values, and the values under the pointer.
//!
//! The plot stretches to the width it is given (`preserveAspectRatio="none"`, strokes that do not scale) and is
//! 180 px high; the axis labels are HTML beside and under it, so they keep their shape at any width.
use crate::api::MetricSeries;
use crate::components::widgets::fmt_bytes;
use crate::i18n::{lookup, lookup_args, use_i18n, Lang};
use crate::t;
use leptos::prelude::*;

/// Width and height of the plot in viewBox units; the height is also its height in CSS pixels.
const W: f64 = 1000.0;
const H: f64 = 180.0;
/// Room above the top tick, so its line is not cut off.
const TOP: f64 = 6.0;

/// Colours of the lines, in column order.
const COLORS: [&str; 4] = ["#2d6aa3", "#d9822b", "#1e7b34", "#8e44ad"];

/// What the figures of a chart are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSecond,
    PerSecond,
}

impl Unit {
    /// A value in words: `42 %`, `1.5 GiB`, `640 KiB/s`, `12/s`.
    pub fn format(self, lang: Lang, v: f64) -> String {
        let v = if v.is_finite() { v } else { 0.0 };
        match self {
            Unit::Percent => format!("{} %", short_number(v)),
            Unit::Bytes => short_bytes(v),
            Unit::BytesPerSecond => lookup_args(lang, "unit-per-second", &[("value", short_bytes(v))]),
            Unit::PerSecond => lookup_args(lang, "unit-per-second", &[("value", short_number(v))]),
        }
    }

    /// The unit alone, as written beside an input: `%`, `B`, `B/s`, `/s`.
    pub fn symbol(self, lang: Lang) -> String {
        match self {
            Unit::Percent => "%".to_string(),
            Unit::Bytes => "B".to_string(),
            Unit::BytesPerSecond => lookup_args(lang, "unit-per-second", &[("value", "B".to_string())]),
            Unit::PerSecond => lookup_args(lang, "unit-per-second", &[("value", String::new())]),
        }
    }

    /// Byte figures step by 1024, the others by 10.
    fn binary(self) -> bool {
        matches!(self, Unit::Bytes | Unit::BytesPerSecond)
    }
}

/// `12`, `3.5`, `0.25`: as many decimals as the size of the number needs.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `fmt_bytes` without a needless `.0`.
fn short_bytes(v: f64) -> String {
    fmt_bytes(v.max(0.0).round() as u64).replace(".0 ", " ")
}

/// The top of the y axis and its ticks (3 to 5, from 0): round numbers of the unit (powers of 1024 for bytes).
fn axis(unit: Unit, max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        match unit {
            Unit::Percent => 100.0,
            Unit::Bytes | Unit::BytesPerSecond => 1024.0,
            Unit::PerSecond => 1.0,
        }
    };
    if unit == Unit::Percent && max > 50.0 && max <= 100.0 {
        return (100.0, vec![0.0, 25.0, 50.0, 75.0, 100.0]);
    }
    let mut base = 1.0;
    if unit.binary() {
        while max / base >= 1024.0 {
            base *= 1024.0;
        }
    }
    let v = max / base;
    let raw = v / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let n = ((v / step) - 1e-9).ceil().max(1.0) as usize;
    let ticks = (0..=n).map(|i| i as f64 * step * base).collect();
    (n as f64 * step * base, ticks)
}

/// Year, month, day, hour and minute of a moment: in the browser's time zone; on the server (which draws no
/// chart: the figures are fetched by the browser) in UTC.
fn parts(ms: i64) -> (i64, u32, u32, u32, u32) {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        (
            i64::from(d.get_full_year()),
            d.get_month() + 1,
            d.get_date(),
            d.get_hours(),
            d.get_minutes(),
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let s = crate::components::widgets::fmt_time(ms);
        let num = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
        (i64::from(num(0, 4)), num(5, 7), num(8, 10), num(11, 13), num(14, 16))
    }
}

/// An x-axis label: `HH:MM` over an hour or a day, `MM-DD` over a week or a month, the date over a year.
pub fn fmt_tick(range: &str, ms: i64) -> String {
    let (y, mo, d, h, mi) = parts(ms);
    match range {
        "hour" | "day" => format!("{h:02}:{mi:02}"),
        "year" => format!("{y:04}-{mo:02}-{d:02}"),
        _ => format!("{mo:02}-{d:02}"),
    }
}

/// `2026-11-22 09:30` in the browser's time zone.
pub fn fmt_local(ms: i64) -> String {
    let (y, mo, d, h, mi) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
}

/// One drawn column.
#[derive(Clone, Debug, Default, PartialEq)]
struct Line {
    /// The column's name in the series (`cpu_percent`).
    name: String,
    color: &'static str,
    /// Translation key of its label.
    label: &'static str,
    /// `points` of the average's polyline.
    avg: String,
    /// `d` of the maximum's area.
    max_area: String,
}

/// Everything the SVG needs, computed once per change of the figures.
#[derive(Clone, Debug, Default, PartialEq)]
struct Geometry {
    range: String,
    times: Vec<i64>,
    /// x of each point, in viewBox units.
    xs: Vec<f64>,
    /// Per drawn column, per point: (average, maximum).
    values: Vec<Vec<(f64, f64)>>,
    top: f64,
    ticks: Vec<f64>,
    lines: Vec<Line>,
}

impl Geometry {
    fn new(s: &MetricSeries, columns: &[(usize, &'static str)], unit: Unit) -> Geometry {
        let pts = &s.points;
        let t0 = pts.first().map(|p| p.t).unwrap_or(0);
        let t1 = pts.last().map(|p| p.t).unwrap_or(0);
        let span = (t1 - t0) as f64;
        let xs: Vec<f64> = pts
            .iter()
            .map(|p| {
                if span > 0.0 {
                    (p.t - t0) as f64 / span * W
                } else {
                    W / 2.0
                }
            })
            .collect();
        let val = |v: &Vec<f64>, c: usize| v.get(c).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
        let values: Vec<Vec<(f64, f64)>> = columns
            .iter()
            .map(|&(c, _)| {
                pts.iter()
                    .map(|p| {
                        let a = val(&p.avg, c);
                        (a, val(&p.max, c).max(a))
                    })
                    .collect()
            })
            .collect();
        let max = values.iter().flatten().fold(0.0_f64, |m, &(a, x)| m.max(a).max(x));
        let (top, ticks) = axis(unit, max);
        let y = |v: f64| H - (v / top).clamp(0.0, 1.0) * (H - TOP);
        let lines = columns
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(i, (&(c, label), vals))| {
                let avg = xs
                    .iter()
                    .zip(vals)
                    .map(|(x, (a, _))| format!("{:.1},{:.1}", x, y(*a)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let max_area = match (xs.first(), xs.last()) {
                    (Some(first), Some(last)) => {
                        let mut d = format!("M{:.1},{:.1}", first, H);
                        for (x, (_, m)) in xs.iter().zip(vals) {
                            d.push_str(&format!(" L{:.1},{:.1}", x, y(*m)));
                        }
                        d.push_str(&format!(" L{:.1},{:.1} Z", last, H));
                        d
                    }
                    _ => String::new(),
                };
                Line {
                    name: s.series.get(c).cloned().unwrap_or_else(|| c.to_string()),
                    color: COLORS[i % COLORS.len()],
                    label,
                    avg,
                    max_area,
                }
            })
            .collect();
        Geometry {
            range: s.range.clone(),
            times: pts.iter().map(|p| p.t).collect(),
            xs,
            values,
            top,
            ticks,
            lines,
        }
    }

    /// The point nearest to `x` (viewBox units).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn nearest(&self, x: f64) -> Option<usize> {
        self.xs
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - x).abs().total_cmp(&(b.1 - x).abs()))
            .map(|(i, _)| i)
    }

    /// x-axis labels: (percent of the width, time), five over the range.
    fn x_ticks(&self) -> Vec<(f64, i64)> {
        match (self.times.first(), self.times.last()) {
            (Some(&t0), Some(&t1)) if t1 > t0 => (0..=4i32)
                .map(|k| {
                    let f = f64::from(k) / 4.0;
                    (f * 100.0, t0 + ((t1 - t0) as f64 * f) as i64)
                })
                .collect(),
            (Some(&t0), _) => vec![(50.0, t0)],
            _ => Vec::new(),
        }
    }

    /// Percent from the top of the plot of a value's height.
    fn y_pct(&self, v: f64) -> f64 {
        let y = H - (v / self.top).clamp(0.0, 1.0) * (H - TOP);
        y / H * 100.0
    }
}

/// A line chart of some columns of `series`, in `unit`. `columns` are (index into the points' `avg`/`max`,
/// translation key of the label); `title` is a translation key. `name` marks the chart (`data-chart`).
#[component]
pub fn LineChart(
    name: &'static str,
    title: &'static str,
    /// The figures; none while they load.
    #[prop(into)]
    series: Signal<Option<MetricSeries>>,
    columns: Vec<(usize, &'static str)>,
    unit: Unit,
) -> impl IntoView {
    let i18n = use_i18n();
    let legend = columns.clone();
    let geo =
        Memo::new(move |_| series.with(|s| s.as_ref().map(|s| Geometry::new(s, &columns, unit)).unwrap_or_default()));
    let loaded = move || series.with(Option::is_some);
    let count = move || geo.with(|g| g.xs.len());
    let hover = RwSignal::new(None::<usize>);
    let label = move |key: &'static str| lookup(i18n.0.get(), key, key);
    let on_move = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            // The SVG's children take no pointer events (CSS), so the offset is from the SVG's left edge.
            let el = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
            let width = el
                .as_ref()
                .map(|e| e.client_width())
                .filter(|w| *w > 0)
                .or_else(|| el.as_ref().and_then(|e| e.parent_element()).map(|p| p.client_width()))
                .unwrap_or(0);
            if width > 0 {
                let x = f64::from(ev.offset_x()) / f64::from(width) * W;
                let i = geo.with_untracked(|g| g.nearest(x));
                if hover.get_untracked() != i {
                    hover.set(i);
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let view_box = format!("0 0 {} {}", W, H);
    let grid = move || {
        geo.with(|g| {
            g.ticks
                .iter()
                .map(|v| {
                    let y = format!("{:.1}", g.y_pct(*v) / 100.0 * H);
                    view! {
                        <line class="chart-gridline" x1="0" x2=W.to_string() y1=y.clone() y2=y vector-effect="non-scaling-stroke"/>
                    }
                })
                .collect_view()
        })
    };
    let areas = move || {
        geo.with(|g| {
            g.lines
                .iter()
                .map(|l| {
                    view! { <path class="chart-max" d=l.max_area.clone() fill=l.color data-max-series=l.name.clone()/> }
                })
                .collect_view()
        })
    };
    let polylines = move || {
        geo.with(|g| {
            g.lines
                .iter()
                .map(|l| {
                    view! {
                        <polyline class="chart-line" points=l.avg.clone() stroke=l.color fill="none"
                            data-series=l.name.clone() vector-effect="non-scaling-stroke"/>
                    }
                })
                .collect_view()
        })
    };
    let cursor = move || {
        hover.get().and_then(|i| geo.with(|g| g.xs.get(i).copied())).map(|x| {
            let x = format!("{x:.1}");
            view! {
                <line class="chart-cursor" x1=x.clone() x2=x y1="0" y2=H.to_string() vector-effect="non-scaling-stroke"/>
            }
        })
    };
    let y_labels = move || {
        let lang = i18n.0.get();
        geo.with(|g| {
            g.ticks
                .iter()
                .map(|v| (g.y_pct(*v), unit.format(lang, *v)))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .map(|(pct, text)| view! { <span style=format!("top:{pct:.2}%")>{text}</span> })
        .collect_view()
    };
    let x_labels = move || {
        geo.with(|g| {
            g.x_ticks()
                .into_iter()
                .map(|(pct, t)| (pct, fmt_tick(&g.range, t)))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .map(|(pct, text)| {
            let class = if pct <= 0.0 {
                "first"
            } else if pct >= 100.0 {
                "last"
            } else {
                "mid"
            };
            view! { <span class=class style=format!("left:{pct:.2}%")>{text}</span> }
        })
        .collect_view()
    };
    let tooltip = move || {
        let i = hover.get()?;
        let lang = i18n.0.get();
        let (pct, time, rows) = geo.with(|g| {
            let x = *g.xs.get(i)?;
            let t = *g.times.get(i)?;
            let rows = g
                .lines
                .iter()
                .zip(&g.values)
                .map(|(l, vals)| {
                    let (a, m) = vals.get(i).copied().unwrap_or((0.0, 0.0));
                    let text = if m > a {
                        lookup_args(
                            lang,
                            "chart-value-max",
                            &[("value", unit.format(lang, a)), ("max", unit.format(lang, m))],
                        )
                    } else {
                        unit.format(lang, a)
                    };
                    (l.color, lookup(lang, l.label, l.label), text)
                })
                .collect::<Vec<_>>();
            Some((x / W * 100.0, fmt_local(t), rows))
        })?;
        // Beside the cursor, on the side with more room.
        let style = if pct > 55.0 {
            format!("left:{pct:.2}%; transform: translateX(calc(-100% - 8px))")
        } else {
            format!("left:{pct:.2}%; transform: translateX(8px)")
        };
        Some(view! {
            <div class="chart-tooltip" style=style role="status" data-testid="chart-tooltip" data-index=i.to_string()>
                <div class="chart-tooltip-time">{time}</div>
                {rows.into_iter().map(|(color, name, text)| view! {
                    <div class="chart-tooltip-row">
                        <span class="swatch" style=format!("background:{color}")></span>
                        <span>{name}</span> <strong>{text}</strong>
                    </div>
                }).collect_view()}
            </div>
        })
    };
    let legend_items = legend
        .into_iter()
        .enumerate()
        .map(|(i, (_, key))| {
            let color = COLORS[i % COLORS.len()];
            let latest = move || {
                geo.with(|g| g.values.get(i).and_then(|v| v.last()).map(|(a, _)| *a))
                    .map(|a| unit.format(i18n.0.get(), a))
                    .unwrap_or_default()
            };
            view! {
                <span class="chart-legend-item" data-legend=key>
                    <span class="swatch" style=format!("background:{color}")></span>
                    {move || label(key)} " " <strong class="chart-latest">{latest}</strong>
                </span>
            }
        })
        .collect_view();
    view! {
        <figure class="chart-box" data-chart=name data-points=move || count().to_string() data-testid=format!("chart-{name}")>
            <figcaption class="chart-title">{move || label(title)}</figcaption>
            <div class="chart-legend">{legend_items}</div>
            <div class="chart-body">
                <div class="chart-y" aria-hidden="true">{y_labels}</div>
                <div class="chart-plot">
                    <svg class="chart" role="img" aria-label=move || label(title) viewBox=view_box preserveAspectRatio="none"
                        data-points=move || count().to_string() on:mousemove=on_move on:mouseleave=move |_| hover.set(None)>
                        {grid}
                        {areas}
                        {polylines}
                        {cursor}
                    </svg>
                    {move || {
                        if !loaded() {
                            Some(view! { <div class="chart-empty muted">"…"</div> }.into_any())
                        } else if count() == 0 {
                            Some(view! { <div class="chart-empty muted" data-testid="chart-no-data">{t!(i18n, "chart-no-data")}</div> }.into_any())
                        } else {
                            None
                        }
                    }}
                    {tooltip}
                    <div class="chart-x" aria-hidden="true">{x_labels}</div>
                </div>
            </div>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_have_three_to_five_round_ticks() {
        for (unit, max) in [
            (Unit::Percent, 3.2),
            (Unit::Percent, 87.0),
            (Unit::Percent, 0.0),
            (Unit::Bytes, 3.0 * 1024.0 * 1024.0 * 1024.0),
            (Unit::BytesPerSecond, 1500.0),
            (Unit::PerSecond, 0.4),
            (Unit::PerSecond, 12345.0),
        ] {
            let (top, ticks) = axis(unit, max);
            assert!((3..=5).contains(&ticks.len()), "{unit:?} {max}: {ticks:?}");
            assert!(top >= max * (1.0 - 1e-9), "{unit:?} {max}: top {top}");
        }
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(42.0), "42");
        assert_eq!(short_number(3.5), "3.5");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_bytes(512.0 * 1024.0 * 1024.0), "512 MiB");
    }
}
