//! The reference traces committed in `tests/reference` are the public recordings of the
//! original, and `tests/conformance` holds the team's OpenEnv client probe: where the
//! team's `../shared/reference` and `../shared/conformance` exist beside the repository,
//! each copy must equal its folder file for file (a bare clone has only the copies, and
//! uses them).

use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("readable reference file"))
        })
        .collect()
}

/// Assert that the committed copy `ours` (under the tests crate) equals `../shared/<theirs>`
/// file for file, where that folder exists beside the repository.
fn equals_the_shared_copy(ours: &BTreeMap<String, Vec<u8>>, theirs: &str) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(theirs);
    if !shared.is_dir() {
        eprintln!(
            "no {} beside the repository: nothing to compare",
            shared.display()
        );
        return;
    }
    let theirs = files(&shared);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "the copy and {} list different files",
        shared.display()
    );
    for (name, bytes) in ours {
        assert!(
            bytes == &theirs[name],
            "{name} differs from {}",
            shared.display()
        );
    }
}

#[test]
fn the_committed_reference_traces_equal_the_shared_copy_where_it_exists() {
    // Goal: tests/reference is a faithful copy; it is never edited by hand.
    let ours = files(&incident_tests::trace::reference_dir());
    assert!(
        ours.len() >= 17,
        "tests/reference lost files: {:?}",
        ours.keys()
    );
    assert!(ours.contains_key("README.md") && ours.contains_key("eval-baseline-inprocess.json"));
    equals_the_shared_copy(&ours, "reference");
}

#[test]
fn the_committed_openenv_probe_equals_the_shared_copy_where_it_exists() {
    // Goal: tests/conformance (what .ci/openenv-probe.sh runs) is the team's probe, unedited.
    let ours = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance"));
    assert!(
        ours.contains_key("openenv_client_probe.py"),
        "{:?}",
        ours.keys()
    );
    equals_the_shared_copy(&ours, "conformance");
}
