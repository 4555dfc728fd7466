//! Rebuilds testdata/ with the real `build-testdata` binary into a temporary directory and
//! requires the committed files to be byte-identical (and no file missing or extra), so a
//! scenario change without a rebuild fails CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn file_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn committed_testdata_matches_a_fresh_build() {
    let tmp =
        TempDir(std::env::temp_dir().join(format!("wiretale-testdata-{}", std::process::id())));
    let _ = fs::remove_dir_all(&tmp.0);
    let status = Command::new(env!("CARGO_BIN_EXE_build-testdata"))
        .arg(&tmp.0)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run build-testdata");
    assert!(status.success(), "build-testdata failed");

    let fresh = file_names(&tmp.0);
    let committed = file_names(&committed_dir());
    assert_eq!(
        fresh, committed,
        "testdata/ has missing or extra files; run `cargo run -p wiretale-fixtures --bin build-testdata`"
    );
    let mut stale = Vec::new();
    for name in &fresh {
        if fs::read(tmp.0.join(name)).unwrap() != fs::read(committed_dir().join(name)).unwrap() {
            stale.push(name.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale files in testdata/: {stale:?}; run `cargo run -p wiretale-fixtures --bin build-testdata`"
    );
}

#[test]
fn building_twice_gives_the_same_bytes() {
    let a = wiretale_fixtures::scenarios::all();
    let b = wiretale_fixtures::scenarios::all();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.bytes().unwrap(), y.bytes().unwrap(), "{}", x.file_name);
    }
    assert_eq!(
        wiretale_fixtures::scenarios::readme(&a).unwrap(),
        wiretale_fixtures::scenarios::readme(&b).unwrap()
    );
}
