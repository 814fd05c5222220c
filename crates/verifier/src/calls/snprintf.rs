//! `bpf_snprintf`'s format string, checked when the program is loaded
//! (`check_bpf_snprintf_call`): the string sits in a frozen read-only map, so the verifier
//! parses it like `bpf_bprintf_prepare` does at run time, against the number of arguments the
//! data length (r5) gives.

use crate::env::ctx::Call;
use crate::messages::{CallReject, Reject};

impl Call<'_, '_> {
    /// `check_bpf_snprintf_call`: r3 the format (already checked as a constant string), r5
    /// the data length in bytes (u64 arguments).
    pub(crate) fn check_bpf_snprintf_call(&self) -> Result<(), Reject> {
        let regs = &self.cur.cur().regs;
        // the kernel reads the known bits of the length, constant or not
        let data_len = regs[5].var_off.value;
        if !data_len.is_multiple_of(8) {
            return Err(Reject::Silent(kbpf_passes::Errno::EINVAL));
        }
        let fmt = &regs[3];
        let def = self.maps().get(fmt.map as usize);
        let value = def.and_then(|d| d.initial.as_deref()).unwrap_or(&[]);
        let off = usize::try_from(fmt.off as i64 + fmt.var_off.value as i64).unwrap_or(usize::MAX);
        let tail = value.get(off..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        if !bprintf_format_ok(&tail[..end], data_len / 8) {
            return Err(CallReject::InvalidFormatString.into());
        }
        Ok(())
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_punct(c: u8) -> bool {
    c.is_ascii_graphic() && !c.is_ascii_alphanumeric()
}

/// `bpf_bprintf_prepare` in verification mode: printable ASCII only, `%%` escapes, and at
/// most `num_args` conversions among `%[0 +-][width]` followed by `d i u x X` (with `l`/`ll`),
/// `c`, `s`, `ps`/`pks`/`pus` (then the end, a space or punctuation), `p` (bare, or `pK`,
/// `px`, `ps`, `pS`), `pB`, `pi4`/`pI4`/`pi6`/`pI6`.
pub(crate) fn bprintf_format_ok(fmt: &[u8], num_args: u64) -> bool {
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let mut num_spec = 0u64;
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if !(c.is_ascii() && (c.is_ascii_graphic() || c == b' ' || is_space(c))) {
            return false;
        }
        if c != b'%' {
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            i += 2;
            continue;
        }
        if num_spec >= num_args {
            return false;
        }
        i += 1;
        while matches!(at(i), b'0' | b'+' | b'-' | b' ') {
            i += 1;
        }
        if (b'1'..=b'9').contains(&at(i)) {
            i += 1;
            while at(i).is_ascii_digit() {
                i += 1;
            }
        }
        let string_ends = |j: usize| at(j) == 0 || is_space(at(j)) || is_punct(at(j));
        match at(i) {
            b'p' => {
                let next = at(i + 1);
                if matches!(next, b'k' | b'u') && at(i + 2) == b's' {
                    i += 2;
                    if !string_ends(i + 1) {
                        return false;
                    }
                } else if next == 0
                    || is_space(next)
                    || is_punct(next)
                    || matches!(next, b'K' | b'x' | b's' | b'S' | b'B')
                {
                    // kernel pointers, and %pB (a symbol with its offset)
                    i += 1;
                } else if matches!(next, b'i' | b'I') && matches!(at(i + 2), b'4' | b'6') {
                    i += 2;
                } else {
                    return false;
                }
            }
            b's' => {
                if !string_ends(i + 1) {
                    return false;
                }
            }
            b'c' => {}
            _ => {
                if at(i) == b'l' {
                    i += 1;
                }
                if at(i) == b'l' {
                    i += 1;
                }
                if !matches!(at(i), b'i' | b'd' | b'u' | b'x' | b'X') {
                    return false;
                }
            }
        }
        num_spec += 1;
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::bprintf_format_ok as ok;

    #[test]
    fn conversions_need_arguments() {
        assert!(ok(b"plain text 100%% sure\n", 0));
        assert!(!ok(b"%d", 0));
        assert!(ok(b"%d %-5lu %08llx %c", 4));
        assert!(!ok(b"%d %d", 1));
    }

    #[test]
    fn the_kernel_subset_of_conversions() {
        assert!(ok(b"%s, %pks %pus.", 3));
        assert!(!ok(b"%sx", 1), "a string conversion ends at a space or punctuation");
        assert!(ok(b"%p %pK %px %pS %pB %pI4 %pi6", 7));
        assert!(!ok(b"%pI5", 1));
        assert!(!ok(b"%pZ", 1));
        assert!(!ok(b"%f", 1));
        assert!(!ok(b"%", 1));
        assert!(!ok(b"bell\x07", 0), "not printable");
        assert!(!ok("é".as_bytes(), 0), "not ASCII");
    }
}
