//! Throttles hold under concurrency: a burst of N attempts is evaluated at most `limit` times,
//! because taking an attempt is one atomic statement, not a count read before a failure written.
//! Each test fires its burst at once and counts the answers by code.

use std::collections::HashMap;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code};

const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";

/// How many answers carried each error code (`OK` for a success).
fn tally(responses: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for response in responses {
        let code = error_code(response).unwrap_or("OK").to_owned();
        *counts.entry(code).or_insert(0) += 1;
    }
    counts
}

fn count(counts: &HashMap<String, usize>, code: &str) -> usize {
    counts.get(code).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_for_one_email_is_evaluated_at_most_ten_times() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    let burst = (0..40).map(|i| {
        app.gql(
            LOGIN,
            json!({ "e": "alice@example.com", "p": format!("Wrong-Pass-{i}") }),
        )
    });
    let counts = tally(&join_all(burst).await);
    println!("{counts:?}");
    assert!(count(&counts, "UNAUTHENTICATED") <= 10, "{counts:?}");
    assert_eq!(
        count(&counts, "UNAUTHENTICATED") + count(&counts, "RATE_LIMITED"),
        40,
        "{counts:?}"
    );
    // The window is full: even the right password is refused now.
    let right = app
        .gql(LOGIN, json!({ "e": "alice@example.com", "p": PASSWORD }))
        .await;
    assert_eq!(error_code(&right), Some("RATE_LIMITED"), "{right}");
}

#[tokio::test]
async fn the_right_password_inside_a_burst_gets_no_extra_evaluations() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    let burst = (0..100).map(|i| {
        let password = if i == 99 {
            PASSWORD.to_owned()
        } else {
            format!("Wrong-Pass-{i}")
        };
        app.gql(LOGIN, json!({ "e": "alice@example.com", "p": password }))
    });
    let counts = tally(&join_all(burst).await);
    println!("{counts:?}");
    // At most ten attempts were evaluated, the right one included if it was among them.
    assert!(
        count(&counts, "UNAUTHENTICATED") + count(&counts, "OK") <= 10,
        "{counts:?}"
    );
}

#[tokio::test]
async fn a_burst_from_one_address_is_evaluated_at_most_fifty_times() {
    let app = TestApp::spawn().await;
    // Distinct unknown emails: only the per-address limit applies.
    let burst = (0..120).map(|i| {
        app.gql(
            LOGIN,
            json!({ "e": format!("nobody{i}@example.com"), "p": "Wrong-Pass-1" }),
        )
    });
    let counts = tally(&join_all(burst).await);
    println!("{counts:?}");
    assert!(count(&counts, "UNAUTHENTICATED") <= 50, "{counts:?}");
    assert!(count(&counts, "RATE_LIMITED") >= 70, "{counts:?}");
}

#[tokio::test]
async fn a_burst_of_invite_guesses_is_evaluated_at_most_twenty_times() {
    let app = TestApp::spawn().await;
    let mallory = app.register("Mallory").await;
    let burst = (0..200).map(|i| {
        app.gql_user(
            &mallory,
            "mutation($c: String!) { joinBook(code: $c) { id } }",
            json!({ "c": format!("ZZ{i:06}") }),
        )
    });
    let counts = tally(&join_all(burst).await);
    println!("{counts:?}");
    assert!(count(&counts, "NOT_FOUND") <= 20, "{counts:?}");
    assert_eq!(
        count(&counts, "NOT_FOUND") + count(&counts, "RATE_LIMITED"),
        200,
        "{counts:?}"
    );
}

#[tokio::test]
async fn registrations_are_throttled_per_address_even_in_a_burst() {
    let app = TestApp::spawn_with(&[("TALLY_REGISTRATIONS_PER_HOUR", "5")]).await;
    let burst = (0..12).map(|i| {
        app.gql(
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
            json!({ "i": { "email": format!("u{i}@example.com"), "name": "U", "password": PASSWORD } }),
        )
    });
    let counts = tally(&join_all(burst).await);
    println!("{counts:?}");
    assert!(count(&counts, "OK") <= 5, "{counts:?}");
    assert_eq!(
        count(&counts, "OK") + count(&counts, "RATE_LIMITED"),
        12,
        "{counts:?}"
    );
    let users = app.count("users", "true").await;
    assert_eq!(users, i64::try_from(count(&counts, "OK")).unwrap());
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_per_user() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let burst = (0..12).map(|i| {
        app.gql_user(
            &alice,
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }",
            json!({ "c": format!("Wrong-Pass-{i}"), "n": "Brand-New-Pass-1" }),
        )
    });
    let counts = tally(&join_all(burst).await);
    println!("{counts:?}");
    assert!(count(&counts, "BAD_USER_INPUT") <= 5, "{counts:?}");
    assert_eq!(
        count(&counts, "BAD_USER_INPUT") + count(&counts, "RATE_LIMITED"),
        12,
        "{counts:?}"
    );
}
