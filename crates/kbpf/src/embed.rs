//! The embedding API: open an [`Object`], pick a [`Prog`], verify it into a
//! [`VerifiedProgram`], compile that once into a [`Handle`] and run the handle many times.
//! Host functions come from a [`crate::Linker`]; maps are reached by name ([`Handle::map`]).
//!
//! ```
//! let linker = kbpf::Linker::new();
//! let obj = kbpf::Object::from_asm("r0 = *(u32 *)(r1 + 0)\nr0 += 1\nexit\n", &linker)?;
//! let verified = obj.main()?.verify(&linker, &kbpf::VerifyConfig::mem(4))?;
//! let handle = verified.compile(kbpf::Engine::Jit)?;
//! assert_eq!(handle.run(&mut 41u32.to_le_bytes())?, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use kbpf_elf::{LoadOptions, LoadedObject};
use kbpf_jit::{FaultKind, JitProgram};
use kbpf_kfunc::maps::MapSet;
use kbpf_verifier::{ProgType, Stats, Verified, VerifyOptions};
use thiserror::Error;

use crate::engine::{Engine, RunError, RunOptions};
use crate::host::{HostScope, Linker};
use crate::mapview::MapView;
use crate::prepared::{BuiltCtx, Prepared};
use crate::source::{Module, ProgSelect, SourceError, SourceKind};
use crate::test_run::{CtxLayout, PacketCtx, TestRunOutcome};

/// Programs read from bytes, assembly text or an ELF object, not yet verified.
#[derive(Debug)]
pub struct Object {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Module(Box<Module>),
    Elf(Box<LoadedObject>),
}

impl Object {
    /// Raw instructions: little-endian 8-byte slots.
    ///
    /// ```
    /// let obj = kbpf::Object::from_bytes(&[0xb7, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])?;
    /// # Ok::<(), kbpf::SourceError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Object, SourceError> {
        Ok(Object::module(Module::plain(crate::source::slots_of_bytes(bytes)?)))
    }

    /// Assembly (kernel or LLVM syntax, with kbpf's `.func`/`.map`/`.prog` directives);
    /// `call NAME` resolves `linker`'s kfuncs.
    ///
    /// ```
    /// let obj = kbpf::Object::from_asm("r0 = 7\nexit\n", &kbpf::Linker::new())?;
    /// # Ok::<(), kbpf::SourceError>(())
    /// ```
    pub fn from_asm(src: &str, linker: &Linker) -> Result<Object, SourceError> {
        Ok(Object::module(crate::source::module_from_asm(src, linker.registry())?))
    }

    /// A clang `-target bpf` object, opened like libbpf opens it, without a target kernel
    /// ([`LoadOptions::offline`]).
    pub fn from_elf(bytes: &[u8]) -> Result<Object, SourceError> {
        Object::from_elf_with(bytes, &LoadOptions::offline())
    }

    /// [`Object::from_elf`] with a target kernel's BTF, config, map overrides ...
    pub fn from_elf_with(bytes: &[u8], opts: &LoadOptions) -> Result<Object, SourceError> {
        Ok(Object { inner: Inner::Elf(Box::new(kbpf_elf::open_object(bytes, opts)?)) })
    }

    /// A file, by its name: `.o` an ELF object (offline), `.s` assembly, `.hex` hex text,
    /// anything else raw slots.
    ///
    /// ```no_run
    /// let obj = kbpf::Object::open("prog.o", &kbpf::Linker::new())?;
    /// let prog = obj.program("xdp_pass")?;
    /// # Ok::<(), kbpf::SourceError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, linker: &Linker) -> Result<Object, SourceError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|err| SourceError::Io { path: name.clone(), err })?;
        let text = || String::from_utf8(bytes.clone()).map_err(|_| SourceError::NotText(name.clone()));
        match SourceKind::from_path(path) {
            SourceKind::Elf => Object::from_elf(&bytes),
            SourceKind::Asm => Object::from_asm(&text()?, linker),
            SourceKind::Hex => Object::from_bytes(&crate::parse_hex(&text()?)?),
            SourceKind::Bin => Object::from_bytes(&bytes),
        }
    }

    fn module(m: Module) -> Object {
        Object { inner: Inner::Module(Box::new(m)) }
    }

    /// The names of the programs an embedder can pick (an ELF object's functions; assembly:
    /// the main program's `.prog` name, possibly empty, then the others).
    pub fn program_names(&self) -> Vec<String> {
        match &self.inner {
            Inner::Module(m) => {
                std::iter::once(m.name.clone()).chain(m.progs.iter().map(|p| p.name.clone())).collect()
            }
            Inner::Elf(o) => o.programs.iter().map(|p| p.name.clone()).collect(),
        }
    }

    /// The program called `name` (an ELF function name, or an assembly module's main program).
    pub fn program(&self, name: &str) -> Result<Prog, SourceError> {
        match &self.inner {
            Inner::Module(m) if m.name == name => Ok(Prog { module: (**m).clone() }),
            Inner::Module(m) => {
                Err(SourceError::NoProgram { name: name.to_string(), programs: vec![m.name.clone()] })
            }
            Inner::Elf(o) => {
                let p =
                    crate::source::pick_program(&o.programs, ProgSelect { prog: Some(name), section: None })?;
                Ok(Prog { module: crate::module_from_object(o, p)? })
            }
        }
    }

    /// The first program (an assembly or raw module's only main program).
    pub fn main(&self) -> Result<Prog, SourceError> {
        match &self.inner {
            Inner::Module(m) => Ok(Prog { module: (**m).clone() }),
            Inner::Elf(o) => {
                let p = crate::source::pick_program(&o.programs, ProgSelect::default())?;
                Ok(Prog { module: crate::module_from_object(o, p)? })
            }
        }
    }
}

