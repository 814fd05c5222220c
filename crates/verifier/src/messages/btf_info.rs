//! The kernel's checks of the BTF `func_info` and `line_info` a loader passes with the
//! program (`prepare_btf_func`, `check_btf_func`, `check_btf_line`).

use kbpf_passes::Errno;
use thiserror::Error;

/// A func_info or line_info record the kernel refuses.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum BtfInfoReject {
    /// Printed without a newline: the next log line continues it.
    #[error("nonzero insn_off {0} for the first func info record")]
    FuncFirstNonzero(u32),
    /// Printed without a newline.
    #[error("same or smaller insn offset ({0}) than previous func info record ({1})")]
    FuncOrder(u32, u32),
    #[error("number of funcs in func_info doesn't match number of subprogs")]
    FuncCount,
    #[error("func_info BTF section doesn't match subprog layout in BPF program")]
    FuncLayout,
    #[error("LD_ABS is only allowed in functions that return 'int'.")]
    LdAbsReturn,
    #[error("tail_call is only allowed in functions that return 'int'.")]
    TailCallReturn,
    #[error("Invalid line_info[{index}].insn_off:{off} (prev_offset:{prev} prog->len:{len})")]
    LineInsnOff { index: usize, off: u32, prev: u32, len: usize },
    #[error("Invalid insn code at line_info[{0}].insn_off")]
    LineInsnCode(usize),
    #[error("Invalid line_info[{0}].line_off or .file_name_off")]
    LineStrings(usize),
    #[error("missing bpf_line_info for func#{0}")]
    LineMissingFunc(usize),
    #[error("missing bpf_line_info for {0} funcs starting from func#{1}")]
    LineMissingFuncs(usize, usize),
}

impl BtfInfoReject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        Errno::EINVAL
    }

    /// Whether the kernel ends the message with a newline (two of them it does not).
    pub fn ends_line(&self) -> bool {
        !matches!(self, BtfInfoReject::FuncFirstNonzero(_) | BtfInfoReject::FuncOrder(..))
    }
}
