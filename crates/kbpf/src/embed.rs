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
use kbpf_verifier::{ProgType, Stats, Verified, VerifyOptions};
use thiserror::Error;

use crate::engine::{Engine, RunError, RunOptions};
use crate::handle::Handle;
use crate::host::Linker;
use crate::source::{Module, ProgSelect, SourceError, SourceKind};

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

#[cfg(test)]
mod tests {
    fn is_send<T: Send>() {}

    #[test]
    fn a_handle_can_move_to_another_thread() {
        is_send::<crate::Handle>();
        is_send::<super::VerifiedProgram>();
    }
}
