//! The target kernel's own structures, as far as the fixups read them: offsets of the fields the
//! context conversions and the inlined map lookups address. They depend on the kernel's version
//! and configuration, so they come from the target's BTF (`kbpf::kernel_layout`), never from
//! constants; a conversion that needs a field the BTF does not describe is
//! [`super::FixupError::NoLayout`].

use std::fmt;

/// A field of a kernel structure the fixups address, by `struct.member`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelField {
    /// `bpf_array.value`.
    BpfArrayValue,
    /// `htab_elem.key`.
    HtabElemKey,
    /// `xsk_map.xsk_map` (the socket array).
    XskMapXskMap,
    /// `sk_buff.len`.
    SkbLen,
    /// `sk_buff.cloned` (a bitfield).
    SkbCloned,
    /// `sk_buff.protocol`.
    SkbProtocol,
    /// `sk_buff.vlan_proto`.
    SkbVlanProto,
    /// `sk_buff.vlan_tci`.
    SkbVlanTci,
    /// `sk_buff.vlan_all`.
    SkbVlanAll,
    /// `sk_buff.priority`.
    SkbPriority,
    /// `sk_buff.skb_iif`.
    SkbIif,
    /// `sk_buff.dev`.
    SkbDev,
    /// `sk_buff.hash`.
    SkbHash,
    /// `sk_buff.mark`.
    SkbMark,
    /// The byte of `pkt_type` (`__pkt_type_offset`); the bitfield itself is [`Self::SkbPktType`].
    SkbPktTypeOffset,
    /// `sk_buff.pkt_type`.
    SkbPktType,
    /// `sk_buff.queue_mapping`.
    SkbQueueMapping,
    /// `sk_buff.cb`.
    SkbCb,
    /// `sk_buff.data`.
    SkbData,
    /// `sk_buff.tc_index`.
    SkbTcIndex,
    /// `sk_buff.sk`.
    SkbSk,
    /// `sk_buff.tstamp`.
    SkbTstamp,
    /// `sk_buff.end`.
    SkbEnd,
    /// `sk_buff.head`.
    SkbHead,
    /// The byte of `tstamp_type` and `tc_at_ingress` (`__mono_tc_offset`).
    SkbMonoTcOffset,
    /// `sk_buff.tstamp_type`.
    SkbTstampType,
    /// `sk_buff.tc_at_ingress`.
    SkbTcAtIngress,
    /// `qdisc_skb_cb.data`.
    QdiscCbData,
    /// `qdisc_skb_cb.tc_classid`.
    QdiscCbTcClassid,
    /// `qdisc_skb_cb.pkt_len`.
    QdiscCbPktLen,
    /// `bpf_skb_data_end.data_meta`.
    DataEndDataMeta,
    /// `bpf_skb_data_end.data_end`.
    DataEndDataEnd,
    /// `net_device.ifindex`.
    NetDeviceIfindex,
    /// `sock_common.skc_family`.
    SkcFamily,
    /// `sock_common.skc_daddr`.
    SkcDaddr,
    /// `sock_common.skc_rcv_saddr`.
    SkcRcvSaddr,
    /// `sock_common.skc_v6_daddr`.
    SkcV6Daddr,
    /// `sock_common.skc_v6_rcv_saddr`.
    SkcV6RcvSaddr,
    /// `sock_common.skc_dport`.
    SkcDport,
    /// `sock_common.skc_num`.
    SkcNum,
    /// `skb_shared_info.gso_segs`.
    ShinfoGsoSegs,
    /// `skb_shared_info.gso_size`.
    ShinfoGsoSize,
    /// `skb_shared_info.hwtstamps`.
    ShinfoHwtstamps,
    /// `xdp_buff.data`.
    XdpBuffData,
    /// `xdp_buff.data_end`.
    XdpBuffDataEnd,
    /// `xdp_buff.data_meta`.
    XdpBuffDataMeta,
    /// `xdp_buff.rxq`.
    XdpBuffRxq,
    /// `xdp_buff.txq`.
    XdpBuffTxq,
    /// `xdp_rxq_info.dev`.
    XdpRxqDev,
    /// `xdp_rxq_info.queue_index`.
    XdpRxqQueueIndex,
    /// `xdp_txq_info.dev`.
    XdpTxqDev,
    /// `sock_common.skc_bound_dev_if`.
    SkcBoundDevIf,
    /// `sock_common.skc_state`.
    SkcState,
    /// `sock.sk_mark`.
    SkMark,
    /// `sock.sk_priority`.
    SkPriority,
    /// `sock.sk_type`.
    SkType,
    /// `sock.sk_protocol`.
    SkProtocol,
    /// `sock.sk_rx_queue_mapping`.
    SkRxQueueMapping,
    /// The per-CPU variable `cpu_number` (its offset in the `.data..percpu` section;
    /// `bpf_get_smp_processor_id` reads it).
    PercpuCpuNumber,
    /// `htab_elem.lru_node`.
    HtabElemLruNode,
    /// `bpf_lru_node.ref` (the LRU's recently-used mark).
    BpfLruNodeRef,
}

