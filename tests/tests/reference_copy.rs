//! The reference traces committed in `tests/reference` are the public recordings of the
//! original: where the team's `../shared/reference` exists beside the repository, the copy
//! must equal it file for file (a bare clone has only the copy, and uses it).

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
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference");
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
        "tests/reference and ../shared/reference list different files"
    );
    for (name, bytes) in &ours {
        assert!(
            bytes == &theirs[name],
            "tests/reference/{name} differs from ../shared's copy"
        );
    }
}
