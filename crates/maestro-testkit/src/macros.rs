//! The exported contract macros.
//!
//! Each port's case list exists once, in its `__<port>_cases!` macro; it feeds both the test
//! functions a `<port>_contract!` expands to and the module's `ALL_CASES`.

/// Expands a case list (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    (names [$($case:ident),* $(,)?]) => {
        &[$(::core::stringify!($case)),*]
    };
    (store $module:ident, $factory:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(store) = $crate::__private::make($factory).await else {
                    return;
                };
                $crate::__private::bounded($crate::$module::$case(store)).await;
            }
        )*
    };
    (auth $module:ident, $factory:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some((auth, token)) = $crate::__private::make($factory).await else {
                    return;
                };
                $crate::__private::bounded($crate::$module::$case(auth, token)).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __event_bus_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            publish_without_subscribers_is_ok,
            an_event_keeps_its_log_id,
            event_is_queued_when_publish_returns,
            order_is_preserved,
            fans_out_to_every_subscriber,
            late_subscriber_misses_earlier_events,
            dropping_a_subscriber_leaves_others,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __project_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            create_then_get_round_trips,
            get_missing_is_none,
            duplicate_create_conflicts,
            update_applies_and_returns_the_record,
            update_missing_is_not_found,
            update_error_leaves_record_unchanged,
            update_without_change_returns_record,
            delete_returns_true_then_false,
            list_is_sorted_by_creation_then_id,
            concurrent_updates_are_not_lost,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            create_then_get_round_trips,
            get_missing_is_none,
            duplicate_create_conflicts,
            update_applies_and_returns_the_record,
            update_missing_is_not_found,
            update_error_leaves_record_unchanged,
            update_without_change_returns_record,
            delete_returns_true_then_false,
            list_by_project_is_sorted_and_scoped,
            list_without_filter_holds_every_project,
            filter_by_status,
            filter_by_parent,
            filter_by_session,
            filters_combine,
            update_moving_project_moves_listing,
            concurrent_updates_are_not_lost,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __session_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            create_then_get_round_trips,
            get_missing_is_none,
            duplicate_create_conflicts,
            update_applies_and_returns_the_record,
            update_missing_is_not_found,
            update_error_leaves_record_unchanged,
            update_without_change_returns_record,
            delete_returns_true_then_false,
            list_by_project_is_sorted_and_scoped,
            filter_by_task,
            filter_by_statuses,
            filters_combine,
            concurrent_updates_are_not_lost,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __mail_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            create_then_get_round_trips,
            get_missing_is_none,
            duplicate_create_conflicts,
            delete_returns_true_then_false,
            list_is_sorted_and_scoped_by_project,
            inbox_holds_addressed_and_foreign_broadcasts,
            inbox_filters_by_kind,
            inbox_since_is_strict,
            inbox_is_sorted,
            concurrent_creates_are_all_visible,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __team_member_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            create_then_get_round_trips,
            get_is_scoped_by_project,
            duplicate_create_conflicts,
            update_applies_and_returns_the_record,
            update_missing_is_not_found,
            update_error_leaves_record_unchanged,
            delete_returns_true_then_false,
            list_is_sorted_and_scoped,
            concurrent_updates_are_not_lost,
            override_starts_empty_and_merges,
            override_error_leaves_it_unchanged,
            delete_override_returns_true_then_false,
            list_excludes_overrides,
            concurrent_override_updates_are_not_lost,
            delete_project_removes_members_and_overrides,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __ordering_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            get_missing_is_none,
            save_then_get_round_trips,
            save_replaces,
            entity_types_are_independent,
            delete_project_removes_both,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __presence_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            unknown_session_is_not_alive,
            heartbeat_makes_alive,
            alive_is_sorted_by_session_id,
            lapse_is_reported_and_ends_liveness,
            heartbeats_keep_alive_past_ttl,
            remove_produces_no_expiration,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lock_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            second_acquire_is_refused,
            foreign_token_cannot_release_or_extend,
            release_then_reacquire,
            lease_lapses_after_ttl,
            extend_keeps_the_lease,
            lapsed_lease_cannot_touch_new_owner,
            resources_are_independent,
            contenders_never_overlap,
            with_lock_releases_on_error,
            fenced_lease_has_one_owner_and_renews,
            fences_grow_with_every_new_owner,
            fenced_release_is_owner_only,
            fenced_lease_lapses_after_ttl,
            fenced_contenders_get_one_winner_each_round,
            live_fenced_counts_live_leases_only,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __modal_pages_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            saved_page_is_owned_by_its_session,
            saving_again_replaces_page_and_owner,
            remove_session_removes_only_its_pages,
            unsafe_modal_ids_are_refused,
            pending_lists_unanswered_pages_oldest_first,
            settle_ends_the_wait_but_keeps_the_owner,
            a_replaced_page_waits_only_for_its_new_owner,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __idempotency_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            first_claim_wins_and_others_see_it_running,
            a_completed_key_replays_its_response,
            a_released_key_is_free_again,
            claims_and_responses_lapse,
            keys_are_independent,
            concurrent_claims_have_one_winner,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __member_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            put_then_get_and_list_in_added_order,
            put_again_changes_only_the_role,
            remove_answers_whether_it_was_a_member,
            users_are_found_by_id_and_exact_email,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __api_key_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            create_then_get_round_trips,
            get_is_scoped_by_project,
            duplicate_create_conflicts_and_keeps_the_first,
            list_is_sorted_and_scoped,
            delete_returns_true_then_false,
            delete_project_removes_only_its_keys,
            concurrent_creates_are_all_kept,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __auth_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            valid_token_is_accepted,
            garbage_token_is_invalid,
            near_miss_tokens_are_invalid,
            missing_token_is_missing,
        ] }
    };
}

