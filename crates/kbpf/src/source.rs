//! Program files: raw `.bin` slots, `.s` assembly, and hex text.

use std::path::Path;

use kbpf_elf::{ElfError, LoadOptions, LoadedObject, LoadedProgram, ProgError};
use kbpf_isa::asm::{AsmError, AsmProgram};
use kbpf_isa::{DecodeError, FuncDecl, MapFlags, MapSpec, MapType, Program};
use kbpf_kfunc::Registry;
use kbpf_verifier::btf::record::{FieldMask, Record, RecordError};
use thiserror::Error;

/// How a program file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Little-endian 8-byte slots.
    Bin,
    /// Assembly in kernel or LLVM syntax.
    Asm,
    /// Hex bytes separated by white space (`b7 00 00 00 2a 00 00 00`), or one 16-digit slot a line.
    Hex,
    /// An ELF object from `clang -target bpf` (first program, or the one named by `section`).
    Elf,
}

impl SourceKind {
    /// Guess from the file name: `.s`/`.asm` assembly, `.hex` hex, anything else raw.
    pub fn from_path(path: &Path) -> SourceKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some("s" | "S" | "asm") => SourceKind::Asm,
            Some("hex") => SourceKind::Hex,
            Some("o" | "elf") => SourceKind::Elf,
            _ => SourceKind::Bin,
        }
    }
}

/// Why a program could not be read.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("{path}: {err}")]
    Io {
        /// File name.
        path: String,
        /// The OS error.
        err: std::io::Error,
    },
    /// Not valid hex.
    #[error("bad hex at token {token}: {text:?}")]
    Hex {
        /// 0-based token index.
        token: usize,
        /// The token.
        text: String,
    },
    /// Assembly error.
    #[error("line {}: {}", .0.line, .0.message)]
    Asm(#[from] AsmError),
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Not UTF-8 text where text was expected.
    #[error("{0}: not UTF-8 text")]
    NotText(String),
    /// A bad ELF object.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// The ELF object has no program of that section or function name.
    #[error("no program {name:?} in the object (programs: {})", .programs.join(", "))]
    NoProgram {
        /// The name asked for.
        name: String,
        /// The object's programs, `function (section)`.
        programs: Vec<String>,
    },
    /// Several programs share the section asked for.
    #[error("section {name:?} holds several programs ({}): name one by its function", .programs.join(", "))]
    AmbiguousProgram {
        /// The section asked for.
        name: String,
        /// The programs in it, `function (section)`.
        programs: Vec<String>,
    },
    /// A program was picked by section in a file that has no sections.
    #[error("--section {0:?}: only ELF objects have sections to pick a program from")]
    SectionNotElf(String),
}

/// A program with the facts that travel beside it: declared functions (argument counts), the
/// maps an ELF object defines, and its license.
///
/// It holds the main program's slots as written, which need not decode: the verifier judges
/// malformed programs with the kernel's messages, while the engines ask for
/// [`Module::program`].
#[derive(Clone, Debug)]
pub struct Module {
    /// The main program's instruction slots as written.
    pub slots: Vec<kbpf_isa::RawInsn>,
    /// Source line of each slot (assembly only), for decode errors.
    pub lines: Option<Vec<usize>>,
    /// Declared functions (`.func` in assembly, BTF func_info in ELF).
    pub funcs: Vec<FuncDecl>,
    /// Maps (`.map` in assembly; `.maps`, legacy `maps` and global data in ELF), indexed by the
    /// `imm` of map references (the pseudo fd).
    pub maps: Vec<MapSpec>,
    /// Name of the program (`.prog NAME` in assembly, the function name in ELF; may be empty).
    pub name: String,
    /// The module's other programs (tail-call targets): program id = position + 1; the main
    /// program is id 0.
    pub progs: Vec<AsmProgram>,
    /// Tail-call targets the module names but cannot run, with why (an ELF program that does
    /// not decode): only running the module needs them, so only running refuses them.
    pub unusable_progs: Vec<(String, String)>,
    /// Slots of the main program whose map `ld_imm64` carries a literal fd of the loading
    /// process rather than an index into `maps` (an ELF object's unrelocated reference).
    pub literal_fds: Vec<usize>,
    /// ELF section name (it implies the program type), if any.
    pub section: Option<String>,
    /// License string (`GPL` ...), if the source has one.
    pub license: Option<String>,
    /// The input a plain run hands the program, if the source declares one (`.mem`).
    pub input: Option<Vec<u8>>,
    /// BTF line_info of the main program (ELF objects compiled with `-g`), sorted.
    pub line_info: Vec<kbpf_verifier::LineInfo>,
    /// `funcs` is the program's complete BTF func_info (ELF `.BTF.ext`), which the kernel
    /// checks against the subprograms; `.func` declarations may name only some.
    pub btf_func_info: bool,
    /// What the ELF loader decided for this program (type, attach, map defaults), if the
    /// module came from an object.
    pub elf: Option<Box<ElfFacts>>,
}

