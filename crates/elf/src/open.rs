//! `open_object`: an ELF object opened, relocated and linked the way libbpf's
//! `bpf_object__open` + `bpf_object__load` prepare it for `BPF_PROG_LOAD`, without a kernel:
//! maps become indices (the `imm` of map references), externs and attach targets resolve
//! against a [`TargetBtf`], and each entry point carries the instructions libbpf would submit.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use kbpf_isa::{FuncDecl, RawInsn};
use object::{Object as _, ObjectSection};

use crate::btf::{Btf, BtfExt, BtfType, FuncInfo, Kind, LineInfo, Linkage, TargetBtf};
use crate::externs::{self, Extern, ExternEnv};
use crate::kconfig::Kconfig;
use crate::link::{self, ExternValue, Targets};
use crate::maps::{self, MapOverride};
use crate::object_file::{ElfError, MapDef};
use crate::sections::{self, AttachType, KernelProgType, SecDef, TargetKind};

/// Where `__kconfig` `CONFIG_*` values come from.
#[derive(Clone, Debug, Default)]
pub enum KconfigSource {
    /// The running kernel's `/proc/config.gz`, else `/boot/config-$(uname -r)` (libbpf's).
    #[default]
    RunningKernel,
    /// A `.config` file (plain or gzip).
    File(PathBuf),
    /// Already read.
    Given(Kconfig),
    /// None: `CONFIG_*` externs stay unset (weak ones 0, strong ones an error).
    Nothing,
}

/// What an object is opened against: the target kernel and the loader's choices.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The target's BTF (vmlinux + modules) for externs, attach targets and CO-RE; `None` when
    /// there is none (a program that needs it gets [`ProgError::NeedsTargetBtf`]).
    pub target_btf: Option<Arc<TargetBtf>>,
    /// Why there is no target BTF (for the error), when `target_btf` is `None`.
    pub target_btf_missing: Option<String>,
    /// With no `target_btf`: use the running kernel's (vmlinux + modules), read once per
    /// process and only when an object needs it.
    pub running_kernel_btf: bool,
    /// `CONFIG_*` values.
    pub kconfig: KconfigSource,
    /// The target's release for `LINUX_KERNEL_VERSION` (default: the running kernel's).
    pub kernel_release: Option<String>,
    /// `LINUX_HAS_SYSCALL_WRAPPER` (libbpf probes it; Linux 6.18 on x86_64 has it).
    pub syscall_wrapper: bool,
    /// `LINUX_HAS_BPF_COOKIE` (6.18 has it).
    pub bpf_cookie: bool,
    /// Read typeless ksyms' addresses from `/proc/kallsyms` (else they are unresolved).
    pub kallsyms: bool,
    /// Apply the documented map-size defaults ([`maps::apply_defaults`]).
    pub map_defaults: bool,
    /// `--map NAME.FIELD=VALUE`, applied after the defaults.
    pub map_overrides: Vec<MapOverride>,
    /// The program type for every program (`--prog-type`): required for sections libbpf cannot
    /// type, and it overrides the section's type otherwise (`bpf_program__set_type`).
    pub prog_type: Option<KernelProgType>,
    /// Possible CPUs for map defaults (0 = this machine's).
    pub nr_cpus: u32,
    /// libbpf's object name ([`crate::map_names::object_name`] of the path; empty for bytes).
    pub object_name: String,
}

impl Default for LoadOptions {
    /// No target BTF, the running kernel's config and release, defaults on.
    fn default() -> LoadOptions {
        LoadOptions {
            target_btf: None,
            target_btf_missing: Some("no target BTF given".into()),
            running_kernel_btf: false,
            kconfig: KconfigSource::RunningKernel,
            kernel_release: None,
            syscall_wrapper: true,
            bpf_cookie: true,
            kallsyms: true,
            map_defaults: true,
            map_overrides: Vec::new(),
            prog_type: None,
            nr_cpus: 0,
            object_name: String::new(),
        }
    }
}

