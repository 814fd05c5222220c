//! The safe way to native code: a verifier's [`Verified`] witness is checked against the
//! registry and the maps the code will run with, its map and callback references are resolved,
//! its context accesses are rewritten for the run-time context, and only then is it compiled
//! ([`crate::Backend::compile`]).

use std::marker::PhantomData;

use kbpf_isa::{Insn, LdImm64Src, Program, Size};
use kbpf_kfunc::callbacks::FuncRoles;
use kbpf_kfunc::maps::MapSet;
use kbpf_kfunc::{FuncKind, Registry};
use kbpf_verifier::{CallKind, CalledFn, MapKind, ProgType, Verified};

use crate::error::JitError;
use crate::program::{Input, JitFault, JitProgram};

/// What the witness's references resolve to at run time.
pub struct Link<'m, 'f> {
    /// The maps the program runs with (their layout must match the witness's maps); `None`
    /// for a program without map references.
    pub maps: Option<&'m MapSet>,
    /// The value `ld_imm64 rX = func(...)` loads for the function at a slot of the witness's
    /// program (an opaque token only helpers see: the verifier allows no access through it).
    pub func_token: &'f dyn Fn(usize) -> u64,
}

impl Link<'static, 'static> {
    /// For a program without map or callback references.
    pub fn none() -> Link<'static, 'static> {
        Link { maps: None, func_token: &|_| 0 }
    }
}

/// Native code compiled from a witness; it borrows the maps whose addresses it embeds.
#[derive(Debug)]
pub struct VerifiedCode<'m> {
    code: JitProgram,
    _maps: PhantomData<&'m MapSet>,
}

impl VerifiedCode<'_> {
    /// The compiled program (its safe runs check the witness's input contract).
    #[inline]
    pub fn code(&self) -> &JitProgram {
        &self.code
    }

    /// [`JitProgram::run`].
    pub fn run(&self, mem: &mut [u8]) -> u64 {
        self.code.run(mem)
    }

    /// [`JitProgram::execute`].
    pub fn execute(&self, mem: &mut [u8]) -> Result<u64, JitFault> {
        self.code.execute(mem)
    }
}

/// Whether `registry` supplies every helper and kfunc the witness calls under the same name and
/// with a native of the verified arity (`bpf_tail_call` needs none when `tail_calls`).
pub fn check_calls(v: &Verified, registry: &Registry, tail_calls: bool) -> Result<(), JitError> {
    v.calls().iter().try_for_each(|c| check_call(c, registry, tail_calls))
}

/// [`check_calls`] for one function.
pub fn check_call(c: &CalledFn, registry: &Registry, tail_calls: bool) -> Result<(), JitError> {
    let (desc, kind) = match c.kind {
        CallKind::Helper => (registry.helper(c.id), FuncKind::Helper),
        CallKind::Kfunc => (registry.kfunc(c.id), FuncKind::Kfunc),
    };
    // lowered to drivers (`crate::lower_callbacks`) or run by the engine (`bpf_throw`)
    if kbpf_kfunc::callbacks::lowered(kind, &c.name) {
        return Ok(());
    }
    let missing = || JitError::Missing { kind, name: c.name.clone(), id: c.id };
    let desc = desc.filter(|d| d.kind == kind).ok_or_else(missing)?;
    if desc.name != c.name {
        return Err(JitError::Mismatch {
            id: c.id,
            verified: c.name.clone(),
            registered: desc.name.clone(),
            what: "name",
        });
    }
    match desc.native {
        Some(f) if f.arity() != c.arity as usize => Err(JitError::Mismatch {
            id: c.id,
            verified: format!("{} ({} arguments)", c.name, c.arity),
            registered: format!("{} ({} arguments)", desc.name, f.arity()),
            what: "arity",
        }),
        Some(_) => Ok(()),
        None if tail_calls && c.kind == CallKind::Helper && c.name == "bpf_tail_call" => Ok(()),
        None => Err(JitError::NoNative { pc: 0, name: c.name.clone() }),
    }
}

/// The run-time context of the packet program types: the uapi structure followed by the host
/// addresses of `data`, `data_end` and `data_meta` (what the facade's test run builds).
/// `(uapi size, uapi offsets of data, data_end, data_meta)`.
fn packet_ctx(pt: ProgType) -> Option<(i16, [i16; 3])> {
    match pt {
        ProgType::SchedCls
        | ProgType::SchedAct
        | ProgType::SocketFilter
        | ProgType::CgroupSkb
        | ProgType::Lwt(_) => Some((kbpf_kfunc::vmlinux::RUNTIME_SKB_DATA_OFF as i16, [76, 80, 140])),
        ProgType::Xdp => Some((kbpf_kfunc::vmlinux::RUNTIME_XDP_DATA_OFF as i16, [0, 4, 8])),
        ProgType::FlowDissector => Some((kbpf_kfunc::vmlinux::RUNTIME_FLOW_DATA_OFF as i16, [76, 80, 140])),
        _ => None,
    }
}

