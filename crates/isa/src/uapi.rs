//! The kernel's uapi enumerations of program loading (`include/uapi/linux/bpf.h`, Linux 6.18):
//! program types (`enum bpf_prog_type`) and attach types (`enum bpf_attach_type`), with their
//! numbers and names. The ELF loader's section table, the verifier's attach rules and the CLI
//! all name them through these enums.

/// Declares [`KernelProgType`] once: each variant with the short name libbpf and bpftool print,
/// in the kernel's numbering order (`enum bpf_prog_type`, from 1).
macro_rules! kernel_prog_types {
    ($($variant:ident => $name:literal,)*) => {
        /// The kernel's program types (`enum bpf_prog_type`, numbered from 1).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum KernelProgType {
            $($variant,)*
        }

        impl KernelProgType {
            /// Every type, in the kernel's numbering order.
            pub const ALL: &'static [KernelProgType] = &[$(KernelProgType::$variant,)*];

            /// The short name libbpf and bpftool print (`kprobe`, `sched_cls`).
            pub fn name(self) -> &'static str {
                match self {
                    $(KernelProgType::$variant => $name,)*
                }
            }
        }
    };
}

kernel_prog_types! {
    SocketFilter => "socket_filter",
    Kprobe => "kprobe",
    SchedCls => "sched_cls",
    SchedAct => "sched_act",
    Tracepoint => "tracepoint",
    Xdp => "xdp",
    PerfEvent => "perf_event",
    CgroupSkb => "cgroup_skb",
    CgroupSock => "cgroup_sock",
    LwtIn => "lwt_in",
    LwtOut => "lwt_out",
    LwtXmit => "lwt_xmit",
    SockOps => "sock_ops",
    SkSkb => "sk_skb",
    CgroupDevice => "cgroup_device",
    SkMsg => "sk_msg",
    RawTracepoint => "raw_tracepoint",
    CgroupSockAddr => "cgroup_sock_addr",
    LwtSeg6local => "lwt_seg6local",
    LircMode2 => "lirc_mode2",
    SkReuseport => "sk_reuseport",
    FlowDissector => "flow_dissector",
    CgroupSysctl => "cgroup_sysctl",
    RawTracepointWritable => "raw_tracepoint_writable",
    CgroupSockopt => "cgroup_sockopt",
    Tracing => "tracing",
    StructOps => "struct_ops",
    Ext => "ext",
    Lsm => "lsm",
    SkLookup => "sk_lookup",
    Syscall => "syscall",
    Netfilter => "netfilter",
}

impl KernelProgType {
    /// The uapi constant, `BPF_PROG_TYPE_KPROBE`.
    pub fn uapi_name(self) -> String {
        format!("BPF_PROG_TYPE_{}", self.name().to_ascii_uppercase())
    }

    /// The uapi number (`BPF_PROG_TYPE_SOCKET_FILTER` = 1).
    pub fn number(self) -> u32 {
        Self::ALL.iter().position(|t| *t == self).map_or(0, |i| i as u32 + 1)
    }

    /// By short name (`kprobe`, `sched_cls`).
    pub fn by_name(name: &str) -> Option<KernelProgType> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }
}

/// Declares [`AttachType`] with the kernel's numbers (`enum bpf_attach_type`).
macro_rules! attach_types {
    ($($variant:ident = $n:literal => $name:literal,)*) => {
        /// The kernel's attach types (`enum bpf_attach_type`), with their uapi numbers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum AttachType {
            $($variant = $n,)*
        }

        impl AttachType {
            /// Every attach type, in the kernel's numbering order.
            pub const ALL: &'static [AttachType] = &[$(AttachType::$variant,)*];

            /// The uapi constant (`BPF_TRACE_FENTRY`).
            pub fn uapi_name(self) -> &'static str {
                match self {
                    $(AttachType::$variant => $name,)*
                }
            }
        }
    };
}

