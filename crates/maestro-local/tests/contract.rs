//! The testkit's `ModalPages` contract against the filesystem adapter.

use std::sync::Arc;

use maestro_local::FsModalPages;

/// Each case gets its own directory; the `TempDir` is leaked so it outlives the case.
async fn pages() -> Arc<FsModalPages> {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    Arc::new(FsModalPages::new(dir.join("modals")))
}

maestro_testkit::modal_pages_contract!(pages);
