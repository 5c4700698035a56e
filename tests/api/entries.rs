//! Entries over HTTP: splitting exactly in every mode, several payers, another currency,
//! optimistic locking, idempotency keys, mirrors, and balances that always equal their entries.

use serde_json::json;

use crate::helpers::TestApp;
use crate::ledger_helpers::*;

#[tokio::test]
async fn a_hundred_split_equally_among_three_sums_exactly_and_nets_to_zero() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.register("Alice").await,
        app.register("Bob").await,
        app.register("Carol").await,
    );
    let (book, seats) = split_book(&app, &alice, &[&bob, &carol], "TWD").await;
    let entry = create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "100.00", "occurredOn": "2026-11-20",
                "description": "Dinner" }),
    )
    .await;
    assert_eq!(entry["amount"], "100.00");
    assert_eq!(entry["split"]["mode"], "EQUAL");
    let shares: Vec<String> = entry["split"]["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["amount"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = shares.clone();
    sorted.sort();
    assert_eq!(sorted, ["33.33", "33.33", "33.34"], "{entry}");
    assert_eq!(entry["payers"][0]["member"]["id"], seats[0].as_str());

    let balances = balances(&app, &alice, &book).await;
    assert_eq!(sum_of_nets(&balances), 0);
    let alice_net = net_of(&balances, &seats[0]);
    assert!(alice_net == "66.67" || alice_net == "66.66", "{balances:?}");
}
