//! Charts of a run over simulated time, drawn with plotters: SVG for the HTML report, PNG for
//! files. Pure: data in, an SVG string or PNG bytes out; the same data gives the same bytes.
//!
//! Text is laid out (and, in PNGs, drawn) with DejaVu Sans, shipped in `assets/fonts/` and
//! compiled in, through plotters' `ab_glyph` support: plotters' default `ttf` feature asks the
//! machine for its fonts, and a chart must come out the same on a machine that has none. An
//! SVG names the `sans-serif` family and lets the viewer's browser draw it.
//!
//! The time axis is in seconds of simulated time, with ticks at round durations chosen by the
//! span (15s, 15m, 12h, a week…) and labelled as durations (`45s`, `1h30m`, `2d12h`).

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use models::trace::Sample;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor, register_font};
use sim_core::SimTime;

/// The font every chart's text is measured and drawn with.
const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

const WIDTH: u32 = 860;
const HEIGHT: u32 = 360;
/// Room on the right for the legend.
const LEGEND_WIDTH: u32 = 170;
/// Ticks on the time axis at most (the span is cut into at most this many steps).
const MAX_TIME_STEPS: f64 = 8.0;
/// Markers drawn at most, and labelled at most: past that the labels would only overlap.
const MAX_MARKERS: usize = 200;
const MAX_MARKER_LABELS: usize = 24;

const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];
const MARKER_COLOR: RGBColor = RGBColor(0x70, 0x70, 0x70);

/// One line, or one layer of a stacked area. x is seconds of simulated time.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
        }
    }
}

/// What the y values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YUnit {
    /// Plain numbers (pods, nodes…).
    Count,
    /// Shares (0.42), shown as percentages (42%); the axis reaches 100% at least.
    Share,
    /// Shares whose axis fits the data, for shares that stay small (fragmentation).
    ShareFitted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Lines,
    /// Each series stacked on the ones before it. Stacked series are sampled at the same
    /// instants (their points are added by position).
    StackedArea,
}

/// A vertical line at an instant: a fault, a timeline action.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub at: SimTime,
    pub label: String,
}

/// A chart over simulated time.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    /// The y axis' description, with its unit (`pods`, `share of allocatable`).
    pub y_desc: String,
    pub unit: YUnit,
    pub style: Style,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
}

/// Why a chart could not be drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlotError(String);

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot draw chart: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

fn err(e: impl std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// Registers the shipped font once; plotters keeps registered fonts in a process-wide table.
fn font_ready() -> Result<(), PlotError> {
    static READY: OnceLock<Result<(), PlotError>> = OnceLock::new();
    READY
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| PlotError("the shipped font does not parse".into()))
        })
        .clone()
}

