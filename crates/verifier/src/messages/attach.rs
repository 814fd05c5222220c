//! What `bpf_prog_load` refuses before the verifier runs (`bpf_prog_load_check_attach`): the
//! load attributes do not suit the program type. The kernel returns `EINVAL` and writes no log,
//! so the text here is kbpf's own, for the error line a caller shows; the log stays empty.

use kbpf_isa::AttachType;
use kbpf_passes::Errno;
use thiserror::Error;

/// A load attribute the program type refuses.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AttachReject {
    /// The type takes no expected attach type (`syscall`).
    #[error(
        "expected attach type {} is invalid for {prog_type} programs (refused before verification, no log)",
        attach.uapi_name()
    )]
    UnexpectedAttachType {
        /// The program type's kernel name.
        prog_type: &'static str,
        /// The expected attach type given.
        attach: AttachType,
    },
    /// The type does not attach to a BTF id (only tracing, lsm, struct_ops and ext do).
    #[error(
        "attach_btf_id {btf_id} is invalid for {prog_type} programs (refused before verification, no log)"
    )]
    AttachBtfId {
        /// The program type's kernel name.
        prog_type: &'static str,
        /// The id given.
        btf_id: u32,
    },
    /// The target kernel was built without the program type (`find_prog_type` fails).
    #[error(
        "program type {prog_type} is not built into the target kernel (refused before verification, no log)"
    )]
    TypeNotBuilt {
        /// The program type's kernel name.
        prog_type: &'static str,
    },
}

impl AttachReject {
    /// `EINVAL`, for each.
    pub fn errno(&self) -> Errno {
        Errno::EINVAL
    }
}