impl LoadOptions {
    /// No target kernel at all: no target BTF, kernel config, kallsyms or map defaults (what
    /// [`crate::Object::parse`] uses; `CONFIG_*` and ksym externs resolve only if weak).
    pub fn offline() -> LoadOptions {
        LoadOptions {
            kconfig: KconfigSource::Nothing,
            kallsyms: false,
            map_defaults: false,
            ..Default::default()
        }
    }

    /// Options for the running kernel: its BTF (vmlinux + modules, read once per process when
    /// first needed), config and kallsyms.
    pub fn running_kernel() -> LoadOptions {
        LoadOptions {
            running_kernel_btf: true,
            target_btf_missing: None,
            syscall_wrapper: running_kernel_syscall_wrapper(),
            ..Default::default()
        }
    }

    /// The target BTF, loading the running kernel's on first use when asked to.
    pub fn target(&self) -> Result<Arc<TargetBtf>, String> {
        static RUNNING: std::sync::OnceLock<Result<Arc<TargetBtf>, String>> = std::sync::OnceLock::new();
        if let Some(t) = &self.target_btf {
            return Ok(t.clone());
        }
        if self.running_kernel_btf {
            return RUNNING
                .get_or_init(|| {
                    TargetBtf::running_kernel().map(Arc::new).map_err(|e| match e {
                        // the caller says what needs it; keep only why there is none
                        crate::btf::TargetError::Unavailable { why, .. } => why,
                        other => other.to_string(),
                    })
                })
                .clone();
        }
        Err(self.target_btf_missing.clone().unwrap_or_else(|| "no target BTF given".into()))
    }
}

/// Why one program cannot be prepared (the object itself opened).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgError {
    /// libbpf gives the section no type (`missing BPF prog type, check ELF section name`).
    #[error("prog '{prog}': missing BPF prog type, check ELF section name '{section}' (or give --prog-type)")]
    UnknownSection {
        /// Program.
        prog: String,
        /// Section.
        section: String,
    },
    /// A BTF-attached section without `/TARGET`.
    #[error("prog '{prog}': no BTF-based attach target is specified in section '{section}'")]
    NoAttachTarget {
        /// Program.
        prog: String,
        /// Section.
        section: String,
    },
    /// The attach target is not in the target BTF.
    #[error("prog '{prog}': failed to find kernel BTF type ID of '{target}' ({kind} {btf_name})")]
    AttachTargetNotFound {
        /// Program.
        prog: String,
        /// The name in the section.
        target: String,
        /// `func` or `typedef`.
        kind: &'static str,
        /// The BTF name looked for (with libbpf's prefix).
        btf_name: String,
    },
    /// A `struct_ops` program no `.struct_ops` variable points to (libbpf refuses the load).
    #[error(
        "prog '{prog}': SEC(\"struct_ops\") program isn't referenced anywhere, did you forget to use it?"
    )]
    StructOpsUnreferenced {
        /// Program.
        prog: String,
    },
    /// `freplace` needs the program it replaces, which a file alone does not name.
    #[error("prog '{prog}': attach program FD is not set (freplace programs need a target program)")]
    NeedsTargetProgram {
        /// Program.
        prog: String,
    },
    /// Target BTF is needed and absent.
    #[error("prog '{prog}': {what} needs target BTF, but none is available: {why}; give one with --btf FILE")]
    NeedsTargetBtf {
        /// Program.
        prog: String,
        /// What needs it.
        what: String,
        /// Why there is none.
        why: String,
    },
}