impl Chart {
    /// The chart as a standalone `<svg>` element.
    pub fn svg(&self) -> Result<String, PlotError> {
        font_ready()?;
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(err)?;
        }
        Ok(out)
    }

    /// The chart as a PNG image (8-bit RGB).
    pub fn png(&self) -> Result<Vec<u8>, PlotError> {
        font_ready()?;
        let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(err)?;
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // A chart is mostly flat colour: the fast encoder compresses it nearly as well, in a
        // fraction of the time (a long run with traffic draws a dozen charts).
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(&rgb).map_err(err)?;
        writer.finish().map_err(err)?;
        Ok(out)
    }

    /// The series as drawn: shares in percent, stacked layers as running totals.
    fn drawn_series(&self) -> Vec<Vec<(f64, f64)>> {
        let scale = match self.unit {
            YUnit::Count => 1.0,
            YUnit::Share | YUnit::ShareFitted => 100.0,
        };
        let clean = |&(x, y): &(f64, f64)| {
            (x.is_finite() && y.is_finite()).then_some((x.max(0.0), y * scale))
        };
        let mut out: Vec<Vec<(f64, f64)>> = Vec::with_capacity(self.series.len());
        for s in &self.series {
            let mut points: Vec<(f64, f64)> = s.points.iter().filter_map(clean).collect();
            if self.style == Style::StackedArea
                && let Some(below) = out.last()
            {
                for (i, p) in points.iter_mut().enumerate() {
                    p.1 += below.get(i).map_or(0.0, |b| b.1);
                }
            }
            out.push(points);
        }
        out
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let series = self.drawn_series();
        let end = series
            .iter()
            .flatten()
            .map(|p| p.0)
            .chain(self.markers.iter().map(|m| m.at.as_secs_f64()))
            .fold(0.0f64, f64::max)
            .max(1.0);
        let y_top = series.iter().flatten().map(|p| p.1).fold(0.0f64, f64::max) * 1.05;
        let y_top = match self.unit {
            YUnit::Count => y_top.max(1.0),
            YUnit::Share => y_top.max(100.0),
            YUnit::ShareFitted => y_top.max(1.0),
        };
        let time = TimeAxis::new(end);

        root.fill(&WHITE).map_err(err)?;
        let body = root
            .titled(&self.title, (FAMILY, 20).into_font().color(&BLACK))
            .map_err(err)?;
        let (plot_area, legend_area) = body.split_horizontally(WIDTH - LEGEND_WIDTH);

        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(8)
            .margin_left(6)
            .margin_right(14)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(time, 0.0..y_top)
            .map_err(err)?;
        let unit = self.unit;
        chart
            .configure_mesh()
            .x_desc("simulated time")
            .y_desc(&self.y_desc)
            .x_label_formatter(&|&x| time_label(x))
            .y_label_formatter(&|&y| y_label(y, unit))
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 14))
            .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
            .max_light_lines(0)
            .draw()
            .map_err(err)?;

        match self.style {
            Style::Lines => {
                for (i, points) in series.iter().enumerate() {
                    let color = COLORS[i % COLORS.len()];
                    chart
                        .draw_series(LineSeries::new(
                            points.iter().copied(),
                            color.stroke_width(2),
                        ))
                        .map_err(err)?;
                }
            }
            Style::StackedArea => {
                // The top layer first: each layer hides the part of the one above it that
                // lies below its own total.
                for (i, points) in series.iter().enumerate().rev() {
                    let color = COLORS[i % COLORS.len()];
                    chart
                        .draw_series(
                            AreaSeries::new(points.iter().copied(), 0.0, tint(color).filled())
                                .border_style(color.stroke_width(1)),
                        )
                        .map_err(err)?;
                }
            }
        }

        let markers: Vec<&Marker> = self.markers.iter().take(MAX_MARKERS).collect();
        let label_markers = markers.len() <= MAX_MARKER_LABELS;
        for (i, m) in markers.iter().enumerate() {
            let x = m.at.as_secs_f64();
            chart
                .draw_series(DashedLineSeries::new(
                    [(x, 0.0), (x, y_top)],
                    5,
                    4,
                    MARKER_COLOR.stroke_width(1),
                ))
                .map_err(err)?;
            if label_markers {
                // Three rows of labels, so that markers close together stay readable.
                let row = (i % 3) as f64;
                let y = y_top * (0.97 - 0.07 * row);
                let right_half = x > end * 0.6;
                let pos = if right_half {
                    Pos::new(HPos::Right, VPos::Top)
                } else {
                    Pos::new(HPos::Left, VPos::Top)
                };
                let style = (FAMILY, 12)
                    .into_font()
                    .color(&RGBColor(0x40, 0x40, 0x40))
                    .pos(pos);
                let shift = if right_half { -3 } else { 3 };
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((x, y))
                            + Text::new(m.label.clone(), (shift, 0), style.clone()),
                    ))
                    .map_err(err)?;
            }
        }

        self.draw_legend(&legend_area, markers.len())
    }

    /// Swatches and labels beside the plot, top to bottom in the order a reader meets them.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        markers: usize,
    ) -> Result<(), PlotError> {
        let text = (FAMILY, 13).into_font().color(&BLACK);
        let order: Vec<usize> = match self.style {
            Style::Lines => (0..self.series.len()).collect(),
            // The top layer is drawn highest: list it first.
            Style::StackedArea => (0..self.series.len()).rev().collect(),
        };
        let mut y = 14;
        for i in order {
            let color = COLORS[i % COLORS.len()];
            match self.style {
                Style::Lines => area.draw(&PathElement::new(
                    [(4, y + 7), (24, y + 7)],
                    color.stroke_width(2),
                )),
                Style::StackedArea => area.draw(&Rectangle::new(
                    [(4, y + 1), (24, y + 13)],
                    tint(color).filled(),
                )),
            }
            .map_err(err)?;
            area.draw(&Text::new(
                self.series[i].label.clone(),
                (30, y),
                text.clone(),
            ))
            .map_err(err)?;
            y += 20;
        }
        if markers > 0 {
            area.draw(&PathElement::new(
                [(14, y), (14, y + 14)],
                MARKER_COLOR.stroke_width(1),
            ))
            .map_err(err)?;
            let what = if self.markers.len() > markers {
                format!("events (first {markers})")
            } else {
                "faults, actions".to_string()
            };
            area.draw(&Text::new(what, (30, y), text.clone()))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Width of a chart of means with their confidence intervals.
const INTERVAL_WIDTH: u32 = 640;
const INTERVAL_HEIGHT: u32 = 300;

/// One variant's mean and the half-width of its 95% confidence interval (none: no bar), as
/// an SVG chart titled `title`: one point per variant, in their order, with error bars, the
/// y axis fitted to the intervals. Same input, same bytes.
pub fn interval_chart_svg(
    title: &str,
    y_desc: &str,
    means: &[(String, f64, Option<f64>)],
) -> Result<String, PlotError> {
    font_ready()?;
    let means: Vec<(String, f64, f64)> = means
        .iter()
        .filter(|(_, m, _)| m.is_finite())
        .map(|(n, m, ci)| (n.clone(), *m, ci.filter(|c| c.is_finite()).unwrap_or(0.0)))
        .collect();
    let lo = means
        .iter()
        .map(|(_, m, c)| m - c)
        .fold(f64::INFINITY, f64::min);
    let hi = means
        .iter()
        .map(|(_, m, c)| m + c)
        .fold(f64::NEG_INFINITY, f64::max);
    // Counts and shares start at zero; an axis through the data hides how small a gap is.
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (0.0, 1.0)
    };
    let pad = if hi > lo { (hi - lo) * 0.08 } else { 1.0 };
    let (y_lo, y_hi) = (if lo < 0.0 { lo - pad } else { lo }, hi + pad);
    let n = means.len().max(1) as i32;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (INTERVAL_WIDTH, INTERVAL_HEIGHT))
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let body = root
            .titled(title, (FAMILY, 18).into_font().color(&BLACK))
            .map_err(err)?;
        let mut chart = ChartBuilder::on(&body)
            .margin_top(8)
            .margin_left(6)
            .margin_right(14)
            .x_label_area_size(36)
            .y_label_area_size(64)
            // A discrete range holds both ends: 0..n-1 is n variants.
            .build_cartesian_2d((0..n - 1).into_segmented(), y_lo..y_hi)
            .map_err(err)?;
        let label = |v: &SegmentValue<i32>| match v {
            SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| means.get(i))
                .map_or(String::new(), |(name, _, _)| name.clone()),
            SegmentValue::Last => String::new(),
        };
        chart
            .configure_mesh()
            .x_labels(n as usize)
            .x_label_formatter(&label)
            .y_desc(y_desc)
            .y_label_formatter(&|&y| trim_number(y))
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 14))
            .bold_line_style(RGBColor(0xe4, 0xe4, 0xe4))
            // Not `max_light_lines(0)`: plotters' integer key points loop forever on a
            // request for none, and the variant axis is an integer one.
            .light_line_style(TRANSPARENT)
            .disable_x_mesh()
            .draw()
            .map_err(err)?;
        for (i, (_, mean, ci)) in means.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let x = SegmentValue::CenterOf(i as i32);
            let style = color.stroke_width(2);
            if *ci > 0.0 {
                let (low, high) = (mean - ci, mean + ci);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(x.clone(), low), (x.clone(), high)],
                        style,
                    )))
                    .map_err(err)?;
                for y in [low, high] {
                    chart
                        .draw_series(std::iter::once(
                            EmptyElement::at((x.clone(), y))
                                + PathElement::new([(-8, 0), (8, 0)], style),
                        ))
                        .map_err(err)?;
                }
            }
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x.clone(), *mean)) + Circle::new((0, 0), 5, color.filled()),
                ))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// A lighter, opaque shade of `c` for filled areas: opaque so that stacked layers keep their
