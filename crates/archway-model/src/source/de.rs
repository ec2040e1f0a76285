//! A serde `Deserializer` over a [`Node`] tree that records problems instead of stopping.
//!
//! Recoverable problems (unknown keys, wrong types, integers out of range) are recorded with the
//! node's line, column and path, and an empty/zero value is handed to the visitor instead so that
//! the rest of the tree is still checked. Errors raised by the visitor or a `Deserialize` impl
//! (missing field, unknown variant, custom) unwind: the innermost node that sees such an error
//! records it once (`Error::reported`) and deserialization stops.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::node::truncate;
use super::path::Path;
use super::spanned::{set_pending, Location, SPANNED_NAME};
use super::{Diagnostic, Node, Spanned};

pub(crate) fn deserialize<T: DeserializeOwned>(
    file: &str,
    node: &Spanned<Node>,
) -> (Option<T>, Vec<Diagnostic>) {
    let ctx = Ctx {
        file,
        diags: RefCell::new(Vec::new()),
    };
    let root = Path::ROOT;
    let de = De {
        node,
        path: &root,
        ctx: &ctx,
    };
    let value = match T::deserialize(de) {
        Ok(value) => Some(value),
        Err(e) => {
            de.report(e);
            None
        }
    };
    (value, ctx.diags.into_inner())
}

struct Ctx<'a> {
    file: &'a str,
    diags: RefCell<Vec<Diagnostic>>,
}

impl Ctx<'_> {
    fn error(&self, line: u32, column: u32, path: &Path<'_>, message: String) {
        let diagnostic = Diagnostic::error(self.file, line, column, path.render(), message);
        // Never borrowed across a call, so this always succeeds.
        if let Ok(mut diags) = self.diags.try_borrow_mut() {
            diags.push(diagnostic);
        }
    }
}

/// The deserializer's error: only for problems it cannot recover from.
#[derive(Debug)]
pub(crate) struct Error {
    message: String,
    /// Already recorded as a diagnostic (by the innermost node that saw it).
    reported: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            reported: false,
        }
    }
}

/// Deserializes one node.
#[derive(Clone, Copy)]
struct De<'a> {
    node: &'a Spanned<Node>,
    path: &'a Path<'a>,
    ctx: &'a Ctx<'a>,
}

impl<'a> De<'a> {
    fn error(&self, message: String) {
        self.ctx
            .error(self.node.line, self.node.column, self.path, message);
    }

    fn report(&self, mut e: Error) -> Error {
        if !e.reported {
            self.error(e.message.clone());
            e.reported = true;
        }
        e
    }

    fn wrap<T>(&self, r: Result<T, Error>) -> Result<T, Error> {
        r.map_err(|e| self.report(e))
    }

    fn mismatch(&self, expected: &str) {
        let found = self.node.value.describe();
        let hint = match (&self.node.value, expected) {
            (Node::Int(_) | Node::Float(_) | Node::Bool(_), "a string") => {
                " (quote it to make it a string)"
            }
            _ => "",
        };
        self.error(format!("expected {expected}, found {found}{hint}"));
    }

    fn int<'de, V: Visitor<'de>>(
        self,
        visitor: V,
        ty: &str,
        min: i128,
        max: i128,
    ) -> Result<V::Value, Error> {
        let v = match self.node.value {
            Node::Int(i) if (min..=max).contains(&i128::from(i)) => i,
            Node::Int(i) => {
                self.error(format!(
                    "integer `{i}` is out of range for {ty} ({min}..={max})"
                ));
                0
            }
            _ => {
                self.mismatch("an integer");
                0
            }
        };
        let r = match u64::try_from(v) {
            Ok(u) => visitor.visit_u64(u),
            Err(_) => visitor.visit_i64(v),
        };
        self.wrap(r)
    }