impl KernelField {
    /// Every field, in declaration order.
    pub const ALL: [KernelField; 61] = {
        use KernelField::*;
        [
            BpfArrayValue,
            HtabElemKey,
            XskMapXskMap,
            SkbLen,
            SkbCloned,
            SkbProtocol,
            SkbVlanProto,
            SkbVlanTci,
            SkbVlanAll,
            SkbPriority,
            SkbIif,
            SkbDev,
            SkbHash,
            SkbMark,
            SkbPktTypeOffset,
            SkbPktType,
            SkbQueueMapping,
            SkbCb,
            SkbData,
            SkbTcIndex,
            SkbSk,
            SkbTstamp,
            SkbEnd,
            SkbHead,
            SkbMonoTcOffset,
            SkbTstampType,
            SkbTcAtIngress,
            QdiscCbData,
            QdiscCbTcClassid,
            QdiscCbPktLen,
            DataEndDataMeta,
            DataEndDataEnd,
            NetDeviceIfindex,
            SkcFamily,
            SkcDaddr,
            SkcRcvSaddr,
            SkcV6Daddr,
            SkcV6RcvSaddr,
            SkcDport,
            SkcNum,
            ShinfoGsoSegs,
            ShinfoGsoSize,
            ShinfoHwtstamps,
            XdpBuffData,
            XdpBuffDataEnd,
            XdpBuffDataMeta,
            XdpBuffRxq,
            XdpBuffTxq,
            XdpRxqDev,
            XdpRxqQueueIndex,
            XdpTxqDev,
            SkcBoundDevIf,
            SkcState,
            SkMark,
            SkPriority,
            SkType,
            SkProtocol,
            SkRxQueueMapping,
            PercpuCpuNumber,
            HtabElemLruNode,
            BpfLruNodeRef,
        ]
    };