/// The loader's facts about an ELF program, beside its instructions.
#[derive(Clone, Debug)]
pub struct ElfFacts {
    /// The kernel program type (section or `--prog-type`), if known.
    pub prog_type: Option<kbpf_elf::sections::KernelProgType>,
    /// Expected attach type.
    pub expected_attach_type: Option<kbpf_elf::sections::AttachType>,
    /// The number loaded as expected attach type (a `struct_ops` program's member index).
    pub expected_attach_number: u32,
    /// `prog_flags`.
    pub prog_flags: u32,
    /// The main function carries several `exception_callback:` tags.
    pub several_exception_cbs: bool,
    /// `attach_btf_id` and its module.
    pub attach_btf: Option<(u32, Option<String>)>,
    /// Defaults and overrides applied to the object's maps: `(map, what)`.
    pub map_defaults: Vec<(String, String)>,
    /// Why the loader could not prepare this program, if it could not.
    pub error: Option<ProgError>,
    /// The target kernel's BTF (vmlinux) the object was opened against, if it needed one.
    pub target_btf: Option<std::sync::Arc<kbpf_elf::btf::Btf>>,
    /// The object's own BTF (the program's `prog_btf`: local types of allocated objects).
    pub prog_btf: Option<std::sync::Arc<kbpf_elf::btf::Btf>>,
    /// Each map's value record (`map->record`, from the object's BTF), by module map index,
    /// with its inner map template's.
    pub map_records: Vec<MapRecords>,
    /// What the loader poisoned (failed CO-RE relocations, unresolved weak kfuncs), for
    /// libbpf's rewrite of a failed load's log.
    pub poisons: crate::libbpf_log::Poisons,
    /// libbpf's object name: the kernel's names of the object's global-data maps start with it.
    pub object_name: String,
}

/// A map value's special fields, as map creation would find them: `Err` when the kernel
/// refuses the map for them (`map_check_btf`: the map type or flags cannot hold them).
pub type RecordResult = Result<Option<std::sync::Arc<Record>>, RecordError>;

/// One map's records: its value's and its inner map template's.
#[derive(Clone, Debug)]
pub struct MapRecords {
    /// The value's.
    pub value: RecordResult,
    /// The inner map template's (map-in-maps).
    pub inner: RecordResult,
}

/// Every map's records, read from `btf`: the BTF the loader hands the kernel.
fn map_records(obj: &LoadedObject, btf: Option<&kbpf_elf::btf::Btf>) -> Vec<MapRecords> {
    let kernel = obj.target.as_ref().map(|t| &*t.vmlinux);
    obj.maps
        .iter()
        .map(|m| MapRecords {
            value: map_record(btf, m, kernel),
            inner: m.inner.as_deref().map_or(Ok(None), |i| map_record(btf, i, kernel)),
        })
        .collect()
}

/// `map_check_btf`'s record of `m`'s value in the object's `btf`.
fn map_record(
    btf: Option<&kbpf_elf::btf::Btf>,
    m: &kbpf_elf::MapDef,
    kernel: Option<&kbpf_elf::btf::Btf>,
) -> RecordResult {
    let (Some(btf), Some(t)) = (btf, m.value_type_id) else { return Ok(None) };
    // libbpf creates map-in-maps without value BTF
    if matches!(m.map_type, kbpf_elf::maps::map_type::ARRAY_OF_MAPS | kbpf_elf::maps::map_type::HASH_OF_MAPS)
    {
        return Ok(None);
    }
    // a layout btf_parse_fields refuses leaves the map without a record (map_check_btf goes
    // on with an error record, in which no check finds a field)
    let Ok(Some(rec)) = kbpf_verifier::btf::record::parse(btf, t, FieldMask::MAP_VALUE, m.value_size, kernel)
    else {
        return Ok(None);
    };
    rec.check_map_type(m.map_type, m.flags)?;
    Ok(Some(std::sync::Arc::new(rec)))
}

