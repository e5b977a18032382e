//! Which fields does the struct at a path of a serde type accept?
//!
//! k8s-openapi silently skips unknown fields; serde_ignored tells us which ones were skipped,
//! but not what the author probably meant. The generated `Deserialize` impls hand their field
//! list to `deserialize_struct`, so a deserializer that walks down the path (offering exactly
//! one key or element at each level) and stops at the target struct can read that list. No
//! data is deserialized; the walk ends with an error on purpose.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::source::Seg;

type Found = Option<(&'static str, &'static [&'static str])>;

/// The struct name and field names serde expects at `path` inside `T`, if `T` has a struct
/// there.
pub(crate) fn expected_fields<T: de::DeserializeOwned>(path: &[Seg]) -> Found {
    let found = Cell::new(None);
    let _ = T::deserialize(Probe {
        path,
        found: &found,
    });
    found.get()
}

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe stopped")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Stop
    }
}

#[derive(Clone, Copy)]
struct Probe<'a> {
    path: &'a [Seg],
    found: &'a Cell<Found>,
}

impl<'a> Probe<'a> {
    fn rest(self) -> Option<(&'a Seg, Probe<'a>)> {
        let (first, rest) = self.path.split_first()?;
        Some((
            first,
            Probe {
                path: rest,
                found: self.found,
            },
        ))
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match self.rest() {
            None => {
                self.found.set(Some((name, fields)));
                Err(Stop)
            }
            Some((Seg::Key(key), next)) => visitor.visit_map(OneEntry {
                key: Some(key.clone()),
                value: next,
            }),
            Some((Seg::Index(_), _)) => Err(Stop),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.rest() {
            Some((Seg::Key(key), next)) => visitor.visit_map(OneEntry {
                key: Some(key.clone()),
                value: next,
            }),
            _ => Err(Stop),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        match self.rest() {
            Some((Seg::Index(_), next)) => visitor.visit_seq(OneItem { value: Some(next) }),
            _ => Err(Stop),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

struct OneEntry<'a> {
    key: Option<String>,
    value: Probe<'a>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        seed.deserialize(self.value)
    }
}

struct OneItem<'a> {
    value: Option<Probe<'a>>,
}

impl<'de> SeqAccess<'de> for OneItem<'_> {
    type Error = Stop;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Stop> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;

    fn keys(path: &[&str]) -> Vec<Seg> {
        path.iter()
            .map(|p| p.parse::<usize>().map_or_else(|_| Seg::key(p), Seg::Index))
            .collect()
    }

    #[test]
    fn reads_field_lists_of_nested_k8s_structs() {
        let (name, fields) = expected_fields::<Deployment>(&keys(&["spec"])).unwrap();
        assert_eq!(name, "DeploymentSpec");
        assert!(fields.contains(&"replicas"));
        let (name, fields) =
            expected_fields::<Deployment>(&keys(&["spec", "template", "spec", "containers", "0"]))
                .unwrap();
        assert_eq!(name, "Container");
        assert!(fields.contains(&"resources"));
        let (name, _) = expected_fields::<Deployment>(&[]).unwrap();
        assert_eq!(name, "Deployment");
        // Through a map (labels) there is no struct to find.
        assert!(expected_fields::<Deployment>(&keys(&["metadata", "labels", "app"])).is_none());
    }
}
