//! A compiled program ([`Handle`]) and its run paths: the fast one calls bare native code
//! directly (inlined into the caller, no more than a length check), the general one goes
//! through the engine (interpreter, tail calls, timers, host closures, padded syscall
//! contexts), and packet programs run on a context built like the kernel's test run.

use std::sync::Arc;

use kbpf_jit::{FaultKind, JitProgram};
use kbpf_kfunc::maps::MapSet;
use kbpf_verifier::{ProgType, Verified};

use crate::engine::{Engine, RunError, RunOptions};
use crate::host::{HostScope, Linker};
use crate::mapview::MapView;
use crate::prepared::{BuiltCtx, Prepared};
use crate::source::Module;
use crate::test_run::{CtxLayout, PacketCtx, TestRunOutcome};

/// A compiled program with its maps: run it as often as needed; maps keep their contents
/// across runs.
pub struct Handle {
    // dropped before the maps its code embeds
    prepared: Prepared<'static>,
    maps: Arc<MapSet>,
    linker: Linker,
    module: Arc<Module>,
    engine: Engine,
    /// The packet context of packet programs, and where their packet starts in the frame.
    layout: Option<CtxLayout>,
    net: usize,
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
    /// Without witnesses and with [`Engine::Jit`]: as [`crate::Prog::load_unverified`].
    pub(crate) unsafe fn new(
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
        let main_type = witnesses.and_then(|ws| Some(ws.first()?.prog_type()));
        let layout = main_type.and_then(CtxLayout::of);
        let net = main_type.map_or(0, CtxLayout::network_offset);
        let built = layout.map(|l| BuiltCtx { ld_abs_region: (l == CtxLayout::Skb).then_some(0) });
        // SAFETY: verified programs, or our caller vouches; with a built context,
        // `Handle::run_packet` is the only way to run them and builds it.
        let prepared =
            unsafe { Prepared::new(&module, maps_ref, engine, linker.registry(), run, witnesses, built)? };
        let linker = linker.clone();
        let direct = prepared.bare_code().is_some() && linker.table.is_empty();
        let entry = prepared.bare_code().and_then(JitProgram::bare_entry).filter(|_| direct);
        Ok(Handle { prepared, maps, linker, module, engine, layout, net, direct, entry })
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

    /// Runs a packet program (tc, xdp, socket filter, cgroup skb, lwt) on a copy of `packet` inside a context built like the kernel's
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
            return Err(RunError::Usage(
                "run_packet needs a packet program (tc, xdp, socket filter, cgroup skb, lwt)",
            ));
        };
        // like the kernel's test run (and `test_run`), which refuses them after the load
        let attach = self.module.elf.as_ref().and_then(|e| e.expected_attach_type);
        if layout == CtxLayout::Xdp
            && matches!(attach, Some(kbpf_isa::AttachType::XdpDevmap | kbpf_isa::AttachType::XdpCpumap))
        {
            return Err(RunError::Usage("the kernel's test run refuses xdp devmap and cpumap programs"));
        }
        let min = if layout == CtxLayout::Flow { crate::test_run::ETH_HLEN } else { self.net };
        if packet.len() < min {
            return Err(RunError::Usage("the packet is shorter than an Ethernet header"));
        }
        if layout == CtxLayout::Xdp && packet.len() > kbpf_kfunc::xdp_helpers::XDP_MAX_DATA {
            return Err(RunError::Usage("an xdp frame longer than a test run's linear frame"));
        }
        let mut pc = PacketCtx::at(layout, packet, self.net);
        let (ctx, mut regions) = pc.parts();
        // SAFETY: `ctx` was built by `PacketCtx::new` for the witness's program type around
        // `regions` (its buffer, its socket), which live (and do not move) for the whole run.
        let retval = self.with_host(|| unsafe {
            self.prepared.run(&self.maps, self.linker.registry(), ctx, &mut regions)
        });
        pc.finish(&self.maps, packet.len());
        let retval = retval?;
        Ok(TestRunOutcome { retval, data_out: pc.data_out(), ctx_out: pc.ctx_out() })
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