    fn float<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = match self.node.value {
            Node::Int(i) => i as f64,
            Node::Float(f) => f,
            _ => {
                self.mismatch("a number");
                0.0
            }
        };
        self.wrap(visitor.visit_f64(v))
    }

    fn seq<'de, V: Visitor<'de>>(
        self,
        items: &'a [Spanned<Node>],
        visitor: V,
        expected: Option<usize>,
    ) -> Result<V::Value, Error> {
        let mut acc = SeqAcc {
            items: items.iter(),
            index: 0,
            path: self.path,
            ctx: self.ctx,
        };
        let value = self.wrap(visitor.visit_seq(&mut acc))?;
        if acc.items.len() > 0 {
            let message = match expected {
                Some(n) => format!("expected {n} elements, found {}", items.len()),
                None => format!("only {} of {} elements were read", acc.index, items.len()),
            };
            self.error(message);
        }
        Ok(value)
    }

    fn empty_seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_seq(SeqAcc {
            items: [].iter(),
            index: 0,
            path: self.path,
            ctx: self.ctx,
        }))
    }

    fn empty_map<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_map(MapAcc::new([].iter(), self.path, self.ctx)))
    }

    fn location(&self) -> Location {
        Location {
            line: self.node.line,
            column: self.node.column,
            path: self.path.render(),
        }
    }
}

impl<'de> Deserializer<'de> for De<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.value {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Int(i) => visitor.visit_i64(*i),
            Node::Float(f) => visitor.visit_f64(*f),
            Node::Str(s) => visitor.visit_str(s),
            Node::Seq(items) => return self.seq(items, visitor, None),
            Node::Map(entries) => {
                visitor.visit_map(MapAcc::new(entries.iter(), self.path, self.ctx))
            }
        };
        self.wrap(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = match self.node.value {
            Node::Bool(b) => b,
            _ => {
                self.mismatch("a boolean (true or false)");
                false
            }
        };
        self.wrap(visitor.visit_bool(v))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i8", i8::MIN.into(), i8::MAX.into())
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i16", i16::MIN.into(), i16::MAX.into())
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i32", i32::MIN.into(), i32::MAX.into())
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i64", i64::MIN.into(), i64::MAX.into())
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i128", i128::MIN, i128::MAX)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u8", 0, u8::MAX.into())
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u16", 0, u16::MAX.into())
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u32", 0, u32::MAX.into())
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u64", 0, u64::MAX.into())
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u128", 0, i128::MAX)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.float(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.float(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let c = match &self.node.value {
            Node::Str(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            }
            _ => None,
        };
        let c = c.unwrap_or_else(|| {
            self.mismatch("a single character");
            '\0'
        });
        self.wrap(visitor.visit_char(c))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let s = match &self.node.value {
            Node::Str(s) => s.as_str(),
            _ => {
                self.mismatch("a string");
                ""
            }
        };
        self.wrap(visitor.visit_str(s))
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Str(s) => self.wrap(visitor.visit_bytes(s.as_bytes())),
            Node::Seq(items) => self.seq(items, visitor, None),
            _ => {
                self.mismatch("a string");
                self.wrap(visitor.visit_bytes(&[]))
            }
        }
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Node::Null => self.wrap(visitor.visit_none()),
            _ => self.wrap(visitor.visit_some(self)),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if !self.node.value.is_null() {
            self.mismatch("null");
        }
        self.wrap(visitor.visit_unit())
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED_NAME {
            set_pending(Some(self.location()));
            let r = visitor.visit_newtype_struct(self);
            set_pending(None);
            self.wrap(r)
        } else {
            self.wrap(visitor.visit_newtype_struct(self))
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Seq(items) => self.seq(items, visitor, None),
            _ => {
                self.mismatch("a sequence");
                self.empty_seq(visitor)
            }
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Seq(items) => self.seq(items, visitor, Some(len)),
            _ => {
                self.mismatch(&format!("a sequence of {len}"));
                self.empty_seq(visitor)
            }
        }
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Map(entries) => {
                self.wrap(visitor.visit_map(MapAcc::new(entries.iter(), self.path, self.ctx)))
            }
            _ => {
                self.mismatch("a mapping");
                self.empty_map(visitor)
            }
        }
    }

    /// Like `deserialize_map`, but keys not in `fields` are reported and skipped.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let Node::Map(entries) = &self.node.value else {
            self.mismatch("a mapping");
            return self.empty_map(visitor);
        };
        let mut known = Vec::with_capacity(entries.len());
        for entry in entries {
            let key = &entry.0;
            if fields.contains(&key.value.as_str()) {
                known.push(entry);
            } else {
                let path = Path::key(self.path, &key.value);
                self.ctx.error(
                    key.line,
                    key.column,
                    &path,
                    unknown_field(&key.value, fields),
                );
            }
        }
        self.wrap(visitor.visit_map(MapAcc::new(known.into_iter(), self.path, self.ctx)))
    }

    /// Unit variants from a string, other variants from a single-key mapping
    /// (`{ Variant: value }`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Str(s) => self.wrap(visitor.visit_enum(EnumAcc {
                variant: s,
                value: None,
            })),
            Node::Map(entries) => match entries.as_slice() {
                [(key, value)] => {
                    let path = Path::key(self.path, &key.value);
                    let value = De {
                        node: value,
                        path: &path,
                        ctx: self.ctx,
                    };
                    self.wrap(visitor.visit_enum(EnumAcc {
                        variant: &key.value,
                        value: Some(value),
                    }))
                }
                _ => Err(self.report(de::Error::custom(format!(
                    "expected a mapping with a single key (the variant), found {} keys",
                    entries.len()
                )))),
            },
            other => Err(self.report(de::Error::custom(format!(
                "expected a string or a single-key mapping, found {}",
                other.describe()
            )))),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_unit())
    }
}

