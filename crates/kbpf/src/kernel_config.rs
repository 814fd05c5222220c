//! The target kernel's build and boot facts the verifier needs ([`KernelConfig`]): its
//! lockdown level and `CONFIG_BPF_KPROBE_OVERRIDE`, from a kernel `.config` (and, for the
//! running kernel, the lockdown it actually booted into).

use kbpf_elf::kconfig::Kconfig;
use kbpf_verifier::{KernelConfig, Lockdown};

/// What a kernel built with `config` offers, at the lockdown level its configuration forces.
pub fn kernel_config(config: &Kconfig) -> KernelConfig {
    let set = |name: &str| config.entries.iter().any(|(n, v)| n == name && v == "y");
    let lockdown = if set("CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY") {
        Lockdown::Confidentiality
    } else if set("CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY") {
        Lockdown::Integrity
    } else {
        Lockdown::None
    };
    KernelConfig {
        lockdown,
        kprobe_override: set("CONFIG_BPF_KPROBE_OVERRIDE"),
        lirc_mode2: set("CONFIG_BPF_LIRC_MODE2"),
    }
}

/// The running kernel's facts: its configuration (`/proc/config.gz`, else
/// `/boot/config-$(uname -r)`), raised to the lockdown securityfs reports, or else a
/// `lockdown=` boot parameter. `None` when no configuration can be read.
pub fn running_kernel_config() -> Option<KernelConfig> {
    let mut k = kernel_config(&Kconfig::running_kernel("the helper set").ok()?);
    let booted = std::fs::read_to_string("/sys/kernel/security/lockdown")
        .ok()
        .and_then(|s| s.split_once('[').and_then(|(_, r)| r.split_once(']')).map(|(l, _)| l.to_string()))
        .or_else(|| {
            let cmdline = std::fs::read_to_string("/proc/cmdline").ok()?;
            cmdline.split_whitespace().find_map(|w| w.strip_prefix("lockdown=")).map(str::to_string)
        });
    let level = match booted.as_deref() {
        Some("integrity") => Lockdown::Integrity,
        Some("confidentiality") => Lockdown::Confidentiality,
        _ => Lockdown::None,
    };
    k.lockdown = k.lockdown.max(level);
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockdown_and_override_from_the_config() {
        let k = |text: &str| kernel_config(&Kconfig::parse("t", text).expect("parses"));
        assert_eq!(k(""), KernelConfig::default());
        let forced =
            k("CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y\n# CONFIG_BPF_KPROBE_OVERRIDE is not set\n");
        assert_eq!(
            forced,
            KernelConfig { lockdown: Lockdown::Integrity, kprobe_override: false, lirc_mode2: false }
        );
        let open = k("CONFIG_BPF_KPROBE_OVERRIDE=y\nCONFIG_LOCK_DOWN_KERNEL_FORCE_NONE=y\n");
        assert_eq!(open, KernelConfig { lockdown: Lockdown::None, kprobe_override: true, lirc_mode2: false });
        assert_eq!(
            k("CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY=y\n").lockdown,
            Lockdown::Confidentiality
        );
    }
}
