//! kbpf's side of `test-run-diff`: `xtask test-run-kbpf [--engines E,..] OBJECT`, one process per
//! object (a crash or a hang costs that object): every program of a type the kernel's test run
//! takes packets for, on each input and engine, from freshly created maps, printed as one JSON
//! line per run.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use kbpf::isa::{CallTarget, Insn, decode_insn};
use kbpf::kfunc::maps::MapSet;
use kbpf::verifier::VerifyOptions;
use kbpf::{CtxLayout, Engine, RunOptions};
use serde::{Deserialize, Serialize};

use super::packets::INPUTS;

/// One run of one program on one input and engine.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    pub prog: String,
    pub input: String,
    pub engine: String,
    /// `ran`, or `cannot_run` with `error` saying why.
    pub outcome: String,
    pub error: String,
    pub retval: u64,
    pub data_out: String,
    pub ctx_out: String,
    pub maps: Vec<MapDump>,
    /// Helpers whose results depend on the environment, which the program calls.
    pub nondet: Vec<String>,
}

/// A map's elements after a run: arrays' non-zero ones, hashes' all, ring buffers' records by
/// index, as hex.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapDump {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

/// Elements listed per map at most (the oracle's `MAX_ELEMS`).
const MAX_ELEMS: usize = 65536;

/// Helpers whose result or effect depends on the machine, the time, the calling task or a
/// device, not on the program's input and maps.
const ENVIRONMENT_HELPERS: &[&str] = &[
    "bpf_ktime_get_ns",
    "bpf_ktime_get_boot_ns",
    "bpf_ktime_get_coarse_ns",
    "bpf_ktime_get_tai_ns",
    "bpf_jiffies64",
    "bpf_get_prandom_u32",
    "bpf_get_smp_processor_id",
    "bpf_get_numa_node_id",
    "bpf_get_current_pid_tgid",
    "bpf_get_current_uid_gid",
    "bpf_get_current_comm",
    "bpf_get_current_task",
    "bpf_get_current_task_btf",
    "bpf_get_current_cgroup_id",
    "bpf_get_current_ancestor_cgroup_id",
    "bpf_get_ns_current_pid_tgid",
    "bpf_get_cgroup_classid",
    "bpf_get_hash_recalc",
    "bpf_get_socket_cookie",
    "bpf_get_netns_cookie",
    "bpf_skb_cgroup_id",
    "bpf_skb_ancestor_cgroup_id",
    "bpf_skb_under_cgroup",
    "bpf_get_route_realm",
    "bpf_clone_redirect",
    "bpf_fib_lookup",
    "bpf_check_mtu",
    "bpf_sk_lookup_tcp",
    "bpf_sk_lookup_udp",
    "bpf_skc_lookup_tcp",
    "bpf_tcp_gen_syncookie",
    "bpf_tcp_raw_gen_syncookie_ipv4",
    "bpf_tcp_raw_gen_syncookie_ipv6",
    "bpf_get_stack",
    "bpf_get_stackid",
    "bpf_get_task_stack",
    "bpf_timer_start",
    "bpf_get_func_ip",
];

/// The engines of this host: the interpreter and the host's JIT.
pub fn host_engines() -> Vec<(String, Engine)> {
    vec![("interp".into(), Engine::Interp), (format!("jit-{}", std::env::consts::ARCH), Engine::Jit)]
}