/// One `#[tokio::test]` per [`event_bus`](crate::event_bus) case, in `mod event_bus_contract`.
///
/// `$factory`: a zero-argument closure or fn returning a future of `Arc<dyn EventBus>`. With
/// `capacity = N` (the per-subscriber buffer of the buses it makes) it also runs
/// [`lagging_subscriber_is_told`](crate::event_bus::lagging_subscriber_is_told).
#[macro_export]
macro_rules! event_bus_contract {
    ($factory:expr, capacity = $capacity:expr $(,)?) => {
        mod event_bus_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__event_bus_cases!(store event_bus, $factory,);

            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn lagging_subscriber_is_told() {
                let Some(bus) = $crate::__private::make($factory).await else {
                    return;
                };
                $crate::__private::bounded($crate::event_bus::lagging_subscriber_is_told(
                    bus, $capacity,
                ))
                .await;
            }
        }
    };
    ($factory:expr $(,)?) => {
        mod event_bus_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__event_bus_cases!(store event_bus, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`project_repo`](crate::project_repo) case, in
/// `mod project_repo_contract`. `$factory` returns a future of `Arc<dyn ProjectRepo>`.
#[macro_export]
macro_rules! project_repo_contract {
    ($factory:expr $(,)?) => {
        mod project_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__project_repo_cases!(store project_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`task_repo`](crate::task_repo) case, in `mod task_repo_contract`.
/// `$factory` returns a future of `Arc<dyn TaskRepo>`.
#[macro_export]
macro_rules! task_repo_contract {
    ($factory:expr $(,)?) => {
        mod task_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__task_repo_cases!(store task_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`session_repo`](crate::session_repo) case, in
/// `mod session_repo_contract`. `$factory` returns a future of `Arc<dyn SessionRepo>`.
#[macro_export]
macro_rules! session_repo_contract {
    ($factory:expr $(,)?) => {
        mod session_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__session_repo_cases!(store session_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`mail_repo`](crate::mail_repo) case, in `mod mail_repo_contract`.
/// `$factory` returns a future of `Arc<dyn MailRepo>`.
#[macro_export]
macro_rules! mail_repo_contract {
    ($factory:expr $(,)?) => {
        mod mail_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__mail_repo_cases!(store mail_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`team_member_repo`](crate::team_member_repo) case, in
/// `mod team_member_repo_contract`. `$factory` returns a future of `Arc<dyn TeamMemberRepo>`.
#[macro_export]
macro_rules! team_member_repo_contract {
    ($factory:expr $(,)?) => {
        mod team_member_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__team_member_repo_cases!(store team_member_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`ordering_repo`](crate::ordering_repo) case, in
/// `mod ordering_repo_contract`. `$factory` returns a future of `Arc<dyn OrderingRepo>`.
#[macro_export]
macro_rules! ordering_repo_contract {
    ($factory:expr $(,)?) => {
        mod ordering_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__ordering_repo_cases!(store ordering_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`presence`](crate::presence) case, in `mod presence_contract`.
/// `$factory` returns a future of `Arc<dyn Presence>`.
#[macro_export]
macro_rules! presence_contract {
    ($factory:expr $(,)?) => {
        mod presence_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__presence_cases!(store presence, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`lock`](crate::lock) case, in `mod lock_contract`. `$factory`
/// returns a future of `Arc<dyn Lock>`.
#[macro_export]
macro_rules! lock_contract {
    ($factory:expr $(,)?) => {
        mod lock_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__lock_cases!(store lock, $factory,);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __event_log_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            ids_increase_and_latest_is_the_newest,
            read_after_returns_exactly_the_later_events_in_order,
            an_id_the_log_does_not_hold_is_a_gap,
            more_than_max_missed_is_a_gap,
            trimmed_by_length_is_a_gap_and_the_rest_replays,
            trimmed_by_age_is_a_gap,
            projects_are_isolated,
            concurrent_appenders_get_distinct_ids_in_one_order,
        ] }
    };
}

/// One `#[tokio::test]` per [`event_log`](crate::event_log) case, in `mod event_log_contract`;
/// `$factory` returns a future of an
/// [`EventLogFixture`](crate::event_log::EventLogFixture) (or `Option` of one).
#[macro_export]
macro_rules! event_log_contract {
    ($factory:expr $(,)?) => {
        mod event_log_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__event_log_cases!(store event_log, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`modal_pages`](crate::modal_pages) case, in
/// `mod modal_pages_contract`; `$factory` returns a future of `Arc<dyn ModalPages>`.
#[macro_export]
macro_rules! modal_pages_contract {
    ($factory:expr $(,)?) => {
        mod modal_pages_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__modal_pages_cases!(store modal_pages, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`idempotency`](crate::idempotency) case, in
/// `mod idempotency_contract`; `$factory` returns a future of `Arc<dyn IdempotencyStore>`.
#[macro_export]
macro_rules! idempotency_contract {
    ($factory:expr $(,)?) => {
        mod idempotency_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__idempotency_cases!(store idempotency, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`member_repo`](crate::member_repo) case, in
/// `mod member_repo_contract`; `$factory` returns a future of a
/// [`MemberFixture`](crate::member_repo::MemberFixture) (or `Option` of one).
#[macro_export]
macro_rules! member_repo_contract {
    ($factory:expr $(,)?) => {
        mod member_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__member_repo_cases!(store member_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`api_key_repo`](crate::api_key_repo) case, in
/// `mod api_key_repo_contract`; `$factory` returns a future of an
/// [`ApiKeyFixture`](crate::api_key_repo::ApiKeyFixture) (or `Option` of one).
#[macro_export]
macro_rules! api_key_repo_contract {
    ($factory:expr $(,)?) => {
        mod api_key_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__api_key_repo_cases!(store api_key_repo, $factory,);
        }
    };
}

/// One `#[tokio::test]` per [`auth`](crate::auth) case, in `mod auth_contract`. `$factory`
/// returns a future of `(Arc<dyn Auth>, String)`: an adapter configured to require a token,
/// and a token it accepts.
#[macro_export]
macro_rules! auth_contract {
    ($factory:expr $(,)?) => {
        mod auth_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__auth_cases!(auth auth, $factory,);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __mail_wait_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            wait_returns_existing_inbox_at_once,
            wait_wakes_on_new_mail,
            wait_times_out_with_empty_list,
            no_lost_wakeups_under_1000_concurrent_sends,
            concurrent_waiters_each_get_their_own_mail,
        ] }
    };
}

/// The mail long-poll contract. `$factory` returns a [`maestro_domain::services::Ports`]
/// holding the adapter's `MailRepo` and `EventBus`.
#[macro_export]
macro_rules! mail_wait_contract {
    ($factory:expr) => {
        mod mail_wait_contract {
            use super::*;
            $crate::__mail_wait_cases! { store mail_wait, $factory, }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __blob_store_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            put_then_get_round_trips_the_bytes,
            get_of_a_missing_key_is_none,
            put_replaces_the_whole_content,
            delete_says_whether_something_was_deleted,
            keys_are_independent,
            invalid_keys_are_refused_before_any_io,
            a_concurrent_get_sees_old_or_new_never_a_mix,
        ] }
    };
}

/// The [`BlobStore`](maestro_domain::ports::BlobStore) contract. `$factory` returns an
/// `Arc<dyn BlobStore>` (or `Option` of one).
#[macro_export]
macro_rules! blob_store_contract {
    ($factory:expr) => {
        mod blob_store_contract {
            use super::*;
            $crate::__blob_store_cases! { store blob_store, $factory, }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __push_subscription_repo_cases {
    ($($head:tt)*) => {
        $crate::__contract_tests! { $($head)* [
            put_then_get_round_trips,
            every_kind_of_owner_round_trips,
            put_again_replaces_the_whole_record,
            list_is_sorted_by_creation,
            delete_returns_true_then_false,
            concurrent_puts_are_all_kept,
        ] }
    };
}

/// The [`PushSubscriptionRepo`](maestro_domain::ports::PushSubscriptionRepo) contract.
/// `$factory` returns an `Arc<dyn PushSubscriptionRepo>` (or `Option` of one).
#[macro_export]
macro_rules! push_subscription_repo_contract {
    ($factory:expr $(,)?) => {
        mod push_subscription_repo_contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::__push_subscription_repo_cases!(store push_subscription_repo, $factory,);
        }
    };
}
