//! Contract of [`ModalPages`]: a saved page is owned by the session that showed it, a page
//! saved again replaces the old one, and removing a session's pages leaves other sessions'
//! pages alone.
//!
//! Each case uses its own unique session and modal ids.

use std::sync::Arc;

use maestro_domain::ports::ModalPages;

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__modal_pages_cases!(names);

fn ids() -> (String, String) {
    (unique_id("sess"), unique_id("modal"))
}

pub async fn saved_page_is_owned_by_its_session(pages: Arc<dyn ModalPages>) {
    let (session, modal) = ids();
    assert!(!pages.shown_by(&session, &modal).await.unwrap());
    let location = pages.save(&session, &modal, "<p>one</p>").await.unwrap();
    assert!(!location.is_empty());
    assert!(pages.shown_by(&session, &modal).await.unwrap());
    assert!(!pages.shown_by(&unique_id("sess"), &modal).await.unwrap());
}

pub async fn saving_again_replaces_page_and_owner(pages: Arc<dyn ModalPages>) {
    let (first, modal) = ids();
    let second = unique_id("sess");
    pages.save(&first, &modal, "<p>one</p>").await.unwrap();
    pages.save(&second, &modal, "<p>two</p>").await.unwrap();
    assert!(!pages.shown_by(&first, &modal).await.unwrap());
    assert!(pages.shown_by(&second, &modal).await.unwrap());
}

pub async fn remove_session_removes_only_its_pages(pages: Arc<dyn ModalPages>) {
    let (session, modal) = ids();
    let other_modal = unique_id("modal");
    let (other, kept) = ids();
    pages.save(&session, &modal, "a").await.unwrap();
    pages.save(&session, &other_modal, "b").await.unwrap();
    pages.save(&other, &kept, "c").await.unwrap();
    pages.remove_session(&session).await.unwrap();
    assert!(!pages.shown_by(&session, &modal).await.unwrap());
    assert!(!pages.shown_by(&session, &other_modal).await.unwrap());
    assert!(pages.shown_by(&other, &kept).await.unwrap());
    // Removing a session without pages is not an error.
    pages.remove_session(&unique_id("sess")).await.unwrap();
}

pub async fn unsafe_modal_ids_are_refused(pages: Arc<dyn ModalPages>) {
    let session = unique_id("sess");
    for bad in ["../escape", "a/b", "", ".."] {
        assert!(
            pages.save(&session, bad, "x").await.is_err(),
            "saved modal id {bad:?}"
        );
        assert!(!pages.shown_by(&session, bad).await.unwrap());
    }
}
