//! Loads through a map pointer (`check_ptr_to_map_access`): a privileged program reads the
//! kernel structure behind the map (`struct bpf_array`, `struct bpf_htab`, ... whose first
//! member is the `struct bpf_map`), walked in the target's BTF like a `PTR_TO_BTF_ID`.

use crate::btf::walk::{Walked, struct_access};
use crate::domain::state::{PTR_UNTRUSTED, RDONLY, RegState, RegType};
use crate::env::Env;
use crate::messages::{BtfReject, Reject, Unsupported};

impl Env<'_> {
    /// `check_ptr_to_map_access`: `off` already includes the register's fixed offset (a map
    /// pointer takes no arithmetic but `+0`).
    pub(crate) fn check_ptr_to_map_access(
        &mut self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
        write: bool,
        value: Option<u8>,
    ) -> Result<(), Reject> {
        let Some(btf) = self.prog.opts.btf.clone() else {
            return Err(Reject::Unsupported(Unsupported::Feature("a map pointer access without target BTF")));
        };
        let kind = self.maps().get(reg.map as usize).map(|m| m.kind).unwrap_or_default();
        let tname = kind.btf_struct();
        let Some(btf_id) = btf.find_by_name_kind(tname, kbpf_elf::btf::Kind::Struct) else {
            // the kernel's map_btf_id names a structure the target's BTF must have
            return Err(Reject::Unsupported(Unsupported::Feature(
                "a map pointer access whose map structure the target BTF lacks",
            )));
        };
        if !self.prog.opts.privileged {
            return Err(BtfReject::MapPtrUnprivileged(tname.to_string()).into());
        }
        if off < 0 {
            return Err(BtfReject::MapPtrNegative(regno.into(), tname.to_string(), off).into());
        }
        if write {
            return Err(BtfReject::MapPtrOnlyRead(tname.to_string()).into());
        }
        let walked = struct_access(&btf, btf_id, off as u32, size as u32).map_err(BtfReject::Walk)?;
        let Some(v) = value else { return Ok(()) };
        // the simulated base carries no flags: what the walk found is what the load gets
        let r = match walked {
            Walked::Scalar => RegState::unknown_scalar(),
            Walked::UntrustedMem => {
                let mut r = RegState::pointer(RegType::Mem);
                r.flags = RDONLY | PTR_UNTRUSTED;
                r
            }
            Walked::Ptr { btf_id, flags, .. } => self.btf_ptr(btf_id, flags),
        };
        self.cur.cur_mut().regs[v as usize] = r;
        Ok(())
    }
}
