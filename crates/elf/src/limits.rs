//! The kernel's map-creation limits, checked on every size an object file claims before
//! anything is allocated for it: a hostile `.bss` or BTF value type must end in a typed error,
//! not in gigabytes of zeroes.

use crate::object_file::{ElfError, MapDef};

/// `KMALLOC_MAX_SIZE` on x86_64 (order-10 pages).
pub const KMALLOC_MAX_SIZE: u64 = 4 << 20;
/// `sizeof(struct htab_elem)` (6.18, x86_64): a hash element's header before key and value.
const HTAB_ELEM_SIZE: u64 = 48;
/// `PCPU_MIN_UNIT_SIZE`: per-CPU values are at most this big.
const PCPU_MIN_UNIT_SIZE: u64 = 32 << 10;
/// `INT_MAX`: `array_map_alloc_check`'s bound on a value.
pub const ARRAY_VALUE_MAX: u64 = i32::MAX as u64;

/// `htab_map_alloc_check` / `array_map_alloc_check`: sizes the kernel refuses with E2BIG.
/// Other map types are left to the runtime that creates them.
pub fn check_map(def: &MapDef) -> Result<(), ElfError> {
    let (k, v) = (def.key_size as u64, def.value_size as u64);
    let too_big = |what: String| Err(ElfError::MapLimit { map: def.name.clone(), what });
    match def.map_type {
        // hash, percpu hash, LRU hash, LRU percpu hash
        1 | 5 | 9 | 10 => {
            if k + v >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE {
                return too_big(format!(
                    "key_size {k} + value_size {v} reach KMALLOC_MAX_SIZE with the element header"
                ));
            }
            if matches!(def.map_type, 5 | 10) && v.next_multiple_of(8) > PCPU_MIN_UNIT_SIZE {
                return too_big(format!("per-CPU value_size {v} > {PCPU_MIN_UNIT_SIZE}"));
            }
        }
        // array, percpu array
        2 | 6 => {
            if v > ARRAY_VALUE_MAX {
                return too_big(format!("value_size {v} > INT_MAX"));
            }
            if def.map_type == 6 && v.next_multiple_of(8) > PCPU_MIN_UNIT_SIZE {
                return too_big(format!("per-CPU value_size {v} > {PCPU_MIN_UNIT_SIZE}"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// A global-data section becomes a one-entry array whose value is the whole section: its size
/// must fit an array value, and a section stored in the file must be stored whole.
pub fn check_data_section(name: &str, size: u64, in_file: Option<usize>) -> Result<u32, ElfError> {
    if size > ARRAY_VALUE_MAX {
        return Err(ElfError::Section {
            section: name.to_string(),
            what: format!("size {size} > INT_MAX, the largest array map value (E2BIG)"),
        });
    }
    if let Some(have) = in_file
        && have as u64 != size
    {
        return Err(ElfError::Section {
            section: name.to_string(),
            what: format!("size {size} but {have} bytes in the file"),
        });
    }
    Ok(size as u32)
}
