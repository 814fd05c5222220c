//! The kernel's helper functions (`enum bpf_func_id`, Linux 6.18 uapi, ids 0..=211, read from
//! the running kernel's BTF): one table of ids, enum variants and names, which the
//! disassembler, the log, the passes and the verifier's prototype table all read.
//!
//! Helper ids are append-only in the uapi, so an id keeps its name forever; ids past the end
//! print as `unknown`.

/// Declares [`BpfFunc`] and its name table from one list of rows.
macro_rules! helpers {
    ($($variant:ident = $id:literal => $name:literal,)*) => {
        /// A helper id the kernel defines; each variant is the kernel's name in camel case
        /// (`BPF_FUNC_map_lookup_elem` = `MapLookupElem`).
        #[allow(missing_docs)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        pub enum BpfFunc {
            $($variant = $id,)*
        }

        /// Every helper, indexed by id.
        const ALL: &[BpfFunc] = &[$(BpfFunc::$variant,)*];

        /// Helper names indexed by id, each with the `bpf_` prefix the kernel's disassembler
        /// adds.
        const NAMES: &[&str] = &[$(concat!("bpf_", $name),)*];
    };
}

helpers! {
    Unspec = 0 => "unspec",
    MapLookupElem = 1 => "map_lookup_elem",
    MapUpdateElem = 2 => "map_update_elem",
    MapDeleteElem = 3 => "map_delete_elem",
    ProbeRead = 4 => "probe_read",
    KtimeGetNs = 5 => "ktime_get_ns",
    TracePrintk = 6 => "trace_printk",
    GetPrandomU32 = 7 => "get_prandom_u32",
    GetSmpProcessorId = 8 => "get_smp_processor_id",
    SkbStoreBytes = 9 => "skb_store_bytes",
    L3CsumReplace = 10 => "l3_csum_replace",
    L4CsumReplace = 11 => "l4_csum_replace",
    TailCall = 12 => "tail_call",
    CloneRedirect = 13 => "clone_redirect",
    GetCurrentPidTgid = 14 => "get_current_pid_tgid",
    GetCurrentUidGid = 15 => "get_current_uid_gid",
    GetCurrentComm = 16 => "get_current_comm",
    GetCgroupClassid = 17 => "get_cgroup_classid",
    SkbVlanPush = 18 => "skb_vlan_push",
    SkbVlanPop = 19 => "skb_vlan_pop",
    SkbGetTunnelKey = 20 => "skb_get_tunnel_key",
    SkbSetTunnelKey = 21 => "skb_set_tunnel_key",
    PerfEventRead = 22 => "perf_event_read",
    Redirect = 23 => "redirect",
    GetRouteRealm = 24 => "get_route_realm",
    PerfEventOutput = 25 => "perf_event_output",
    SkbLoadBytes = 26 => "skb_load_bytes",
    GetStackid = 27 => "get_stackid",
    CsumDiff = 28 => "csum_diff",
    SkbGetTunnelOpt = 29 => "skb_get_tunnel_opt",
    SkbSetTunnelOpt = 30 => "skb_set_tunnel_opt",
    SkbChangeProto = 31 => "skb_change_proto",
    SkbChangeType = 32 => "skb_change_type",
    SkbUnderCgroup = 33 => "skb_under_cgroup",
    GetHashRecalc = 34 => "get_hash_recalc",
    GetCurrentTask = 35 => "get_current_task",
    ProbeWriteUser = 36 => "probe_write_user",
    CurrentTaskUnderCgroup = 37 => "current_task_under_cgroup",
    SkbChangeTail = 38 => "skb_change_tail",
    SkbPullData = 39 => "skb_pull_data",
    CsumUpdate = 40 => "csum_update",
    SetHashInvalid = 41 => "set_hash_invalid",
    GetNumaNodeId = 42 => "get_numa_node_id",
    SkbChangeHead = 43 => "skb_change_head",
    XdpAdjustHead = 44 => "xdp_adjust_head",
    ProbeReadStr = 45 => "probe_read_str",
    GetSocketCookie = 46 => "get_socket_cookie",
    GetSocketUid = 47 => "get_socket_uid",
    SetHash = 48 => "set_hash",
    Setsockopt = 49 => "setsockopt",
    SkbAdjustRoom = 50 => "skb_adjust_room",
    RedirectMap = 51 => "redirect_map",
    SkRedirectMap = 52 => "sk_redirect_map",
    SockMapUpdate = 53 => "sock_map_update",
    XdpAdjustMeta = 54 => "xdp_adjust_meta",
    PerfEventReadValue = 55 => "perf_event_read_value",
    PerfProgReadValue = 56 => "perf_prog_read_value",
    Getsockopt = 57 => "getsockopt",
    OverrideReturn = 58 => "override_return",
    SockOpsCbFlagsSet = 59 => "sock_ops_cb_flags_set",
    MsgRedirectMap = 60 => "msg_redirect_map",
    MsgApplyBytes = 61 => "msg_apply_bytes",
    MsgCorkBytes = 62 => "msg_cork_bytes",
    MsgPullData = 63 => "msg_pull_data",
    Bind = 64 => "bind",
    XdpAdjustTail = 65 => "xdp_adjust_tail",
    SkbGetXfrmState = 66 => "skb_get_xfrm_state",
    GetStack = 67 => "get_stack",
    SkbLoadBytesRelative = 68 => "skb_load_bytes_relative",
    FibLookup = 69 => "fib_lookup",
    SockHashUpdate = 70 => "sock_hash_update",
    MsgRedirectHash = 71 => "msg_redirect_hash",
    SkRedirectHash = 72 => "sk_redirect_hash",
    LwtPushEncap = 73 => "lwt_push_encap",
    LwtSeg6StoreBytes = 74 => "lwt_seg6_store_bytes",
    LwtSeg6AdjustSrh = 75 => "lwt_seg6_adjust_srh",
    LwtSeg6Action = 76 => "lwt_seg6_action",
    RcRepeat = 77 => "rc_repeat",
    RcKeydown = 78 => "rc_keydown",
    SkbCgroupId = 79 => "skb_cgroup_id",
    GetCurrentCgroupId = 80 => "get_current_cgroup_id",
    GetLocalStorage = 81 => "get_local_storage",
    SkSelectReuseport = 82 => "sk_select_reuseport",
    SkbAncestorCgroupId = 83 => "skb_ancestor_cgroup_id",
    SkLookupTcp = 84 => "sk_lookup_tcp",
    SkLookupUdp = 85 => "sk_lookup_udp",
    SkRelease = 86 => "sk_release",
    MapPushElem = 87 => "map_push_elem",
    MapPopElem = 88 => "map_pop_elem",
    MapPeekElem = 89 => "map_peek_elem",
    MsgPushData = 90 => "msg_push_data",
    MsgPopData = 91 => "msg_pop_data",
    RcPointerRel = 92 => "rc_pointer_rel",
    SpinLock = 93 => "spin_lock",
    SpinUnlock = 94 => "spin_unlock",
    SkFullsock = 95 => "sk_fullsock",
    TcpSock = 96 => "tcp_sock",
    SkbEcnSetCe = 97 => "skb_ecn_set_ce",
    GetListenerSock = 98 => "get_listener_sock",
    SkcLookupTcp = 99 => "skc_lookup_tcp",
    TcpCheckSyncookie = 100 => "tcp_check_syncookie",
    SysctlGetName = 101 => "sysctl_get_name",
    SysctlGetCurrentValue = 102 => "sysctl_get_current_value",
    SysctlGetNewValue = 103 => "sysctl_get_new_value",
    SysctlSetNewValue = 104 => "sysctl_set_new_value",
    Strtol = 105 => "strtol",
    Strtoul = 106 => "strtoul",
    SkStorageGet = 107 => "sk_storage_get",
    SkStorageDelete = 108 => "sk_storage_delete",
    SendSignal = 109 => "send_signal",
    TcpGenSyncookie = 110 => "tcp_gen_syncookie",
    SkbOutput = 111 => "skb_output",
    ProbeReadUser = 112 => "probe_read_user",
    ProbeReadKernel = 113 => "probe_read_kernel",
    ProbeReadUserStr = 114 => "probe_read_user_str",
    ProbeReadKernelStr = 115 => "probe_read_kernel_str",
    TcpSendAck = 116 => "tcp_send_ack",
    SendSignalThread = 117 => "send_signal_thread",
    Jiffies64 = 118 => "jiffies64",
    ReadBranchRecords = 119 => "read_branch_records",
    GetNsCurrentPidTgid = 120 => "get_ns_current_pid_tgid",
    XdpOutput = 121 => "xdp_output",
    GetNetnsCookie = 122 => "get_netns_cookie",
    GetCurrentAncestorCgroupId = 123 => "get_current_ancestor_cgroup_id",
    SkAssign = 124 => "sk_assign",
    KtimeGetBootNs = 125 => "ktime_get_boot_ns",
    SeqPrintf = 126 => "seq_printf",
    SeqWrite = 127 => "seq_write",
    SkCgroupId = 128 => "sk_cgroup_id",
    SkAncestorCgroupId = 129 => "sk_ancestor_cgroup_id",
    RingbufOutput = 130 => "ringbuf_output",
    RingbufReserve = 131 => "ringbuf_reserve",
    RingbufSubmit = 132 => "ringbuf_submit",
    RingbufDiscard = 133 => "ringbuf_discard",
    RingbufQuery = 134 => "ringbuf_query",
    CsumLevel = 135 => "csum_level",
    SkcToTcp6Sock = 136 => "skc_to_tcp6_sock",
    SkcToTcpSock = 137 => "skc_to_tcp_sock",
    SkcToTcpTimewaitSock = 138 => "skc_to_tcp_timewait_sock",
    SkcToTcpRequestSock = 139 => "skc_to_tcp_request_sock",
    SkcToUdp6Sock = 140 => "skc_to_udp6_sock",
    GetTaskStack = 141 => "get_task_stack",
    LoadHdrOpt = 142 => "load_hdr_opt",
    StoreHdrOpt = 143 => "store_hdr_opt",
    ReserveHdrOpt = 144 => "reserve_hdr_opt",
    InodeStorageGet = 145 => "inode_storage_get",
    InodeStorageDelete = 146 => "inode_storage_delete",
    DPath = 147 => "d_path",
    CopyFromUser = 148 => "copy_from_user",
    SnprintfBtf = 149 => "snprintf_btf",
    SeqPrintfBtf = 150 => "seq_printf_btf",
    SkbCgroupClassid = 151 => "skb_cgroup_classid",
    RedirectNeigh = 152 => "redirect_neigh",
    PerCpuPtr = 153 => "per_cpu_ptr",
    ThisCpuPtr = 154 => "this_cpu_ptr",
    RedirectPeer = 155 => "redirect_peer",
    TaskStorageGet = 156 => "task_storage_get",
    TaskStorageDelete = 157 => "task_storage_delete",
    GetCurrentTaskBtf = 158 => "get_current_task_btf",
    BprmOptsSet = 159 => "bprm_opts_set",
    KtimeGetCoarseNs = 160 => "ktime_get_coarse_ns",
    ImaInodeHash = 161 => "ima_inode_hash",
    SockFromFile = 162 => "sock_from_file",
    CheckMtu = 163 => "check_mtu",
    ForEachMapElem = 164 => "for_each_map_elem",
    Snprintf = 165 => "snprintf",
    SysBpf = 166 => "sys_bpf",
    BtfFindByNameKind = 167 => "btf_find_by_name_kind",
    SysClose = 168 => "sys_close",
    TimerInit = 169 => "timer_init",
    TimerSetCallback = 170 => "timer_set_callback",
    TimerStart = 171 => "timer_start",
    TimerCancel = 172 => "timer_cancel",
    GetFuncIp = 173 => "get_func_ip",
    GetAttachCookie = 174 => "get_attach_cookie",
    TaskPtRegs = 175 => "task_pt_regs",
    GetBranchSnapshot = 176 => "get_branch_snapshot",
    TraceVprintk = 177 => "trace_vprintk",
    SkcToUnixSock = 178 => "skc_to_unix_sock",
    KallsymsLookupName = 179 => "kallsyms_lookup_name",
    FindVma = 180 => "find_vma",
    Loop = 181 => "loop",
    Strncmp = 182 => "strncmp",
    GetFuncArg = 183 => "get_func_arg",
    GetFuncRet = 184 => "get_func_ret",
    GetFuncArgCnt = 185 => "get_func_arg_cnt",
    GetRetval = 186 => "get_retval",
    SetRetval = 187 => "set_retval",
    XdpGetBuffLen = 188 => "xdp_get_buff_len",
    XdpLoadBytes = 189 => "xdp_load_bytes",
    XdpStoreBytes = 190 => "xdp_store_bytes",
    CopyFromUserTask = 191 => "copy_from_user_task",
    SkbSetTstamp = 192 => "skb_set_tstamp",
    ImaFileHash = 193 => "ima_file_hash",
    KptrXchg = 194 => "kptr_xchg",
    MapLookupPercpuElem = 195 => "map_lookup_percpu_elem",
    SkcToMptcpSock = 196 => "skc_to_mptcp_sock",
    DynptrFromMem = 197 => "dynptr_from_mem",
    RingbufReserveDynptr = 198 => "ringbuf_reserve_dynptr",
    RingbufSubmitDynptr = 199 => "ringbuf_submit_dynptr",
    RingbufDiscardDynptr = 200 => "ringbuf_discard_dynptr",
    DynptrRead = 201 => "dynptr_read",
    DynptrWrite = 202 => "dynptr_write",
    DynptrData = 203 => "dynptr_data",
    TcpRawGenSyncookieIpv4 = 204 => "tcp_raw_gen_syncookie_ipv4",
    TcpRawGenSyncookieIpv6 = 205 => "tcp_raw_gen_syncookie_ipv6",
    TcpRawCheckSyncookieIpv4 = 206 => "tcp_raw_check_syncookie_ipv4",
    TcpRawCheckSyncookieIpv6 = 207 => "tcp_raw_check_syncookie_ipv6",
    KtimeGetTaiNs = 208 => "ktime_get_tai_ns",
    UserRingbufDrain = 209 => "user_ringbuf_drain",
    CgrpStorageGet = 210 => "cgrp_storage_get",
    CgrpStorageDelete = 211 => "cgrp_storage_delete",
}

