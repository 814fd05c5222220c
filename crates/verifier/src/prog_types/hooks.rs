//! The expected attach types that change what a networking or cgroup program may do (context
//! fields, helpers, return range): the kernel reads `prog->expected_attach_type` for these.
//! Each type keeps only the distinctions its rules make.

use kbpf_isa::AttachType;

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

impl SockHook {
    /// The hook of a cgroup_sock program (`bpf_prog_load_check_attach` takes only these; the
    /// kernel turns an unset attach type into `BPF_CGROUP_INET_SOCK_CREATE`).
    pub fn from_attach(attach: Option<AttachType>) -> Option<SockHook> {
        use AttachType as A;
        Some(match attach {
            None | Some(A::CgroupInetSockCreate) => SockHook::Create,
            Some(A::CgroupInetSockRelease) => SockHook::Release,
            Some(A::CgroupInet4PostBind) => SockHook::PostBind4,
            Some(A::CgroupInet6PostBind) => SockHook::PostBind6,
            _ => return None,
        })
    }
}

impl SockAddrHook {
    /// The hook of a sock_addr program; `None` for an attach type the kernel refuses.
    pub fn from_attach(attach: Option<AttachType>) -> Option<SockAddrHook> {
        use AttachType as A;
        use SockAddrHook::*;
        Some(match attach? {
            A::CgroupInet4Bind => Bind4,
            A::CgroupInet6Bind => Bind6,
            A::CgroupInet4Connect => Connect4,
            A::CgroupInet6Connect => Connect6,
            A::CgroupUdp4Sendmsg => Sendmsg4,
            A::CgroupUdp6Sendmsg => Sendmsg6,
            A::CgroupUdp4Recvmsg => Recvmsg4,
            A::CgroupUdp6Recvmsg => Recvmsg6,
            A::CgroupInet4Getpeername => Getpeername4,
            A::CgroupInet6Getpeername => Getpeername6,
            A::CgroupInet4Getsockname => Getsockname4,
            A::CgroupInet6Getsockname => Getsockname6,
            A::CgroupUnixConnect => UnixConnect,
            A::CgroupUnixSendmsg => UnixSendmsg,
            A::CgroupUnixRecvmsg => UnixRecvmsg,
            A::CgroupUnixGetpeername => UnixGetpeername,
            A::CgroupUnixGetsockname => UnixGetsockname,
            _ => return None,
        })
    }

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
