//! Resource lists in upstream's integer units: CPU in millicores (`MilliValue()`), everything
//! else in whole units (`Value()`): bytes for memory and ephemeral storage, counts for pods and
//! extended resources such as `nvidia.com/gpu`.

use std::fmt;

/// A resource name. Extended resources keep their full name (`nvidia.com/gpu`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    Cpu,
    Memory,
    EphemeralStorage,
    Pods,
    Extended(String),
}

impl ResourceName {
    pub fn parse(name: &str) -> ResourceName {
        match name {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            "ephemeral-storage" => ResourceName::EphemeralStorage,
            "pods" => ResourceName::Pods,
            other => ResourceName::Extended(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
            ResourceName::EphemeralStorage => "ephemeral-storage",
            ResourceName::Pods => "pods",
            ResourceName::Extended(name) => name,
        }
    }

    /// Upstream's amount of a quantity for this resource: millis for CPU, units otherwise.
    pub fn amount(&self, q: &super::Quantity) -> i64 {
        match self {
            ResourceName::Cpu => q.milli_value(),
            _ => q.value(),
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Amounts of resources. The four well-known resources are fields so the scheduler's hot path
/// never looks anything up; extended resources are a short vector sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceList {
    pub cpu_milli: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    pub extended: Vec<(String, i64)>,
}

impl ResourceList {
    pub fn get(&self, name: &ResourceName) -> i64 {
        match name {
            ResourceName::Cpu => self.cpu_milli,
            ResourceName::Memory => self.memory,
            ResourceName::EphemeralStorage => self.ephemeral_storage,
            ResourceName::Pods => self.pods,
            ResourceName::Extended(n) => self.extended_amount(n),
        }
    }

    pub fn extended_amount(&self, name: &str) -> i64 {
        self.extended
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .map_or(0, |i| self.extended[i].1)
    }

    pub fn set(&mut self, name: &ResourceName, amount: i64) {
        match name {
            ResourceName::Cpu => self.cpu_milli = amount,
            ResourceName::Memory => self.memory = amount,
            ResourceName::EphemeralStorage => self.ephemeral_storage = amount,
            ResourceName::Pods => self.pods = amount,
            ResourceName::Extended(n) => {
                match self.extended.binary_search_by(|(k, _)| k.as_str().cmp(n)) {
                    Ok(i) => self.extended[i].1 = amount,
                    Err(i) => self.extended.insert(i, (n.clone(), amount)),
                }
            }
        }
    }

    /// Adds `other` into `self` (saturating: amounts are validated far below i64::MAX).
    pub fn add(&mut self, other: &ResourceList) {
        self.cpu_milli = self.cpu_milli.saturating_add(other.cpu_milli);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_add(other.ephemeral_storage);
        self.pods = self.pods.saturating_add(other.pods);
        for (name, amount) in &other.extended {
            let cur = self.extended_amount(name);
            self.set(
                &ResourceName::Extended(name.clone()),
                cur.saturating_add(*amount),
            );
        }
    }

    /// Subtracts `other` from `self`.
    pub fn sub(&mut self, other: &ResourceList) {
        self.cpu_milli = self.cpu_milli.saturating_sub(other.cpu_milli);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self
            .ephemeral_storage
            .saturating_sub(other.ephemeral_storage);
        self.pods = self.pods.saturating_sub(other.pods);
        for (name, amount) in &other.extended {
            let cur = self.extended_amount(name);
            self.set(
                &ResourceName::Extended(name.clone()),
                cur.saturating_sub(*amount),
            );
        }
    }

    /// Per-resource maximum, as upstream combines init containers with the app containers.
    pub fn max_with(&mut self, other: &ResourceList) {
        self.cpu_milli = self.cpu_milli.max(other.cpu_milli);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.pods = self.pods.max(other.pods);
        for (name, amount) in &other.extended {
            let cur = self.extended_amount(name);
            if *amount > cur {
                self.set(&ResourceName::Extended(name.clone()), *amount);
            }
        }
    }

    /// True when every amount is zero (upstream's early return in the fit filter).
    pub fn is_zero(&self) -> bool {
        self.cpu_milli == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.extended.iter().all(|(_, a)| *a == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sub_and_max_cover_extended_resources() {
        let gpu = ResourceName::Extended("nvidia.com/gpu".into());
        let mut a = ResourceList {
            cpu_milli: 100,
            ..Default::default()
        };
        a.set(&gpu, 1);
        let mut b = ResourceList {
            cpu_milli: 250,
            memory: 10,
            ..Default::default()
        };
        b.set(&gpu, 2);
        let mut sum = a.clone();
        sum.add(&b);
        assert_eq!((sum.cpu_milli, sum.memory, sum.get(&gpu)), (350, 10, 3));
        sum.sub(&a);
        assert_eq!(sum, b);
        a.max_with(&b);
        assert_eq!((a.cpu_milli, a.get(&gpu)), (250, 2));
    }
}