/// One program with its maps, function declarations and tail-call targets.
#[derive(Clone, Debug)]
pub struct Prog {
    module: Module,
}

impl Prog {
    /// The module behind it (slots as written, maps, ELF facts).
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Verifies the program (and its tail-call targets) with `linker`'s helpers and kfuncs.
    ///
    /// ```
    /// let linker = kbpf::Linker::new();
    /// let obj = kbpf::Object::from_asm("r0 = *(u64 *)(r1 + 8)\nexit\n", &linker)?;
    /// let config = kbpf::VerifyConfig::mem(8).kernel(kbpf::Kernel::V6_18).log_level(1);
    /// let err = obj.main()?.verify(&linker, &config).unwrap_err();
    /// assert!(matches!(err.reason, kbpf::RunError::Rejected(_)));
    /// assert!(err.log.contains("invalid bpf_context access off=8 size=8"), "{}", err.log);
    /// # Ok::<(), kbpf::SourceError>(())
    /// ```
    pub fn verify(
        &self,
        linker: &Linker,
        config: &VerifyConfig,
    ) -> Result<VerifiedProgram, Box<VerifyFailed>> {
        let failed = |reason, log: String| Box::new(VerifyFailed { reason, log });
        let prog_type = match (config.prog_type, &self.module.elf) {
            (Some(t), _) => t,
            (None, Some(elf)) => match (elf.prog_type, &self.module.section) {
                (Some(k), Some(sec)) => {
                    crate::modelled_type(sec, k).map_err(|e| failed(RunError::ProgType(e), String::new()))?
                }
                _ => {
                    return Err(failed(
                        RunError::Usage("the ELF program has no program type: set VerifyConfig::prog_type"),
                        String::new(),
                    ));
                }
            },
            (None, None) => {
                return Err(failed(
                    RunError::Usage(
                        "no program type: use VerifyConfig::mem(ctx_size) or VerifyConfig::of(type)",
                    ),
                    String::new(),
                ));
            }
        };
        let vopts = VerifyOptions {
            prog_type,
            log_level: config.log_level,
            kfuncs: crate::kfunc_table(linker.registry()),
            host_helpers: linker.helpers.clone(),
            stack_args: config.kernel == Kernel::V6_18StackArgs,
            allow_global_stack_args: config.allow_global_stack_args,
            jit: !config.kernel_interpreter,
            ..VerifyOptions::default()
        };
        let mut witnesses = Vec::new();
        let (mut log, mut stats) = (String::new(), Stats::default());
        for (i, m) in crate::guard::program_modules(&self.module).iter().enumerate() {
            let out = crate::verify_module(m, vopts.clone());
            if i == 0 {
                (log, stats) = (out.log, out.stats);
            }
            match (out.error, out.witness) {
                (Some(e), _) => return Err(failed(RunError::Rejected(e), log)),
                (None, Some(w)) => witnesses.push(w),
                (None, None) => {
                    return Err(failed(RunError::Bug("an accepted program without a witness"), log));
                }
            }
        }
        let kernel_interpreter = config.kernel_interpreter;
        let module = Arc::new(self.module.clone());
        Ok(VerifiedProgram { module, witnesses, linker: linker.clone(), log, stats, kernel_interpreter })
    }

