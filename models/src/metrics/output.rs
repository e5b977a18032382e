//! The recorder's files: `metrics.csv`, one tidy row per sample and series
//! (`time_s,metric,object,value`, by time then series id), and `metrics.json`, one entry per
//! series with its points.

use std::io::{self, Write as _};

use serde::Serialize;

use super::Recorder;

/// Writes the tidy CSV. Times are whole seconds (the resolution is a whole number of
/// seconds unless a scenario asks for less, then they carry the fraction).
pub fn write_csv<W: io::Write>(rec: &Recorder, out: W) -> csv::Result<()> {
    // Each series' `metric,object` is escaped once (names may need quoting); times and values
    // are numbers, which never do. Rows are then plain bytes: a long run writes hundreds of
    // thousands of them, and a record through the CSV writer per row was most of the cost.
    let series: Vec<_> = rec.iter().collect();
    let mut prefixes: Vec<Vec<u8>> = Vec::with_capacity(series.len());
    for s in &series {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([s.metric, s.object])?;
        let mut bytes = w.into_inner().map_err(|e| e.into_error())?;
        bytes.pop(); // the record's newline
        prefixes.push(bytes);
    }
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(b"time_s,metric,object,value\n")?;
    let mut row: Vec<u8> = Vec::with_capacity(128);
    for i in 0..rec.samples() {
        let time = seconds_text(rec.time_of(i).as_secs_f64());
        for (s, prefix) in series.iter().zip(&prefixes) {
            if let Some(v) = s.at(i) {
                row.clear();
                row.extend_from_slice(time.as_bytes());
                row.push(b',');
                row.extend_from_slice(prefix);
                row.push(b',');
                writeln!(row, "{v}")?;
                out.write_all(&row)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn seconds_text(secs: f64) -> String {
    secs.to_string()
}

/// `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsJson {
    pub resolution_seconds: Num,
    pub series: Vec<SeriesJson>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesJson {
    pub metric: String,
    pub object: String,
    pub unit: String,
    /// `[seconds, value]` pairs.
    pub points: Vec<(Num, Num)>,
}

/// A number written as an integer when it is one (`15`, not `15.0`), as the CSV writes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < EXACT {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

impl MetricsJson {
    pub fn of(rec: &Recorder) -> Self {
        MetricsJson {
            resolution_seconds: Num(rec.resolution().as_secs_f64()),
            series: rec
                .iter()
                .map(|s| SeriesJson {
                    metric: s.metric.to_owned(),
                    object: s.object.to_owned(),
                    unit: s.unit.to_owned(),
                    points: s.points().map(|(t, v)| (Num(t), Num(v))).collect(),
                })
                .collect(),
        }
    }
}

/// Writes `metrics.json` (compact: a long run's points would make a pretty-printed file
/// several times larger).
pub fn write_json<W: io::Write>(rec: &Recorder, out: W) -> serde_json::Result<()> {
    serde_json::to_writer(out, &Streamed(rec))
}

/// [`MetricsJson::of`] serialized from the recorder as it is read, rather than copied first
/// (the same bytes: the same fields in the same order).
struct Streamed<'a>(&'a Recorder);

impl Serialize for Streamed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Series<'a>(super::SeriesView<'a>);
        impl Serialize for Series<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut st = s.serialize_struct("SeriesJson", 4)?;
                st.serialize_field("metric", self.0.metric)?;
                st.serialize_field("object", self.0.object)?;
                st.serialize_field("unit", self.0.unit)?;
                st.serialize_field("points", &Points(&self.0))?;
                st.end()
            }
        }
        struct Points<'a, 'b>(&'b super::SeriesView<'a>);
        impl Serialize for Points<'_, '_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.points().map(|(t, v)| (Num(t), Num(v))))
            }
        }
        struct AllSeries<'a>(&'a Recorder);
        impl Serialize for AllSeries<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(Series))
            }
        }
        let mut st = s.serialize_struct("MetricsJson", 2)?;
        st.serialize_field("resolutionSeconds", &Num(self.0.resolution().as_secs_f64()))?;
        st.serialize_field("series", &AllSeries(self.0))?;
        st.end()
    }
}

/// Reads `metrics.json` back into a recorder, so a report can be redrawn from a run's outputs
/// alone (`kubesim report OUTDIR`).
pub fn read_json(bytes: &[u8]) -> Result<Recorder, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct File {
        resolution_seconds: f64,
        series: Vec<Series>,
    }
    #[derive(serde::Deserialize)]
    struct Series {
        metric: String,
        object: String,
        points: Vec<(f64, f64)>,
    }
    let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if !(file.resolution_seconds.is_finite() && file.resolution_seconds > 0.0) {
        return Err(format!(
            "resolutionSeconds must be a positive number, got {}",
            file.resolution_seconds
        ));
    }
    let step = file.resolution_seconds;
    let resolution = sim_core::SimDuration::from_nanos((step * 1e9).round() as u64);
    let config = super::MetricsConfig {
        enabled: true,
        resolution,
        nodes: false,
    };
    let mut rec = Recorder::new(config, sim_core::SimTime::ZERO, Default::default());
    rec.resolution = resolution;
    for s in file.series {
        let index = |t: f64| (t / step).round().clamp(0.0, f64::from(u32::MAX)) as u32;
        let first = s.points.first().map_or(0, |p| index(p.0));
        let mut values = Vec::new();
        for (t, v) in s.points {
            let i = index(t).saturating_sub(first) as usize;
            if values.len() <= i {
                values.resize(i, f64::NAN);
                values.push(v);
            }
        }
        rec.recorded = rec.recorded.max(first + values.len() as u32);
        let id = super::SeriesId(rec.series.len() as u32);
        rec.ids.insert((s.metric.clone(), s.object.clone()), id);
        rec.series.push(super::SeriesData {
            unit: super::unit_of(&s.metric),
            metric: s.metric,
            object: s.object,
            first,
            values,
        });
    }
    Ok(rec)
}