impl Module {
    /// A module of bare slots: no maps, functions, license or other programs.
    pub fn plain(slots: Vec<kbpf_isa::RawInsn>) -> Module {
        Module {
            slots,
            lines: None,
            funcs: Vec::new(),
            maps: Vec::new(),
            name: String::new(),
            progs: Vec::new(),
            unusable_progs: Vec::new(),
            literal_fds: Vec::new(),
            section: None,
            license: None,
            input: None,
            line_info: Vec::new(),
            btf_func_info: false,
            elf: None,
        }
    }

    /// Program id of the program called `name` (0 = the main program).
    pub fn prog_id(&self, name: &str) -> Option<u32> {
        if !self.name.is_empty() && self.name == name {
            return Some(0);
        }
        self.progs.iter().position(|p| p.name == name).map(|i| i as u32 + 1)
    }

    /// The decoded main program the engines run (branch targets checked); an assembly module
    /// reports the source line of a slot that does not decode.
    pub fn program(&self) -> Result<Program, SourceError> {
        Program::from_slots(&self.slots).map_err(|e| match &self.lines {
            Some(lines) => SourceError::Asm(AsmError {
                line: lines.get(e.index).or(lines.last()).copied().unwrap_or(1),
                message: e.kind.to_string(),
            }),
            None => SourceError::Decode(e),
        })
    }

    /// Every program, decoded: the main one (id 0), then the others.
    pub fn programs(&self) -> Result<Vec<Program>, SourceError> {
        let mut v = vec![self.program()?];
        v.extend(self.progs.iter().map(|p| p.program.clone()));
        Ok(v)
    }
}

/// The ELF loader's map description in the ISA's terms.
/// A `.BTF.ext` line record as the verifier takes it.
pub fn line_info(l: &kbpf_elf::btf::LineInfo) -> kbpf_verifier::LineInfo {
    kbpf_verifier::LineInfo {
        insn_off: l.insn,
        file: Some(l.file.clone()),
        line: Some(l.line.clone()),
        line_num: l.line_num,
        column: l.column,
    }
}

fn map_spec(m: &kbpf_elf::MapDef) -> MapSpec {
    let read_only = m.name.starts_with(".rodata") || m.name.starts_with(".kconfig");
    MapSpec {
        name: m.name.clone(),
        map_type: MapType::from_number(m.map_type),
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        // libbpf makes `.rodata` (and `.kconfig`) read-only for programs and freezes it after
        // filling it
        flags: if read_only { MapFlags(m.flags | MapFlags::RDONLY_PROG.0) } else { MapFlags(m.flags) },
        frozen: read_only,
        data: m.data.clone().unwrap_or_default(),
        progs: m.progs.clone(),
        inner_maps: m.inner_maps.clone(),
        timer_off: m.timer_off,
        inner: m.inner.as_deref().map(|i| Box::new(map_spec(i))),
    }
}

/// Parses hex program text: white-space separated byte tokens (`b7`, `0xb7`), or 16-digit tokens
/// each holding one slot in memory order (the `benches/programs/*.hex` form).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, SourceError> {
    let mut out = Vec::new();
    for (token, t) in text.split_whitespace().enumerate() {
        let digits = t.strip_prefix("0x").unwrap_or(t);
        let bad = || SourceError::Hex { token, text: t.to_string() };
        if digits.is_empty() || digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        for pair in digits.as_bytes().chunks(2) {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            out.push(u8::from_str_radix(s, 16).map_err(|_| bad())?);
        }
    }
    Ok(out)
}

/// Which ELF program to take: by function name (`--prog`), by section (`--section`; the only
/// program of that section, or a function name for compatibility), else the first.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProgSelect<'a> {
    /// Function name (libbpf's `find_program_by_name`).
    pub prog: Option<&'a str>,
    /// Section name.
    pub section: Option<&'a str>,
}

/// Reads and decodes a program file of the given kind (assembly `call NAME` resolves kfuncs of
/// `registry`; `section` picks an ELF program by section or function name). ELF objects are
/// opened with no target kernel ([`LoadOptions::offline`]); see [`read_module_with`].
pub fn read_module(
    path: &Path,
    kind: SourceKind,
    registry: &Registry,
    section: Option<&str>,
) -> Result<Module, SourceError> {
    read_module_with(path, kind, registry, ProgSelect { prog: None, section }, &LoadOptions::offline())
}