struct SeqAcc<'a> {
    items: std::slice::Iter<'a, Spanned<Node>>,
    index: usize,
    path: &'a Path<'a>,
    ctx: &'a Ctx<'a>,
}

impl<'de> SeqAccess<'de> for SeqAcc<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::index(self.path, self.index);
        self.index += 1;
        let de = De {
            node,
            path: &path,
            ctx: self.ctx,
        };
        de.wrap(seed.deserialize(de)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

type Entry = (Spanned<String>, Spanned<Node>);

struct MapAcc<'a, I> {
    entries: I,
    current: Option<&'a Entry>,
    path: &'a Path<'a>,
    ctx: &'a Ctx<'a>,
}

impl<'a, I: Iterator<Item = &'a Entry>> MapAcc<'a, I> {
    fn new(entries: I, path: &'a Path<'a>, ctx: &'a Ctx<'a>) -> Self {
        MapAcc {
            entries,
            current: None,
            path,
            ctx,
        }
    }
}

impl<'de, 'a, I: Iterator<Item = &'a Entry>> MapAccess<'de> for MapAcc<'a, I> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key = &entry.0;
        let path = Path::key(self.path, &key.value);
        let de = KeyDe {
            key,
            path: &path,
            ctx: self.ctx,
        };
        de.wrap(seed.deserialize(de)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, node)) = self.current.take() else {
            return Err(de::Error::custom(
                "a map value was requested before its key",
            ));
        };
        let path = Path::key(self.path, &key.value);
        let de = De {
            node,
            path: &path,
            ctx: self.ctx,
        };
        de.wrap(seed.deserialize(de))
    }

    fn size_hint(&self) -> Option<usize> {
        match self.entries.size_hint() {
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        }
    }
}

/// Deserializes a map key: a string, or a number/bool parsed from it (`HashMap<u16, _>`).
#[derive(Clone, Copy)]
struct KeyDe<'a> {
    key: &'a Spanned<String>,
    path: &'a Path<'a>,
    ctx: &'a Ctx<'a>,
}

impl KeyDe<'_> {
    fn error(&self, message: String) {
        self.ctx
            .error(self.key.line, self.key.column, self.path, message);
    }

    fn wrap<T>(&self, r: Result<T, Error>) -> Result<T, Error> {
        r.map_err(|mut e| {
            if !e.reported {
                self.error(e.message.clone());
                e.reported = true;
            }
            e
        })
    }

    fn int<'de, V: Visitor<'de>>(
        self,
        visitor: V,
        ty: &str,
        min: i128,
        max: i128,
    ) -> Result<V::Value, Error> {
        let key = truncate(&self.key.value, 60);
        let v = match self.key.value.parse::<i128>() {
            Ok(v) if (min..=max).contains(&v) => v,
            Ok(_) => {
                self.error(format!(
                    "key `{key}` is out of range for {ty} ({min}..={max})"
                ));
                0
            }
            Err(_) => {
                self.error(format!("expected an integer key, found `{key}`"));
                0
            }
        };
        let r = match (u64::try_from(v), i64::try_from(v)) {
            (Ok(u), _) => visitor.visit_u64(u),
            (_, Ok(i)) => visitor.visit_i64(i),
            _ => visitor.visit_i128(v),
        };
        self.wrap(r)
    }
}