    /// The structure and member, as the kernel's BTF names them; for a per-CPU variable, its
    /// section (a `DATASEC`, starting with `.`) and name.
    pub fn path(self) -> (&'static str, &'static str) {
        use KernelField::*;
        match self {
            BpfArrayValue => ("bpf_array", "value"),
            HtabElemKey => ("htab_elem", "key"),
            XskMapXskMap => ("xsk_map", "xsk_map"),
            SkbLen => ("sk_buff", "len"),
            SkbCloned => ("sk_buff", "cloned"),
            SkbProtocol => ("sk_buff", "protocol"),
            SkbVlanProto => ("sk_buff", "vlan_proto"),
            SkbVlanTci => ("sk_buff", "vlan_tci"),
            SkbVlanAll => ("sk_buff", "vlan_all"),
            SkbPriority => ("sk_buff", "priority"),
            SkbIif => ("sk_buff", "skb_iif"),
            SkbDev => ("sk_buff", "dev"),
            SkbHash => ("sk_buff", "hash"),
            SkbMark => ("sk_buff", "mark"),
            SkbPktTypeOffset => ("sk_buff", "__pkt_type_offset"),
            SkbPktType => ("sk_buff", "pkt_type"),
            SkbQueueMapping => ("sk_buff", "queue_mapping"),
            SkbCb => ("sk_buff", "cb"),
            SkbData => ("sk_buff", "data"),
            SkbTcIndex => ("sk_buff", "tc_index"),
            SkbSk => ("sk_buff", "sk"),
            SkbTstamp => ("sk_buff", "tstamp"),
            SkbEnd => ("sk_buff", "end"),
            SkbHead => ("sk_buff", "head"),
            SkbMonoTcOffset => ("sk_buff", "__mono_tc_offset"),
            SkbTstampType => ("sk_buff", "tstamp_type"),
            SkbTcAtIngress => ("sk_buff", "tc_at_ingress"),
            QdiscCbData => ("qdisc_skb_cb", "data"),
            QdiscCbTcClassid => ("qdisc_skb_cb", "tc_classid"),
            QdiscCbPktLen => ("qdisc_skb_cb", "pkt_len"),
            DataEndDataMeta => ("bpf_skb_data_end", "data_meta"),
            DataEndDataEnd => ("bpf_skb_data_end", "data_end"),
            NetDeviceIfindex => ("net_device", "ifindex"),
            SkcFamily => ("sock_common", "skc_family"),
            SkcDaddr => ("sock_common", "skc_daddr"),
            SkcRcvSaddr => ("sock_common", "skc_rcv_saddr"),
            SkcV6Daddr => ("sock_common", "skc_v6_daddr"),
            SkcV6RcvSaddr => ("sock_common", "skc_v6_rcv_saddr"),
            SkcDport => ("sock_common", "skc_dport"),
            SkcNum => ("sock_common", "skc_num"),
            ShinfoGsoSegs => ("skb_shared_info", "gso_segs"),
            ShinfoGsoSize => ("skb_shared_info", "gso_size"),
            ShinfoHwtstamps => ("skb_shared_info", "hwtstamps"),
            XdpBuffData => ("xdp_buff", "data"),
            XdpBuffDataEnd => ("xdp_buff", "data_end"),
            XdpBuffDataMeta => ("xdp_buff", "data_meta"),
            XdpBuffRxq => ("xdp_buff", "rxq"),
            XdpBuffTxq => ("xdp_buff", "txq"),
            XdpRxqDev => ("xdp_rxq_info", "dev"),
            XdpRxqQueueIndex => ("xdp_rxq_info", "queue_index"),
            XdpTxqDev => ("xdp_txq_info", "dev"),
            SkcBoundDevIf => ("sock_common", "skc_bound_dev_if"),
            SkcState => ("sock_common", "skc_state"),
            SkMark => ("sock", "sk_mark"),
            SkPriority => ("sock", "sk_priority"),
            SkType => ("sock", "sk_type"),
            SkProtocol => ("sock", "sk_protocol"),
            SkRxQueueMapping => ("sock", "sk_rx_queue_mapping"),
            PercpuCpuNumber => (".data..percpu", "cpu_number"),
            HtabElemLruNode => ("htab_elem", "lru_node"),
            BpfLruNodeRef => ("bpf_lru_node", "ref"),
        }
    }
}

impl fmt::Display for KernelField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path() {
            (s, m) if s.starts_with('.') => write!(f, "the variable {m} of section {s}"),
            (s, m) => write!(f, "struct {s}.{m}"),
        }
    }
}

/// Where a field is: its byte offset, the size of its type, and for a bitfield its bit
/// position in that byte and its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldLoc {
    /// Byte offset from the start of the structure.
    pub off: i32,
    /// Size in bytes of the member's type (of the storage unit for a bitfield).
    pub size: u32,
    /// Bitfield: (bit offset within the byte at `off`, width in bits); `None` for a plain field.
    pub bits: Option<(u8, u8)>,
}

/// The field table of one target kernel; a field its BTF does not describe is absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelLayout {
    fields: std::collections::BTreeMap<KernelField, FieldLoc>,
}

impl KernelLayout {
    /// Records where `field` is.
    pub fn set(&mut self, field: KernelField, loc: FieldLoc) {
        self.fields.insert(field, loc);
    }

    /// Where `field` is, if the target's BTF describes it.
    pub fn get(&self, field: KernelField) -> Option<FieldLoc> {
        self.fields.get(&field).copied()
    }

    /// `offsetof`, or the missing field.
    pub fn off(&self, field: KernelField) -> Result<i32, KernelField> {
        self.get(field).map(|l| l.off).ok_or(field)
    }
}
