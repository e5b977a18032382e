//! Line charts as SVG, for the HTML report.
//!
//! Written by hand rather than with plotters: plotters can only lay out text with a TrueType
//! backend that reads the machine's system fonts, and a report must render the same on every
//! machine. An SVG `<text>` element lets the viewer's browser pick the font.

use std::fmt::Write;

/// One line of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 40.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// "Nice" tick step: 1, 2 or 5 × 10^k, giving about `n` ticks over `span`.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    mag * if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A tick label with as many decimals as the tick step needs (0.005 → 3).
fn label(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
    format!("{v:.decimals$}")
}

/// A line chart of `series` (x = hours of simulated time), as a standalone SVG element.
pub fn line_chart(title: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let points = || series.iter().flat_map(|s| s.points.iter());
    let x_max = points().map(|p| p.0).fold(0.0f64, f64::max).max(1e-9);
    let y_max = (points().map(|p| p.1).fold(0.0f64, f64::max) * 1.05).max(1e-9);
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + x / x_max * pw;
    let sy = |y: f64| TOP + ph - y / y_max * ph;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(svg, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let xs = tick_step(x_max, 8.0);
    let mut x = 0.0;
    while x <= x_max + xs * 1e-9 {
        let px = sx(x);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 16.0,
            label(x, xs)
        );
        x += xs;
    }
    let ys = tick_step(y_max, 5.0);
    let mut y = 0.0;
    while y <= y_max + ys * 1e-9 {
        let py = sy(y);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            py + 4.0,
            label(y, ys)
        );
        y += ys;
    }
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{:.1}" y="{:.1}" text-anchor="middle">simulated time (hours)</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"##,
        LEFT + pw / 2.0,
        HEIGHT - 6.0,
        TOP + ph / 2.0,
        escape(y_label)
    );
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        let ly = TOP + 12.0 + 18.0 * i as f64;
        let lx = LEFT + pw + 12.0;
        let _ = write!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 16.0,
            lx + 22.0,
            ly + 4.0,
            escape(s.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_title_axes_legend_and_one_polyline_per_series() {
        let svg = line_chart(
            "GPU <allocation>",
            "share",
            &[
                Series {
                    label: "gpu",
                    points: vec![(0.0, 0.1), (1.0, 0.5), (2.0, 0.4)],
                },
                Series {
                    label: "cpu",
                    points: vec![(0.0, 0.2), (2.0, 0.3)],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("GPU &lt;allocation&gt;"), "titles are escaped");
        assert!(svg.contains(">gpu<") && svg.contains(">cpu<"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // The highest point (0.5) sits 5% below the top of the plot area.
        assert!(svg.contains(&format!(
            ",{:.1}",
            TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - 0.5 / 0.525)
        )));
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(10.0, 5.0), 2.0);
        assert_eq!(tick_step(3600.0, 8.0), 500.0);
        assert_eq!(tick_step(0.9, 5.0), 0.2);
        assert_eq!(
            (label(0.005, 0.005), label(0.01, 0.005), label(500.0, 500.0)),
            ("0.005".into(), "0.010".into(), "500".into())
        );
    }
}
