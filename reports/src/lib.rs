//! Turns the records of a kubesim run into things people read: a summary table for the
//! terminal, `summary.json`, the event log (JSON lines and a `kubectl get events`-style text),
//! and the `explain` answer (a pod's scheduling and the whole life of a pod or a node). Files are written atomically: a run interrupted while writing
//! leaves every earlier file whole and never a half-written one.

pub mod compare;
pub mod compare_html;
pub mod event_log;
pub mod explain;
pub mod html;
pub mod life;
pub mod output;
pub mod placement;
pub mod plot;
pub mod report_views;
pub mod table;

pub use compare::{ComparisonReport, comparison_report};
pub use compare_html::comparison_html;
pub use explain::{ExplainReport, PodExplanation, explain_report};
pub use life::{NodeLife, PodLife, node_life, pod_life};
pub use output::{
    OutputSet, ReportData, render_report, write_atomic, write_report, write_run_outputs,
    write_run_tables,
};
pub use table::summary_table;
