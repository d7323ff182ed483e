//! Helpers shared by the case modules.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use maestro_domain::DomainError;

/// Waits at most `within` for the next item of `stream`; `None` on timeout or end of stream.
pub(crate) async fn next_within<S>(stream: &mut S, within: Duration) -> Option<S::Item>
where
    S: Stream + Unpin,
{
    tokio::time::timeout(within, stream.next())
        .await
        .ok()
        .flatten()
}

/// Asserts `result` is a `Conflict`.
#[track_caller]
pub(crate) fn assert_conflict<T: std::fmt::Debug>(result: Result<T, DomainError>) {
    match result {
        Err(DomainError::Conflict(_)) => {}
        other => panic!("expected a Conflict error, got {other:?}"),
    }
}

/// Asserts `result` is a `NotFound`.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, DomainError>) {
    match result {
        Err(DomainError::NotFound { .. }) => {}
        other => panic!("expected a NotFound error, got {other:?}"),
    }
}

/// The error a failing mutator returns in the cases.
pub(crate) fn refusal() -> DomainError {
    DomainError::BusinessRule("refused by the test mutator".to_string())
}

/// Asserts `result` is the [`refusal`] error, passed through unchanged.
#[track_caller]
pub(crate) fn assert_refused<T: std::fmt::Debug>(result: Result<T, DomainError>) {
    match result {
        Err(e) if e == refusal() => {}
        other => panic!("expected the mutator's own error, got {other:?}"),
    }
}

/// Ids of records, for order assertions.
pub(crate) fn ids<'a, T: 'a>(
    records: impl IntoIterator<Item = &'a T>,
    id: impl Fn(&T) -> &str,
) -> Vec<String> {
    records.into_iter().map(|r| id(r).to_owned()).collect()
}
