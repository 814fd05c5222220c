//! What natives need to know of the program a run runs, which the kernel decides per program
//! type when it picks a helper's implementation (natives are found by id, one per helper): set
//! by the facade for the run ([`enter`]) and read by the redirect helpers (`crate::redirect`)
//! and `bpf_dynptr_from_skb` (`crate::vmlinux`). A run without a program type (an unverified
//! program) gets the default, [`RunProg::UNTYPED`].

use std::cell::Cell;

/// The facts of the running program's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunProg {
    /// An xdp program (`bpf_redirect` is `bpf_xdp_redirect`).
    pub xdp: bool,
    /// The program type may write its packet (the kernel's `may_access_direct_pkt_data` for a
    /// write: tc, xdp, lwt xmit, sk_skb, sk_msg); otherwise `bpf_dynptr_from_skb` makes a
    /// read-only dynptr.
    pub packet_write: bool,
}

impl RunProg {
    /// What a run without a program type gets: the helpers every type but xdp has, a
    /// writable packet.
    pub const UNTYPED: RunProg = RunProg { xdp: false, packet_write: true };
}

thread_local! {
    static CURRENT: Cell<RunProg> = const { Cell::new(RunProg::UNTYPED) };
}

/// The run's program, until dropped.
pub struct RunProgScope(RunProg);

/// Starts a run of a program with these facts.
pub fn enter(p: RunProg) -> RunProgScope {
    RunProgScope(CURRENT.with(|c| c.replace(p)))
}

impl Drop for RunProgScope {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The running program's facts.
pub fn current() -> RunProg {
    CURRENT.with(Cell::get)
}
