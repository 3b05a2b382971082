//! The repository's own tour and labs: every path and item they name exists.

use std::path::Path;

#[test]
fn every_path_and_item_the_tour_names_is_real() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let documents = tour_check::documents(&root);
    assert!(
        documents.iter().any(|file| file.ends_with("SUMMARY.md")),
        "no book/src/SUMMARY.md under {}",
        root.display()
    );
    let problems = tour_check::check_repository(&root);
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "{} broken pointers:\n{}",
        list.len(),
        list.join("\n")
    );
}

#[test]
fn the_tour_names_paths_and_items() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = 0;
    let mut items = 0;
    for file in tour_check::documents(&root) {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for reference in tour_check::references(&text) {
            paths += 1;
            items += reference.items.len();
        }
    }
    // A scanner that silently found nothing would pass the check above.
    assert!(
        paths >= 50 && items >= 50,
        "{paths} paths, {items} items found"
    );
}