/// own colour instead of blending with the layer drawn under them.
fn tint(c: RGBColor) -> RGBColor {
    let light = |v: u8| 255 - ((255 - u16::from(v)) * 11 / 20) as u8;
    RGBColor(light(c.0), light(c.1), light(c.2))
}

/// A tick label on a share axis (already in percent) or a count axis.
fn y_label(y: f64, unit: YUnit) -> String {
    let n = trim_number(y);
    match unit {
        YUnit::Count => n,
        YUnit::Share | YUnit::ShareFitted => format!("{n}%"),
    }
}

/// At most two decimals, none when the value is whole.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The time axis: 0 to `end` seconds, ticks every `step`.
#[derive(Clone, Debug)]
struct TimeAxis {
    end: f64,
    step: f64,
}

impl TimeAxis {
    fn new(end: f64) -> Self {
        let step = time_step(end);
        // A run of 10m sampled at evenly spaced instants ends a hair before 10m: end the axis
        // on the tick rather than leave the last tick off.
        let next_tick = (end / step).ceil() * step;
        let end = if next_tick - end < step * 0.05 {
            next_tick
        } else {
            end
        };
        TimeAxis { end, step }
    }

    fn ticks(&self) -> Vec<f64> {
        let n = (self.end / self.step + 1e-9).floor() as u64;
        (0..=n).map(|i| i as f64 * self.step).collect()
    }
}