/// One entry point, ready for `BPF_PROG_LOAD`.
#[derive(Clone, Debug)]
pub struct LoadedProgram {
    /// Function name.
    pub name: String,
    /// Section name as libbpf keeps it: the ELF section without the `?` that marks a program
    /// not loaded by default.
    pub section: String,
    /// Loaded by default (libbpf's autoload; `SEC("?...")` turns it off).
    pub autoload: bool,
    /// The section's row in libbpf's table, if any.
    pub sec_def: Option<&'static SecDef>,
    /// Program type (the section's, or [`LoadOptions::prog_type`]).
    pub prog_type: Option<KernelProgType>,
    /// Expected attach type libbpf passes.
    pub expected_attach_type: Option<AttachType>,
    /// `prog_flags` (`BPF_F_SLEEPABLE`, `BPF_F_XDP_HAS_FRAGS`).
    pub prog_flags: u32,
    /// `attach_btf_id` and the module whose BTF it is in (`None` = vmlinux).
    pub attach_btf: Option<(u32, Option<String>)>,
    /// A `struct_ops` program's place in its struct (its expected attach type is the member's
    /// index there).
    pub struct_ops: Option<crate::struct_ops::StructOpsAttach>,
    /// The main function carries several `exception_callback:` tags (the kernel refuses the
    /// load before verifying it).
    pub several_exception_cbs: bool,
    /// Final instructions: subprograms appended, map references as map indices
    /// (`BPF_PSEUDO_MAP_FD`/`_VALUE` with the index in `imm`), externs resolved.
    pub insns: Vec<RawInsn>,
    /// Slots of `insns` whose map or map-value `ld_imm64` no relocation names: their `imm` is
    /// a literal fd of the loading process (left as is, like libbpf), not a map index.
    pub literal_fds: Vec<usize>,
    /// Function boundaries with BTF prototypes (for the verifier): entry point first.
    pub funcs: Vec<FuncDecl>,
    /// func_info, `insn` = slot in `insns`, section = this program's.
    pub func_info: Vec<FuncInfo>,
    /// line_info, `insn` = slot in `insns`.
    pub line_info: Vec<LineInfo>,
    /// The functions placed, `(name, first slot)`, entry point first.
    pub layout: Vec<(String, usize)>,
    /// Why this program cannot be loaded, if it cannot.
    pub error: Option<ProgError>,
}

/// An opened object.
#[derive(Clone, Debug)]
pub struct LoadedObject {
    /// Entry points in libbpf's order (section index, then offset).
    pub programs: Vec<LoadedProgram>,
    /// Maps; map references' `imm` index this.
    pub maps: Vec<MapDef>,
    /// `license` section.
    pub license: String,
    /// `version` section (0 when absent).
    pub kern_version: u32,
    /// The object's BTF.
    pub btf: Option<Btf>,
    /// The `.BTF` section's bytes as a loader hands them to `BPF_BTF_LOAD` (DATASECs sized).
    pub btf_raw: Option<Vec<u8>>,
    /// Externs and what each resolved to.
    pub externs: Vec<Extern>,
    /// CO-RE relocations applied, by function name, in libbpf's order.
    pub core: Vec<(String, crate::core::CoreResult)>,
    /// The target BTF the object was opened against, when something in it needed one.
    pub target: Option<Arc<TargetBtf>>,
    /// libbpf's object name (global-data maps are named after it).
    pub name: String,
}

impl LoadedProgram {
    /// The `expected_attach_type` number libbpf passes to `BPF_PROG_LOAD`: the attach type, or
    /// a `struct_ops` program's member index, else 0.
    pub fn expected_attach_number(&self) -> u32 {
        match (&self.struct_ops, self.expected_attach_type) {
            (Some(s), _) => s.member_idx,
            (None, Some(a)) => a as u32,
            (None, None) => 0,
        }
    }
}

impl LoadedObject {
    /// The program with function name `name` (libbpf's `find_program_by_name`).
    pub fn program(&self, name: &str) -> Option<&LoadedProgram> {
        self.programs.iter().find(|p| p.name == name)
    }
}

