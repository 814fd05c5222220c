//! The socket helpers of the skb program types on the one socket a kbpf test run has: the
//! kernel's skb test run (`bpf_prog_test_run_skb`) gives its skb a dummy socket, a full socket
//! in state `TCP_CLOSE` with no protocol and no type (`sk_alloc` + `sock_init_data(NULL, ...)`),
//! which kbpf builds as a `struct bpf_sock` (`kbpf::test_run`). kbpf has no other socket (no
//! lookup helper gives one), so these natives answer as the kernel does for that socket:
//!
//! - `bpf_sk_fullsock` (95): a socket in `TCP_CLOSE` is a full socket: the same pointer;
//! - `bpf_tcp_sock` (96): not a TCP socket (`sk_protocol` 0): NULL;
//! - `bpf_get_listener_sock` (98): not listening: NULL;
//! - `bpf_skc_to_tcp_sock` (137): not a TCP socket: NULL.
//!
//! None of them dereferences the socket.
//!
//! Must not touch: the verifier's prototypes (the kernel's, in kbpf-verifier).

use crate::native::NativeFn;
use crate::registry::{Registry, RegistryError};
use kbpf_isa::BpfFunc;

/// `bpf_sk_fullsock(sk)`: the test run's socket is a full one.
extern "C" fn sk_fullsock(sk: u64) -> u64 {
    sk
}

/// `bpf_tcp_sock(sk)`, `bpf_get_listener_sock(sk)`, `bpf_skc_to_tcp_sock(sk)`: the test run's
/// socket is neither a TCP socket nor a listener.
extern "C" fn no_such_socket(_sk: u64) -> u64 {
    0
}

/// Adds these helpers to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add_helper(BpfFunc::SkFullsock.id(), BpfFunc::SkFullsock.name(), NativeFn::A1(sk_fullsock))?;
    r.add_helper(BpfFunc::TcpSock.id(), BpfFunc::TcpSock.name(), NativeFn::A1(no_such_socket))?;
    r.add_helper(
        BpfFunc::GetListenerSock.id(),
        BpfFunc::GetListenerSock.name(),
        NativeFn::A1(no_such_socket),
    )?;
    r.add_helper(BpfFunc::SkcToTcpSock.id(), BpfFunc::SkcToTcpSock.name(), NativeFn::A1(no_such_socket))
}
