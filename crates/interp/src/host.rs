//! Calls the interpreter runs outside its loop: the map helpers, `bpf_tail_call` and the timer
//! helpers against the run's `HostEnv` (on bytes read through checked accesses, never a raw
//! pointer), `callx`, and natives whose arguments must be checked first.

use kbpf_kfunc::maps::{MAX_TAIL_CALL_CNT, TailCallTarget, call_map_helper, call_queue_helper};

use kbpf_isa::BpfFunc as F;

use crate::compile::{CallxTarget, K};
use crate::error::InterpError;
use crate::exec::{Both, State, d, native_args};
use crate::vm::{BPF_MAX_LOOPS, Vm};

/// Map helpers and `bpf_tail_call`, against the environment (kernel semantics: an index beyond
/// `max_entries` falls through uncounted; otherwise the attempt counts, and past
/// `MAX_TAIL_CALL_CNT` or into an empty slot it falls through).
#[cold]
#[inline(never)]
pub(crate) fn host_call(
    vm: &Vm,
    cur: usize,
    st: &mut State,
    m: &mut Both<'_, '_, '_, '_, '_>,
) -> Result<(), InterpError> {
    let op = vm.ops.get(cur).ok_or(InterpError::FellOffEnd { pc: vm.pc_of(cur) })?;
    let pc = vm.pc_of(cur);
    // `callx` runs whatever its register names, through the same paths as `call`
    let (k, imm) = match op.k {
        K::Callx => {
            let id = st.r[d(op)] as i64;
            match vm.helpers.get(&id) {
                Some(CallxTarget::Host(k)) => (*k, id as u64),
                Some(CallxTarget::Native(i)) => (K::CallChecked, *i as u64),
                None => return Err(InterpError::UnknownHelper { pc, id }),
            }
        }
        k => (k, op.imm),
    };
    if k == K::Throw {
        return throw(vm, pc, imm, st, m);
    }
    if k == K::CallChecked {
        let a = native_args(&st.r, &st.calls);
        st.r[0] = crate::args::call_checked(vm, pc, imm as usize, a, m)?;
        return Ok(());
    }
    let r = &mut st.r;
    if k == K::TimerCall {
        // r1 must be a timer field of the environment's maps (checked there, no raw access)
        let not_timer = || InterpError::BadArgument {
            pc,
            func: timer_helper_name(imm as i32).to_string(),
            arg: 1,
            name: "timer".to_string(),
            why: format!("{:#x} is not a bpf_timer in a map value of this run", r[1]),
        };
        let env = m.env.ok_or_else(not_timer)?;
        r[0] = env.timer_helper(imm as i32, [r[1], r[2], r[3]]).ok_or_else(not_timer)?;
        return Ok(());
    }
    let map_reg = if k == K::TailCall { r[2] } else { r[1] };
    let map = m.env.and_then(|e| e.map(map_reg)).ok_or(InterpError::NoMap { pc, addr: map_reg })?;
    if k == K::TailCall {
        let target = map.tail_call_target(r[3]);
        if target == TailCallTarget::OutOfRange || st.tail_calls >= MAX_TAIL_CALL_CNT {
            return Ok(());
        }
        st.tail_calls += 1;
        if let TailCallTarget::Prog(id) = target
            && let Some(&entry) = vm.entries.get(id as usize)
        {
            // The callee replaces the current frame: same r1 (ctx) and r10, a fresh may_goto
            // budget; its `exit` returns to whoever called this frame.
            st.pc = entry as usize;
            st.calls.may_goto = BPF_MAX_LOOPS;
            m.mem.clear_frame(st.calls.depth);
        }
        return Ok(());
    }
    let spec = map.spec();
    let mem_err = |a: u64, n: u32| InterpError::MemoryAccess { pc, addr: a, size: n.min(255) as u8 };
    if let Some(f @ (F::MapPushElem | F::MapPopElem | F::MapPeekElem)) = F::from_id(imm as i32) {
        // the value at r2, of the map's value size: read for a push, written by pop and peek
        let value = if f == F::MapPushElem {
            m.bytes(r[2], spec.value_size).ok_or_else(|| mem_err(r[2], spec.value_size))?
        } else {
            Vec::new()
        };
        let (ret, out) = call_queue_helper(map, imm as i32, &value, r[3]);
        if let Some(out) = out {
            m.write_bytes(r[2], &out).ok_or_else(|| mem_err(r[2], spec.value_size))?;
        }
        r[0] = ret;
        return Ok(());
    }
    let key = m.bytes(r[2], spec.key_size).ok_or_else(|| mem_err(r[2], spec.key_size))?;
    let value = if imm as i32 == F::MapUpdateElem.id() {
        m.bytes(r[3], spec.value_size).ok_or_else(|| mem_err(r[3], spec.value_size))?
    } else {
        Vec::new()
    };
    r[0] = call_map_helper(map, imm as i32, &key, &value, r[4]);
    Ok(())
}

fn timer_helper_name(id: i32) -> &'static str {
    kbpf_isa::BpfFunc::from_id(id).map_or("timer helper", kbpf_isa::BpfFunc::name)
}

/// `bpf_throw(cookie)`: every frame is dropped and the exception function at op `entry` runs in
/// the main function's place with the cookie in r1, its `exit` ending the run (its own frame
/// starts zeroed, like a JIT's prologue leaves it).
fn throw(
    vm: &Vm,
    pc: usize,
    entry: u64,
    st: &mut State,
    m: &mut Both<'_, '_, '_, '_, '_>,
) -> Result<(), InterpError> {
    let entry = usize::try_from(entry)
        .ok()
        .filter(|&e| e < vm.ops.len())
        .ok_or(InterpError::Unsupported { pc, what: "bpf_throw without an exception function" })?;
    st.calls.depth = 0;
    st.calls.drivers = 0;
    st.calls.may_goto = BPF_MAX_LOOPS;
    m.mem.enter_frame(0);
    st.r[10] = m.mem.frame_pointer(0);
    st.pc = entry;
    Ok(())
}
