//! A module made ready to run many times: its programs linked against a run's maps, then
//! loaded into the interpreter or compiled by the host JIT once. Every run of the facade goes
//! through [`Prepared`]: the one-shot entry points build one per call, a [`crate::Handle`]
//! keeps one. After the main program returns, the timers it armed fire on the same engine
//! (crate `timers` module); their drivers are built on first use and kept.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::{CallTarget, Insn, Program};
use kbpf_jit::{FaultKind, JitOptions, JitProgram, LdAbsFrame, Link, TailCallHook, VerifiedCode};
use kbpf_kfunc::Registry;
use kbpf_kfunc::callbacks::FuncRoles;
use kbpf_kfunc::maps::{MapSet, TailCalls, tail_call_resolve};
use kbpf_kfunc::run_prog::RunProg;
use kbpf_verifier::{CallKind, ProgType, Verified};

use crate::engine::{Engine, RunError, RunOptions, host_backend};
use crate::source::Module;
use crate::timers::{MAX_TIMER_FIRINGS, callback_driver, decode_callback, driver_input};

/// Where a test run's skb context holds its host pointers.
const SKB_PTRS_AT: usize = kbpf_kfunc::vmlinux::RUNTIME_SKB_DATA_OFF as usize;

/// What `LD_ABS`/`LD_IND` read: `region`, the packet's buffer, through the skb context's host
/// pointers (the JIT re-reads them at each load and keeps every load inside the region).
fn ld_abs_frame(region: &[u8]) -> LdAbsFrame<'_> {
    LdAbsFrame { buf: region, ptrs_at: Some(SKB_PTRS_AT) }
}

/// What natives need of a program type ([`kbpf_kfunc::run_prog`]).
fn run_prog(pt: ProgType) -> RunProg {
    use kbpf_verifier::LwtKind;
    let packet_write = matches!(
        pt,
        ProgType::SchedCls
            | ProgType::SchedAct
            | ProgType::Xdp
            | ProgType::Lwt(LwtKind::Xmit)
            | ProgType::SkSkb
            | ProgType::SkMsg
    );
    RunProg { xdp: pt == ProgType::Xdp, packet_write }
}

/// A context the facade built (test runs), and whether `LD_ABS`/`LD_IND` read `regions[i]`.
#[derive(Clone, Copy)]
pub(crate) struct BuiltCtx {
    pub(crate) ld_abs_region: Option<usize>,
}

/// A timer callback's driver, built on its first firing.
enum Driver {
    Interp(Vm),
    Jit(JitProgram),
}

/// Engine state. Field order matters for the JIT: code is dropped before the tail-call state
/// it was compiled against.
enum Code<'m> {
    Interp(Vm),
    Jit {
        verified: Vec<VerifiedCode<'m>>,
        unverified: Vec<JitProgram>,
        jit_opts: JitOptions,
        tail_calls: Box<TailCalls>,
    },
}

/// A module's programs, linked to `'m` maps and ready on one engine.
pub(crate) struct Prepared<'m> {
    drivers: RefCell<HashMap<u64, Arc<Driver>>>,
    code: Code<'m>,
    progs: Vec<Program>,
    /// The functions lowering added to each program.
    roles: Vec<FuncRoles>,
    vm_opts: VmOptions,
    /// The main program's verified context: (type, bytes; `None` = holds pointers).
    main_ctx: Option<(ProgType, Option<usize>)>,
    built_ctx: Option<BuiltCtx>,
    timers: bool,
    /// The maps must be active during the run: timer natives, ring-buffer commits find them so.
    activate: bool,
    /// See [`Prepared::bare_code`].
    bare: bool,
}