/// Where a 32-bit context load of the uapi field at `off` reads the host pointer in the
/// run-time context of `pt`, for `data`, `data_end` and `data_meta`.
pub fn ctx_pointer_slot(pt: ProgType, off: i16) -> Option<i16> {
    let (base, fields) = packet_ctx(pt)?;
    fields.iter().position(|&f| f == off).map(|k| base + 8 * k as i16)
}

/// The witness's program as engines run it: map references resolved to `link.maps`
/// (checked against the maps the verifier saw), callback references to tokens, packet
/// context loads rewritten (`convert_ctx_accesses`). Running it is exactly as sound as the
/// engine running it: the interpreter checks every access, native code relies on this.
pub fn link(v: &Verified, link: &Link<'_, '_>) -> Result<Program, JitError> {
    let prog = v.program();
    let mut insns = prog.insns().to_vec();
    for (i, insn) in insns.iter_mut().enumerate() {
        let pc = prog.pc(i);
        match *insn {
            Insn::LdImm64 { dst, src: src @ (LdImm64Src::MapFd | LdImm64Src::MapValue), imm, imm_hi } => {
                let bad = |why: String| JitError::Link(format!("insn {pc}: map fd {imm}: {why}"));
                let maps = link.maps.ok_or_else(|| bad("the run has no maps".into()))?;
                let def = v
                    .maps()
                    .iter()
                    .find(|d| d.fd == imm && !d.template)
                    .ok_or_else(|| bad("not verified".into()))?;
                let fd = usize::try_from(imm).map_err(|_| bad("negative".into()))?;
                let map = maps.get(fd).ok_or_else(|| bad("the run has no such map".into()))?;
                let s = map.spec();
                let kind = MapKind::from_raw(s.map_type.number()).unwrap_or(MapKind::Hash);
                if (kind, s.key_size, s.value_size, s.max_entries)
                    != (def.kind, def.key_size, def.value_size, def.max_entries)
                {
                    return Err(bad(format!(
                        "the run's map {:?} ({kind:?}, key {}, value {}, {} entries) is not the \
                         verified {:?} ({:?}, key {}, value {}, {} entries)",
                        s.name,
                        s.key_size,
                        s.value_size,
                        s.max_entries,
                        def.name,
                        def.kind,
                        def.key_size,
                        def.value_size,
                        def.max_entries
                    )));
                }
                let addr = match src {
                    LdImm64Src::MapFd => maps.map_addr(fd),
                    _ => maps.value_addr(fd, imm_hi as u32),
                }
                .ok_or_else(|| bad(format!("value offset {imm_hi} outside the map")))?;
                *insn = imm64(dst, addr);
            }
            Insn::LdImm64 { dst, src: LdImm64Src::Func, imm, .. } => {
                let target = usize::try_from(pc as i64 + 1 + imm as i64)
                    .map_err(|_| JitError::Link(format!("insn {pc}: callback before the program")))?;
                *insn = imm64(dst, (link.func_token)(target));
            }
            Insn::Load { size: Size::W, signed: false, dst, src, off } if v.is_ctx_access(i) => {
                if let Some(slot) = ctx_pointer_slot(v.prog_type(), off) {
                    *insn = Insn::Load { size: Size::DW, signed: false, dst, src, off: slot };
                }
            }
            _ => {}
        }
    }
    Program::new(insns).map_err(|e| JitError::Link(format!("linked program does not decode: {e}")))
}

/// [`link()`] with the callback helpers lowered to drivers and the exception function appended
/// ([`crate::lower_callbacks`]): the program every engine runs, and the roles of the functions
/// lowering added.
pub fn link_lowered(v: &Verified, link: &Link<'_, '_>) -> Result<(Program, FuncRoles), JitError> {
    let prog = self::link(v, link)?;
    let callbacks = crate::func_refs(v.program());
    let throw_ids: Vec<i32> = v
        .calls()
        .iter()
        .filter(|c| c.kind == CallKind::Kfunc && c.name == "bpf_throw")
        .map(|c| c.id)
        .collect();
    let key_max = link.maps.map_or(0, crate::callbacks::walk_key_max);
    let l = crate::Lowering {
        callbacks: &callbacks,
        token: link.func_token,
        key_max,
        throw_ids: &throw_ids,
        exception_cb: v.exception_cb_at(),
    };
    crate::lower_callbacks(&prog, &l)
}

fn imm64(dst: kbpf_isa::Reg, v: u64) -> Insn {
    Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: v as u32 as i32, imm_hi: (v >> 32) as i32 }
}

/// The input contract of code compiled from `v`.
pub(crate) fn input_of(v: &Verified) -> Input {
    match v.ctx_bytes() {
        Some(n) => Input::AtLeast(n),
        None => Input::BuiltContext,
    }
}

/// Wraps code compiled from a witness.
pub(crate) fn verified_code<'m>(mut code: JitProgram, v: &Verified) -> VerifiedCode<'m> {
    code.set_input(input_of(v));
    VerifiedCode { code, _maps: PhantomData }
}