impl<'de> Deserializer<'de> for KeyDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_str(&self.key.value))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = match self.key.value.as_str() {
            "true" => true,
            "false" => false,
            other => {
                self.error(format!(
                    "expected `true` or `false` as key, found `{}`",
                    truncate(other, 60)
                ));
                false
            }
        };
        self.wrap(visitor.visit_bool(v))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i8", i8::MIN.into(), i8::MAX.into())
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i16", i16::MIN.into(), i16::MAX.into())
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i32", i32::MIN.into(), i32::MAX.into())
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i64", i64::MIN.into(), i64::MAX.into())
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "i128", i128::MIN, i128::MAX)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u8", 0, u8::MAX.into())
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u16", 0, u16::MAX.into())
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u32", 0, u32::MAX.into())
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u64", 0, u64::MAX.into())
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int(visitor, "u128", 0, i128::MAX)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = self.key.value.parse::<f64>().unwrap_or_else(|_| {
            self.error(format!(
                "expected a number as key, found `{}`",
                truncate(&self.key.value, 60)
            ));
            0.0
        });
        self.wrap(visitor.visit_f64(v))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_some(self))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED_NAME {
            set_pending(Some(Location {
                line: self.key.line,
                column: self.key.column,
                path: self.path.render(),
            }));
            let r = visitor.visit_newtype_struct(self);
            set_pending(None);
            self.wrap(r)
        } else {
            self.wrap(visitor.visit_newtype_struct(self))
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.wrap(visitor.visit_enum(StrDeserializer::<Error>::new(&self.key.value)))
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

struct EnumAcc<'a> {
    variant: &'a str,
    /// The value of `{ Variant: value }`; `None` for a plain string.
    value: Option<De<'a>>,
}

impl<'de, 'a> EnumAccess<'de> for EnumAcc<'a> {
    type Error = Error;
    type Variant = VariantAcc<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAcc<'a>), Error> {
        let v = seed.deserialize(StrDeserializer::<Error>::new(self.variant))?;
        Ok((
            v,
            VariantAcc {
                variant: self.variant,
                value: self.value,
            },
        ))
    }
}

struct VariantAcc<'a> {
    variant: &'a str,
    value: Option<De<'a>>,
}

impl VariantAcc<'_> {
    fn needs_value(&self) -> Error {
        de::Error::custom(format!(
            "variant `{}` needs a value: write it as `{}: ...`",
            truncate(self.variant, 60),
            truncate(self.variant, 60)
        ))
    }
}

impl<'de> VariantAccess<'de> for VariantAcc<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if let Some(de) = self.value {
            if !de.node.value.is_null() {
                de.mismatch("no value (a plain variant name)");
            }
        }
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(de) => de.wrap(seed.deserialize(de)),
            None => Err(self.needs_value()),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(de) => de.deserialize_tuple(len, visitor),
            None => Err(self.needs_value()),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(de) => de.deserialize_struct("", fields, visitor),
            None => Err(self.needs_value()),
        }
    }
}

/// `unknown field `x` (did you mean `y`?), expected one of `a`, `b``
fn unknown_field(key: &str, fields: &[&str]) -> String {
    let mut message = format!("unknown field `{}`", truncate(key, 60));
    if let Some(suggestion) = suggest(key, fields) {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    if fields.is_empty() {
        message.push_str(", there are no fields");
    } else {
        message.push_str(", expected one of ");
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                message.push_str(", ");
            }
            message.push('`');
            message.push_str(field);
            message.push('`');
        }
    }
    message
}

/// The field `key` was probably meant to be: same ignoring case, `_` and `-`, or a few edits away.
fn suggest<'f>(key: &str, fields: &[&'f str]) -> Option<&'f str> {
    if key.len() > 100 {
        return None;
    }
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let key = norm(key);
    let (distance, best) = fields
        .iter()
        .map(|f| (levenshtein(&key, &norm(f)), *f))
        .min_by_key(|(d, _)| *d)?;
    let limit = match key.len() {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    (distance <= limit).then_some(best)
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let delete = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let insert = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = substitute.min(delete).min(insert);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let fields = ["integration", "uri", "timeoutMs", "authorizer"];
        assert_eq!(suggest("integraton", &fields), Some("integration"));
        assert_eq!(suggest("timeout_ms", &fields), Some("timeoutMs"));
        assert_eq!(suggest("url", &fields), Some("uri"));
        assert_eq!(suggest("zzzzzz", &fields), None);
        let a: Vec<char> = "kitten".chars().collect();
        let b: Vec<char> = "sitting".chars().collect();
        assert_eq!(levenshtein(&a, &b), 3);
    }
}
