//! `check_max_stack_depth`, after the walk: every call chain from the main program and from
//! each async callback (the exception callback included), scanned depth-first in instruction
//! order as the kernel scans it, for the combined stack size, the frame count, direct calls
//! of the exception callback and throws under a callback.

use crate::env::{Program, SubprogFacts};
use crate::messages::Reject;
use kbpf_isa::SlotIdx;

/// Static stack-depth check along call chains (`check_max_stack_depth`): reads the program
/// and the depths and async callbacks the walk recorded, nothing else.
pub(crate) fn check_max_stack_depth(prog: &Program<'_>, subs: &SubprogFacts) -> Result<(), Reject> {
    let info = &prog.info;
    let round = |d: u32| d.div_ceil(16) * 16;
    let depth_of = |sp: usize| round(subs.stack_depth.get(sp).copied().unwrap_or(0));
    // the main program and every async callback start a call chain of their own, the highest
    // subprogram first
    let is_async = |sp: usize| subs.is_async_cb.get(sp).copied().unwrap_or(false);
    let is_cb = |sp: usize| subs.is_cb.get(sp).copied().unwrap_or(false);
    let roots = (0..info.subprogs.len().max(1)).rev().filter(|&i| i == 0 || is_async(i));
    // the exception callback counts as an async callback, which no direct call may reach
    let exception_cb = prog.opts.funcs.iter().find(|f| f.exception_cb).map(|f| f.pc);
    let start_of = |sp: usize| info.subprogs.list.get(sp).map_or(0, |s| s.slots().start);
    let mut steps = 0usize;
    for root in roots {
        // depth-first in instruction order, as the kernel scans: an error deeper in an earlier
        // call is found before one later in the caller
        let first = ChainLink {
            sp: root,
            next: start_of(root),
            depth: depth_of(root),
            frames: 1,
            in_cb: is_cb(root),
        };
        if first.depth > 512 {
            return Err(Reject::CombinedStack(1, first.depth as i64));
        }
        let mut chain = vec![first];
        while let Some(top) = chain.last_mut() {
            steps += 1;
            if steps > MAX_DEPTH_STEPS {
                return Ok(());
            }
            let end = info.subprogs.list.get(top.sp).map_or(0, |s| s.slots().end);
            if top.next >= end {
                chain.pop();
                continue;
            }
            let i = top.next;
            top.next += 1;
            let (sp, depth, frames, in_cb) = (top.sp, top.depth, top.frames, top.in_cb);
            if in_cb && is_throw(prog, i) {
                return Err(crate::messages::KfuncReject::ThrowInCallback { insn: i, subprog: sp }.into());
            }
            let Some((imm, func_ref)) = prog.callee_at(i) else { continue };
            let t = SlotIdx::new(i).jump(imm as i64);
            if !func_ref && t.is_some_and(|t| Some(t.index()) == exception_cb) {
                return Err(Reject::ExceptionCbCall(i));
            }
            // a reference to an async callback does not grow this chain's stack
            let callee = t.and_then(|t| info.subprogs.starting_at(t)).filter(|&c| !(func_ref && is_async(c)));
            let Some(callee) = callee else { continue };
            // the kernel counts the callee's frame from 0 (the main program's)
            if frames + 1 > kbpf_isa::MAX_CALL_FRAMES {
                return Err(Reject::MaxCallDepth(frames));
            }
            let link = ChainLink {
                sp: callee,
                next: start_of(callee),
                depth: depth + depth_of(callee),
                frames: frames + 1,
                in_cb: in_cb || is_cb(callee),
            };
            if link.depth > 512 {
                return Err(Reject::CombinedStack(link.frames, link.depth as i64));
            }
            chain.push(link);
        }
    }
    Ok(())
}

/// Instructions [`check_max_stack_depth`] scans at most (the call graph is walked once per
/// path, which a pathological program could make exponential).
const MAX_DEPTH_STEPS: usize = 1 << 24;

/// One function of the call chain [`check_max_stack_depth`] is scanning.
struct ChainLink {
    sp: usize,
    /// The next slot to scan.
    next: usize,
    /// Stack of the chain up to and including this function.
    depth: u32,
    frames: usize,
    /// A callback is on the chain.
    in_cb: bool,
}

/// Slot `i` calls vmlinux's `bpf_throw`.
fn is_throw(prog: &Program<'_>, i: usize) -> bool {
    match prog.decoded(SlotIdx::new(i)) {
        Ok(kbpf_isa::Insn::Call(kbpf_isa::CallTarget::Kfunc { btf_id, off: 0 })) => {
            prog.opts.kfuncs.get(btf_id).is_some_and(|k| k.name == crate::calls::exceptions::THROW)
        }
        _ => false,
    }
}