impl Ranged for TimeAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = value / self.end;
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Grid lines only at the labelled ticks: no lighter lines in between.
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        self.ticks()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.end
    }
}

impl ValueFormatter<f64> for TimeAxis {
    fn format(value: &f64) -> String {
        time_label(*value)
    }
}

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86400.0;

/// The tick step for a span of `span` seconds: the smallest round duration that cuts it into
/// at most [`MAX_TIME_STEPS`] steps. Round in the span's own unit: 15s, 5m, 3h, 12h, 2d, a week.
fn time_step(span: f64) -> f64 {
    const STEPS: [f64; 23] = [
        0.1,
        0.2,
        0.5,
        1.0,
        2.0,
        5.0,
        10.0,
        15.0,
        30.0,
        MINUTE,
        2.0 * MINUTE,
        5.0 * MINUTE,
        10.0 * MINUTE,
        15.0 * MINUTE,
        30.0 * MINUTE,
        HOUR,
        2.0 * HOUR,
        3.0 * HOUR,
        6.0 * HOUR,
        12.0 * HOUR,
        DAY,
        2.0 * DAY,
        7.0 * DAY,
    ];
    let wanted = span / MAX_TIME_STEPS;
    if let Some(&s) = STEPS.iter().find(|&&s| s >= wanted) {
        return s;
    }
    // Past a week per step: weeks × 1, 2, 5 × 10^k.
    let weeks = wanted / (7.0 * DAY);
    let magnitude = 10f64.powf(weeks.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|f| f * magnitude)
        .find(|&w| w >= weeks)
        .unwrap_or(10.0 * magnitude);
    nice * 7.0 * DAY
}