/// [`read_module`] with a program selection and the options an ELF object is opened with
/// (target BTF, kernel config, map overrides, program type).
pub fn read_module_with(
    path: &Path,
    kind: SourceKind,
    registry: &Registry,
    select: ProgSelect<'_>,
    opts: &LoadOptions,
) -> Result<Module, SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| SourceError::Io { path: name.clone(), err })?;
    let text = || String::from_utf8(bytes.clone()).map_err(|_| SourceError::NotText(name.clone()));
    if kind != SourceKind::Elf
        && let Some(s) = select.section.or(select.prog)
    {
        return Err(SourceError::SectionNotElf(s.to_string()));
    }
    match kind {
        SourceKind::Bin => Ok(Module::plain(slots_of_bytes(&bytes)?)),
        SourceKind::Hex => Ok(Module::plain(slots_of_bytes(&parse_hex(&text()?)?)?)),
        SourceKind::Asm => module_from_asm(&text()?, registry),
        SourceKind::Elf => {
            let named;
            let opts = if opts.object_name.is_empty() {
                named = LoadOptions { object_name: kbpf_elf::map_names::object_name(path), ..opts.clone() };
                &named
            } else {
                opts
            };
            let obj = kbpf_elf::open_object(&bytes, opts)?;
            let prog = pick_program(&obj.programs, select)?;
            module_from_object(&obj, prog)
        }
    }
}

/// The module of one program of an opened object: its instructions as written (the verifier
/// judges them, malformed or not), the object's maps, and the programs the maps' prog-array
/// initial values name as tail-call targets (by function name). The kernel verifies each
/// program on its own, so a target that does not decode is kept out of `progs` and recorded
/// in `unusable_progs`; the other programs of the object play no part.
pub fn module_from_object(obj: &LoadedObject, prog: &LoadedProgram) -> Result<Module, SourceError> {
    let needed = |p: &LoadedProgram| obj.maps.iter().any(|m| m.progs.iter().any(|(_, n)| *n == p.name));
    let mut progs = Vec::new();
    let mut unusable_progs = Vec::new();
    for p in obj.programs.iter().filter(|p| !std::ptr::eq(*p, prog) && p.name != prog.name && needed(p)) {
        if let Some(&at) = p.literal_fds.first() {
            unusable_progs.push((p.name.clone(), format!("insn {at}: loads a literal map fd")));
            continue;
        }
        match Program::from_slots(&p.insns) {
            Ok(program) => progs.push(AsmProgram { name: p.name.clone(), program, funcs: p.funcs.clone() }),
            Err(e) => unusable_progs.push((p.name.clone(), e.to_string())),
        }
    }
    // the BTF as the loader hands it to the kernel (data sections sized, their variables
    // placed), which the records and the local types are read from
    let loaded_btf = match &obj.btf_raw {
        Some(raw) => kbpf_elf::btf::Btf::parse(raw).ok().map(std::sync::Arc::new),
        None => obj.btf.clone().map(std::sync::Arc::new),
    };
    let map_defaults =
        obj.maps.iter().flat_map(|m| m.defaults.iter().map(move |d| (m.name.clone(), d.clone()))).collect();
    Ok(Module {
        slots: prog.insns.clone(),
        lines: None,
        funcs: prog.funcs.clone(),
        name: prog.name.clone(),
        progs,
        unusable_progs,
        literal_fds: prog.literal_fds.clone(),
        section: Some(prog.section.clone()),
        license: Some(obj.license.clone()),
        maps: obj.maps.iter().map(map_spec).collect(),
        input: None,
        line_info: prog.line_info.iter().map(line_info).collect(),
        btf_func_info: !prog.func_info.is_empty(),
        elf: Some(Box::new(ElfFacts {
            prog_type: prog.prog_type,
            expected_attach_type: prog.expected_attach_type,
            expected_attach_number: prog.expected_attach_number(),
            prog_flags: prog.prog_flags,
            several_exception_cbs: prog.several_exception_cbs,
            attach_btf: prog.attach_btf.clone(),
            map_defaults,
            error: prog.error.clone(),
            target_btf: obj.target.as_ref().map(|t| t.vmlinux.clone()),
            prog_btf: loaded_btf.clone(),
            map_records: map_records(obj, loaded_btf.as_deref()),
            poisons: poisons(obj, prog),
            object_name: obj.name.clone(),
        })),
    })
}

