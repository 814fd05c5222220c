//! `kbpf run --repeat N`: the compiled program run N times, timed like `bpftool prog run
//! ... repeat N` (the mean of a run; verifying and compiling are not timed).

/// Runs the compiled program once, or `repeat` times timing the runs; r0 of the last run and
/// the mean nanoseconds of one.
pub fn repeated(
    h: &kbpf::Handle,
    mem: &mut [u8],
    repeat: Option<u32>,
) -> Result<(u64, Option<u64>), kbpf::RunError> {
    let Some(n) = repeat else { return Ok((h.run(mem)?, None)) };
    let start = std::time::Instant::now();
    let mut r0 = 0;
    for _ in 0..n {
        r0 = h.run(mem)?;
    }
    let mean = start.elapsed().as_nanos() / u128::from(n);
    Ok((r0, Some(u64::try_from(mean).unwrap_or(u64::MAX))))
}
