//! The recorder's files: `metrics.csv`, one tidy row per sample and series
//! (`time_s,metric,object,value`, by time then series id), and `metrics.json`, one entry per
//! series with its points.

use std::io;

use serde::Serialize;

use super::Recorder;

/// Writes the tidy CSV. Times are whole seconds (the resolution is a whole number of
/// seconds unless a scenario asks for less, then they carry the fraction).
pub fn write_csv<W: io::Write>(rec: &Recorder, out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["time_s", "metric", "object", "value"])?;
    let series: Vec<_> = rec.iter().collect();
    let mut value = String::new();
    for i in 0..rec.samples() {
        let time = seconds_text(rec.time_of(i).as_secs_f64());
        for s in &series {
            if let Some(v) = s.at(i) {
                value.clear();
                value.push_str(&v.to_string());
                w.write_record([time.as_str(), s.metric, s.object, value.as_str()])?;
            }
        }
    }
    w.flush()?;
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
    serde_json::to_writer(out, &MetricsJson::of(rec))
}
