//! The target BTF programs are relocated against: vmlinux plus optional module BTF, from the
//! running kernel or from a file (a raw blob such as another machine's `/sys/kernel/btf/vmlinux`,
//! or an ELF whose `.BTF` section holds it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::{Btf, BtfError};

/// Where the running kernel publishes its BTF (a kernel interface, not data of ours).
pub const SYS_KERNEL_BTF: &str = "/sys/kernel/btf";
/// Environment variable naming another directory laid out like [`SYS_KERNEL_BTF`] (a copy
/// of another machine's, a container's mount) for [`TargetBtf::running_kernel`].
pub const KERNEL_BTF_DIR_ENV: &str = "KBPF_KERNEL_BTF_DIR";

/// A target BTF that cannot be loaded, or none when one is needed.
#[derive(Debug, Error)]
pub enum TargetError {
    /// The file cannot be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// The file's BTF is malformed.
    #[error("{}: {error}", path.display())]
    Btf {
        /// File.
        path: PathBuf,
        /// Why.
        error: BtfError,
    },
    /// An ELF file without a usable `.BTF` section.
    #[error("{}: {what}", path.display())]
    Elf {
        /// File.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A program needs target BTF (CO-RE relocations, BTF-attached program types, typed ksyms)
    /// and none is available.
    #[error("{what} needs target BTF, but none is available: {why}; give one with --btf FILE")]
    Unavailable {
        /// What needs it (`CO-RE relocation`, `fentry program 'x'`, ...).
        what: String,
        /// Why none was found.
        why: String,
    },
}

/// vmlinux BTF and the module BTF split on it.
#[derive(Clone, Debug)]
pub struct TargetBtf {
    /// The kernel's BTF.
    pub vmlinux: Arc<Btf>,
    /// `(module name, split BTF on vmlinux)`, in name order.
    pub modules: Vec<(String, Btf)>,
}

fn read(path: &Path) -> Result<Vec<u8>, TargetError> {
    std::fs::read(path).map_err(|e| TargetError::Io { path: path.to_path_buf(), error: e.to_string() })
}

impl TargetBtf {
    /// Target made of one BTF without modules.
    pub fn new(vmlinux: Btf) -> TargetBtf {
        TargetBtf { vmlinux: Arc::new(vmlinux), modules: Vec::new() }
    }

    /// Loads `path`: a raw BTF blob, or an ELF file whose `.BTF` section is used.
    pub fn load(path: &Path) -> Result<TargetBtf, TargetError> {
        let data = read(path)?;
        let raw = if data.starts_with(b"\x7fELF") { elf_btf(path, &data)? } else { data };
        let btf = Btf::parse(&raw).map_err(|error| TargetError::Btf { path: path.to_path_buf(), error })?;
        Ok(TargetBtf::new(btf))
    }

    /// The running kernel's BTF: `/sys/kernel/btf/vmlinux` and every module file beside it
    /// (`$KBPF_KERNEL_BTF_DIR` instead of `/sys/kernel/btf` when set).
    pub fn running_kernel() -> Result<TargetBtf, TargetError> {
        let dir = std::env::var_os(KERNEL_BTF_DIR_ENV).map(PathBuf::from);
        TargetBtf::from_dir(dir.as_deref().unwrap_or(Path::new(SYS_KERNEL_BTF)))
    }

    /// `vmlinux` and module files of a directory laid out like `/sys/kernel/btf`.
    pub fn from_dir(dir: &Path) -> Result<TargetBtf, TargetError> {
        let vmlinux_path = dir.join("vmlinux");
        if !vmlinux_path.exists() {
            return Err(TargetError::Unavailable {
                what: "this program".into(),
                why: format!(
                    "{} does not exist (kernel without CONFIG_DEBUG_INFO_BTF?)",
                    vmlinux_path.display()
                ),
            });
        }
        let vmlinux = Btf::parse(&read(&vmlinux_path)?)
            .map_err(|error| TargetError::Btf { path: vmlinux_path.clone(), error })?;
        let vmlinux = Arc::new(vmlinux);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| TargetError::Io { path: dir.to_path_buf(), error: e.to_string() })?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n != "vmlinux")
            .collect();
        names.sort();
        let mut modules = Vec::with_capacity(names.len());
        for name in names {
            let path = dir.join(&name);
            let btf = Btf::parse_split(&read(&path)?, vmlinux.clone())
                .map_err(|error| TargetError::Btf { path: path.clone(), error })?;
            modules.push((name, btf));
        }
        Ok(TargetBtf { vmlinux, modules })
    }

    /// The error for a program that needs target BTF when loading it failed.
    pub fn require(found: Result<TargetBtf, TargetError>, what: &str) -> Result<TargetBtf, TargetError> {
        found.map_err(|e| match e {
            TargetError::Unavailable { why, .. } => TargetError::Unavailable { what: what.to_string(), why },
            other => TargetError::Unavailable { what: what.to_string(), why: other.to_string() },
        })
    }

    /// vmlinux first, then each module, with the ids each one defines itself (a module's
    /// lookups must not see vmlinux's types twice).
    pub fn btfs(&self) -> impl Iterator<Item = (Option<&str>, &Btf, std::ops::Range<u32>)> {
        std::iter::once((None, &*self.vmlinux, self.vmlinux.own_ids()))
            .chain(self.modules.iter().map(|(n, b)| (Some(n.as_str()), b, b.own_ids())))
    }
}

/// The `.BTF` section of an ELF file.
fn elf_btf(path: &Path, data: &[u8]) -> Result<Vec<u8>, TargetError> {
    use object::{Object, ObjectSection};
    let err = |what: String| TargetError::Elf { path: path.to_path_buf(), what };
    let file = object::File::parse(data).map_err(|e| err(format!("not a readable ELF file: {e}")))?;
    let sec = file.section_by_name(".BTF").ok_or_else(|| err("ELF file without a .BTF section".into()))?;
    let bytes = sec.uncompressed_data().map_err(|e| err(format!(".BTF: {e}")))?;
    Ok(bytes.into_owned())
}