/// Opens, relocates and links an object.
pub fn open_object(bytes: &[u8], opts: &LoadOptions) -> Result<LoadedObject, ElfError> {
    let file = object::File::parse(bytes)?;
    if file.architecture() != object::Architecture::Bpf {
        return Err(ElfError::NotBpf);
    }
    let section_data = |name: &str| file.section_by_name(name).and_then(|s| s.data().ok());
    let btf = section_data(".BTF").map(Btf::parse).transpose()?;
    let ext = match (&btf, section_data(".BTF.ext")) {
        (Some(b), Some(e)) => Some(BtfExt::parse(e, b)?),
        _ => None,
    };
    let license = section_data("license")
        .map(|d| String::from_utf8_lossy(d.split(|&b| b == 0).next().unwrap_or(&[])).into_owned())
        .unwrap_or_default();
    let kern_version = section_data("version")
        .and_then(|d| d.get(..4))
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));

    let (mut maps, index) = maps::load_maps(&file, btf.as_ref())?;
    let mut externs = externs::collect(&file, btf.as_ref())?;
    // the target BTF is read only when something needs it
    let needs_target = externs
        .iter()
        .any(|e| matches!(e.kind, externs::ExternKind::Kfunc | externs::ExternKind::Ksym { type_id: 1.. }))
        || ext.as_ref().is_some_and(|x| !x.core_relos.is_empty())
        || file.sections().filter(link::is_code_section).any(|s| {
            s.name()
                .ok()
                .and_then(|n| sections::find_sec_def(sec_name(n)))
                .is_some_and(|d| d.flags.attach_btf)
        })
        || file
            .sections()
            .any(|s| s.name().is_ok_and(|n| n.trim_start_matches('?').starts_with(".struct_ops")));
    let (target, target_err) = match needs_target.then(|| opts.target()) {
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let kcfg_size = externs::kconfig_size(&externs);
    let mut kcfg = vec![0u8; kcfg_size as usize];
    let release = opts.kernel_release.clone().or_else(externs::uname_release).unwrap_or_default();
    let read_config = |what: &str| -> Result<Kconfig, ElfError> {
        match &opts.kconfig {
            KconfigSource::RunningKernel => Kconfig::running_kernel(what).map_err(ElfError::from),
            KconfigSource::File(p) => Kconfig::load(p).map_err(ElfError::from),
            KconfigSource::Given(k) => Ok(k.clone()),
            KconfigSource::Nothing => Ok(Kconfig::default()),
        }
    };
    let read_kallsyms = || if opts.kallsyms { externs::read_kallsyms() } else { Ok(HashMap::new()) };
    let env = ExternEnv {
        local: btf.as_ref(),
        target: target.as_deref(),
        target_err: target_err.as_deref(),
        kconfig: &read_config,
        kernel_version: externs::kernel_version_code(&release).unwrap_or(0),
        syscall_wrapper: opts.syscall_wrapper,
        bpf_cookie: opts.bpf_cookie,
        kallsyms: &read_kallsyms,
    };
    externs::resolve(&mut externs, &mut kcfg, &env)?;
    if kcfg_size > 0 {
        let kmap = maps.len();
        maps.push(maps::kconfig_map(kcfg));
        for e in &mut externs {
            if let Some(ExternValue::Kconfig { map, .. }) = &mut e.resolved {
                *map = kmap;
            }
        }
    }
    let nr_cpus = if opts.nr_cpus == 0 { maps::possible_cpus() } else { opts.nr_cpus };
    if opts.map_defaults {
        for m in &mut maps {
            maps::apply_defaults(m, nr_cpus);
        }
    }
    maps::apply_overrides(&mut maps, &opts.map_overrides)?;

    let text = file.section_by_name(".text").map(|s| s.index());
    let mut funcs = link::collect_funcs(&file, text)?;
    let ext_by_sym: HashMap<_, _> = externs.iter().enumerate().map(|(i, e)| (e.sym, i)).collect();
    let targets = Targets { text, maps_by_sym: &index.by_sym, data_maps: &index.data, externs: &ext_by_sym };
    link::collect_relocs(&file, &mut funcs, &targets)?;
    // CO-RE first, on each function as written (libbpf's bpf_object__relocate_core)
    let mut core = Vec::new();
    if let (Some(ext), Some(local)) = (ext.as_ref().filter(|x| !x.core_relos.is_empty()), btf.as_ref()) {
        let Some(target) = target.as_deref() else {
            return Err(ElfError::NeedsTargetBtf(target_err.clone().unwrap_or_default()));
        };
        let mut relocator = crate::core::Relocator::new(local, target);
        for f in &mut funcs {
            let relos: Vec<_> = ext.core_relos_of(&f.sec_name).collect();
            if relos.is_empty() {
                continue;
            }
            let results = relocator.apply(&f.name, &mut f.insns, f.sec_insn_off, relos)?;
            core.extend(results.into_iter().map(|r| (f.name.clone(), r)));
        }
    }
    let values: Vec<ExternValue> =
        externs.iter().map(|e| e.resolved.unwrap_or(ExternValue::Addr(0))).collect();
    for f in &mut funcs {
        link::relocate_data(f, &values)?;
    }

    let st_ops = crate::struct_ops::collect(&file, btf.as_ref(), &funcs, target.as_deref())?;
    let mut programs = Vec::new();
    for main in 0..funcs.len() {
        if Some(funcs[main].sec_idx) == text {
            continue;
        }
        let exc_cb = link::exception_cb(btf.as_ref(), &funcs, main, text)?;
        let several_exception_cbs = exc_cb == Some(link::SEVERAL_EXCEPTION_CBS);
        let exc_cb = exc_cb.filter(|_| !several_exception_cbs);
        let linked = link::link(&funcs, main, text, exc_cb)?;
        let exc_off = exc_cb.and_then(|cb| linked.placed.iter().find(|(i, _)| *i == cb).map(|(_, o)| *o));
        let t = Target { btf: target.as_deref(), missing: target_err.as_deref() };
        let mut p = prepare(&funcs, main, linked, btf.as_ref(), ext.as_ref(), opts, &t);
        for f in &mut p.funcs {
            f.exception_cb = Some(f.pc) == exc_off;
        }
        p.several_exception_cbs = several_exception_cbs;
        if let Some(a) = st_ops.get(&main).filter(|_| p.prog_type == Some(KernelProgType::StructOps)) {
            p.attach_btf = Some((a.btf_id, a.module.clone()));
            p.struct_ops = Some(a.clone());
        } else if p.prog_type == Some(KernelProgType::StructOps) && target.is_some() && btf.is_some() {
            // the maps were read against the target: no member names this program
            p.error.get_or_insert(ProgError::StructOpsUnreferenced { prog: funcs[main].name.clone() });
        }
        programs.push(p);
    }
    let btf_raw = section_data(".BTF").map(|b| loadable_btf(&file, b)).transpose()?;
    let name = opts.object_name.clone();
    Ok(LoadedObject { programs, maps, license, kern_version, btf, btf_raw, externs, core, target, name })
}

