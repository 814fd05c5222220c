//! The redirect helpers: `bpf_redirect` 23, `bpf_redirect_neigh` 152, `bpf_redirect_peer` 155.
//! They only record where the packet should go and return the verdict that asks for it; the
//! redirect happens after the program, which a test run never does (it returns the program's
//! verdict). So in a kbpf run their result is the return code alone, which depends on the
//! program type: xdp's `bpf_redirect` answers `XDP_REDIRECT` (`XDP_ABORTED` for any flag), every
//! other type's `TC_ACT_REDIRECT` (`TC_ACT_SHOT` for a flag but `BPF_F_INGRESS`), as the run's
//! program says ([`crate::run_prog`]).

use crate::native::NativeFn;
use crate::registry::{Registry, RegistryError};
use kbpf_isa::BpfFunc;

const XDP_ABORTED: u64 = 0;
const XDP_REDIRECT: u64 = 4;
const TC_ACT_SHOT: u64 = 2;
const TC_ACT_REDIRECT: u64 = 7;
/// `BPF_F_INGRESS`.
const F_INGRESS: u64 = 1;
/// `sizeof(struct bpf_redir_neigh)`.
const REDIR_NEIGH_SIZE: u64 = 20;

/// `bpf_redirect(ifindex, flags)`.
extern "C" fn redirect(_ifindex: u64, flags: u64) -> u64 {
    if crate::run_prog::current().xdp {
        if flags != 0 { XDP_ABORTED } else { XDP_REDIRECT }
    } else if flags & !F_INGRESS != 0 {
        TC_ACT_SHOT
    } else {
        TC_ACT_REDIRECT
    }
}

/// `bpf_redirect_peer(ifindex, flags)` (tc only).
extern "C" fn redirect_peer(_ifindex: u64, flags: u64) -> u64 {
    if flags != 0 { TC_ACT_SHOT } else { TC_ACT_REDIRECT }
}

/// `bpf_redirect_neigh(ifindex, params, plen, flags)` (tc only): `params` is copied only by the
/// redirect itself, so it is not read here.
extern "C" fn redirect_neigh(_ifindex: u64, _params: u64, plen: u64, flags: u64) -> u64 {
    // `plen` is an int compared with a size: a negative one is huge
    let plen = plen as u32 as i32 as i64 as u64;
    if (plen != 0 && plen < REDIR_NEIGH_SIZE) || flags != 0 { TC_ACT_SHOT } else { TC_ACT_REDIRECT }
}

/// Adds the three helpers to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add_helper(BpfFunc::Redirect.id(), BpfFunc::Redirect.name(), NativeFn::A2(redirect))?;
    r.add_helper(BpfFunc::RedirectPeer.id(), BpfFunc::RedirectPeer.name(), NativeFn::A2(redirect_peer))?;
    r.add_helper(BpfFunc::RedirectNeigh.id(), BpfFunc::RedirectNeigh.name(), NativeFn::A4(redirect_neigh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_follow_the_program_type() {
        {
            let _x = crate::run_prog::enter(crate::run_prog::RunProg { xdp: true, packet_write: true });
            assert_eq!((redirect(1, 0), redirect(1, 1)), (XDP_REDIRECT, XDP_ABORTED));
        }
        assert_eq!((redirect(1, 0), redirect(1, 1), redirect(1, 2)), (7, 7, 2));
        assert_eq!((redirect_peer(1, 0), redirect_peer(1, 1)), (7, 2));
        assert_eq!((redirect_neigh(1, 0, 0, 0), redirect_neigh(1, 0, 4, 0)), (7, 2));
        assert_eq!((redirect_neigh(1, 0, 20, 0), redirect_neigh(1, 0, u32::MAX as u64, 0)), (7, 7));
        assert_eq!(redirect_neigh(1, 0, 0, 1), 2);
    }
}