    /// Loads the program into the interpreter without verifying it: safe for any program, since
    /// the interpreter checks every memory access and every pointer it hands to a native.
    pub fn load_unverified(&self, linker: &Linker, opts: &CompileOptions) -> Result<Handle, RunError> {
        let run = RunOptions {
            insn_budget: opts.insn_budget,
            kernel_compat: opts.kernel_interpreter,
            ..RunOptions::default()
        };
        // SAFETY: the interpreter needs no guarantee from the program.
        unsafe { Handle::new(Arc::new(self.module.clone()), linker, Engine::Interp, run, None) }
    }

    /// Compiles the program for `engine` without verifying it (the bpf_conformance plugin:
    /// its suite has programs the kernel rejects).
    ///
    /// # Safety
    ///
    /// With [`Engine::Jit`] every run of the handle executes native code without bounds checks
    /// or instruction budget: the caller guarantees that on every input it is given the
    /// program only accesses that input, its stacks and its maps, passes helpers and kfuncs
    /// valid arguments and terminates, as if verified. With [`Engine::Interp`] there is no
    /// requirement.
    pub unsafe fn compile_unverified(
        &self,
        linker: &Linker,
        engine: Engine,
        opts: &CompileOptions,
    ) -> Result<Handle, RunError> {
        let run = RunOptions { insn_budget: opts.insn_budget, ..RunOptions::default() };
        // SAFETY: forwarded to our caller.
        unsafe { Handle::new(Arc::new(self.module.clone()), linker, engine, run, None) }
    }
}

impl From<Module> for Prog {
    fn from(module: Module) -> Prog {
        Prog { module }
    }
}

/// The kernel whose rules verification follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernel {
    /// Linux 6.18 exactly: no stack arguments (`R11 is invalid`).
    V6_18,
    /// Linux 6.18 plus the stack-arguments series (up to 12 arguments through r11).
    #[default]
    V6_18StackArgs,
}

/// How to verify: program type, target kernel, log level.
#[derive(Clone, Debug, Default)]
pub struct VerifyConfig {
    /// The program type; `None` takes an ELF program's section type.
    pub prog_type: Option<ProgType>,
    /// Target kernel.
    pub kernel: Kernel,
    /// Verifier log level (1 basic, 2 every state); the log is [`VerifiedProgram::log`].
    pub log_level: u32,
    /// kbpf extension: global functions may take more than 5 arguments.
    pub allow_global_stack_args: bool,
    /// Verify for the kernel's interpreter (no JIT): its refusals apply (kfunc calls, stack
    /// arguments), and an interpreter [`Handle`] refuses what the kernel's interpreter refuses.
    pub kernel_interpreter: bool,
}

/// How a [`Handle`] runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOptions {
    /// The interpreter's instruction budget per run (default
    /// [`crate::interp::DEFAULT_INSN_BUDGET`]).
    pub insn_budget: Option<u64>,
    /// The interpreter refuses what the kernel's interpreter refuses (kfunc calls, stack
    /// arguments); implied for a program verified with [`VerifyConfig::kernel_interpreter`].
    pub kernel_interpreter: bool,
}

impl VerifyConfig {
    /// A program whose context is a plain buffer of `ctx_size` bytes (kbpf's `mem` type): runs
    /// get that buffer, or a larger one.
    pub fn mem(ctx_size: u32) -> VerifyConfig {
        VerifyConfig::of(ProgType::Mem { ctx_size })
    }

    /// A program of a kernel type (`ProgType::Syscall`, ...).
    pub fn of(prog_type: ProgType) -> VerifyConfig {
        VerifyConfig { prog_type: Some(prog_type), ..VerifyConfig::default() }
    }

