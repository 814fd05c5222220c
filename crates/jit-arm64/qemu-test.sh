#!/usr/bin/env bash
# Cross-builds the kbpf-jit-arm64 tests for aarch64-unknown-linux-gnu and runs them under
# qemu-user: once with qemu's default CPU (ARMv8.x "max": LSE atomics present, so both the LSE
# and the LL/SC lowering run) and once with QEMU_CPU=cortex-a57 (ARMv8.0, no LSE: only LL/SC,
# chosen at run time from AT_HWCAP).
#
# Usage: crates/jit-arm64/qemu-test.sh [--facade] [extra cargo test args]
#   --facade  also run the stack-argument scenario suite and the map programs of the kbpf facade
#             (tests/stack_args, JIT engine = the arm64 backend on an aarch64 host)
# Env: KBPF_DIFF_PROGRAMS=N (default 2000) sizes the interpreter differential.
# The bpf_conformance test is #[ignore]d (the suite is not in the repository): add
# `-- --include-ignored` to run it too (KBPF_CONFORMANCE_DIR, default
# ../shared/conformance/bpf_conformance beside the workspace). `cargo xtask test` does that
# when the suite is present.
# Needs (installed when missing and running as root): qemu-user-static, gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, and the rust target aarch64-unknown-linux-gnu.
set -euo pipefail
cd "$(dirname "$0")/../.."
facade=0
if [ "${1:-}" = "--facade" ]; then
    facade=1
    shift
fi

need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/crt1.o ] || need+=(libc6-dev-arm64-cross)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    else
        echo "skipping arm64 emulation tests: missing ${need[*]} (apt-get install them)" >&2
        exit 0
    fi
fi
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu || {
        echo "skipping arm64 emulation tests: rust target aarch64-unknown-linux-gnu unavailable" >&2
        exit 0
    }
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"

echo "== arm64 tests under qemu (default CPU, LSE + LL/SC)"
env -u QEMU_CPU KBPF_EXPECT_LSE=1 cargo test -p kbpf-jit-arm64 --target aarch64-unknown-linux-gnu "$@"
echo "== arm64 tests under qemu (QEMU_CPU=cortex-a57, LL/SC only)"
QEMU_CPU=cortex-a57 cargo test -p kbpf-jit-arm64 --target aarch64-unknown-linux-gnu "$@"
if [ "$facade" = 1 ]; then
    echo "== stack-argument scenario suite on the arm64 JIT under qemu"
    env -u QEMU_CPU cargo test -p kbpf --target aarch64-unknown-linux-gnu --test stack_args --test maps --test maps_diff "$@"
    QEMU_CPU=cortex-a57 cargo test -p kbpf --target aarch64-unknown-linux-gnu --test stack_args --test maps --test maps_diff "$@"
fi
