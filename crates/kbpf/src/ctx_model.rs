//! What kbpf's test-run contexts leave out: context fields a program may read whose kernel
//! value is an object kbpf does not build, so a run that reads one is refused rather than
//! run on a stand-in (the context module, `test_run`, owns the layout itself).

use kbpf_isa::{Insn, Size};
use kbpf_verifier::Verified;

use crate::test_run::CtxLayout;

/// `offsetof(struct __sk_buff, sk)`: the kernel's skb test run gives every skb a socket.
const SKB_SK: i16 = 168;

/// The first instruction of `w` that reads a context field kbpf's `layout` does not model,
/// with the field's name.
pub(crate) fn unmodelled_field(w: &Verified, layout: CtxLayout) -> Option<(usize, &'static str)> {
    if layout != CtxLayout::Skb {
        return None;
    }
    let prog = w.program();
    prog.insns().iter().enumerate().find_map(|(i, insn)| match *insn {
        Insn::Load { size: Size::DW, off: SKB_SK, .. } if w.is_ctx_access(i) => {
            Some((prog.pc(i), "__sk_buff.sk (the kernel's test run builds a socket, kbpf does not)"))
        }
        _ => None,
    })
}