/// Number of helper ids the kernel knows (`__BPF_FUNC_MAX_ID`).
pub const HELPER_COUNT: usize = NAMES.len();

impl BpfFunc {
    /// The helper with kernel id `id`, `None` past `__BPF_FUNC_MAX_ID` or below 0.
    pub fn from_id(id: i32) -> Option<BpfFunc> {
        usize::try_from(id).ok().and_then(|i| ALL.get(i).copied())
    }

    /// The kernel id (`BPF_FUNC_*`).
    pub fn id(self) -> i32 {
        self as i32
    }

    /// `bpf_<name>`, as the log prints it.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The helper called `name`, with or without the `bpf_` prefix.
    pub fn by_name(name: &str) -> Option<BpfFunc> {
        helper_id(name).and_then(BpfFunc::from_id)
    }

    /// The helpers that call a callback before they return (`bpf_for_each_map_elem`,
    /// `bpf_find_vma`, `bpf_loop`, `bpf_user_ringbuf_drain`): the CFG pass marks their calls.
    pub fn calls_sync_callback(self) -> bool {
        matches!(self, BpfFunc::ForEachMapElem | BpfFunc::FindVma | BpfFunc::Loop | BpfFunc::UserRingbufDrain)
    }
}

/// Name of helper `id` (`bpf_map_lookup_elem` for 1), `None` for ids the kernel does not define.
pub fn helper_name(id: i32) -> Option<&'static str> {
    usize::try_from(id).ok().and_then(|i| NAMES.get(i).copied())
}