/// A tick on the time axis as a duration with every unit it needs: `45s`, `1h30m`, `2d12h`;
/// tenths of a second under a few seconds (`1.5s`).
pub fn time_label(secs: f64) -> String {
    if !secs.is_finite() || secs <= 0.0 {
        return "0".into();
    }
    let tenths = (secs * 10.0).round() as u64;
    if !tenths.is_multiple_of(10) && tenths < 600 {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    let mut rest = (secs.round()) as u64;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// A chart of the run, with the file stem it is written under.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedChart {
    pub name: &'static str,
    pub chart: Chart,
}

/// The charts today's records can draw. `pods_over_time` is (hours, pending, running), as
/// `models::summary::pods_over_time` gives it; `samples` are a trace replay's samples;
/// `markers` go on every chart.
pub fn run_charts(
    pods_over_time: &[(f64, u64, u64)],
    samples: &[Sample],
    markers: &[Marker],
) -> Vec<NamedChart> {
    let mut out = Vec::new();
    let chart = |title: &str, y_desc: &str, unit, style, series| Chart {
        title: title.into(),
        y_desc: y_desc.into(),
        unit,
        style,
        series,
        markers: markers.to_vec(),
    };
    if !pods_over_time.is_empty() {
        let at = |hours: f64| hours * HOUR;
        let pending: Vec<(f64, f64)> = pods_over_time
            .iter()
            .map(|&(t, p, _)| (at(t), p as f64))
            .collect();
        let running: Vec<(f64, f64)> = pods_over_time
            .iter()
            .map(|&(t, _, r)| (at(t), r as f64))
            .collect();
        out.push(NamedChart {
            name: "pods-by-phase",
            chart: chart(
                "Pods pending and running",
                "pods",
                YUnit::Count,
                Style::StackedArea,
                vec![
                    Series::new("Running", running),
                    Series::new("Pending", pending.clone()),
                ],
            ),
        });
        out.push(NamedChart {
            name: "pending-pods",
            chart: chart(
                "Pending pods",
                "pods",
                YUnit::Count,
                Style::Lines,
                vec![Series::new("Pending", pending)],
            ),
        });
    }
    if !samples.is_empty() {
        let series = |label: &str, f: fn(&Sample) -> f64| {
            Series::new(label, samples.iter().map(|s| (s.time_s, f(s))).collect())
        };
        let mut allocation = vec![
            series("CPU", Sample::cpu_allocation),
            series("memory", Sample::memory_allocation),
        ];
        if samples.iter().any(|s| s.gpu_allocatable_milli > 0) {
            allocation.push(series("GPU", Sample::gpu_allocation));
        }
        out.push(NamedChart {
            name: "requested-vs-allocatable",
            chart: chart(
                "Requested / allocatable",
                "requested, % of allocatable",
                YUnit::Share,
                Style::Lines,
                allocation,
            ),
        });
        if samples.iter().any(|s| s.gpu_allocatable_milli > 0) {
            out.push(NamedChart {
                name: "gpu-fragmentation",
                chart: chart(
                    "GPU fragmentation",
                    "% of all GPUs",
                    YUnit::ShareFitted,
                    Style::Lines,
                    vec![
                        series("FGD", |s| s.gpu_frag_ratio),
                        series("partly used", |s| s.gpu_frag_partial_ratio),
                    ],
                ),
            });
        }
    }
    out
}

/// Workloads the replicas chart shows at most (two lines each, one color per line).
const MAX_WORKLOADS_CHARTED: usize = 3;
/// Pools a per-pool chart shows at most.
const MAX_POOLS_CHARTED: usize = 6;

/// The charts drawn from the metrics recorder: replicas desired and ready of the largest
/// workloads, CPU and memory requested against allocatable (`with_allocation`; trace runs
/// draw their own from their samples), nodes per pool and each priced pool's cost so far.
pub fn metric_charts(
    rec: &models::metrics::Recorder,
    markers: &[Marker],
    with_allocation: bool,
) -> Vec<NamedChart> {
    use models::metrics::{CLUSTER, SeriesView};
    let mut out = Vec::new();
    let chart = |title: &str, y_desc: &str, series: Vec<Series>| Chart {
        title: title.into(),
        y_desc: y_desc.into(),
        unit: YUnit::Count,
        style: Style::Lines,
        series,
        markers: markers.to_vec(),
    };
    let scaled = |s: &SeriesView<'_>, label: String, by: f64| {
        Series::new(label, thin(s.points().map(|(t, v)| (t, v / by)).collect()))
    };
    let peak = |s: &SeriesView<'_>| s.points().map(|p| p.1).fold(0.0f64, f64::max);

    let desired: Vec<(f64, SeriesView<'_>)> = rec
        .iter()
        .filter(|s| s.metric == "replicas_desired")
        .map(|s| (peak(&s), s))
        .collect();
    let mut replicas = Vec::new();
    for (_, d) in largest(desired, MAX_WORKLOADS_CHARTED) {
        // The legend is narrow: the workload's name without its kind and namespace.
        let name = d.object.rsplit('/').next().unwrap_or(d.object);
        replicas.push(scaled(&d, format!("{name} desired"), 1.0));
        if let Some(r) = rec.get("replicas_ready", d.object) {
            replicas.push(scaled(&r, format!("{name} ready"), 1.0));
        }
    }
    if !replicas.is_empty() {
        out.push(NamedChart {
            name: "replicas",
            chart: chart("Replicas desired and ready", "replicas", replicas),
        });
    }

    if with_allocation {
        let pair = |req: &str, alloc: &str, by: f64| -> Vec<Series> {
            [(req, "requested"), (alloc, "allocatable")]
                .into_iter()
                .filter_map(|(m, label)| rec.get(m, CLUSTER).map(|s| scaled(&s, label.into(), by)))
                .collect()
        };
        let cpu = pair("cpu_requested_millis", "cpu_allocatable_millis", 1000.0);
        if !cpu.is_empty() {
            out.push(NamedChart {
                name: "cpu-requested-vs-allocatable",
                chart: chart("CPU requested and allocatable", "CPU cores", cpu),
            });
        }
        let memory = pair(
            "memory_requested_bytes",
            "memory_allocatable_bytes",
            (1u64 << 30) as f64,
        );
        if !memory.is_empty() {
            out.push(NamedChart {
                name: "memory-requested-vs-allocatable",
                chart: chart("Memory requested and allocatable", "memory, GiB", memory),
            });
        }
    }

    let per_pool = |metric: &str| -> Vec<Series> {
        let pools: Vec<(f64, SeriesView<'_>)> = rec
            .iter()
            .filter(|s| s.metric == metric && s.object.starts_with("pool/"))
            .map(|s| (peak(&s), s))
            .collect();
        let mut shown = largest(pools, MAX_POOLS_CHARTED);
        shown.sort_by_key(|(_, s)| s.id);
        shown
            .iter()
            .map(|(_, s)| {
                let name = s.object.strip_prefix("pool/").unwrap_or(s.object);
                scaled(s, name.to_owned(), 1.0)
            })
            .collect()
    };
    let nodes = per_pool("nodes");
    if !nodes.is_empty() {
        out.push(NamedChart {
            name: "nodes-per-pool",
            chart: chart("Nodes per pool", "nodes", nodes),
        });
    }
    let cost = per_pool("cost_dollars");
    if !cost.is_empty() {
        out.push(NamedChart {
            name: "cost",
            chart: chart("Cost so far, per pool", "dollars", cost),
        });
    }

    // Traffic: the busiest services' request rate, p99 latency and errors.
    let busiest: Vec<(f64, SeriesView<'_>)> = rec
        .iter()
        .filter(|s| s.metric == "requests_per_second" && s.object.starts_with("service/"))
        .map(|s| (peak(&s), s))
        .collect();
    let busiest = largest(busiest, MAX_WORKLOADS_CHARTED);
    let per_service = |metric: &str, by: f64| -> Vec<Series> {
        busiest
            .iter()
            .filter_map(|(_, s)| {
                let name = s.object.strip_prefix("service/").unwrap_or(s.object);
                rec.get(metric, s.object)
                    .map(|m| scaled(&m, name.to_owned(), by))
            })
            .collect()
    };
    for (metric, name, title, y, by) in [
        (
            "requests_per_second",
            "requests",
            "Requests per second, per service",
            "requests/s",
            1.0,
        ),
        (
            "latency_p99_seconds",
            "latency-p99",
            "Latency p99, per service",
            "milliseconds",
            1e-3,
        ),
        (
            "errors_per_second",
            "errors",
            "Failed requests per second, per service",
            "requests/s",
            1.0,
        ),
    ] {
        let series = per_service(metric, by);
        if !series.is_empty() {
            out.push(NamedChart {
                name,
                chart: chart(title, y, series),
            });
        }
    }
    out
}

/// Buckets a long series is cut into for drawing: a chart is 860 pixels wide.
const CHART_BUCKETS: usize = 400;

/// A long series cut to what a chart can show: the lowest and the highest point of each of
/// [`CHART_BUCKETS`] runs of points, in time order, so a short dip or spike still shows.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= 3 * CHART_BUCKETS {
        return points;
    }
    let size = points.len().div_ceil(CHART_BUCKETS);
    let mut out = Vec::with_capacity(2 * CHART_BUCKETS + 1);
    for bucket in points.chunks(size) {
        let by_value = |a: &&(f64, f64), b: &&(f64, f64)| a.1.total_cmp(&b.1);
        let (Some(lo), Some(hi)) = (
            bucket.iter().min_by(by_value),
            bucket.iter().max_by(by_value),
        ) else {
            continue;
        };
        if lo.0 == hi.0 {
            out.push(*lo);
        } else if lo.0 < hi.0 {
            out.extend([*lo, *hi]);
        } else {
            out.extend([*hi, *lo]);
        }
    }
    if let (Some(last), Some(kept)) = (points.last(), out.last())
        && last.0 > kept.0
    {
        out.push(*last);
    }
    out
}

/// The `n` series of largest peak, ties in the order the series were first seen.
fn largest(
    mut v: Vec<(f64, models::metrics::SeriesView<'_>)>,
    n: usize,
) -> Vec<(f64, models::metrics::SeriesView<'_>)> {
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    v.truncate(n);
    v
}

/// Every chart of a run: [`run_charts`], then the recorder's ([`metric_charts`]).
pub fn all_charts(
    pods_over_time: &[(f64, u64, u64)],
    samples: &[Sample],
    markers: &[Marker],
    metrics: Option<&models::metrics::Recorder>,
) -> Vec<NamedChart> {
    let mut charts = run_charts(pods_over_time, samples, markers);
    if let Some(rec) = metrics {
        charts.extend(metric_charts(rec, markers, samples.is_empty()));
    }
    charts
}

/// Writes each of [`run_charts`] as `<name>.png` into `dir`; returns the paths.
pub fn write_png_charts(
    dir: &Path,
    pods_over_time: &[(f64, u64, u64)],
    samples: &[Sample],
    markers: &[Marker],
) -> io::Result<Vec<PathBuf>> {
    write_all_png_charts(dir, pods_over_time, samples, markers, None)
}

/// Writes each of [`all_charts`] as `<name>.png` into `dir`; returns the paths.
pub fn write_all_png_charts(
    dir: &Path,
    pods_over_time: &[(f64, u64, u64)],
    samples: &[Sample],
    markers: &[Marker],
    metrics: Option<&models::metrics::Recorder>,
) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for c in all_charts(pods_over_time, samples, markers, metrics) {
        let png = c.chart.png().map_err(io::Error::other)?;
        let path = dir.join(format!("{}.png", c.name));
        crate::output::write_atomic(&path, &png)?;
        written.push(path);
    }
    Ok(written)
}

/// The run's timeline actions and the faults that struck (stochastic ones included), as chart
/// markers in time order. A timeline fault verb is marked once, by the fault it started.
pub fn run_markers(cluster: &models::cluster::Cluster) -> Vec<Marker> {
    let mut markers: Vec<Marker> = cluster
        .timeline
        .actions
        .iter()
        .filter(|a| !matches!(a.action, models::scenario::Action::Fault(_)))
        .map(|a| Marker {
            at: SimTime::ZERO.saturating_add(a.at),
            label: a.action.describe(),
        })
        .chain(cluster.faults.instances.iter().map(|i| Marker {
            at: i.started,
            label: i.fault.verb.as_str().to_owned(),
        }))
        .collect();
    markers.sort_by_key(|m| m.at);
    markers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(span_s: f64, unit: YUnit, style: Style) -> Chart {
        let points = |f: fn(f64) -> f64| -> Vec<(f64, f64)> {
            (0..=20)
                .map(|i| {
                    let x = span_s * f64::from(i) / 20.0;
                    (x, f(f64::from(i)))
                })
                .collect()
        };
        Chart {
            title: "Pods <by> phase".into(),
            y_desc: "pods".into(),
            unit,
            style,
            series: vec![
                Series::new("Running", points(|i| i * 3.0)),
                Series::new("Pending", points(|i| 20.0 - i)),
            ],
            markers: vec![Marker {
                at: SimTime::from_nanos((span_s * 0.25 * 1e9) as u64),
                label: "drain node-1".into(),
            }],
        }
    }

    /// The text of every `<text>` element, in order.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let start = t.find('>')? + 1;
                let end = t.find("</text>")?;
                Some(t.get(start..end)?.trim().to_string())
            })
            .collect()
    }

    #[test]
    fn steps_are_round_in_the_unit_of_the_span() {
        assert_eq!(time_step(90.0), 15.0);
        assert_eq!(time_step(7200.0), 15.0 * MINUTE);
        assert_eq!(time_step(3.0 * DAY), 12.0 * HOUR);
        assert_eq!(time_step(30.0 * DAY), 7.0 * DAY);
        assert_eq!(time_step(365.0 * DAY), 70.0 * DAY);
        assert_eq!(time_step(2.0), 0.5);
    }

    #[test]
    fn an_end_just_short_of_a_tick_ends_on_it() {
        assert_eq!(TimeAxis::new(599.9).ticks().last(), Some(&600.0));
        assert_eq!(TimeAxis::new(580.0).ticks().last(), Some(&480.0));
    }

    #[test]
    fn time_labels_name_every_unit_they_need() {
        assert_eq!(time_label(0.0), "0");
        assert_eq!(time_label(30.0), "30s");
        assert_eq!(time_label(90.0), "1m30s");
        assert_eq!(time_label(300.0), "5m");
        assert_eq!(time_label(2.0 * HOUR), "2h");
        assert_eq!(time_label(2.0 * DAY + 4.0 * HOUR), "2d4h");
        assert_eq!(time_label(1.5), "1.5s");
        assert_eq!(time_label(f64::NAN), "0");
    }

    #[test]
    fn y_labels_show_shares_as_percentages() {
        assert_eq!(y_label(40.0, YUnit::Share), "40%");
        assert_eq!(y_label(12.5, YUnit::Share), "12.5%");
        assert_eq!(y_label(3.0, YUnit::Count), "3");
        assert_eq!(y_label(0.25, YUnit::Count), "0.25");
    }

    #[test]
    fn svg_has_title_axes_legend_and_markers() {
        let svg = chart(2.0 * HOUR, YUnit::Count, Style::Lines).svg().unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let t = texts(&svg);
        for want in [
            "Pods &lt;by&gt; phase",
            "simulated time",
            "pods",
            "Running",
            "Pending",
            "drain node-1",
            "faults, actions",
        ] {
            assert!(t.iter().any(|x| x == want), "{want} missing from {t:?}");
        }
        assert!(svg.matches("<polyline").count() >= 2);
    }

    #[test]
    fn time_axis_units_follow_the_span() {
        let ticks = |span: f64| {
            let t = texts(&chart(span, YUnit::Count, Style::Lines).svg().unwrap());
            let want = TimeAxis::new(span).ticks();
            assert!(want.len() >= 4);
            want.into_iter()
                .map(time_label)
                .inspect(|l| assert!(t.contains(l), "tick {l} missing: {t:?}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ticks(90.0),
            ["0", "15s", "30s", "45s", "1m", "1m15s", "1m30s"]
        );
        assert_eq!(
            ticks(2.0 * HOUR),
            [
                "0", "15m", "30m", "45m", "1h", "1h15m", "1h30m", "1h45m", "2h"
            ]
        );
        assert_eq!(
            ticks(3.0 * DAY),
            ["0", "12h", "1d", "1d12h", "2d", "2d12h", "3d"]
        );
    }

    #[test]
    fn share_charts_label_percentages_up_to_100() {
        let mut c = chart(600.0, YUnit::Share, Style::Lines);
        c.series = vec![Series::new("CPU", vec![(0.0, 0.1), (600.0, 0.42)])];
        let t = texts(&c.svg().unwrap());
        assert!(
            t.iter().any(|x| x == "100%") && t.iter().any(|x| x == "0%"),
            "{t:?}"
        );
    }

    #[test]
    fn stacked_layers_add_up() {
        let c = chart(60.0, YUnit::Count, Style::StackedArea);
        let drawn = c.drawn_series();
        assert_eq!(drawn[1][0], (0.0, 20.0));
        assert_eq!(drawn[1][20], (60.0, 60.0), "60 running + 0 pending");
        assert!(c.svg().unwrap().contains("<polygon") || c.svg().unwrap().contains("<path"));
    }

    #[test]
    fn many_markers_are_drawn_but_not_labelled() {
        let mut c = chart(HOUR, YUnit::Count, Style::Lines);
        c.markers = (0..300)
            .map(|i| Marker {
                at: SimTime::from_secs(i * 10),
                label: format!("kill-{i}"),
            })
            .collect();
        let t = texts(&c.svg().unwrap());
        assert!(!t.iter().any(|x| x.starts_with("kill-")));
        assert!(t.iter().any(|x| x == "events (first 200)"));
    }

    #[test]
    fn png_is_a_deterministic_non_blank_image() {
        let c = chart(3.0 * DAY, YUnit::Count, Style::StackedArea);
        let a = c.png().unwrap();
        assert_eq!(a, c.png().unwrap(), "same chart, same bytes");
        assert!(a.starts_with(b"\x89PNG\r\n\x1a\n"));
        let decoder = png::Decoder::new(std::io::Cursor::new(&a));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let colours: std::collections::BTreeSet<&[u8]> = pixels.chunks(3).collect();
        assert!(colours.len() > 20, "{} colours", colours.len());
        // Text is drawn from the shipped font: the title's row has dark pixels.
        let row = |y: usize| &pixels[y * WIDTH as usize * 3..(y + 1) * WIDTH as usize * 3];
        assert!((2..20).any(|y| row(y).chunks(3).any(|p| p.iter().all(|&c| c < 80))));
    }

    #[test]
    fn svg_is_deterministic_and_bad_points_are_skipped() {
        let mut c = chart(90.0, YUnit::Share, Style::Lines);
        c.series[0].points.push((f64::NAN, 1.0));
        c.series[0].points.push((100.0, f64::INFINITY));
        assert_eq!(c.svg().unwrap(), c.svg().unwrap());
        let empty = Chart {
            series: vec![],
            markers: vec![],
            ..c
        };
        assert!(empty.svg().is_ok() && empty.png().is_ok());
    }

    #[test]
    fn run_charts_cover_pods_and_allocation() {
        let pods = [(0.0, 5, 0), (0.5, 2, 3), (1.0, 0, 5)];
        let names: Vec<_> = run_charts(&pods, &[], &[]).iter().map(|c| c.name).collect();
        assert_eq!(names, ["pods-by-phase", "pending-pods"]);
        let c = &run_charts(&pods, &[], &[])[0].chart;
        assert_eq!(c.series[0].points[1], (1800.0, 3.0), "hours become seconds");
    }

    /// A month of 450 s samples (5761 points) is drawn from at most two points per bucket,
    /// and a one-sample dip survives the cut.
    #[test]
    fn long_series_are_thinned_keeping_extremes() {
        let mut points: Vec<(f64, f64)> = (0..5761).map(|i| (f64::from(i) * 450.0, 10.0)).collect();
        points[1234].1 = 2.0;
        let thinned = thin(points.clone());
        assert!(thinned.len() <= 2 * CHART_BUCKETS + 1, "{}", thinned.len());
        assert!(thinned.contains(&(1234.0 * 450.0, 2.0)));
        assert_eq!(thinned.first(), points.first());
        assert_eq!(thinned.last(), points.last());
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0));
        let short = points[..100].to_vec();
        assert_eq!(thin(short.clone()), short);
    }
}