/// The `.BTF` bytes as libbpf loads them: DATASEC sizes and variable offsets filled in from the
/// ELF sections and symbols.
fn loadable_btf(file: &object::File<'_>, raw: &[u8]) -> Result<Vec<u8>, ElfError> {
    use object::ObjectSymbol;
    let section_size = |name: &str| file.section_by_name(name).and_then(|s| u32::try_from(s.size()).ok());
    let symbol_offset = |sec: &str, var: &str| {
        let idx = file.section_by_name(sec)?.index();
        let sym = file.symbols().find(|s| s.section_index() == Some(idx) && s.name() == Ok(var))?;
        u32::try_from(sym.address()).ok()
    };
    Ok(crate::btf_fixup::fixup_datasecs(raw, section_size, symbol_offset)?)
}

/// libbpf's section name: `SEC("?name")` is `name` with autoload off.
fn sec_name(elf_section: &str) -> &str {
    elf_section.strip_prefix('?').unwrap_or(elf_section)
}

/// The target BTF as resolved for this object.
struct Target<'a> {
    btf: Option<&'a TargetBtf>,
    missing: Option<&'a str>,
}

/// func_info, line_info, prototypes, type and attach target of one linked entry point.
fn prepare(
    funcs: &[link::Func],
    main: usize,
    linked: link::Linked,
    btf: Option<&Btf>,
    ext: Option<&BtfExt>,
    opts: &LoadOptions,
    target: &Target<'_>,
) -> LoadedProgram {
    let f = &funcs[main];
    let mut func_info = Vec::new();
    let mut line_info = Vec::new();
    for &(fi, off) in &linked.placed {
        let g = &funcs[fi];
        let range = g.sec_insn_off as u32..(g.sec_insn_off + g.insns.len()) as u32;
        let rebase = |insn: u32| insn - g.sec_insn_off as u32 + off as u32;
        if let Some(ext) = ext {
            for r in ext.func_info_of(&g.sec_name).filter(|r| range.contains(&r.insn)) {
                func_info.push(FuncInfo {
                    section: f.sec_name.clone(),
                    insn: rebase(r.insn),
                    type_id: r.type_id,
                });
            }
            for r in ext.line_info_of(&g.sec_name).filter(|r| range.contains(&r.insn)) {
                line_info.push(LineInfo { section: f.sec_name.clone(), insn: rebase(r.insn), ..r.clone() });
            }
        }
    }
    let hidden: HashMap<usize, bool> =
        linked.placed.iter().map(|&(fi, off)| (off, funcs[fi].hidden)).collect();
    let funcs_decl = func_info
        .iter()
        .map(|r| {
            let (name, nargs, global, ret_scalar) = match btf.and_then(|b| Some((b.get(r.type_id)?, b))) {
                Some((BtfType::Func { name, linkage, proto }, b)) => (
                    name.clone(),
                    b.func_params(r.type_id).map_or(0, |p| p.len()) as u32,
                    // libbpf marks a hidden global's FUNC static before loading
                    *linkage == Linkage::Global && !hidden.get(&(r.insn as usize)).copied().unwrap_or(false),
                    returns_scalar(b, *proto),
                ),
                _ => (String::new(), 0, false, false),
            };
            let params = btf.map_or_else(Vec::new, |b| crate::btf::params::func_params(b, r.type_id));
            FuncDecl { pc: r.insn as usize, name, nargs, global, params, ret_scalar, exception_cb: false }
        })
        .collect();
    let section = sec_name(&f.sec_name);
    let sec_def = sections::find_sec_def(section);
    let prog_type = opts.prog_type.or(sec_def.map(|d| d.prog_type));
    let mut error = None;
    if prog_type.is_none() {
        error = Some(ProgError::UnknownSection { prog: f.name.clone(), section: section.to_string() });
    }
    let mut attach_btf = None;
    if let Some(def) = sec_def.filter(|d| d.flags.attach_btf && opts.prog_type.is_none()) {
        match attach_target(def, &f.name, section, target) {
            Ok(t) => attach_btf = Some(t),
            Err(e) => error = error.or(Some(e)),
        }
    }
    LoadedProgram {
        name: f.name.clone(),
        section: section.to_string(),
        autoload: !f.sec_name.starts_with('?'),
        sec_def,
        prog_type,
        expected_attach_type: sec_def.and_then(SecDef::load_attach),
        prog_flags: sec_def.map_or(0, SecDef::prog_flags),
        attach_btf,
        struct_ops: None,
        several_exception_cbs: false,
        layout: linked.placed.iter().map(|&(fi, off)| (funcs[fi].name.clone(), off)).collect(),
        literal_fds: crate::link::literal_fds(funcs, &linked),
        insns: linked.insns,
        funcs: funcs_decl,
        func_info,
        line_info,
        error,
    }
}

