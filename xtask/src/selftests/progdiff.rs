//! The harness `xlated-diff` and `jited-diff` share: the arguments, the objects of the
//! selftests cache, the oracle's cached records, kbpf's verified program, the comparison of
//! each program the kernel loaded and the report. Each tool says what it compares
//! ([`ProgDiff`]).

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use kbpf::verifier::{Verified, VerifyOptions};

use super::cache::{self, Cache};

/// The program types compared (those kbpf models), by libbpf's names.
pub(super) const TYPES: &[&str] = &["socket_filter", "sched_cls", "xdp", "syscall"];

/// What kbpf needs to verify and translate the programs, made once per object.
pub(super) struct Kbpf {
    pub registry: kbpf::kfunc::Registry,
    pub kfuncs: kbpf::verifier::KfuncTable,
    pub layout: kbpf::verifier::fixups::KernelLayout,
    /// The running kernel's BTF, the target `cargo xtask selftests` verifies against too.
    pub btf: Option<kbpf::verifier::KernelBtf>,
    /// The running kernel's configuration (which helpers it withholds).
    pub config: kbpf::verifier::KernelConfig,
}

/// One comparison: what a side is, how each side is made, compared and shown.
pub(super) trait ProgDiff: Sync {
    /// One program's normalised form.
    type Side;
    /// The tool's name (`xlated-diff`), the report's first words.
    const NAME: &'static str;
    /// The oracle cache's directory under the selftests cache (`oracle-xlated`).
    const ORACLE_DIR: &'static str;
    /// The oracle record's field that must hold the kernel's side (`xlated`, `jited`).
    const FIELD: &'static str;
    /// What the headline says of "identical" (` after normalising addresses`).
    const HEADLINE_NOTE: &'static str = "";
    /// What the programs kbpf gets through do (`accepts`, `compiles`).
    const KBPF_DOES: &'static str;
    /// The kernel's side from its oracle record.
    fn kernel(&self, record: &serde_json::Value) -> Self::Side;
    /// kbpf's side of program `name`.
    fn kbpf(&self, cx: &Kbpf, obj: &kbpf::LoadedObject, name: &str) -> Result<Self::Side, String>;
    /// The class of the first difference, `None` when identical.
    fn first_difference(&self, kernel: &Self::Side, ours: &Self::Side) -> Option<String>;
    /// Both sides side by side (`--show`).
    fn print_sides(&self, kernel: &Self::Side, ours: &Self::Side);
    /// kbpf's side is missing for a reason the comparison's figure leaves out.
    fn excluded(class: &str) -> bool;
    /// An empty side (what `--show` prints for kbpf when it has none).
    fn empty() -> Self::Side;
}

/// The result for one program.
pub(super) struct Row {
    prog_type: String,
    name: String,
    /// `None` = identical; else the class of the first difference.
    class: Option<String>,
}

/// Parses `[--only N,..] [--show STEM/PROG] [--jobs N]`, compares every object's programs
/// with `bin`'s records, prints the report and keeps it in the cache.
pub(super) fn run<D: ProgDiff>(d: &D, args: &[String], cache: &Cache, bin: &Path) -> Result<bool, String> {
    let mut only = Vec::new();
    let mut show: Option<String> = None;
    let mut jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => only = it.next().ok_or("--only needs names")?.split(',').map(String::from).collect(),
            // print both sides of one program (`STEM/PROG`), normalised, side by side
            "--show" => {
                let v = it.next().ok_or("--show needs STEM/PROG")?;
                only = vec![v.split('/').next().unwrap_or_default().to_string()];
                show = Some(v.clone());
            }
            "--jobs" => jobs = it.next().and_then(|j| j.parse().ok()).ok_or("--jobs needs a number")?,
            other => return Err(format!("{}: unknown argument {other}", D::NAME)),
        }
    }
    let mut objects: Vec<PathBuf> = fs::read_dir(cache.objs())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .filter(|p| only.is_empty() || only.iter().any(|o| stem(p) == *o))
        .collect();
    objects.sort();
    let rows: Vec<Row> =
        super::parallel(&objects, jobs, |obj| compare_object(d, cache, bin, obj, show.as_deref()))
            .into_iter()
            .flatten()
            .collect();
    let report = summary::<D>(&rows);
    print!("{report}");
    let _ = fs::write(cache.root.join(format!("{}.txt", D::NAME)), &report);
    Ok(true)
}

pub(super) fn stem(p: &Path) -> String {
    p.file_name().map(|s| s.to_string_lossy().trim_end_matches(".bpf.o").to_string()).unwrap_or_default()
}