    /// With a target kernel.
    pub fn kernel(mut self, kernel: Kernel) -> VerifyConfig {
        self.kernel = kernel;
        self
    }

    /// With a log level.
    pub fn log_level(mut self, level: u32) -> VerifyConfig {
        self.log_level = level;
        self
    }
}

/// Verification did not produce a runnable program.
#[derive(Debug, Error)]
#[error("{reason}")]
pub struct VerifyFailed {
    /// Why ([`RunError::Rejected`] carries the kernel's errno and message).
    pub reason: RunError,
    /// The verifier log of the main program, at the requested level.
    pub log: String,
}

/// A program the verifier accepted: the only thing that compiles to native code safely.
#[derive(Debug)]
pub struct VerifiedProgram {
    module: Arc<Module>,
    witnesses: Vec<Verified>,
    linker: Linker,
    log: String,
    stats: Stats,
    kernel_interpreter: bool,
}

impl VerifiedProgram {
    /// The verifier log (empty at log level 0).
    pub fn log(&self) -> &str {
        &self.log
    }

    /// The verifier's counters (processed instructions, states).
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The witness of the main program (the post-verification program, its calls).
    pub fn witness(&self) -> &Verified {
        &self.witnesses[0]
    }

    /// Creates the program's maps and compiles (or loads, for the interpreter) every program
    /// once. A helper or kfunc the engine cannot run is [`RunError::Unsupported`].
    ///
    /// ```
    /// let linker = kbpf::Linker::new();
    /// let verified = kbpf::Object::from_asm("r0 = 1\nexit\n", &linker)?
    ///     .main()?
    ///     .verify(&linker, &kbpf::VerifyConfig::mem(0))?;
    /// let interp = verified.compile(kbpf::Engine::Interp)?;
    /// let jit = verified.compile(kbpf::Engine::Jit)?;
    /// assert_eq!(interp.run(&mut [])?, jit.run(&mut [])?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile(&self, engine: Engine) -> Result<Handle, RunError> {
        self.compile_with(engine, &CompileOptions::default())
    }

    /// [`VerifiedProgram::compile`] with options.
    pub fn compile_with(&self, engine: Engine, opts: &CompileOptions) -> Result<Handle, RunError> {
        for w in &self.witnesses {
            crate::check_engine(w, self.linker.registry(), engine)?;
        }
        let run = RunOptions {
            kernel_compat: (self.kernel_interpreter || opts.kernel_interpreter) && engine == Engine::Interp,
            insn_budget: opts.insn_budget,
            ..RunOptions::default()
        };
        // SAFETY: verified programs (the witnesses).
        unsafe { Handle::new(self.module.clone(), &self.linker, engine, run, Some(&self.witnesses)) }
    }
}

/// A compiled program with its maps: run it as often as needed; maps keep their contents
/// across runs.
pub struct Handle {
    // dropped before the maps its code embeds
    prepared: Prepared<'static>,
    maps: Arc<MapSet>,
    linker: Linker,
    module: Arc<Module>,
    engine: Engine,
    /// The packet context of tc and xdp programs.
    layout: Option<CtxLayout>,
    /// Runs call the main program's native code directly: bare JIT code (see
    /// `Prepared::bare_code`) and no host closures to install. Decided once, here.
    direct: bool,
    /// Of those, code that needs no run context: its entry, called with no more than a length
    /// check.
    entry: Option<kbpf_jit::BareEntry>,
}

// SAFETY: a handle owns everything its runs touch: its maps (the `Arc` is never cloned, so
// this is their only owner, and the `'static` reference inside `prepared` points into them),
// the compiled code and tail-call state, and `Send + Sync` closures. Moving the whole handle to
// another thread moves the sole owner of the maps' unsynchronised cells with it; map views and
// runs borrow the handle, so none can outlive the move. It is not `Sync`: two threads must not
// run it at once.
unsafe impl Send for Handle {}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("engine", &self.engine).field("name", &self.module.name).finish()
    }
}