impl<'m> Prepared<'m> {
    /// Links and loads or compiles `module`'s programs: `checked` = the witnesses of every
    /// program (else the programs run as written).
    ///
    /// # Safety
    ///
    /// Without witnesses and with [`Engine::Jit`], the caller vouches for the programs as in
    /// [`crate::run_module_unchecked`], for every later run.
    pub(crate) unsafe fn new(
        module: &Module,
        maps: &'m MapSet,
        engine: Engine,
        registry: &Registry,
        opts: RunOptions,
        checked: Option<&[Verified]>,
        built_ctx: Option<BuiltCtx>,
    ) -> Result<Prepared<'m>, RunError> {
        // every program as the engines run it: linked, callbacks lowered to drivers
        let (progs, roles): (Vec<Program>, Vec<FuncRoles>) = match checked {
            Some(ws) => ws
                .iter()
                .enumerate()
                .map(|(id, w)| {
                    let token = move |pc: usize| crate::timers::callback_token(id, pc);
                    kbpf_jit::link_lowered(w, &Link { maps: Some(maps), func_token: &token })
                })
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .unzip(),
            None => {
                let progs = module.programs().map_err(Box::new)?;
                progs
                    .iter()
                    .enumerate()
                    .map(|(id, p)| crate::callbacks::lower_unverified(p, id, maps, registry))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .unzip()
            }
        };
        let ld_abs = built_ctx.and_then(|b| b.ld_abs_region);
        // the packet region of a built context is an skb's, as its pointers describe it
        let ld_abs_ctx = ld_abs.map(|_| SKB_PTRS_AT);
        let mut vm_opts = VmOptions {
            kernel_compat: opts.kernel_compat,
            ld_abs_region: ld_abs,
            ld_abs_ctx,
            ..Default::default()
        };
        if let Some(b) = opts.insn_budget {
            vm_opts.insn_budget = b;
        }
        let code = match engine {
            Engine::Interp => {
                let refs: Vec<&Program> = progs.iter().collect();
                Code::Interp(Vm::with_roles(&refs, &roles, registry, vm_opts)?)
            }
            Engine::Jit => {
                let backend = host_backend().ok_or(RunError::NoJit(std::env::consts::ARCH))?;
                // The tail-call state lives at a fixed address the code is compiled against;
                // entry addresses are filled in once every program is compiled.
                let mut tail_calls = Box::new(TailCalls::default());
                // SAFETY: `tail_call_resolve` has the resolver's signature and `tail_calls`
                // outlives every program compiled with the hook (`Code::Jit` drops them first).
                let hook = unsafe {
                    TailCallHook::new(
                        &*tail_calls as *const TailCalls as u64,
                        tail_call_resolve as *const () as u64,
                    )
                };
                // only a module that tail-calls pays for the hook (every main function then
                // saves its callee-saved registers and is entered through a trampoline)
                let tail_called = match checked {
                    Some(ws) => {
                        ws.iter().any(|w| w.calls().iter().any(|c| c.kind == CallKind::Helper && c.id == 12))
                    }
                    None => progs.iter().any(|p| {
                        p.insns()
                            .iter()
                            .any(|i| matches!(i, Insn::Call(CallTarget::Helper(12)) | Insn::Callx { .. }))
                    }),
                };
                let jit_opts = JitOptions { tail_call: tail_called.then_some(hook), ..JitOptions::default() };
                let mut verified = Vec::new();
                let mut unverified = Vec::new();
                match checked {
                    Some(ws) => {
                        for (id, w) in ws.iter().enumerate() {
                            let token = move |pc: usize| crate::timers::callback_token(id, pc);
                            let link = Link { maps: Some(maps), func_token: &token };
                            verified.push(backend.compile(w, registry, &link, &jit_opts)?);
                        }
                    }
                    None => {
                        for (p, roles) in progs.iter().zip(&roles) {
                            let opts = JitOptions { roles: roles.clone(), ..jit_opts.clone() };
                            // SAFETY: unverified programs reach here only from callers that
                            // vouched for them (ours); lowering keeps what they do.
                            unverified.push(unsafe { backend.compile_unverified(p, registry, &opts)? });
                        }
                    }
                }
                let entries: Vec<u64> = verified
                    .iter()
                    .map(|c| c.code().main_addr())
                    .chain(unverified.iter().map(JitProgram::main_addr))
                    .collect();
                for (id, addr) in entries.into_iter().enumerate() {
                    tail_calls.set_entry(id, addr);
                }
                Code::Jit { verified, unverified, jit_opts, tail_calls }
            }
        };
        let main_ctx = checked.and_then(|ws| ws.first()).map(|w| (w.prog_type(), w.ctx_bytes()));
        let timers = module.maps.iter().any(|m| m.timer_off.is_some());
        let tail_calls = checked.is_none_or(|ws| {
            ws.iter().any(|w| w.calls().iter().any(|c| c.kind == CallKind::Helper && c.id == 12))
        });
        let activate = timers || module.maps.iter().any(|m| m.map_type == kbpf_isa::MapType::Ringbuf);
        let bare = !activate && !tail_calls && built_ctx.is_none();
        Ok(Prepared {
            drivers: RefCell::default(),
            code,
            progs,
            roles,
            vm_opts,
            main_ctx,
            built_ctx,
            timers,
            activate,
            bare,
        })
    }

    /// The main program's native code when a run needs nothing around it: verified JIT code,
    /// no timers to fire, no tail calls to count, no built context.
    #[inline]
    pub(crate) fn bare_code(&self) -> Option<&JitProgram> {
        match &self.code {
            Code::Jit { verified, .. } if self.bare => verified.first().map(VerifiedCode::code),
            _ => None,
        }
    }

    /// Runs the main program on `mem` (checked against the verified context first), then fires
    /// due timers. `maps` are the maps the programs were linked to.
    ///
    /// # Safety
    ///
    /// With a built context, `mem` is a context built by [`crate::PacketCtx::new`] for the
    /// witnesses' program type around `regions[0]`, valid for the whole run.
    pub(crate) unsafe fn run(
        &self,
        maps: &MapSet,
        registry: &Registry,
        mem: &mut [u8],
        regions: &mut [&mut [u8]],
    ) -> Result<u64, RunError> {
        let mut padded = None;
        if let Some((pt, bytes)) = self.main_ctx {
            let refuse = |why| Err(RunError::Context { prog_type: pt, why, given: mem.len() });
            match (bytes, pt) {
                (None, _) if self.built_ctx.is_some() => {}
                (None, _) => {
                    return refuse("a packet program runs only through test_run, which builds its context");
                }
                (Some(n), ProgType::Syscall) if mem.len() < n => {
                    let mut buf = vec![0u8; n];
                    buf[..mem.len()].copy_from_slice(mem);
                    padded = Some(buf);
                }
                (Some(n), _) if mem.len() < n => {
                    return refuse("the input is smaller than the verified context");
                }
                (Some(_), _) => {}
            }
        }
        let Some(mut buf) = padded else {
            // SAFETY: forwarded to our caller; the input covers the verified context.
            return unsafe { self.run_engine(maps, registry, mem, regions) };
        };
        // SAFETY: as above; the padded buffer covers the verified context.
        let r0 = unsafe { self.run_engine(maps, registry, &mut buf, regions) }?;
        let len = mem.len();
        mem.copy_from_slice(&buf[..len]);
        Ok(r0)
    }

    /// # Safety
    ///
    /// As [`Prepared::run`], with the input settled.
    unsafe fn run_engine(
        &self,
        maps: &MapSet,
        registry: &Registry,
        mem: &mut [u8],
        regions: &mut [&mut [u8]],
    ) -> Result<u64, RunError> {
        // the timer natives (JIT code) act on these maps for the whole run, callbacks included
        // (without a timer in any map value, the verifier let no timer helper through)
        let _active = self.activate.then(|| maps.activate());
        let _prog =
            kbpf_kfunc::run_prog::enter(self.main_ctx.map_or(RunProg::UNTYPED, |(pt, _)| run_prog(pt)));
        let r0 = match &self.code {
            Code::Interp(vm) => vm.run_env_with_regions(mem, regions, maps)?.r0,
            Code::Jit { verified, unverified, tail_calls, .. } => {
                let code = match verified.first() {
                    Some(v) => v.code(),
                    None => unverified.first().ok_or(RunError::Bug("a prepared module without programs"))?,
                };
                tail_calls.reset();
                let ld_abs = self.built_ctx.and_then(|b| b.ld_abs_region);
                let frame = ld_abs.and_then(|i| regions.get(i)).map(|r| ld_abs_frame(r));
                let res = match (self.built_ctx.is_some() || verified.is_empty(), frame) {
                    // SAFETY: a built context (or a vouched-for program): our caller's guarantee.
                    (true, Some(f)) => unsafe { code.execute_with_frame_unchecked(mem, f) },
                    // SAFETY: as above.
                    (true, None) => unsafe { code.execute_unchecked(mem) },
                    (false, Some(f)) => code.execute_with_packet(mem, f.buf),
                    (false, None) => code.execute(mem),
                };
                match res {
                    Ok(r0) => r0,
                    // like the kernel: an out-of-bounds LD_ABS or an unknown callx ends with r0 = 0
                    Err(f) if matches!(f.kind, FaultKind::LdAbsOutOfBounds | FaultKind::UnknownCallx) => 0,
                    Err(f) => return Err(f.into()),
                }
            }
        };
        if self.timers {
            self.fire_timers(maps, registry)?;
        }
        Ok(r0)
    }

    /// Fires due timers one by one, at most [`MAX_TIMER_FIRINGS`].
    fn fire_timers(&self, maps: &MapSet, registry: &Registry) -> Result<(), RunError> {
        for _ in 0..MAX_TIMER_FIRINGS {
            let Some(due) = maps.next_due_timer() else { break };
            let (prog_id, pc) = decode_callback(due.callback).ok_or(RunError::Callback(due.callback))?;
            let mut input = driver_input(&due);
            maps.set_running_timer(Some(due.timer));
            let r = self.driver(due.callback, prog_id, pc, registry).and_then(|d| {
                match &*d {
                    Driver::Interp(vm) => {
                        vm.run_program_env(self.progs.len(), &mut input, &mut [], maps)?;
                    }
                    Driver::Jit(code) => {
                        if let Code::Jit { tail_calls, .. } = &self.code {
                            tail_calls.reset();
                        }
                        code.run(&mut input);
                    }
                }
                Ok(())
            });
            maps.set_running_timer(None);
            r?;
        }
        Ok(())
    }

    /// The driver of the callback at `pc` of program `prog_id`, built on first use.
    fn driver(
        &self,
        token: u64,
        prog_id: usize,
        pc: usize,
        registry: &Registry,
    ) -> Result<Arc<Driver>, RunError> {
        if let Some(d) = self.drivers.borrow().get(&token) {
            return Ok(d.clone());
        }
        let prog = self.progs.get(prog_id).ok_or(RunError::Callback(token))?;
        let d = callback_driver(prog, pc)?;
        let driver = match &self.code {
            Code::Interp(_) => {
                let mut all: Vec<&Program> = self.progs.iter().collect();
                all.push(&d);
                Driver::Interp(Vm::with_roles(&all, &self.roles, registry, self.vm_opts)?)
            }
            Code::Jit { jit_opts, .. } => {
                let backend = host_backend().ok_or(RunError::NoJit(std::env::consts::ARCH))?;
                // SAFETY: the driver is a callback of a linked program (verified as an async
                // callback when the module was verified, vouched for otherwise) behind a prefix
                // that loads the map, value and key pointers of a due timer from
                // `driver_input`, which points into the maps the programs were linked to.
                Driver::Jit(unsafe { backend.compile_unverified(&d, registry, jit_opts)? })
            }
        };
        let driver = Arc::new(driver);
        self.drivers.borrow_mut().insert(token, driver.clone());
        Ok(driver)
    }
}