attach_types! {
    CgroupInetIngress = 0 => "BPF_CGROUP_INET_INGRESS",
    CgroupInetEgress = 1 => "BPF_CGROUP_INET_EGRESS",
    CgroupInetSockCreate = 2 => "BPF_CGROUP_INET_SOCK_CREATE",
    CgroupSockOps = 3 => "BPF_CGROUP_SOCK_OPS",
    SkSkbStreamParser = 4 => "BPF_SK_SKB_STREAM_PARSER",
    SkSkbStreamVerdict = 5 => "BPF_SK_SKB_STREAM_VERDICT",
    CgroupDevice = 6 => "BPF_CGROUP_DEVICE",
    SkMsgVerdict = 7 => "BPF_SK_MSG_VERDICT",
    CgroupInet4Bind = 8 => "BPF_CGROUP_INET4_BIND",
    CgroupInet6Bind = 9 => "BPF_CGROUP_INET6_BIND",
    CgroupInet4Connect = 10 => "BPF_CGROUP_INET4_CONNECT",
    CgroupInet6Connect = 11 => "BPF_CGROUP_INET6_CONNECT",
    CgroupInet4PostBind = 12 => "BPF_CGROUP_INET4_POST_BIND",
    CgroupInet6PostBind = 13 => "BPF_CGROUP_INET6_POST_BIND",
    CgroupUdp4Sendmsg = 14 => "BPF_CGROUP_UDP4_SENDMSG",
    CgroupUdp6Sendmsg = 15 => "BPF_CGROUP_UDP6_SENDMSG",
    LircMode2 = 16 => "BPF_LIRC_MODE2",
    FlowDissector = 17 => "BPF_FLOW_DISSECTOR",
    CgroupSysctl = 18 => "BPF_CGROUP_SYSCTL",
    CgroupUdp4Recvmsg = 19 => "BPF_CGROUP_UDP4_RECVMSG",
    CgroupUdp6Recvmsg = 20 => "BPF_CGROUP_UDP6_RECVMSG",
    CgroupGetsockopt = 21 => "BPF_CGROUP_GETSOCKOPT",
    CgroupSetsockopt = 22 => "BPF_CGROUP_SETSOCKOPT",
    TraceRawTp = 23 => "BPF_TRACE_RAW_TP",
    TraceFentry = 24 => "BPF_TRACE_FENTRY",
    TraceFexit = 25 => "BPF_TRACE_FEXIT",
    ModifyReturn = 26 => "BPF_MODIFY_RETURN",
    LsmMac = 27 => "BPF_LSM_MAC",
    TraceIter = 28 => "BPF_TRACE_ITER",
    CgroupInet4Getpeername = 29 => "BPF_CGROUP_INET4_GETPEERNAME",
    CgroupInet6Getpeername = 30 => "BPF_CGROUP_INET6_GETPEERNAME",
    CgroupInet4Getsockname = 31 => "BPF_CGROUP_INET4_GETSOCKNAME",
    CgroupInet6Getsockname = 32 => "BPF_CGROUP_INET6_GETSOCKNAME",
    XdpDevmap = 33 => "BPF_XDP_DEVMAP",
    CgroupInetSockRelease = 34 => "BPF_CGROUP_INET_SOCK_RELEASE",
    XdpCpumap = 35 => "BPF_XDP_CPUMAP",
    SkLookup = 36 => "BPF_SK_LOOKUP",
    Xdp = 37 => "BPF_XDP",
    SkSkbVerdict = 38 => "BPF_SK_SKB_VERDICT",
    SkReuseportSelect = 39 => "BPF_SK_REUSEPORT_SELECT",
    SkReuseportSelectOrMigrate = 40 => "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE",
    PerfEvent = 41 => "BPF_PERF_EVENT",
    TraceKprobeMulti = 42 => "BPF_TRACE_KPROBE_MULTI",
    LsmCgroup = 43 => "BPF_LSM_CGROUP",
    StructOps = 44 => "BPF_STRUCT_OPS",
    Netfilter = 45 => "BPF_NETFILTER",
    TcxIngress = 46 => "BPF_TCX_INGRESS",
    TcxEgress = 47 => "BPF_TCX_EGRESS",
    TraceUprobeMulti = 48 => "BPF_TRACE_UPROBE_MULTI",
    CgroupUnixConnect = 49 => "BPF_CGROUP_UNIX_CONNECT",
    CgroupUnixSendmsg = 50 => "BPF_CGROUP_UNIX_SENDMSG",
    CgroupUnixRecvmsg = 51 => "BPF_CGROUP_UNIX_RECVMSG",
    CgroupUnixGetpeername = 52 => "BPF_CGROUP_UNIX_GETPEERNAME",
    CgroupUnixGetsockname = 53 => "BPF_CGROUP_UNIX_GETSOCKNAME",
    NetkitPrimary = 54 => "BPF_NETKIT_PRIMARY",
    NetkitPeer = 55 => "BPF_NETKIT_PEER",
    TraceKprobeSession = 56 => "BPF_TRACE_KPROBE_SESSION",
}

impl AttachType {
    /// The attach type with uapi number `n`, `None` past `__MAX_BPF_ATTACH_TYPE`.
    pub fn from_number(n: u32) -> Option<AttachType> {
        Self::ALL.get(n as usize).copied()
    }

    /// The uapi number (`BPF_XDP_DEVMAP` = 33).
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The name without `BPF_`, lower case (`xdp_devmap`).
    pub fn short_name(self) -> String {
        self.uapi_name()["BPF_".len()..].to_ascii_lowercase()
    }

    /// By name: the uapi constant (`BPF_XDP_DEVMAP`) or the same without `BPF_` in either case
    /// (`xdp_devmap`, `XDP_DEVMAP`).
    pub fn by_name(name: &str) -> Option<AttachType> {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("BPF_") { upper } else { format!("BPF_{upper}") };
        Self::ALL.iter().copied().find(|a| a.uapi_name() == full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(KernelProgType::Netfilter.number(), 32);
        assert_eq!(KernelProgType::SocketFilter.number(), 1);
        assert_eq!(KernelProgType::by_name("sched_cls"), Some(KernelProgType::SchedCls));
        assert_eq!(AttachType::TraceKprobeSession as u32, 56);
        for (i, a) in AttachType::ALL.iter().enumerate() {
            assert_eq!(a.number(), i as u32);
            assert_eq!(AttachType::from_number(i as u32), Some(*a));
            assert_eq!(AttachType::by_name(a.uapi_name()), Some(*a));
            assert_eq!(AttachType::by_name(&a.short_name()), Some(*a));
        }
        assert_eq!(AttachType::from_number(57), None);
        assert_eq!(AttachType::by_name("xdp_devmap"), Some(AttachType::XdpDevmap));
        assert_eq!(AttachType::by_name("BPF_XDP_CPUMAP"), Some(AttachType::XdpCpumap));
        assert_eq!(AttachType::by_name("devmap"), None);
        assert_eq!(AttachType::by_name("BPF_"), None);
    }
}