/// The attach target's BTF id (libbpf's `libbpf_find_attach_btf_id` for kernel targets).
fn attach_target(
    def: &SecDef,
    prog: &str,
    section: &str,
    t: &Target<'_>,
) -> Result<(u32, Option<String>), ProgError> {
    if def.prog_type == KernelProgType::Ext {
        return Err(ProgError::NeedsTargetProgram { prog: prog.to_string() });
    }
    let Some(full) = section.split_once('/').map(|(_, t)| t) else {
        return Err(ProgError::NoAttachTarget { prog: prog.to_string(), section: section.to_string() });
    };
    let Some(target) = t.btf else {
        return Err(ProgError::NeedsTargetBtf {
            prog: prog.to_string(),
            what: format!("attach target '{full}'"),
            why: t.missing.unwrap_or("no target BTF").to_string(),
        });
    };
    let (prefix, kind) = sections::attach_target_prefix(def.attach);
    let btf_kind = match kind {
        TargetKind::Func => Kind::Func,
        TargetKind::Typedef => Kind::Typedef,
    };
    let find = |module: Option<&str>, name: &str| {
        let wanted = format!("{prefix}{name}");
        target.btfs().filter(|(m, _, _)| module.is_none() || *m == module).find_map(|(m, btf, own)| {
            btf.ids_by_name_kind(&wanted, btf_kind)
                .into_iter()
                .find(|id| own.contains(id))
                .map(|id| (id, m.map(str::to_string)))
        })
    };
    let found = find(None, full).or_else(|| match sections::attach_target_name(section) {
        Some((Some(module), name)) => find(Some(module), name),
        _ => None,
    });
    found.ok_or_else(|| ProgError::AttachTargetNotFound {
        prog: prog.to_string(),
        target: full.to_string(),
        kind: btf_kind.name(),
        btf_name: format!("{prefix}{full}"),
    })
}

