//! The expected attach types that change what a networking or cgroup program may do (context
//! fields, helpers, return range): the kernel reads `prog->expected_attach_type` for these.
//! Each type keeps only the distinctions its rules make.

/// `BPF_PROG_TYPE_CGROUP_SOCK` hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SockHook {
    /// `BPF_CGROUP_INET_SOCK_CREATE` (libbpf's default for `cgroup/sock`).
    Create,
    /// `BPF_CGROUP_INET_SOCK_RELEASE`.
    Release,
    /// `BPF_CGROUP_INET4_POST_BIND`.
    PostBind4,
    /// `BPF_CGROUP_INET6_POST_BIND`.
    PostBind6,
}

/// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SockAddrHook {
    /// `BPF_CGROUP_INET4_BIND`.
    Bind4,
    /// `BPF_CGROUP_INET6_BIND`.
    Bind6,
    /// `BPF_CGROUP_INET4_CONNECT`.
    Connect4,
    /// `BPF_CGROUP_INET6_CONNECT`.
    Connect6,
    /// `BPF_CGROUP_UDP4_SENDMSG`.
    Sendmsg4,
    /// `BPF_CGROUP_UDP6_SENDMSG`.
    Sendmsg6,
    /// `BPF_CGROUP_UDP4_RECVMSG`.
    Recvmsg4,
    /// `BPF_CGROUP_UDP6_RECVMSG`.
    Recvmsg6,
    /// `BPF_CGROUP_INET4_GETPEERNAME`.
    Getpeername4,
    /// `BPF_CGROUP_INET6_GETPEERNAME`.
    Getpeername6,
    /// `BPF_CGROUP_INET4_GETSOCKNAME`.
    Getsockname4,
    /// `BPF_CGROUP_INET6_GETSOCKNAME`.
    Getsockname6,
    /// `BPF_CGROUP_UNIX_CONNECT`.
    UnixConnect,
    /// `BPF_CGROUP_UNIX_SENDMSG`.
    UnixSendmsg,
    /// `BPF_CGROUP_UNIX_RECVMSG`.
    UnixRecvmsg,
    /// `BPF_CGROUP_UNIX_GETPEERNAME`.
    UnixGetpeername,
    /// `BPF_CGROUP_UNIX_GETSOCKNAME`.
    UnixGetsockname,
}

impl SockAddrHook {
    /// The hooks that report an address back and cannot fail: the kernel wants `r0 == 1`,
    /// and `bpf_get_retval` / `bpf_set_retval` are not theirs.
    pub fn reports_address(self) -> bool {
        use SockAddrHook::*;
        matches!(
            self,
            Recvmsg4
                | Recvmsg6
                | UnixRecvmsg
                | Getpeername4
                | Getpeername6
                | UnixGetpeername
                | Getsockname4
                | Getsockname6
                | UnixGetsockname
        )
    }

    /// The inet hooks (`bpf_setsockopt` / `bpf_getsockopt` are theirs, not the unix ones').
    pub fn is_inet(self) -> bool {
        use SockAddrHook::*;
        !matches!(self, UnixConnect | UnixSendmsg | UnixRecvmsg | UnixGetpeername | UnixGetsockname)
    }
}

/// `BPF_PROG_TYPE_LWT_*`: the four lightweight-tunnel types share `__sk_buff` rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LwtKind {
    /// `BPF_PROG_TYPE_LWT_IN`.
    In,
    /// `BPF_PROG_TYPE_LWT_OUT`.
    Out,
    /// `BPF_PROG_TYPE_LWT_XMIT`.
    Xmit,
    /// `BPF_PROG_TYPE_LWT_SEG6LOCAL`.
    Seg6local,
}
