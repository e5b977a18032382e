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
                write_value(&mut row, v);
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

#[cfg(test)]
pub(super) fn write_value_for_test(row: &mut Vec<u8>, value: f64) {
    write_value(row, value)
}

/// `value` and a newline, as `{value}` prints it. Most values are counts, millicores or bytes:
/// a whole number is printed as the integer it is (the same text, without formatting a float).
fn write_value(row: &mut Vec<u8>, value: f64) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    // -0 prints as `-0`: it takes the float's path.
    let whole =
        value.fract() == 0.0 && value.abs() < EXACT && (value != 0.0 || value.is_sign_positive());
    // Writing into a Vec cannot fail.
    let _ = if whole {
        writeln!(row, "{}", value as i64)
    } else {
        writeln!(row, "{value}")
    };
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
/// alone (`kubesim report OUTDIR`). Each series' points go straight into its column of values
/// as they are parsed (the file names `resolutionSeconds` first), so reading a long run's file
/// holds the values, not a copy of every point as well.
pub fn read_json(bytes: &[u8]) -> Result<Recorder, String> {
    read_from(serde_json::Deserializer::from_slice(bytes))
}

/// [`read_json`] from a reader (give it a buffered one): a long run's file is parsed as it is
/// read, not held whole.
pub fn read_json_from<R: io::Read>(reader: R) -> Result<Recorder, String> {
    read_from(serde_json::Deserializer::from_reader(reader))
}

fn read_from<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<Recorder, String> {
    let file = serde::Deserializer::deserialize_map(&mut de, FileVisitor)
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| e.to_string())?;
    let step = file.step.ok_or("missing field `resolutionSeconds`")?;
    let resolution = sim_core::SimDuration::from_nanos((step * 1e9).round() as u64);
    let config = super::MetricsConfig {
        enabled: true,
        resolution,
        nodes: false,
    };
    let mut rec = Recorder::new(config, sim_core::SimTime::ZERO, Default::default());
    rec.resolution = resolution;
    let series = match file.series {
        ReadSeries::Converted(s) => s,
        ReadSeries::Raw(raw) => raw
            .into_iter()
            .map(|s| Column::from_points(step, s.metric, s.object, s.points))
            .collect(),
        ReadSeries::Missing => return Err("missing field `series`".into()),
    };
    for c in series {
        rec.recorded = rec.recorded.max(c.first + c.values.len() as u32);
        let id = super::SeriesId(rec.series.len() as u32);
        rec.ids
            .entry(c.metric.clone())
            .or_default()
            .insert(c.object.clone(), id);
        rec.series.push(super::SeriesData {
            unit: super::unit_of(&c.metric),
            metric: c.metric,
            object: c.object,
            first: c.first,
            values: c.values,
        });
    }
    Ok(rec)
}

/// A series read back: its values by column from the sample index `first`.
struct Column {
    metric: String,
    object: String,
    first: u32,
    values: Vec<f64>,
}

impl Column {
    fn new(metric: String, object: String) -> Self {
        Column {
            metric,
            object,
            first: 0,
            values: Vec::new(),
        }
    }

    /// Adds the point `(t, v)`: its sample index is `t / step`, rounded; a point at or before
    /// one already held is dropped, missing samples between points are NaN.
    fn push(&mut self, step: f64, (t, v): (f64, f64)) {
        let index = (t / step).round().clamp(0.0, f64::from(u32::MAX)) as u32;
        if self.values.is_empty() {
            self.first = index;
        }
        let i = index.saturating_sub(self.first) as usize;
        if self.values.len() <= i {
            self.values.resize(i, f64::NAN);
            self.values.push(v);
        }
    }

    fn from_points(step: f64, metric: String, object: String, points: Vec<(f64, f64)>) -> Self {
        let mut c = Column::new(metric, object);
        for p in points {
            c.push(step, p);
        }
        c
    }
}

enum ReadSeries {
    Missing,
    /// Read after `resolutionSeconds`: converted as parsed.
    Converted(Vec<Column>),
    /// Read before it (a file written by hand): converted at the end.
    Raw(Vec<RawSeries>),
}

struct ReadFile {
    step: Option<f64>,
    series: ReadSeries,
}

struct FileVisitor;

impl<'de> serde::de::Visitor<'de> for FileVisitor {
    type Value = ReadFile;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with resolutionSeconds and series")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ReadFile, A::Error> {
        use serde::de::Error;
        let mut file = ReadFile {
            step: None,
            series: ReadSeries::Missing,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "resolutionSeconds" => {
                    let step: f64 = map.next_value()?;
                    if !(step.is_finite() && step > 0.0) {
                        return Err(A::Error::custom(format!(
                            "resolutionSeconds must be a positive number, got {step}"
                        )));
                    }
                    file.step = Some(step);
                }
                "series" => {
                    file.series = match file.step {
                        Some(step) => ReadSeries::Converted(map.next_value_seed(AllSeries(step))?),
                        None => ReadSeries::Raw(map.next_value()?),
                    }
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(file)
    }
}

#[derive(serde::Deserialize)]
struct RawSeries {
    metric: String,
    object: String,
    points: Vec<(f64, f64)>,
}

/// The `series` array, each series converted to a [`Column`] as it is parsed.
struct AllSeries(f64);

impl<'de> serde::de::DeserializeSeed<'de> for AllSeries {
    type Value = Vec<Column>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Column>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AllSeries {
    type Value = Vec<Column>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of series")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Column>, A::Error> {
        let mut out = Vec::new();
        while let Some(c) = seq.next_element_seed(OneSeries(self.0))? {
            out.push(c);
        }
        Ok(out)
    }
}

/// One series object: `metric`, `object` and its `points` (other fields are ignored).
struct OneSeries(f64);

impl<'de> serde::de::DeserializeSeed<'de> for OneSeries {
    type Value = Column;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Column, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OneSeries {
    type Value = Column;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a series with metric, object and points")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Column, A::Error> {
        use serde::de::Error;
        let (mut metric, mut object, mut points) = (None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "metric" => metric = Some(map.next_value::<String>()?),
                "object" => object = Some(map.next_value::<String>()?),
                "points" => points = Some(map.next_value_seed(PointsSeed(self.0))?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let metric = metric.ok_or_else(|| A::Error::missing_field("metric"))?;
        let object = object.ok_or_else(|| A::Error::missing_field("object"))?;
        let mut c: Column = points.ok_or_else(|| A::Error::missing_field("points"))?;
        c.metric = metric;
        c.object = object;
        Ok(c)
    }
}

/// A series' `[seconds, value]` pairs, pushed into a [`Column`] one by one.
struct PointsSeed(f64);

impl<'de> serde::de::DeserializeSeed<'de> for PointsSeed {
    type Value = Column;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Column, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PointsSeed {
    type Value = Column;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of [seconds, value] pairs")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Column, A::Error> {
        let mut c = Column::new(String::new(), String::new());
        while let Some(p) = seq.next_element::<(f64, f64)>()? {
            c.push(self.0, p);
        }
        Ok(c)
    }
}
