//! Every `examples/*` file runs with a plain `kbpf run FILE`, and prints what the README's
//! Examples section says (`kbpf run examples/NAME   # VALUE ...`), on the interpreter and the JIT.

use std::path::Path;
use std::process::Command;

#[test]
fn every_example_prints_what_the_readme_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let listed: Vec<(&str, &str)> = readme
        .lines()
        .filter_map(|l| l.trim().strip_prefix("kbpf run examples/"))
        .map(|rest| {
            let (file, comment) = rest.split_once('#').expect("`# VALUE` after the example");
            (file.trim(), comment.split_whitespace().next().expect("a value"))
        })
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(root.join("examples"))
        .expect("examples/")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut names: Vec<&str> = listed.iter().map(|(f, _)| *f).collect();
    names.sort();
    assert_eq!(names, files, "the README lists every example once");
    for (file, want) in listed {
        for engine in ["interp", "jit"] {
            let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
                .args(["run", "--engine", engine])
                .arg(root.join("examples").join(file))
                .output()
                .expect("kbpf runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{file} ({engine}): {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(stdout.lines().next(), Some(want), "{file} ({engine})");
        }
    }
}