/// `xtask test-run-kbpf [--engines interp,jit] OBJECT`.
pub fn main(args: &[String]) -> Result<bool, String> {
    let (engines, path) = match args {
        [path] => (host_engines(), path),
        [flag, list, path] if flag == "--engines" => {
            let all = host_engines();
            let chosen = list
                .split(',')
                .map(|e| {
                    all.iter()
                        .find(|(n, _)| n == e || n.starts_with(&format!("{e}-")))
                        .cloned()
                        .ok_or(format!("unknown engine {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            (chosen, path)
        }
        _ => return Err("usage: xtask test-run-kbpf [--engines interp,jit] OBJECT".into()),
    };
    let bytes = std::fs::read(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
    std::panic::set_hook(Box::new(|_| {}));
    let mut out = std::io::stdout().lock();
    let mut emit = |r: &Run| -> Result<(), String> {
        let line = serde_json::to_string(r).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").and_then(|_| out.flush()).map_err(|e| e.to_string())
    };
    let load = kbpf::LoadOptions::running_kernel();
    let obj = match catch_unwind(|| kbpf::open_object(&bytes, &load)) {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(format!("kbpf does not open the object: {e}")),
        Err(_) => return Err("kbpf panicked opening the object".into()),
    };
    let registry = kbpf::kfunc::profiles::testmod();
    let opts = VerifyOptions {
        kfuncs: kbpf::kfunc_table(&registry),
        btf: load.target().ok().map(|t| kbpf::verifier::KernelBtf(t.vmlinux.clone())),
        kernel_config: kbpf::running_kernel_config().unwrap_or_default(),
        ..Default::default()
    };
    for p in &obj.programs {
        let base = Run { prog: p.name.clone(), ..Default::default() };
        let cannot = |why: String| Run { outcome: "cannot_run".into(), error: why, ..base.clone() };
        let module = match (&p.error, kbpf::module_from_object(&obj, p)) {
            (Some(e), _) => Err(format!("kbpf's loader: {e}")),
            (None, Err(e)) => Err(format!("kbpf's loader: {e}")),
            (None, Ok(m)) => Ok(m),
        };
        let prog_type = kbpf::prog_type_for_section(&p.section).map_err(|e| e.to_string());
        let (module, prog_type) = match (module, prog_type) {
            (Ok(m), Ok(t)) => (m, t),
            (Err(e), _) | (_, Err(e)) => {
                emit(&cannot(e))?;
                continue;
            }
        };
        if CtxLayout::of(prog_type).is_none() {
            emit(&cannot(format!("no test-run context for {prog_type:?} programs")))?;
            continue;
        }
        let nondet = environment_helpers(&module);
        let opts = VerifyOptions { prog_type, ..opts.clone() };
        for (input, packet) in INPUTS.iter().map(|(n, f)| (*n, f())) {
            for (ename, engine) in &engines {
                let base = Run {
                    input: input.into(),
                    engine: ename.clone(),
                    nondet: nondet.clone(),
                    ..base.clone()
                };
                let r = catch_unwind(AssertUnwindSafe(|| {
                    run_once(&module, &registry, opts.clone(), *engine, &packet, base.clone())
                }))
                .unwrap_or_else(|_| Run {
                    outcome: "cannot_run".into(),
                    error: "kbpf panicked".into(),
                    ..base.clone()
                });
                emit(&r)?;
            }
        }
    }
    Ok(true)
}

fn run_once(
    module: &kbpf::Module,
    registry: &kbpf::kfunc::Registry,
    opts: VerifyOptions,
    engine: Engine,
    packet: &[u8],
    base: Run,
) -> Run {
    let maps = match kbpf::create_maps(module) {
        Ok(m) => m,
        Err(e) => return Run { outcome: "cannot_run".into(), error: format!("maps: {e}"), ..base },
    };
    match kbpf::test_run(module, &maps, registry, opts, engine, packet, RunOptions::default()) {
        Ok(o) => Run {
            outcome: "ran".into(),
            retval: o.retval,
            data_out: hex(&o.data_out),
            ctx_out: hex(&o.ctx_out),
            maps: dump_maps(&maps),
            ..base
        },
        Err(e) => Run { outcome: "cannot_run".into(), error: e.to_string(), ..base },
    }
}

/// The maps the oracle lists, as it lists them.
fn dump_maps(maps: &MapSet) -> Vec<MapDump> {
    use kbpf::isa::MapType;
    maps.iter()
        .filter_map(|m| {
            let s = m.spec();
            if s.map_type == MapType::Ringbuf {
                // the records a consumer reads, keyed by index (the oracle's listing)
                let records = m.ringbuf_records().ok()?;
                let entries = (0u32..)
                    .zip(records)
                    .take(MAX_ELEMS)
                    .map(|(i, r)| (hex(&i.to_le_bytes()), hex(&r)))
                    .collect();
                return Some(MapDump { name: s.name.clone(), entries });
            }
            let array = matches!(s.map_type, MapType::Array | MapType::PercpuArray);
            let hash = matches!(s.map_type, MapType::Hash | MapType::PercpuHash | MapType::LruHash);
            if !array && !hash {
                return None;
            }
            let entries = m
                .entries()
                .into_iter()
                .filter(|(_, v)| !array || v.iter().any(|&b| b != 0))
                .take(MAX_ELEMS)
                .map(|(k, v)| (hex(&k), hex(&v)))
                .collect();
            Some(MapDump { name: s.name.clone(), entries })
        })
        .collect()
}

/// The environment helpers the module's programs call (main program, subprograms, tail-call
/// targets), by name.
fn environment_helpers(module: &kbpf::Module) -> Vec<String> {
    let slots = &module.slots;
    let main = (0..slots.len()).filter_map(|i| decode_insn(slots[i], slots.get(i + 1).copied()).ok());
    let others = module.progs.iter().flat_map(|p| p.program.insns().iter().copied());
    let mut found: Vec<String> = main
        .chain(others)
        .filter_map(|insn| match insn {
            Insn::Call(CallTarget::Helper(id)) => kbpf::isa::helper_name(id),
            _ => None,
        })
        .filter(|name| ENVIRONMENT_HELPERS.contains(name))
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}
