//! The errno values a `bpf()` call returns, as an enum with the C names.

use serde::{Deserialize, Serialize};

macro_rules! errnos {
    ($($name:ident = $val:expr),* $(,)?) => {
        /// An errno returned by the kernel (`Other` keeps values not listed).
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub enum Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($val), ")")]
                $name,
            )*
            /// Any other value.
            Other(i32),
        }

        impl Errno {
            /// Maps a raw positive errno.
            pub fn from_raw(v: i32) -> Errno {
                match v {
                    $($val => Errno::$name,)*
                    other => Errno::Other(other),
                }
            }

            /// The raw positive value.
            pub fn raw(self) -> i32 {
                match self {
                    $(Errno::$name => $val,)*
                    Errno::Other(v) => v,
                }
            }

            /// The C name, e.g. `"EACCES"` (`"E<n>"` for unlisted values).
            pub fn name(self) -> String {
                match self {
                    $(Errno::$name => stringify!($name).to_string(),)*
                    Errno::Other(v) => format!("E{v}"),
                }
            }

            /// Parses a name produced by [`Errno::name`].
            pub fn from_name(s: &str) -> Option<Errno> {
                match s {
                    $(stringify!($name) => Some(Errno::$name),)*
                    _ => s.strip_prefix('E')?.parse().ok().map(Errno::from_raw),
                }
            }
        }
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    E2BIG = 7,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    EINVAL = 22,
    EMFILE = 24,
    ENOSPC = 28,
    ERANGE = 34,
    EDEADLK = 35,
    ENOSYS = 38,
    ELOOP = 40,
    EPROTO = 71,
    EOPNOTSUPP = 95,
    ENOTSUPP = 524,
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl From<Errno> for String {
    fn from(e: Errno) -> String {
        e.name()
    }
}

impl TryFrom<String> for Errno {
    type Error = String;
    fn try_from(s: String) -> Result<Errno, String> {
        Errno::from_name(&s).ok_or_else(|| format!("unknown errno name {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in 1..600 {
            let e = Errno::from_raw(v);
            assert_eq!(e.raw(), v);
            assert_eq!(Errno::from_name(&e.name()), Some(e));
        }
        assert_eq!(Errno::EACCES.name(), "EACCES");
        assert_eq!(Errno::from_raw(13), Errno::EACCES);
    }
}
