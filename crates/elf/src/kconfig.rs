//! A kernel `.config` (plain or gzip, like `/proc/config.gz`) as libbpf reads it for
//! `__kconfig` externs: `CONFIG_NAME=value` lines in order, everything else ignored.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The `CONFIG_*=value` lines of a kernel configuration, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kconfig {
    /// Where it came from (for messages).
    pub source: String,
    /// `(CONFIG_NAME, value)` as written (quotes kept on strings).
    pub entries: Vec<(String, String)>,
}

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KconfigError {
    /// Reading or decompressing failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The OS or gzip error.
        error: String,
    },
    /// No configuration where one was looked for.
    #[error("kernel config needed for {what} but none found (tried {tried}); give one with --kconfig FILE")]
    Unavailable {
        /// The extern that needs it.
        what: String,
        /// The paths looked at.
        tried: String,
    },
    /// A line libbpf refuses (`failed to parse '...': no separator`).
    #[error("{file}: failed to parse '{line}': no separator")]
    Syntax {
        /// The file.
        file: String,
        /// The line.
        line: String,
    },
}

impl Kconfig {
    /// Parses configuration text.
    pub fn parse(source: &str, text: &str) -> Result<Kconfig, KconfigError> {
        let mut entries = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches(['\n', '\r']);
            if !line.starts_with("CONFIG_") {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(KconfigError::Syntax { file: source.to_string(), line: line.to_string() });
            };
            entries.push((name.to_string(), value.to_string()));
        }
        Ok(Kconfig { source: source.to_string(), entries })
    }

    /// Reads a file, gunzipping it when it starts with the gzip magic.
    pub fn load(path: &Path) -> Result<Kconfig, KconfigError> {
        let io = |error: String| KconfigError::Io { path: path.display().to_string(), error };
        let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s).map_err(|e| io(e.to_string()))?;
            s
        } else {
            String::from_utf8(bytes).map_err(|_| io("not UTF-8 text".into()))?
        };
        Kconfig::parse(&path.display().to_string(), &text)
    }

    /// The running kernel's configuration: `/proc/config.gz`, else `/boot/config-$(uname -r)`
    /// (libbpf's order).
    pub fn running_kernel(what: &str) -> Result<Kconfig, KconfigError> {
        let mut tried = vec![PathBuf::from("/proc/config.gz")];
        if let Some(release) = crate::externs::uname_release() {
            tried.push(PathBuf::from(format!("/boot/config-{release}")));
        }
        for p in &tried {
            if p.exists() {
                return Kconfig::load(p);
            }
        }
        Err(KconfigError::Unavailable {
            what: what.to_string(),
            tried: tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let k =
            Kconfig::parse("t", "# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S=\"x y\"\n\nFOO=1\n")
                .unwrap();
        assert_eq!(k.entries, [("CONFIG_A".into(), "y".into()), ("CONFIG_S".into(), "\"x y\"".into())]);
        assert!(matches!(Kconfig::parse("t", "CONFIG_X\n"), Err(KconfigError::Syntax { .. })));
    }

    #[test]
    fn gzip() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("kbpf-kconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("config.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"CONFIG_HZ=250\n").unwrap();
        std::fs::write(&p, e.finish().unwrap()).unwrap();
        assert_eq!(Kconfig::load(&p).unwrap().entries, [("CONFIG_HZ".into(), "250".into())]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
