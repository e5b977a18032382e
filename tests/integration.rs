//! The integration suites, one module per theme, linked into one test binary: each of the
//! 49 themes was its own ~140 MB binary that relinked the whole simulator, which cost CI minutes
//! and gigabytes of disk. Run one theme with `cargo test --test integration -- <theme>::`.

#[path = "common/golden.rs"]
mod golden;
#[path = "common/support.rs"]
mod support;

mod cli;
mod cli_compare;
mod cli_expect;
mod cli_explain;
mod cli_get;
mod cli_outputs;
mod cluster_autoscaler;
mod cluster_import;
mod control_plane;
mod control_plane_ha;
mod control_plane_props;
mod digest;
mod faults;
mod faults_props;
mod fuzz_corpus;
mod headline_figures;
mod hostile_inputs;
mod hpa;
mod kubelet;
mod kubelet_pressure;
mod loading_real_inputs;
mod loading_workload_kinds;
mod memory;
mod metrics;
mod node_failure;
mod node_lifecycle;
mod openb_replay;
mod pod_cap;
mod preemption;
mod preemption_fidelity;
mod profiles;
mod quota;
mod real_inputs_run;
mod scenario_errors;
mod scenarios;
mod scheduling_latency;
mod scheduling_queue;
mod services;
mod storage;
mod teaching_scenarios;
mod topology;
mod traffic_cluster;
mod traffic_queueing;
mod value_ranges;
mod workload_kinds_props;
mod workloads_cronjob;
mod workloads_daemonset;
mod workloads_job;
mod workloads_statefulset;