/// `LINUX_HAS_SYSCALL_WRAPPER` as libbpf probes it on the running kernel: a kprobe can be put
/// on the wrapped `bpf` syscall (`__x64_sys_bpf`, `__arm64_sys_bpf`), through the kprobe PMU or
/// tracefs' `kprobe_events`. A kernel without kprobes (no `CONFIG_KPROBES`) answers 0, and
/// `BPF_KSYSCALL` programs then read the arguments from the context directly. Probed without
/// side effects: the interfaces and the symbol must exist.
fn running_kernel_syscall_wrapper() -> bool {
    static PROBED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROBED.get_or_init(|| {
        let prefix = if cfg!(target_arch = "aarch64") { "arm64" } else { "x64" };
        let kprobes = std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
            || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists()
            || std::path::Path::new("/sys/kernel/debug/tracing/kprobe_events").exists();
        let symbol = format!("__{prefix}_sys_bpf");
        kprobes
            && std::fs::read_to_string("/proc/kallsyms")
                .is_ok_and(|k| k.lines().any(|l| l.split_whitespace().nth(2) == Some(symbol.as_str())))
    })
}

/// Whether a FUNC_PROTO returns a scalar the kernel accepts from a subprogram with LD_ABS or a
/// tail call: an int of at most 8 bytes or any enum, after typedefs and qualifiers (`void` is
/// not one).
fn returns_scalar(btf: &Btf, proto: u32) -> bool {
    let Some(BtfType::FuncProto { ret, .. }) = btf.get(proto) else { return false };
    match btf.resolve(*ret) {
        Some((_, BtfType::Int { size, .. })) => *size <= 8,
        Some((_, BtfType::Enum { .. } | BtfType::Enum64 { .. })) => true,
        _ => false,
    }
}
