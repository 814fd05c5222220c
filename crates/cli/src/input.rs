//! The program file and how to read it: the same flags on every subcommand that reads one,
//! including how an ELF object is opened (target BTF, kernel config, program selection, map
//! overrides).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use kbpf::elf::btf::TargetBtf;
use kbpf::kfunc::Registry;
use kbpf::{KconfigSource, LoadOptions, ProgSelect, SourceKind};

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Bin,
    Asm,
    Hex,
    Elf,
}

/// The kernel whose semantics apply.
#[derive(Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum KernelArg {
    /// Linux 6.18 exactly (what the running kernel does: no stack arguments).
    #[value(name = "6.18")]
    V6_18,
    /// Linux 6.18 plus the stack-arguments series (kbpf's default).
    #[default]
    #[value(name = "6.18+stack-args")]
    StackArgs,
}

/// The program file and how to read it.
#[derive(Args)]
pub struct Input {
    /// Program file: `.bin` raw 8-byte instructions, `.hex` hex text, `.s` assembly, `.o` ELF.
    pub file: PathBuf,
    /// Input format, when the file name does not tell.
    #[arg(long, value_enum)]
    pub input_format: Option<FormatArg>,
    /// ELF program by function name (libbpf's `find_program_by_name`).
    #[arg(long)]
    pub prog: Option<String>,
    /// ELF program by section: the only program of that section (a function name is accepted
    /// too). Default: the object's first program.
    #[arg(long)]
    pub section: Option<String>,
    /// Target BTF for externs, attach targets and CO-RE: a raw BTF blob (like
    /// `/sys/kernel/btf/vmlinux`) or an ELF file with `.BTF`. Default: the running kernel's
    /// (vmlinux and module BTF from /sys/kernel/btf) when present.
    #[arg(long)]
    pub btf: Option<PathBuf>,
    /// Kernel `.config` (plain or gzip) for `__kconfig` `CONFIG_*` externs. Default:
    /// `/proc/config.gz`, else `/boot/config-$(uname -r)`.
    #[arg(long)]
    pub kconfig: Option<PathBuf>,
    /// Target kernel for verification (`verify`, and the verification before `run`): `6.18` (exactly
    /// Linux 6.18, no stack arguments) or `6.18+stack-args` (default).
    #[arg(long, value_enum, default_value = "6.18+stack-args")]
    pub kernel: KernelArg,
    /// Override a map field before verifying: `NAME.FIELD=VALUE` (FIELD: type, key_size,
    /// value_size, max_entries, map_flags, numa_node, map_extra). Repeatable.
    #[arg(long = "map", value_name = "NAME.FIELD=VALUE")]
    pub maps: Vec<String>,
}

impl Input {
    pub fn kind(&self) -> SourceKind {
        crate::source_kind(&self.file, self.input_format)
    }

    /// Reads the program; `prog_type` (`--prog-type`) types every ELF program, including
    /// sections libbpf cannot type.
    pub fn read(&self, registry: &Registry) -> Result<kbpf::Module, String> {
        self.read_as(registry, None)
    }

    /// [`Input::read`] with a `--prog-type` name.
    pub fn read_as(&self, registry: &Registry, prog_type: Option<&str>) -> Result<kbpf::Module, String> {
        let opts = if self.kind() == SourceKind::Elf {
            self.load_options(prog_type)?
        } else {
            LoadOptions::offline()
        };
        let select = ProgSelect { prog: self.prog.as_deref(), section: self.section.as_deref() };
        kbpf::read_module_with(&self.file, self.kind(), registry, select, &opts).map_err(|e| e.to_string())
    }

    /// The options an ELF object is opened with.
    fn load_options(&self, prog_type: Option<&str>) -> Result<LoadOptions, String> {
        load_options(self.btf.as_deref(), self.kconfig.as_deref(), &self.maps, prog_type)
    }

    /// Whether the stack-arguments ABI applies.
    pub fn stack_args(&self) -> bool {
        self.kernel == KernelArg::StackArgs
    }
}

/// The options an ELF object is opened with: `--btf` (else the running kernel's), `--kconfig`,
/// `--map` overrides and a `--prog-type` name for every program.
pub fn load_options(
    btf: Option<&Path>,
    kconfig: Option<&Path>,
    maps: &[String],
    prog_type: Option<&str>,
) -> Result<LoadOptions, String> {
    let mut opts = match btf {
        Some(p) => {
            let t = TargetBtf::load(p).map_err(|e| format!("--btf: {e}"))?;
            LoadOptions { target_btf: Some(Arc::new(t)), target_btf_missing: None, ..LoadOptions::default() }
        }
        None => LoadOptions::running_kernel(),
    };
    if let Some(k) = kconfig {
        opts.kconfig = KconfigSource::File(k.to_path_buf());
    }
    for m in maps {
        opts.map_overrides.push(m.parse().map_err(|e| format!("--map {e}"))?);
    }
    // `mem` is kbpf's own type: no kernel type to give the object's programs
    opts.prog_type = prog_type
        .filter(|n| *n != "mem")
        .map(|n| {
            kbpf::kernel_prog_type_by_name(n)
                .ok_or_else(|| format!("--prog-type: unknown program type {n:?}"))
        })
        .transpose()?;
    Ok(opts)
}
