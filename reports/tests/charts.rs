//! The charts through the library's public API: the PNG files a run writes and the SVG charts
//! inline in its HTML report.

use models::trace::Sample;
use reports::plot::{Marker, run_charts, write_png_charts};
use sim_core::SimTime;

fn sample(time_s: f64, busy: f64) -> Sample {
    Sample {
        time_s,
        cpu_requested_milli: (64_000.0 * busy) as i64,
        cpu_allocatable_milli: 64_000,
        memory_requested_bytes: (256e9 * busy * 0.8) as i64,
        memory_allocatable_bytes: 256_000_000_000,
        gpu_requested_milli: (8000.0 * busy * 0.5) as u64,
        gpu_allocatable_milli: 8000,
        gpus_partly_used: 1,
        pods_running: (40.0 * busy) as u64,
        pods_pending: 3,
        gpu_frag_milli: 500.0,
        gpu_frag_ratio: 0.0625,
        gpu_frag_partial_milli: 250.0,
        gpu_frag_partial_ratio: 0.03125,
    }
}

/// (hours, pending, running), as `models::summary::pods_over_time` gives them.
type PodsOverTime = Vec<(f64, u64, u64)>;

fn inputs() -> (PodsOverTime, Vec<Sample>, Vec<Marker>) {
    // Three days.
    let pods = (0..=72)
        .map(|h| {
            (
                f64::from(h),
                u64::from(72 - h as u32 % 50),
                u64::from(h as u32 * 3),
            )
        })
        .collect();
    let samples = (0..=72)
        .map(|h| sample(f64::from(h) * 3600.0, f64::from(h) / 80.0))
        .collect();
    let markers = vec![
        Marker {
            at: SimTime::from_secs(20 * 3600),
            label: "drain node-3".into(),
        },
        Marker {
            at: SimTime::from_secs(50 * 3600),
            label: "zone-b down".into(),
        },
    ];
    (pods, samples, markers)
}

#[test]
fn png_files_are_written_once_per_chart_and_repeat_byte_for_byte() {
    let (pods, samples, markers) = inputs();
    let dir = std::env::temp_dir().join(format!("kubesim-charts-{}", std::process::id()));
    let first = write_png_charts(&dir, &pods, &samples, &markers).unwrap();
    let names: Vec<_> = first
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "pods-by-phase.png",
            "pending-pods.png",
            "requested-vs-allocatable.png",
            "gpu-fragmentation.png"
        ]
    );
    let bytes: Vec<Vec<u8>> = first.iter().map(|p| std::fs::read(p).unwrap()).collect();
    for b in &bytes {
        assert!(b.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(
            b.len() > 10_000,
            "a chart with text and lines, not a blank image"
        );
    }
    write_png_charts(&dir, &pods, &samples, &markers).unwrap();
    for (p, b) in first.iter().zip(&bytes) {
        assert_eq!(
            &std::fs::read(p).unwrap(),
            b,
            "{p:?} changed between two writes"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn svg_charts_carry_titles_percentages_and_markers() {
    let (pods, samples, markers) = inputs();
    let charts = run_charts(&pods, &samples, &markers);
    let allocation = charts
        .iter()
        .find(|c| c.name == "requested-vs-allocatable")
        .unwrap()
        .chart
        .svg()
        .unwrap();
    for want in [
        "Requested / allocatable",
        "requested, % of allocatable",
        "100%",
        "CPU",
        "memory",
        "GPU",
        "drain node-3",
        "zone-b down",
        "2d12h",
    ] {
        assert!(allocation.contains(want), "{want} missing");
    }
}
