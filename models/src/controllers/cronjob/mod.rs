//! The CronJob controller (upstream `pkg/controller/cronjob`).

pub mod controller;
pub mod schedule;