/// The poisoned CO-RE relocations of `prog` at their slots in the loaded program (a function
/// is placed once per program that calls it), and the object's extern names.
fn poisons(obj: &LoadedObject, prog: &LoadedProgram) -> crate::libbpf_log::Poisons {
    let core = obj
        .core
        .iter()
        .filter(|(_, r)| r.poisoned)
        .flat_map(|(func, r)| {
            let placed = prog.layout.iter().filter(move |(name, _)| name == func);
            placed.map(move |(_, first)| (first + r.insn, r.local_spec.clone()))
        })
        .collect();
    crate::libbpf_log::Poisons { core, externs: obj.externs.iter().map(|e| e.name.clone()).collect() }
}

/// A module from assembly text (`call NAME` resolves kfuncs through `registry`).
pub fn module_from_asm(src: &str, registry: &Registry) -> Result<Module, SourceError> {
    let kfuncs = |n: &str| registry.kfunc_by_name(n).map(|d| d.id);
    let m = kbpf_isa::asm::assemble_module_slots(src, &kfuncs)?;
    Ok(Module {
        lines: Some(m.lines),
        funcs: m.funcs,
        maps: m.maps,
        name: m.name,
        progs: m.progs,
        input: m.input,
        ..Module::plain(m.slots)
    })
}

/// The ELF program `select` names: `prog` by function name; `section` the only program of
/// that section (or, for compatibility, a function name); neither, the first. Every front end
/// picks programs this way.
pub(crate) fn pick_program<'o>(
    programs: &'o [LoadedProgram],
    select: ProgSelect<'_>,
) -> Result<&'o LoadedProgram, SourceError> {
    let listed = |ps: &mut dyn Iterator<Item = &LoadedProgram>| {
        ps.map(|p| format!("{} ({})", p.name, p.section)).collect::<Vec<_>>()
    };
    let all = || listed(&mut programs.iter());
    if let Some(name) = select.prog {
        let p = programs
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| SourceError::NoProgram { name: name.to_string(), programs: all() })?;
        if let Some(s) = select.section
            && p.section != s
        {
            return Err(SourceError::NoProgram { name: format!("{name} in section {s}"), programs: all() });
        }
        return Ok(p);
    }
    let Some(s) = select.section else {
        return programs
            .first()
            .ok_or_else(|| SourceError::NoProgram { name: String::new(), programs: Vec::new() });
    };
    let in_section: Vec<_> = programs.iter().filter(|p| p.section == s).collect();
    match in_section[..] {
        [p] => Ok(p),
        [] => programs
            .iter()
            .find(|p| p.name == s)
            .ok_or_else(|| SourceError::NoProgram { name: s.to_string(), programs: all() }),
        _ => Err(SourceError::AmbiguousProgram {
            name: s.to_string(),
            programs: listed(&mut in_section.iter().copied()),
        }),
    }
}

/// Raw slots of a `.bin` or hex file, undecoded: the verifier reports malformed instructions in
/// the kernel's order and with its messages, so it wants them as they are. A length that is not
/// a multiple of 8 is an error here (the kernel refuses it before the verifier runs).
pub fn read_raw_slots(path: &Path, kind: SourceKind) -> Result<Vec<kbpf_isa::RawInsn>, SourceError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| SourceError::Io { path: name.clone(), err })?;
    let bytes = match kind {
        SourceKind::Hex => parse_hex(&String::from_utf8(bytes).map_err(|_| SourceError::NotText(name))?)?,
        _ => bytes,
    };
    slots_of_bytes(&bytes)
}

/// Splits bytes into slots; a length that is not a multiple of 8 is an error.
pub(crate) fn slots_of_bytes(bytes: &[u8]) -> Result<Vec<kbpf_isa::RawInsn>, SourceError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(SourceError::Decode(DecodeError {
            index: bytes.len() / 8,
            kind: kbpf_isa::DecodeErrorKind::Truncated(bytes.len()),
        }));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| kbpf_isa::RawInsn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

/// Reads a program file, with no kfunc names and the first ELF program.
pub fn read_program(path: &Path, kind: SourceKind) -> Result<Program, SourceError> {
    read_module(path, kind, &Registry::new(), None)?.program()
}