impl Handle {
    /// Creates the module's maps and prepares its programs: verified (`witnesses`) or not.
    ///
    /// # Safety
    ///
    /// Without witnesses and with [`Engine::Jit`]: as [`Prog::compile_unverified`].
    unsafe fn new(
        module: Arc<Module>,
        linker: &Linker,
        engine: Engine,
        run: RunOptions,
        witnesses: Option<&[Verified]>,
    ) -> Result<Handle, RunError> {
        // an `Arc` for the maps' stable address (moving it asserts no uniqueness, unlike a
        // `Box`); it is never cloned, see `Send` below
        #[allow(clippy::arc_with_non_send_sync)]
        let maps = Arc::new(crate::create_maps(&module)?);
        // SAFETY: the reference is to the maps the handle keeps in an `Arc` (the heap value
        // never moves) and drops only after `prepared`, which is declared before it.
        let maps_ref: &'static MapSet = unsafe { &*Arc::as_ptr(&maps) };
        // packet types run on a context the handle builds (`run_packet`); an skb's legacy
        // packet loads read the packet
        let layout = witnesses.and_then(|ws| CtxLayout::of(ws.first()?.prog_type()));
        let built = layout.map(|l| BuiltCtx { ld_abs_region: (l == CtxLayout::Skb).then_some(0) });
        // SAFETY: verified programs, or our caller vouches; with a built context,
        // `Handle::run_packet` is the only way to run them and builds it.
        let prepared =
            unsafe { Prepared::new(&module, maps_ref, engine, linker.registry(), run, witnesses, built)? };
        let linker = linker.clone();
        let direct = prepared.bare_code().is_some() && linker.table.is_empty();
        let entry = prepared.bare_code().and_then(JitProgram::bare_entry).filter(|_| direct);
        Ok(Handle { prepared, maps, linker, module, engine, layout, direct, entry })
    }

    /// The maps themselves (byte-level access, `kbpf run --dump-maps`).
    pub fn map_set(&self) -> &MapSet {
        &self.maps
    }

    /// Runs the program with `mem` as its context (r1 = its address, r2 = its length); returns
    /// r0. An input smaller than the verified context is [`RunError::Context`]. A host function
    /// that panics returns 0 to the program; the panic resumes here once the program returned.
    ///
    /// The packet types (tc, xdp) run through [`Handle::run_packet`]; a socket filter only
    /// through [`crate::test_run`]'s kernel-like paths is not offered here.
    #[inline]
    pub fn run(&self, mem: &mut [u8]) -> Result<u64, RunError> {
        // the fast path stays small enough to inline into the caller; everything else is out
        // of line, so a run of bare JIT code costs the call into it and little more
        if let Some(e) = &self.entry {
            // SAFETY: the entry's program is owned by `self.prepared`, alive while `self` is.
            if let Some(r0) = unsafe { e.run(mem) } {
                return Ok(r0);
            }
            // a short input: the general path pads a syscall context or reports the refusal
            return self.run_general(mem);
        }
        if self.direct
            && let Some(code) = self.prepared.bare_code()
        {
            match code.execute(mem) {
                Ok(r0) => return Ok(r0),
                Err(f) => return self.run_refused(mem, f),
            }
        }
        self.run_general(mem)
    }

    /// [`Handle::run`] after bare code refused the input or faulted.
    #[cold]
    #[inline(never)]
    fn run_refused(&self, mem: &mut [u8], f: kbpf_jit::JitFault) -> Result<u64, RunError> {
        match f.kind {
            // the general path pads a syscall context or reports the refusal
            FaultKind::InputTooShort | FaultKind::ContextRequired => self.run_general(mem),
            // like the kernel: an out-of-bounds LD_ABS or an unknown callx ends with r0 = 0
            FaultKind::LdAbsOutOfBounds | FaultKind::UnknownCallx => Ok(0),
        }
    }

    /// [`Handle::run`] through the engine: interpreter, tail calls, timers, host closures.
    #[inline(never)]
    fn run_general(&self, mem: &mut [u8]) -> Result<u64, RunError> {
        if let Some(l) = self.layout {
            let prog_type = if l == CtxLayout::Skb { ProgType::SchedCls } else { ProgType::Xdp };
            return Err(RunError::Context {
                prog_type,
                why: "a packet program runs through Handle::run_packet",
                given: mem.len(),
            });
        }
        // SAFETY: verified programs without a built context: `Prepared::run` checks the input
        // against the verified context.
        self.with_host(|| unsafe { self.prepared.run(&self.maps, self.linker.registry(), mem, &mut []) })
    }

