//! The CronJob controller (upstream `pkg/controller/cronjob`).

pub mod schedule;
