//! A position-aware YAML tree, read before the typed pass so that every unknown key in the
//! file is reported at once (serde's `deny_unknown_fields` stops at the first one).

use std::fmt;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::diagnostic::{Diagnostic, Location, did_you_mean};

/// A YAML node with the location of every key and value.
#[derive(Debug)]
pub enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

macro_rules! scalar {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E>(self, _: $ty) -> Result<Node, E> { Ok(Node::Scalar) })*
    };
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str,
        visit_i128: i128, visit_u128: u128, visit_bytes: &[u8]);

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// The keys allowed at one level of the schema, and the schema of each key's value.
#[derive(Debug)]
pub enum Schema {
    /// A mapping with these keys (each with its own schema).
    Map(Vec<(&'static str, Schema)>),
    /// A list whose items follow the schema.
    List(Box<Schema>),
    /// Anything: a scalar, or a structure checked elsewhere.
    Any,
}

/// A raw struct of a YAML file, with its [`Shape`] derived from the same field list, so a new
/// key is one edit and the unknown-key pass knows it at once. A YAML key is its field's name (no
/// `#[serde(rename)]` here: the shape would not see it). Used by the topology's `raw.rs` and by
/// the probe profiles.
macro_rules! raw_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $crate::topology::tree::Shape for $name {
            fn schema() -> $crate::topology::tree::Schema {
                $crate::topology::tree::Schema::Map(vec![$(
                    (stringify!($field), <$ty as $crate::topology::tree::Shape>::schema()),
                )*])
            }
        }
    };
}
pub(crate) use raw_struct;

/// The shape of the YAML a type reads, derived from the type itself ([`raw_struct!`]
/// implements it for a struct from its own field list), so the unknown-key pass can never
/// drift from what the typed pass accepts.
pub trait Shape {
    fn schema() -> Schema;
}

macro_rules! any_shape {
    ($($t:ty),*) => { $(impl Shape for $t { fn schema() -> Schema { Schema::Any } })* };
}
any_shape!(String, bool, u16, u32, u64, f64);

impl<T: Shape> Shape for Option<T> {
    fn schema() -> Schema {
        T::schema()
    }
}

impl<T: Shape> Shape for Vec<T> {
    fn schema() -> Schema {
        Schema::List(Box::new(T::schema()))
    }
}

impl<T: Shape> Shape for Spanned<T> {
    fn schema() -> Schema {
        T::schema()
    }
}

/// The `context` of a key at the top level of the file.
pub const TOP_LEVEL: &str = "the top level";

/// An unknown key: where it is, its name, and the keys allowed there.
pub struct Unknown {
    pub at: serde_saphyr::Location,
    pub key: String,
    pub context: String,
    pub allowed: Vec<&'static str>,
}

impl Unknown {
    /// The problem as a technician reads it: the key, where it is, and the allowed key it is
    /// closest to (or, when none is close, every key allowed there).
    pub fn diagnostic(&self, file: &Path) -> Diagnostic {
        let d = Diagnostic::new(
            Location::new(file, self.at),
            format!("unknown key `{}` in {}", self.key, self.context),
        );
        match did_you_mean(&self.key, self.allowed.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(format!("allowed here: {}", self.allowed.join(", "))),
        }
    }
}

/// Every key in the YAML `text` that `T` does not read, each as a diagnostic with its place and
/// a did-you-mean. `Err` when the text is not YAML at all (the typed pass reports that).
pub fn unknown_key_diagnostics<T: Shape>(
    text: &str,
    file: &Path,
) -> Result<Vec<Diagnostic>, serde_saphyr::Error> {
    let tree: Node = serde_saphyr::from_str(text)?;
    let mut unknown = Vec::new();
    unknown_keys(&tree, &T::schema(), "", &mut unknown);
    Ok(unknown.iter().map(|u| u.diagnostic(file)).collect())
}

/// Walk `node` against `schema` and collect every key the schema does not know.
pub fn unknown_keys(node: &Node, schema: &Schema, context: &str, out: &mut Vec<Unknown>) {
    match (node, schema) {
        (Node::Map(entries), Schema::Map(fields)) => {
            for (key, value) in entries {
                match fields.iter().find(|(name, _)| *name == key.value) {
                    Some((name, sub)) => {
                        let ctx = if context.is_empty() {
                            (*name).to_string()
                        } else {
                            format!("{context}.{name}")
                        };
                        unknown_keys(&value.value, sub, &ctx, out);
                    }
                    None => out.push(Unknown {
                        at: key.referenced,
                        key: key.value.clone(),
                        context: if context.is_empty() {
                            TOP_LEVEL.to_string()
                        } else {
                            format!("`{context}`")
                        },
                        allowed: fields.iter().map(|(n, _)| *n).collect(),
                    }),
                }
            }
        }
        (Node::Seq(items), Schema::List(sub)) => {
            for (i, item) in items.iter().enumerate() {
                unknown_keys(&item.value, sub, &format!("{context}[{i}]"), out);
            }
        }
        // A wrong shape is reported by the typed pass, with its own message.
        _ => {}
    }
}
