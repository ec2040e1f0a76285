//! [`Spanned<T>`]: a value with the line, column and field path it was read from.

use std::borrow::Borrow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use serde::de::value::{
    BorrowedStrDeserializer, BytesDeserializer, EnumAccessDeserializer, MapAccessDeserializer,
    SeqAccessDeserializer, UnitDeserializer,
};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, Visitor};
use serde::{Serialize, Serializer};

/// The newtype-struct name by which `Spanned<T>` asks our deserializer for its location.
pub(crate) const SPANNED_NAME: &str = "$__archway_source_Spanned";

/// A location handed from our deserializer to `Spanned::deserialize`.
pub(crate) struct Location {
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) path: String,
}

thread_local! {
    // Set by our deserializer right before it calls `visit_newtype_struct` for `SPANNED_NAME`,
    // taken by `SpannedVisitor::visit_newtype_struct` before it deserializes anything else, and
    // cleared by the deserializer afterwards. Any other deserializer leaves it empty, so
    // `Spanned<T>` then falls back to a plain `T` without a location.
    static PENDING: Cell<Option<Location>> = const { Cell::new(None) };
}

pub(crate) fn set_pending(location: Option<Location>) {
    PENDING.with(|p| p.set(location));
}

fn take_pending() -> Option<Location> {
    PENDING.with(Cell::take)
}

/// A value together with where it was read: 1-based `line` and `column` (0 when unknown, e.g.
/// when built in code or deserialized by another deserializer such as `serde_json`) and the
/// field path (`apis[0].routes["GET /pets"]`, empty for the document root or when unknown).
///
/// Equality, ordering and hashing look at `value` only. Serializes as just `value`.
#[derive(Clone, Default)]
pub struct Spanned<T> {
    pub value: T,
    pub line: u32,
    pub column: u32,
    pub path: String,
}

impl<T> Spanned<T> {
    /// A value without a location (line 0, empty path).
    pub fn new(value: T) -> Self {
        Spanned {
            value,
            line: 0,
            column: 0,
            path: String::new(),
        }
    }

    /// A value with a location.
    pub fn with_location(value: T, line: u32, column: u32, path: impl Into<String>) -> Self {
        Spanned {
            value,
            line,
            column,
            path: path.into(),
        }
    }

    /// Whether this value knows the line it came from.
    pub fn has_location(&self) -> bool {
        self.line != 0
    }

    pub fn into_inner(self) -> T {
        self.value
    }

    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// Transforms the value, keeping the location.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned {
            value: f(self.value),
            line: self.line,
            column: self.column,
            path: self.path,
        }
    }

    /// The same location with another value.
    pub fn with_value<U>(&self, value: U) -> Spanned<U> {
        Spanned {
            value,
            line: self.line,
            column: self.column,
            path: self.path.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spanned")
            .field("value", &self.value)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("path", &self.path)
            .finish()
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T> From<T> for Spanned<T> {
    fn from(value: T) -> Self {
        Spanned::new(value)
    }
}

impl<T> Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Spanned<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> AsRef<T> for Spanned<T> {
    fn as_ref(&self) -> &T {
        &self.value
    }
}

impl Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T: PartialOrd> PartialOrd for Spanned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord> Ord for Spanned<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(SPANNED_NAME, SpannedVisitor(PhantomData))
    }
}

struct SpannedVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
    type Value = Spanned<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // Take the location first: deserializing `T` may meet other `Spanned` values.
        let location = take_pending();
        let value = T::deserialize(d)?;
        Ok(match location {
            Some(l) => Spanned::with_location(value, l.line, l.column, l.path),
            None => Spanned::new(value),
        })
    }

    // Deserializers that forward `deserialize_newtype_struct` to `deserialize_any` end up below:
    // hand the value to `T` as it is.

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        T::deserialize(BorrowedStrDeserializer::new(v)).map(Spanned::new)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(Spanned::new)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        T::deserialize(BytesDeserializer::new(v)).map(Spanned::new)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        T::deserialize(UnitDeserializer::new()).map(Spanned::new)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        T::deserialize(UnitDeserializer::new()).map(Spanned::new)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        T::deserialize(d).map(Spanned::new)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::deserialize(SeqAccessDeserializer::new(seq)).map(Spanned::new)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Spanned::new)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        T::deserialize(EnumAccessDeserializer::new(data)).map(Spanned::new)
    }
}
