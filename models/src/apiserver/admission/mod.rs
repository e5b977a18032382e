//! Upstream admission plugins that decide on an object as it is created: ResourceQuota and LimitRanger.

pub mod limit_range;
pub mod quota;
