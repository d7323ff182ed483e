//! Contract of [`ModalPages`]: a saved page is owned by the session that showed it and waits
//! until settled, a page saved again replaces the old one, and removing a session's pages
//! leaves other sessions' pages alone.
//!
//! Each case uses its own unique session and modal ids.

use std::sync::Arc;

use maestro_domain::ports::{ModalPage, ModalPages};

use crate::fixtures::unique_id;

fn page(session: &str, modal: &str, html: &str) -> ModalPage {
    page_at(session, modal, html, 1_700_000_000_000)
}

fn page_at(session: &str, modal: &str, html: &str, shown_at: i64) -> ModalPage {
    ModalPage {
        session_id: session.to_string(),
        modal_id: modal.to_string(),
        title: format!("Title of {modal}"),
        html: html.to_string(),
        shown_at,
    }
}

/// The ids of the pages `pages.pending(sessions)` lists, in its order.
async fn pending_ids(pages: &Arc<dyn ModalPages>, sessions: &[&str]) -> Vec<String> {
    let sessions: Vec<String> = sessions.iter().map(|s| s.to_string()).collect();
    pages
        .pending(&sessions)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.page.modal_id)
        .collect()
}

/// Every case.
pub const ALL_CASES: &[&str] = crate::__modal_pages_cases!(names);

fn ids() -> (String, String) {
    (unique_id("sess"), unique_id("modal"))
}

pub async fn saved_page_is_owned_by_its_session(pages: Arc<dyn ModalPages>) {
    let (session, modal) = ids();
    assert!(!pages.shown_by(&session, &modal).await.unwrap());
    let location = pages
        .save(&page(&session, &modal, "<p>one</p>"))
        .await
        .unwrap();
    assert!(!location.is_empty());
    assert!(pages.shown_by(&session, &modal).await.unwrap());
    assert!(!pages.shown_by(&unique_id("sess"), &modal).await.unwrap());
}

pub async fn saving_again_replaces_page_and_owner(pages: Arc<dyn ModalPages>) {
    let (first, modal) = ids();
    let second = unique_id("sess");
    pages
        .save(&page(&first, &modal, "<p>one</p>"))
        .await
        .unwrap();
    pages
        .save(&page(&second, &modal, "<p>two</p>"))
        .await
        .unwrap();
    assert!(!pages.shown_by(&first, &modal).await.unwrap());
    assert!(pages.shown_by(&second, &modal).await.unwrap());
}

pub async fn remove_session_removes_only_its_pages(pages: Arc<dyn ModalPages>) {
    let (session, modal) = ids();
    let other_modal = unique_id("modal");
    let (other, kept) = ids();
    pages.save(&page(&session, &modal, "a")).await.unwrap();
    pages
        .save(&page(&session, &other_modal, "b"))
        .await
        .unwrap();
    pages.save(&page(&other, &kept, "c")).await.unwrap();
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
            pages.save(&page(&session, bad, "x")).await.is_err(),
            "saved modal id {bad:?}"
        );
        assert!(!pages.shown_by(&session, bad).await.unwrap());
    }
}

pub async fn pending_lists_unanswered_pages_oldest_first(pages: Arc<dyn ModalPages>) {
    let (session, newer) = ids();
    let older = unique_id("modal");
    let (other, theirs) = ids();
    pages
        .save(&page_at(&session, &newer, "<p>2</p>", 2_000))
        .await
        .unwrap();
    pages
        .save(&page_at(&session, &older, "<p>1</p>", 1_000))
        .await
        .unwrap();
    pages.save(&page(&other, &theirs, "x")).await.unwrap();
    let listed = pages.pending(std::slice::from_ref(&session)).await.unwrap();
    let got: Vec<&str> = listed.iter().map(|p| p.page.modal_id.as_str()).collect();
    assert_eq!(
        got,
        [older.as_str(), newer.as_str()],
        "only this session's, oldest first"
    );
    let first = &listed[0];
    assert_eq!(first.page, page_at(&session, &older, "<p>1</p>", 1_000));
    assert!(!first.location.is_empty());
    assert_eq!(pending_ids(&pages, &[&session, &other]).await.len(), 3);
    assert!(pending_ids(&pages, &[]).await.is_empty());
    assert!(pending_ids(&pages, &[&unique_id("sess")]).await.is_empty());
}

pub async fn settle_ends_the_wait_but_keeps_the_owner(pages: Arc<dyn ModalPages>) {
    let (session, modal) = ids();
    let kept = unique_id("modal");
    pages.save(&page(&session, &modal, "a")).await.unwrap();
    pages.save(&page(&session, &kept, "b")).await.unwrap();
    // Another session cannot settle it.
    pages.settle(&unique_id("sess"), &modal).await.unwrap();
    assert_eq!(pending_ids(&pages, &[&session]).await.len(), 2);
    pages.settle(&session, &modal).await.unwrap();
    assert_eq!(pending_ids(&pages, &[&session]).await, [kept]);
    assert!(
        pages.shown_by(&session, &modal).await.unwrap(),
        "a late answer is still its own"
    );
    // Settling twice, or a page that never was, is not an error.
    pages.settle(&session, &modal).await.unwrap();
    pages.settle(&session, &unique_id("modal")).await.unwrap();
    // Removing the session ends every wait.
    pages.remove_session(&session).await.unwrap();
    assert!(pending_ids(&pages, &[&session]).await.is_empty());
}

pub async fn a_replaced_page_waits_only_for_its_new_owner(pages: Arc<dyn ModalPages>) {
    let (first, modal) = ids();
    let second = unique_id("sess");
    pages.save(&page(&first, &modal, "one")).await.unwrap();
    pages.settle(&first, &modal).await.unwrap();
    pages.save(&page(&second, &modal, "two")).await.unwrap();
    assert!(pending_ids(&pages, &[&first]).await.is_empty());
    let listed = pages.pending(std::slice::from_ref(&second)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].page.html, "two");
}
