//! Host facts the generated code depends on: LSE atomics and instruction-cache maintenance.

/// Which atomic instructions to emit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AtomicsMode {
    /// LSE if the CPU running the compiler has it (`AT_HWCAP & HWCAP_ATOMICS` on aarch64 Linux),
    /// LL/SC otherwise (and always on other hosts, where the code can only be dumped).
    #[default]
    Detect,
    /// Always LSE (`ldadd`, `ldclr`, `swp`, `cas`, ...; ARMv8.1).
    Lse,
    /// Always exclusive-monitor loops (`ldxr`/`stxr`; every ARMv8.0 CPU).
    LlSc,
}

impl AtomicsMode {
    /// Whether this mode emits LSE instructions on this host.
    pub fn use_lse(self) -> bool {
        match self {
            AtomicsMode::Lse => true,
            AtomicsMode::LlSc => false,
            AtomicsMode::Detect => host_has_lse(),
        }
    }
}

/// Whether the running CPU implements the ARMv8.1 LSE atomics.
#[cfg(all(target_arch = "aarch64", target_os = "linux"))]
pub fn host_has_lse() -> bool {
    // HWCAP_ATOMICS from the arm64 uapi <asm/hwcap.h>.
    const HWCAP_ATOMICS: libc::c_ulong = 1 << 8;
    // SAFETY: getauxval only reads the process's auxiliary vector.
    let caps = unsafe { libc::getauxval(libc::AT_HWCAP) };
    caps & HWCAP_ATOMICS != 0
}

/// Whether the running CPU implements the ARMv8.1 LSE atomics (never, off aarch64 Linux).
#[cfg(not(all(target_arch = "aarch64", target_os = "linux")))]
pub fn host_has_lse() -> bool {
    false
}

/// Makes freshly written code visible to instruction fetch: on aarch64 cleans the data cache
/// and invalidates the instruction cache for the range (`dc cvau` / `ic ivau` with the barriers
/// the architecture requires); a no-op on hosts with coherent instruction caches.
pub fn flush_icache(code: &[u8]) {
    dynasmrt::cache_control::synchronize_icache(code);
    // Discard instructions this core may already have fetched.
    dynasmrt::cache_control::prepare_for_execution(code);
}