/// Id of the helper called `name`; accepts the name with or without the `bpf_` prefix.
pub fn helper_id(name: &str) -> Option<i32> {
    let full = name.strip_prefix("bpf_").unwrap_or(name);
    NAMES.iter().position(|n| n.strip_prefix("bpf_") == Some(full)).map(|i| i as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids() {
        assert_eq!(helper_name(0), Some("bpf_unspec"));
        assert_eq!(helper_name(1), Some("bpf_map_lookup_elem"));
        assert_eq!(helper_name(7), Some("bpf_get_prandom_u32"));
        assert_eq!(helper_name(211), Some("bpf_cgrp_storage_delete"));
        assert_eq!(helper_name(212), None);
        assert_eq!(helper_name(-1), None);
        assert_eq!(helper_id("bpf_map_lookup_elem"), Some(1));
        assert_eq!(helper_id("map_lookup_elem"), Some(1));
        assert_eq!(helper_id("bpf_nope"), None);
        assert_eq!(HELPER_COUNT, 212);
    }

    #[test]
    fn ids_round_trip() {
        for id in 0..HELPER_COUNT as i32 {
            assert_eq!(helper_id(helper_name(id).unwrap()), Some(id));
        }
    }

    #[test]
    fn variants_are_the_names_in_camel_case() {
        for (i, f) in ALL.iter().enumerate() {
            assert_eq!(f.id(), i as i32);
            let camel: String =
                f.name()["bpf_".len()..].split('_').map(|p| p[..1].to_ascii_uppercase() + &p[1..]).collect();
            assert_eq!(format!("{f:?}"), camel);
        }
        assert_eq!(BpfFunc::from_id(1), Some(BpfFunc::MapLookupElem));
        assert_eq!(BpfFunc::from_id(212), None);
        assert_eq!(BpfFunc::from_id(-1), None);
        assert_eq!(BpfFunc::by_name("bpf_tail_call"), Some(BpfFunc::TailCall));
    }
}
