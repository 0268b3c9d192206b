//! Field-by-field annotation of a frame: what the hex↔field inspector shows.

use serde::{Deserialize, Serialize};

/// One named field of a frame: which bytes (and, for flags, which bits) it occupies,
/// its value as the protocol tools print it, and what it means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The RFC's name: "Sequence Number".
    pub name: String,
    /// First byte, counted from the start of the frame.
    pub start: usize,
    /// Length in bytes (a bit field names the bytes that hold it).
    pub len: usize,
    /// For bit fields: the mask of the bits within those bytes, most significant first.
    pub bits: Option<u32>,
    /// The value as a person reads it: "3216530234", "0x5018", "SYN".
    pub value: String,
    /// A short explanation: "the first byte this segment carries".
    pub meaning: String,
    /// 0 for top-level fields; children (flag bits, option parts) are deeper.
    pub depth: u8,
}

impl Field {
    pub fn new(
        name: impl Into<String>,
        start: usize,
        len: usize,
        value: impl Into<String>,
        meaning: impl Into<String>,
    ) -> Self {
        Field { name: name.into(), start, len, bits: None, value: value.into(), meaning: meaning.into(), depth: 0 }
    }

    /// The same field as a bit field inside its bytes.
    pub fn with_bits(mut self, mask: u32) -> Self {
        self.bits = Some(mask);
        self
    }

    /// The same field one level deeper in the tree.
    pub fn child(mut self) -> Self {
        self.depth += 1;
        self
    }

    /// The byte range this field covers.
    pub fn range(&self) -> core::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// A frame explained: a one-line summary ("SYN seq=100 win=64240") and its fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    pub protocol: String,
    pub summary: String,
    pub fields: Vec<Field>,
    /// Set when the bytes could not be fully parsed; the fields cover what could be.
    pub error: Option<String>,
}

impl Annotation {
    /// The deepest field that covers byte `index` (what the inspector highlights on hover).
    pub fn field_at(&self, index: usize) -> Option<usize> {
        self.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.range().contains(&index))
            .max_by_key(|(_, f)| f.depth)
            .map(|(i, _)| i)
    }
}
