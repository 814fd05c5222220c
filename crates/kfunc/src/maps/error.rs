//! Failed map operations and the errnos helpers return for them.

use kbpf_isa::MapType;
use thiserror::Error;

/// A failed map operation, with the kernel's errno.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MapError {
    /// `-ENOENT`: no such element.
    #[error("no such element (ENOENT)")]
    NoEntry,
    /// `-EEXIST`: `BPF_NOEXIST` on an existing element.
    #[error("element exists (EEXIST)")]
    Exists,
    /// `-E2BIG`: index beyond `max_entries`, or a full hash map.
    #[error("index out of range or map full (E2BIG)")]
    TooBig,
    /// `-EINVAL`: bad flags, sizes, or an operation the map type lacks.
    #[error("invalid argument (EINVAL): {0}")]
    Invalid(String),
    /// The map type has no runtime in kbpf.
    #[error("map `{0}`: type {1} is not supported by the kbpf map runtime")]
    Unsupported(String, MapType),
}

impl MapError {
    /// The negative errno a helper returns.
    pub fn errno(&self) -> i64 {
        match self {
            MapError::NoEntry => -2,
            MapError::Exists => -17,
            MapError::TooBig => -7,
            MapError::Invalid(_) | MapError::Unsupported(..) => -22,
        }
    }
}