    /// Runs a tc or xdp program on a copy of `packet` inside a context built like the kernel's
    /// `BPF_PROG_TEST_RUN` does; returns r0 and the packet after the run.
    ///
    /// ```
    /// let linker = kbpf::Linker::new();
    /// let src = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = 1\nr4 = r2\nr4 += 14\n\
    ///            if r4 > r3 goto +1\nr0 = 2\nexit\n";
    /// let xdp = kbpf::Object::from_asm(src, &linker)?.main()?
    ///     .verify(&linker, &kbpf::VerifyConfig::of(kbpf::verifier::ProgType::Xdp))?
    ///     .compile(kbpf::Engine::Jit)?;
    /// assert_eq!(xdp.run_packet(&kbpf::pkt_v4())?.retval, 2); // XDP_PASS: 14 bytes readable
    /// assert_eq!(xdp.run_packet(&[0; 10])?.retval, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_packet(&self, packet: &[u8]) -> Result<TestRunOutcome, RunError> {
        let Some(layout) = self.layout else {
            return Err(RunError::Usage("run_packet needs a tc (sched_cls) or xdp program"));
        };
        // like the kernel's test run (and `test_run`), which refuses them after the load
        let attach = self.module.elf.as_ref().and_then(|e| e.expected_attach_type);
        if layout == CtxLayout::Xdp
            && matches!(attach, Some(kbpf_isa::AttachType::XdpDevmap | kbpf_isa::AttachType::XdpCpumap))
        {
            return Err(RunError::Usage("the kernel's test run refuses xdp devmap and cpumap programs"));
        }
        let mut pc = PacketCtx::new(layout, packet);
        let PacketCtx { ctx, packet } = &mut pc;
        // SAFETY: `ctx` was built by `PacketCtx::new` for the witness's program type around
        // `packet`, which lives (and does not move) for the whole run.
        let retval = self.with_host(|| unsafe {
            self.prepared.run(&self.maps, self.linker.registry(), ctx, &mut [packet.as_mut_slice()])
        })?;
        Ok(TestRunOutcome { retval, data_out: pc.packet })
    }

    /// Runs `f` with this handle's host functions current.
    fn with_host<T>(&self, f: impl FnOnce() -> T) -> T {
        let table = &self.linker.table;
        if table.is_empty() {
            return f();
        }
        let scope = HostScope::enter(table);
        let r = f();
        scope.finish();
        r
    }

    /// The engine it runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The map called `name` (`.maps` names, `.data`/`.rodata`/`.bss`, `.map NAME`).
    ///
    /// ```
    /// let linker = kbpf::Linker::new();
    /// let src = ".map counts, array, 4, 8, 1\n\
    ///            r1 = counts ll\nr2 = r10\nr2 += -4\n*(u32 *)(r10 -4) = 0\ncall bpf_map_lookup_elem\n\
    ///            if r0 == 0 goto +2\nr1 = 1\nlock *(u64 *)(r0 + 0) += r1\nr0 = 0\nexit\n";
    /// let handle = kbpf::Object::from_asm(src, &linker)?.main()?
    ///     .verify(&linker, &kbpf::VerifyConfig::mem(0))?.compile(kbpf::Engine::Jit)?;
    /// for _ in 0..3 { handle.run(&mut [])?; }
    /// let counts = handle.map("counts").unwrap();
    /// assert_eq!(counts.get::<u32, u64>(&0)?, Some(3));
    /// counts.update(&0u32, &10u64)?;
    /// assert_eq!(counts.iter::<u32, u64>()?, vec![(0, 10)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map(&self, name: &str) -> Option<MapView<'_>> {
        self.maps.iter().find(|m| m.spec().name == name).map(MapView::new)
    }

    /// Every map, in the program's map order.
    pub fn maps(&self) -> impl Iterator<Item = MapView<'_>> {
        self.maps.iter().map(MapView::new)
    }
}

#[cfg(test)]
mod tests {
    fn is_send<T: Send>() {}

    #[test]
    fn a_handle_can_move_to_another_thread() {
        is_send::<super::Handle>();
        is_send::<super::VerifiedProgram>();
    }
}