/// The oracle's records of one object (cached until the object or the oracle changes).
fn oracle(cache: &Cache, dir: &str, bin: &Path, obj: &Path) -> Result<Vec<serde_json::Value>, String> {
    let dir = cache.root.join(dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = dir.join(format!("{}.jsonl", stem(obj)));
    if !cache::newer_than(&out, &[obj, bin]) {
        let o = Command::new(bin).arg("--xlated").arg(obj).output().map_err(|e| e.to_string())?;
        fs::write(&out, &o.stdout).map_err(|e| e.to_string())?;
    }
    let text = fs::read_to_string(&out).map_err(|e| e.to_string())?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

fn compare_object<D: ProgDiff>(d: &D, cache: &Cache, bin: &Path, obj: &Path, show: Option<&str>) -> Vec<Row> {
    let Ok(records) = oracle(cache, D::ORACLE_DIR, bin, obj) else { return Vec::new() };
    let wanted: Vec<&serde_json::Value> = records
        .iter()
        // a program libbpf failed on after the kernel accepted it (a prog array slot) has no
        // translated instructions in the record: nothing to compare
        .filter(|r| r["outcome"] == "accepted" && r[D::FIELD].is_string())
        .filter(|r| TYPES.iter().any(|t| r["prog_type"] == *t))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(bytes) = fs::read(obj) else { return Vec::new() };
    let load = kbpf::LoadOptions::running_kernel();
    let object = match catch_unwind(AssertUnwindSafe(|| kbpf::open_object(&bytes, &load))) {
        Ok(Ok(o)) => Some(o),
        _ => None,
    };
    let registry = kbpf::kfunc::profiles::testmod();
    let kfuncs = kbpf::kfunc_table(&registry);
    let target = kbpf::elf::btf::TargetBtf::running_kernel().ok();
    let layout = target.as_ref().map(|t| kbpf::kernel_layout(&t.vmlinux)).unwrap_or_default();
    let btf = target.map(|t| kbpf::verifier::KernelBtf(t.vmlinux));
    let config = kbpf::running_kernel_config().unwrap_or_default();
    let cx = Kbpf { registry, kfuncs, layout, btf, config };
    wanted
        .into_iter()
        .map(|r| {
            let name = r["prog"].as_str().unwrap_or_default().to_string();
            let prog_type = r["prog_type"].as_str().unwrap_or_default().to_string();
            let kernel = d.kernel(r);
            let class = match &object {
                None => Some("kbpf: the object does not open".to_string()),
                Some(o) => catch_unwind(AssertUnwindSafe(|| {
                    let ours = d.kbpf(&cx, o, &name);
                    if show == Some(&format!("{}/{name}", stem(obj))) {
                        match &ours {
                            Ok(ours) => d.print_sides(&kernel, ours),
                            Err(e) => {
                                d.print_sides(&kernel, &D::empty());
                                println!("kbpf: {e}");
                            }
                        }
                    }
                    Ok::<_, String>(d.first_difference(&kernel, &ours?))
                }))
                .unwrap_or_else(|_| Err("kbpf: panicked".into()))
                .unwrap_or_else(Some),
            };
            Row { prog_type, name: format!("{}/{name}", stem(obj)), class }
        })
        .collect()
}

/// kbpf's verdict on program `name` of `obj` as the kernel loads it (a privileged load for its
/// JIT, Linux 6.18 without stack arguments, the running kernel's BTF and configuration as the
/// target, like `cargo xtask selftests`): the module and the witness, or why there is none.
pub(super) fn verified(
    obj: &kbpf::LoadedObject,
    name: &str,
    cx: &Kbpf,
) -> Result<(kbpf::Module, Verified), String> {
    let p = obj.programs.iter().find(|p| p.name == name).ok_or("kbpf: no such program")?;
    if p.error.is_some() {
        return Err("kbpf: the loader refuses the program".into());
    }
    let module = kbpf::module_from_object(obj, p).map_err(|_| "kbpf: the loader refuses the program")?;
    let prog_type = kbpf::prog_type_for_section(&p.section).map_err(|e| format!("kbpf: {e}"))?;
    let opts = VerifyOptions {
        prog_type,
        stack_args: false,
        kfuncs: cx.kfuncs.clone(),
        btf: cx.btf.clone(),
        kernel_config: cx.config,
        ..Default::default()
    };
    let w = kbpf::verify_module(&module, opts).witness.ok_or("kbpf: rejected")?;
    Ok((module, w))
}

fn summary<D: ProgDiff>(rows: &[Row]) -> String {
    let mut out = String::new();
    let same = rows.iter().filter(|r| r.class.is_none()).count();
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    out += &format!(
        "{}: {same}/{} programs identical{} ({:.1}%)\n",
        D::NAME,
        rows.len(),
        D::HEADLINE_NOTE,
        pct(same, rows.len())
    );
    let both = rows.iter().filter(|r| !r.class.as_deref().is_some_and(D::excluded)).count();
    out += &format!(
        "  of the {both} programs kbpf {} too: {same} identical ({:.1}%)\n",
        D::KBPF_DOES,
        pct(same, both)
    );
    for t in TYPES {
        let of: Vec<&Row> = rows.iter().filter(|r| r.prog_type == *t).collect();
        let s = of.iter().filter(|r| r.class.is_none()).count();
        out += &format!("  {t:14} {s:5}/{:<5} {:5.1}%\n", of.len(), pct(s, of.len()));
    }
    let mut classes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rows {
        if let Some(c) = &r.class {
            classes.entry(c.as_str()).or_default().push(&r.name);
        }
    }
    let mut by_count: Vec<_> = classes.into_iter().collect();
    by_count.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    out += "differences (first per program), by class:\n";
    for (c, v) in by_count {
        out += &format!("  {:5}  {c}  (e.g. {})\n", v.len(), v[..v.len().min(2)].join(", "));
    }
    out
}
