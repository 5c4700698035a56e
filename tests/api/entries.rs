//! Entries over HTTP: splitting exactly in every mode, several payers, another currency,
//! optimistic locking, idempotency keys, mirrors, and balances that always equal their entries.

use serde_json::{Value, json};

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

/// The amounts of an entry's allocations, keyed by seat id.
fn shares_by_seat(entry: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    entry["split"]["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["member"]["id"].as_str().unwrap().to_owned(),
                a["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_split_mode_apportions_exactly_and_leaves_out_who_is_not_listed() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.register("Alice").await,
        app.register("Bob").await,
        app.register("Carol").await,
    );
    let (book, s) = split_book(&app, &alice, &[&bob, &carol], "TWD").await;
    let entry = |split: serde_json::Value| {
        json!({ "bookId": book, "amount": "90.00", "occurredOn": "2026-11-20",
                "description": "Groceries", "split": split })
    };

    // EQUAL among the listed members only: Carol is excluded (seed 003).
    let equal = create_entry(
        &app,
        &alice,
        entry(json!({ "mode": "EQUAL", "members": [{ "memberId": s[0] }, { "memberId": s[1] }] })),
    )
    .await;
    let shares = shares_by_seat(&equal);
    assert_eq!(shares.len(), 2);
    assert_eq!(shares[&s[0]], "45.00");
    assert_eq!(shares[&s[1]], "45.00");

    let ratio = create_entry(
        &app,
        &alice,
        entry(json!({ "mode": "RATIO", "members": [
            { "memberId": s[0], "value": "50" },
            { "memberId": s[1], "value": "33.3333" },
            { "memberId": s[2], "value": "16.6667" } ] })),
    )
    .await;
    let shares = shares_by_seat(&ratio);
    assert_eq!(shares[&s[0]], "45.00");
    assert_eq!(shares[&s[1]], "30.00");
    assert_eq!(shares[&s[2]], "15.00");
    assert_eq!(ratio["split"]["allocations"][1]["ratio"], "33.3333");

    let weights = create_entry(
        &app,
        &alice,
        entry(json!({ "mode": "SHARES", "members": [
            { "memberId": s[0], "value": "1" }, { "memberId": s[1], "value": "2" } ] })),
    )
    .await;
    let shares = shares_by_seat(&weights);
    assert_eq!(
        (shares[&s[0]].as_str(), shares[&s[1]].as_str()),
        ("30.00", "60.00")
    );

    let exact = create_entry(
        &app,
        &alice,
        entry(json!({ "mode": "EXACT", "members": [
            { "memberId": s[0], "value": "10.01" }, { "memberId": s[1], "value": "0" },
            { "memberId": s[2], "value": "79.99" } ] })),
    )
    .await;
    let shares = shares_by_seat(&exact);
    assert_eq!(shares[&s[2]], "79.99");
    assert_eq!(shares[&s[1]], "0.00");

    // ADJUSTMENT: Bob had a 15.00 extra; the remaining 75.00 is shared equally.
    let adjusted = create_entry(
        &app,
        &alice,
        entry(json!({ "mode": "ADJUSTMENT", "members": [
            { "memberId": s[0], "value": "0" }, { "memberId": s[1], "value": "15" },
            { "memberId": s[2], "value": "-3" } ] })),
    )
    .await;
    let shares = shares_by_seat(&adjusted);
    assert_eq!(shares[&s[0]], "26.00");
    assert_eq!(shares[&s[1]], "41.00");
    assert_eq!(shares[&s[2]], "23.00");

    let balances = balances(&app, &alice, &book).await;
    assert_eq!(sum_of_nets(&balances), 0);
}

#[tokio::test]
async fn several_payers_pay_exactly_the_amount() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, s) = split_book(&app, &alice, &[&bob], "TWD").await;
    let entry = create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "100", "occurredOn": "2026-11-20",
                "description": "Hotel",
                "payers": [{ "memberId": s[0], "amount": "70" }, { "memberId": s[1], "amount": "30" }] }),
    )
    .await;
    assert_eq!(entry["payers"].as_array().unwrap().len(), 2);
    let balances = balances(&app, &alice, &book).await;
    assert_eq!(net_of(&balances, &s[0]), "20.00");
    assert_eq!(net_of(&balances, &s[1]), "-20.00");

    // Payers that do not add up are refused, naming the field, and nothing is written.
    let before = app.count("entries", "source_entry_id IS NULL").await;
    let response = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": { "bookId": book, "amount": "100", "occurredOn": "2026-11-20",
                "description": "Hotel",
                "payers": [{ "memberId": s[0], "amount": "70" }, { "memberId": s[1], "amount": "29.99" }] } }),
    )
    .await;
    assert_refused(&response, "BAD_USER_INPUT", Some("payers"));
    assert_eq!(
        app.count("entries", "source_entry_id IS NULL").await,
        before
    );
}

#[tokio::test]
async fn another_currency_needs_a_rate_and_keeps_the_original() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, s) = split_book(&app, &alice, &[&bob], "TWD").await;
    let input = json!({ "bookId": book, "amount": "10.00", "currency": "USD",
                        "occurredOn": "2026-11-20", "description": "Taxi in Tokyo" });
    let response = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": input.clone() }),
    )
    .await;
    assert_refused(&response, "BAD_USER_INPUT", Some("exchangeRate"));

    let mut with_rate = input;
    with_rate["exchangeRate"] = json!("31.3333");
    let entry = create_entry(&app, &alice, with_rate).await;
    assert_eq!(entry["currency"], "TWD");
    assert_eq!(entry["amount"], "313.333");
    assert_eq!(entry["originalAmount"], "10.00");
    assert_eq!(entry["originalCurrency"], "USD");
    assert_eq!(entry["exchangeRate"], "31.3333");
    let shares = shares_by_seat(&entry);
    let total: i64 = shares
        .values()
        .map(|amount| amount.parse::<tally::ledger::Money>().unwrap().e4())
        .sum();
    assert_eq!(total, 3_133_330, "{shares:?}");
    let balances = balances(&app, &alice, &book).await;
    assert_eq!(sum_of_nets(&balances), 0);
    assert_ne!(net_of(&balances, &s[1]), "0.00");
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let entry = create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "50", "occurredOn": "2026-11-20", "description": "Lunch" }),
    )
    .await;
    let id = entry["id"].as_str().unwrap();
    let edit = |amount: &str, version: i64| {
        json!({ "id": id, "version": version, "input": {
            "amount": amount, "occurredOn": "2026-11-21", "description": "Lunch, edited" } })
    };
    let updated = mutate(&app, &alice, UPDATE_ENTRY, edit("60", 1)).await;
    assert_eq!(updated["data"]["updateEntry"]["version"], 2, "{updated}");
    assert_eq!(updated["data"]["updateEntry"]["amount"], "60.00");

    let before = balances(&app, &alice, &book).await;
    let stale = mutate(&app, &alice, UPDATE_ENTRY, edit("70", 1)).await;
    assert_refused(&stale, "CONFLICT", None);
    assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);
    let stale_delete = mutate(
        &app,
        &alice,
        DELETE_ENTRY,
        json!({ "id": id, "version": 1 }),
    )
    .await;
    assert_refused(&stale_delete, "CONFLICT", None);
    assert_eq!(balances(&app, &alice, &book).await, before);
    let read = app
        .gql_user(
            &alice,
            "query($id: ID!) { entry(id: $id) { amount version deletedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["entry"]["amount"], "60.00");
    assert_eq!(read["data"]["entry"]["version"], 2);
    assert!(read["data"]["entry"]["deletedAt"].is_null());

    // Delete and restore each move the version on, and the balances with them.
    let deleted = mutate(
        &app,
        &alice,
        DELETE_ENTRY,
        json!({ "id": id, "version": 2 }),
    )
    .await;
    assert_eq!(deleted["data"]["deleteEntry"]["version"], 3, "{deleted}");
    assert!(
        balances(&app, &alice, &book)
            .await
            .iter()
            .all(|b| b["net"] == "0.00")
    );
    let restored = mutate(&app, &alice, RESTORE_ENTRY, json!({ "id": id })).await;
    assert_eq!(restored["data"]["restoreEntry"]["version"], 4, "{restored}");
    assert_eq!(balances(&app, &alice, &book).await, before);
}

/// The entry a new entry's mutation answers with is the row it wrote, not read back: a later
/// read shows exactly the same, times, creator and mirrors included, on both databases.
/// What `a_new_entry_answers_with_what_a_later_read_shows` asks of an entry, answered and read.
const ANSWERED: &str = "...EntryFields createdAt updatedAt creator { id }";

#[tokio::test]
async fn a_new_entry_answers_with_what_a_later_read_shows() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, seats) = split_book(&app, &alice, &[&bob], "TWD").await;
    let categories = app
        .gql_user(
            &alice,
            r#"query($book: ID!) { categories(bookId: $book) { id } }"#,
            json!({ "book": book }),
        )
        .await;
    let category = categories["data"]["categories"][0]["id"].clone();
    assert!(category.is_string(), "{categories}");
    let read = |id: Value| {
        let (app, alice) = (&app, &alice);
        async move {
            let document = with_fields(&format!(
                "query($id: ID!) {{ entry(id: $id) {{ {ANSWERED} }} }}"
            ));
            let response = app.gql_user(alice, &document, json!({ "id": id })).await;
            response["data"]["entry"].clone()
        }
    };
    let input = json!({ "bookId": book, "amount": "10.01", "currency": "EUR",
                        "exchangeRate": "34.1234", "occurredOn": "2026-11-20",
                        "description": "Dinner", "note": "the whole table",
                        "categoryId": category,
                        "payers": [{ "memberId": seats[1], "amount": "10.01" }],
                        "split": { "mode": "RATIO", "members": [
                            { "memberId": seats[0], "value": "33.3333" },
                            { "memberId": seats[1], "value": "66.6667" }] } });
    let created = mutate(
        &app,
        &alice,
        &format!(
            "mutation($input: CreateEntryInput!) {{ createEntry(input: $input) {{ {ANSWERED} }} }}"
        ),
        json!({ "input": input }),
    )
    .await;
    let entry = &created["data"]["createEntry"];
    assert!(entry["mirrors"][0].is_object(), "{created}");
    assert_eq!(*entry, read(entry["id"].clone()).await);

    let payment = json!({ "bookId": book, "from": seats[0], "to": seats[1], "amount": "5",
                          "occurredOn": "2026-11-21", "allowOverpay": true });
    let paid = mutate(
        &app,
        &alice,
        &format!(
            "mutation($input: PaymentInput!) {{ recordPayment(input: $input) {{ {ANSWERED} }} }}"
        ),
        json!({ "input": payment }),
    )
    .await;
    let entry = &paid["data"]["recordPayment"];
    assert_eq!(entry["kind"], "TRANSFER", "{paid}");
    assert_eq!(*entry, read(entry["id"].clone()).await);
}

#[tokio::test]
async fn a_repeated_idempotency_key_writes_once() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let input = json!({ "bookId": book, "amount": "12.34", "occurredOn": "2026-11-20",
                        "description": "Coffee" });
    let first = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": input, "key": "coffee-1" }),
    )
    .await;
    let again = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": input, "key": "coffee-1" }),
    )
    .await;
    assert_eq!(
        first["data"]["createEntry"]["id"], again["data"]["createEntry"]["id"],
        "{again}"
    );
    assert_eq!(app.count("entries", "source_entry_id IS NULL").await, 1);

    let mut other = input.clone();
    other["amount"] = json!("12.35");
    let reused = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": other, "key": "coffee-1" }),
    )
    .await;
    assert_refused(&reused, "CONFLICT", None);
    // Another user's key is another key.
    let bobs = mutate(
        &app,
        &bob,
        CREATE_ENTRY,
        json!({ "input": input, "key": "coffee-1" }),
    )
    .await;
    assert_ne!(
        bobs["data"]["createEntry"]["id"],
        first["data"]["createEntry"]["id"]
    );
    assert_eq!(app.count("entries", "source_entry_id IS NULL").await, 2);

    // Eight racing requests with one key: one entry, and all eight answer with it.
    let racing = json!({ "input": input, "key": "coffee-race" });
    let document = with_fields(CREATE_ENTRY);
    let answers = futures_util::future::join_all(
        (0..8).map(|_| app.gql_user(&alice, &document, racing.clone())),
    )
    .await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|answer| {
            answer["data"]["createEntry"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("a racing request failed: {answer}"))
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(app.count("entries", "source_entry_id IS NULL").await, 3);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn mirrors_follow_their_source_and_cannot_be_changed_directly() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, s) = split_book(&app, &alice, &[&bob], "TWD").await;
    let bob_personal = personal_book(&app, &bob).await;
    let entry = create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "80", "occurredOn": "2026-11-20", "description": "Museum" }),
    )
    .await;
    let id = entry["id"].as_str().unwrap();
    assert_eq!(entry["mirrors"].as_array().unwrap().len(), 2, "{entry}");
    let mirror_page = |viewer| {
        let app = &app;
        let book = bob_personal.clone();
        async move {
            let response = app
                .gql_user(
                    viewer,
                    "query($id: ID!) { book(id: $id) { entries { totalCount nodes { id amount isMirror sourceEntryId version } } } }",
                    json!({ "id": book }),
                )
                .await;
            response["data"]["book"]["entries"].clone()
        }
    };
    let page = mirror_page(&bob).await;
    assert_eq!(page["totalCount"], 1, "{page}");
    assert_eq!(page["nodes"][0]["amount"], "40.00");
    assert_eq!(page["nodes"][0]["isMirror"], true);
    assert_eq!(page["nodes"][0]["sourceEntryId"], id);
    let mirror_id = page["nodes"][0]["id"].as_str().unwrap().to_owned();
    // Only Bob sees his mirror's id from the source.
    let bobs_view = app
        .gql_user(
            &bob,
            "query($id: ID!) { entry(id: $id) { mirrors { entry { id } } } }",
            json!({ "id": id }),
        )
        .await;
    let visible: Vec<_> = bobs_view["data"]["entry"]["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["entry"].is_null())
        .collect();
    assert_eq!(visible.len(), 1, "{bobs_view}");

    // An edit moves the mirror; leaving Bob out removes it; delete and restore follow.
    let edit = json!({ "id": id, "version": 1, "input": { "amount": "100", "occurredOn": "2026-11-20",
        "description": "Museum", "split": { "mode": "EXACT", "members": [
            { "memberId": s[0], "value": "30" }, { "memberId": s[1], "value": "70" } ] } } });
    mutate(&app, &alice, UPDATE_ENTRY, edit).await;
    assert_eq!(mirror_page(&bob).await["nodes"][0]["amount"], "70.00");
    let alone = json!({ "id": id, "version": 2, "input": { "amount": "100", "occurredOn": "2026-11-20",
        "description": "Museum", "split": { "mode": "EQUAL", "members": [{ "memberId": s[0] }] } } });
    mutate(&app, &alice, UPDATE_ENTRY, alone).await;
    assert_eq!(mirror_page(&bob).await["totalCount"], 0);
    let back = json!({ "id": id, "version": 3, "input": { "amount": "100", "occurredOn": "2026-11-20",
        "description": "Museum" } });
    mutate(&app, &alice, UPDATE_ENTRY, back).await;
    assert_eq!(mirror_page(&bob).await["totalCount"], 1);
    mutate(
        &app,
        &alice,
        DELETE_ENTRY,
        json!({ "id": id, "version": 4 }),
    )
    .await;
    assert_eq!(mirror_page(&bob).await["totalCount"], 0);
    mutate(&app, &alice, RESTORE_ENTRY, json!({ "id": id })).await;
    let page = mirror_page(&bob).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(
        page["nodes"][0]["id"],
        mirror_id.as_str(),
        "a mirror keeps its id"
    );

    // A mirror is read-only, even for the owner of its book.
    let version = page["nodes"][0]["version"].as_i64().unwrap();
    let response = mutate(
        &app,
        &bob,
        DELETE_ENTRY,
        json!({ "id": mirror_id, "version": version }),
    )
    .await;
    assert_refused(&response, "FORBIDDEN", None);
    // The personal book's balance moves paid and owed, never net.
    let personal = balances(&app, &bob, &bob_personal).await;
    assert_eq!(personal[0]["net"], "0.00");
    assert_eq!(personal[0]["paid"], "50.00");
}

#[tokio::test]
async fn a_guest_pays_and_shares_then_a_new_user_claims_the_seat() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let (book, s) = split_book(&app, &alice, &[], "TWD").await;
    let guest = app
        .gql_user(
            &alice,
            "mutation($b: ID!) { addGuest(bookId: $b, name: \"Grandpa Joe\") { id name isGuest user { id } role } }",
            json!({ "b": book }),
        )
        .await;
    let guest = guest["data"]["addGuest"].clone();
    assert_eq!(guest["isGuest"], true, "{guest}");
    assert_eq!(guest["name"], "Grandpa Joe");
    assert!(guest["user"].is_null());
    let seat = guest["id"].as_str().unwrap().to_owned();
    let twin = app
        .gql_user(
            &alice,
            "mutation($b: ID!) { addGuest(bookId: $b, name: \"grandpa joe\") { id } }",
            json!({ "b": book }),
        )
        .await;
    assert_refused(&twin, "CONFLICT", None);

    // The guest paid for a dinner shared by both; Alice paid for a taxi shared by both.
    create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "90", "occurredOn": "2026-11-20", "description": "Dinner",
                "payers": [{ "memberId": seat, "amount": "90" }] }),
    )
    .await;
    create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "30", "occurredOn": "2026-11-21", "description": "Taxi" }),
    )
    .await;
    let before = balances(&app, &alice, &book).await;
    assert_eq!(net_of(&before, &seat), "30.00");
    assert_eq!(net_of(&before, &s[0]), "-30.00");

    // An invite for the seat: the new user takes it over, history and balance included.
    let invite = app
        .gql_user(
            &alice,
            "mutation($b: ID!, $m: ID) { createInvite(bookId: $b, role: WRITER, forMemberId: $m) { code invite { maxUses } } }",
            json!({ "b": book, "m": seat }),
        )
        .await;
    assert_eq!(
        invite["data"]["createInvite"]["invite"]["maxUses"], 1,
        "{invite}"
    );
    let code = invite["data"]["createInvite"]["code"].as_str().unwrap();
    let joe = app.register("Joe").await;
    let joined = app
        .gql_user(
            &joe,
            "mutation($c: String!) { joinBook(code: $c) { id } }",
            json!({ "c": code }),
        )
        .await;
    assert!(joined["data"]["joinBook"].is_object(), "{joined}");
    assert_books_balance(&app).await;
    let members = seats(&app, &joe, &book).await;
    assert_eq!(members.len(), 2, "no second membership: {members:?}");
    let claimed = members.iter().find(|m| m["id"] == seat.as_str()).unwrap();
    assert_eq!(claimed["isGuest"], false);
    assert_eq!(claimed["user"]["id"], joe.id.as_str());
    assert_eq!(claimed["name"], "Joe");
    let after = balances(&app, &joe, &book).await;
    assert_eq!(net_of(&after, &seat), "30.00");

    // Joe's personal book now holds the mirrors of the seat's two shares.
    let personal = personal_book(&app, &joe).await;
    let page = app
        .gql_user(&joe, "query($id: ID!) { book(id: $id) { entries(orderBy: OCCURRED_ON_ASC) { totalCount nodes { description amount isMirror } } } }", json!({ "id": personal }))
        .await;
    let entries = &page["data"]["book"]["entries"];
    assert_eq!(entries["totalCount"], 2, "{page}");
    assert_eq!(entries["nodes"][0]["description"], "Dinner");
    assert_eq!(entries["nodes"][0]["amount"], "45.00");
    assert_eq!(entries["nodes"][1]["amount"], "15.00");
}

/// Bad input of every kind is BAD_USER_INPUT naming its field, and writes nothing.
#[tokio::test]
async fn bad_input_names_its_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, s) = split_book(&app, &alice, &[&bob], "TWD").await;
    let (other_book, _) = split_book(&app, &bob, &[], "TWD").await;
    let stranger_seat = seats(&app, &bob, &other_book).await[0]["id"].clone();
    let deleted_category = app
        .gql_user(
            &alice,
            "mutation($b: ID!) { createCategory(bookId: $b, name: \"Old\") { id } }",
            json!({ "b": book }),
        )
        .await["data"]["createCategory"]["id"]
        .clone();
    let gone = app
        .gql_user(
            &alice,
            "mutation($id: ID!) { deleteCategory(id: $id) { id } }",
            json!({ "id": deleted_category }),
        )
        .await;
    assert!(gone["errors"].is_null(), "{gone}");
    let valid = json!({ "bookId": book, "amount": "10.00", "occurredOn": "2026-11-20",
                        "description": "Valid" });
    let with = |field: &str, value: serde_json::Value| {
        let mut input = valid.clone();
        input[field] = value;
        input
    };
    let cases = [
        ("a JSON number", with("amount", json!(10.5)), "amount"),
        ("five decimals", with("amount", json!("10.00001")), "amount"),
        ("zero", with("amount", json!("0")), "amount"),
        ("negative", with("amount", json!("-5")), "amount"),
        ("an exponent", with("amount", json!("1e3")), "amount"),
        (
            "payers not summing",
            with("payers", json!([{ "memberId": s[0], "amount": "9.99" }])),
            "payers",
        ),
        (
            "a payer as a number",
            with("payers", json!([{ "memberId": s[0], "amount": 10 }])),
            "payers[0].amount",
        ),
        (
            "exact not summing",
            with(
                "split",
                json!({ "mode": "EXACT", "members": [
                { "memberId": s[0], "value": "5" }, { "memberId": s[1], "value": "4.99" } ] }),
            ),
            "split",
        ),
        (
            "ratios not 100",
            with(
                "split",
                json!({ "mode": "RATIO", "members": [
                { "memberId": s[0], "value": "50" }, { "memberId": s[1], "value": "49.9999" } ] }),
            ),
            "split",
        ),
        (
            "a value missing",
            with(
                "split",
                json!({ "mode": "SHARES", "members": [{ "memberId": s[0] }] }),
            ),
            "split.members[0].value",
        ),
        (
            "a non-member in the split",
            with(
                "split",
                json!({ "mode": "EQUAL", "members": [{ "memberId": stranger_seat }] }),
            ),
            "split",
        ),
        (
            "a non-member paying",
            with(
                "payers",
                json!([{ "memberId": stranger_seat, "amount": "10" }]),
            ),
            "payers",
        ),
        (
            "an unknown category",
            with("categoryId", json!(uuid::Uuid::new_v4())),
            "categoryId",
        ),
        (
            "a deleted category",
            with("categoryId", deleted_category),
            "categoryId",
        ),
        (
            "a date before 1970",
            with("occurredOn", json!("1969-12-31")),
            "occurredOn",
        ),
        (
            "no such date",
            with("occurredOn", json!("2026-02-30")),
            "occurredOn",
        ),
        (
            "a long description",
            with("description", json!("x".repeat(201))),
            "description",
        ),
        (
            "a blank description",
            with("description", json!("   ")),
            "description",
        ),
        ("a long note", with("note", json!("x".repeat(1001))), "note"),
        (
            "an unknown currency",
            with("currency", json!("XYZ")),
            "currency",
        ),
        (
            "a rate without a currency",
            with("exchangeRate", json!("1.5")),
            "exchangeRate",
        ),
    ];
    let before = fingerprint(&app).await;
    for (what, input, field) in cases {
        let response = mutate(&app, &alice, CREATE_ENTRY, json!({ "input": input })).await;
        assert_eq!(
            crate::helpers::error_code(&response),
            Some("BAD_USER_INPUT"),
            "{what}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{what}: {response}"
        );
        assert_eq!(fingerprint(&app).await, before, "{what} wrote something");
    }
    // A personal book takes no split.
    let personal = personal_book(&app, &alice).await;
    let mut split = with(
        "split",
        json!({ "mode": "EQUAL", "members": [{ "memberId": s[0] }] }),
    );
    split["bookId"] = json!(personal);
    let response = mutate(&app, &alice, CREATE_ENTRY, json!({ "input": split })).await;
    assert_refused(&response, "BAD_USER_INPUT", Some("split"));
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn writers_change_their_own_entries_and_an_archived_book_refuses_all() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let input =
        json!({ "bookId": book, "amount": "10", "occurredOn": "2026-11-20", "description": "Tea" });
    let alices = create_entry(&app, &alice, input.clone()).await;
    let bobs = create_entry(&app, &bob, input.clone()).await;
    let edit = |id: &serde_json::Value| json!({ "id": id, "version": 1, "input": { "amount": "11", "occurredOn": "2026-11-20", "description": "Tea" } });
    let response = mutate(&app, &bob, UPDATE_ENTRY, edit(&alices["id"])).await;
    assert_refused(&response, "FORBIDDEN", None);
    let response = mutate(&app, &bob, UPDATE_ENTRY, edit(&bobs["id"])).await;
    assert_eq!(
        response["data"]["updateEntry"]["amount"], "11.00",
        "{response}"
    );
    let response = mutate(
        &app,
        &alice,
        DELETE_ENTRY,
        json!({ "id": bobs["id"], "version": 2 }),
    )
    .await;
    assert!(
        response["data"]["deleteEntry"]["deletedAt"].is_string(),
        "{response}"
    );

    let archived = app
        .gql_user(
            &alice,
            "mutation($id: ID!) { deleteBook(id: $id) { archivedAt } }",
            json!({ "id": book }),
        )
        .await;
    assert!(
        archived["data"]["deleteBook"]["archivedAt"].is_string(),
        "{archived}"
    );
    let response = mutate(&app, &alice, CREATE_ENTRY, json!({ "input": input })).await;
    assert_refused(&response, "CONFLICT", None);
    let response = mutate(&app, &alice, UPDATE_ENTRY, edit(&alices["id"])).await;
    assert_refused(&response, "CONFLICT", None);
    let response = mutate(&app, &alice, RESTORE_ENTRY, json!({ "id": bobs["id"] })).await;
    assert_refused(&response, "CONFLICT", None);
}

#[tokio::test]
async fn entries_are_paged_filtered_ordered_and_counted() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, s) = split_book(&app, &alice, &[&bob], "TWD").await;
    let food = first_category(&app, &alice, &book).await;
    for (day, amount, description, kind) in [
        ("2026-11-01", "30", "Bus tickets", "EXPENSE"),
        ("2026-11-03", "120", "Dinner at 50% off", "EXPENSE"),
        ("2026-11-02", "45.5", "Refund", "INCOME"),
        ("2026-11-05", "10", "Coffee", "EXPENSE"),
    ] {
        let mut input = json!({ "bookId": book, "amount": amount, "occurredOn": day,
                                "description": description, "kind": kind });
        if description == "Coffee" {
            input["categoryId"] = food.clone();
            input["payers"] = json!([{ "memberId": s[1], "amount": amount }]);
        }
        create_entry(&app, &alice, input).await;
    }
    let page = |variables: serde_json::Value| {
        let app = &app;
        let alice = &alice;
        async move {
            let response = app
                .gql_user(
                    alice,
                    "query($id: ID!, $first: Int, $after: String, $filter: EntriesFilter, $order: EntryOrder) {
                        book(id: $id) { entries(first: $first, after: $after, filter: $filter, orderBy: $order) {
                            totalCount pageInfo { hasNextPage endCursor } nodes { description amount } } } }",
                    variables,
                )
                .await;
            assert!(response["errors"].is_null(), "{response}");
            response["data"]["book"]["entries"].clone()
        }
    };
    let descriptions = |page: &serde_json::Value| -> Vec<String> {
        page["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["description"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest = page(json!({ "id": book })).await;
    assert_eq!(newest["totalCount"], 4);
    assert_eq!(
        descriptions(&newest),
        ["Coffee", "Dinner at 50% off", "Refund", "Bus tickets"]
    );
    let by_amount = page(json!({ "id": book, "order": "AMOUNT_DESC", "first": 2 })).await;
    assert_eq!(descriptions(&by_amount), ["Dinner at 50% off", "Refund"]);
    assert_eq!(by_amount["pageInfo"]["hasNextPage"], true);
    let rest = page(json!({ "id": book, "order": "AMOUNT_DESC", "first": 2,
                            "after": by_amount["pageInfo"]["endCursor"] }))
    .await;
    assert_eq!(descriptions(&rest), ["Bus tickets", "Coffee"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    // A cursor of one order is refused in another.
    let response = app
        .gql_user(&alice, "query($id: ID!, $after: String) { book(id: $id) { entries(after: $after, orderBy: OCCURRED_ON_ASC) { totalCount } } }",
                  json!({ "id": book, "after": by_amount["pageInfo"]["endCursor"] }))
        .await;
    assert_refused(&response, "BAD_USER_INPUT", Some("after"));

    let filtered = |filter: serde_json::Value| page(json!({ "id": book, "filter": filter }));
    assert_eq!(
        descriptions(&filtered(json!({ "text": "50%" })).await),
        ["Dinner at 50% off"]
    );
    assert_eq!(
        descriptions(&filtered(json!({ "text": "DINNER" })).await),
        ["Dinner at 50% off"]
    );
    assert_eq!(
        descriptions(&filtered(json!({ "kind": "INCOME" })).await),
        ["Refund"]
    );
    assert_eq!(
        descriptions(&filtered(json!({ "categoryId": food })).await),
        ["Coffee"]
    );
    let window = filtered(json!({ "from": "2026-11-02", "to": "2026-11-03" })).await;
    assert_eq!(descriptions(&window), ["Dinner at 50% off", "Refund"]);
    assert_eq!(window["totalCount"], 2);
    // Bob paid the coffee and shares in everything.
    assert_eq!(filtered(json!({ "memberId": s[1] })).await["totalCount"], 4);
    let response = app
        .gql_user(
            &alice,
            "query($id: ID!) { book(id: $id) { entries(first: 101) { totalCount } } }",
            json!({ "id": book }),
        )
        .await;
    assert_refused(&response, "BAD_USER_INPUT", Some("first"));
}

/// A page of 100 entries, with payers, allocations, members, users and categories, costs the
/// same number of statements as a page of 10.
#[tokio::test]
async fn an_entries_page_costs_the_same_statements_for_10_and_100_entries() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (small, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let (large, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let food = first_category(&app, &alice, &small).await;
    for (book, count) in [(&small, 10), (&large, 100)] {
        for n in 0..count {
            let input = json!({ "bookId": book, "amount": format!("{n}.5"), "occurredOn": "2026-11-20",
                                "description": format!("Entry {n}"), "categoryId": food });
            let response = app
                .gql_user(
                    &alice,
                    &with_fields(CREATE_ENTRY),
                    json!({ "input": input }),
                )
                .await;
            assert!(response["errors"].is_null(), "{response}");
        }
    }
    let statements_for = |book: String| {
        let (app, alice) = (&app, &alice);
        async move {
            let before = app.statements.get();
            let response = app
                .gql_user(
                    alice,
                    "query($id: ID!) { book(id: $id) { entries(first: 100) { totalCount nodes {
                        id amount category { name } creator { name }
                        payers { amount member { name user { name } } }
                        split { mode allocations { amount member { name isGuest } } }
                        mirrors { amount user { name } } } } } }",
                    json!({ "id": book }),
                )
                .await;
            let spent = app.statements.get() - before;
            assert!(response["errors"].is_null(), "{response}");
            (
                response["data"]["book"]["entries"]["nodes"]
                    .as_array()
                    .unwrap()
                    .len(),
                spent,
            )
        }
    };
    let (small_entries, small_statements) = statements_for(small).await;
    let (large_entries, large_statements) = statements_for(large).await;
    assert_eq!((small_entries, large_entries), (10, 100));
    assert_eq!(small_statements, large_statements);
    assert!(small_statements <= 12, "{small_statements} statements");
}

#[tokio::test]
async fn entry_changes_are_in_the_activity_log_field_by_field() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let entry = create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "10", "occurredOn": "2026-11-20", "description": "Tea" }),
    )
    .await;
    let id = &entry["id"];
    let edit = json!({ "id": id, "version": 1, "input": { "amount": "12", "occurredOn": "2026-11-20", "description": "Green tea" } });
    mutate(&app, &alice, UPDATE_ENTRY, edit).await;
    mutate(
        &app,
        &alice,
        DELETE_ENTRY,
        json!({ "id": id, "version": 2 }),
    )
    .await;
    mutate(&app, &alice, RESTORE_ENTRY, json!({ "id": id })).await;
    let log = app
        .gql_user(&alice, "query($id: ID!) { book(id: $id) { activity(first: 4) { nodes { action subjectType subjectId before after } } } }", json!({ "id": book }))
        .await;
    let nodes = log["data"]["book"]["activity"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let actions: Vec<_> = nodes
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "entry.restored",
            "entry.deleted",
            "entry.updated",
            "entry.created"
        ],
        "{log}"
    );
    assert!(
        nodes
            .iter()
            .all(|n| n["subjectType"] == "entry" && &n["subjectId"] == id)
    );
    let updated = &nodes[2];
    assert_eq!(updated["before"]["description"], "Tea");
    assert_eq!(updated["after"]["description"], "Green tea");
    assert_eq!(updated["before"]["amount"], "10");
    assert_eq!(updated["after"]["amount"], "12");
    assert!(
        updated["after"].get("occurredOn").is_none(),
        "unchanged fields are left out: {updated}"
    );
}

/// The rows a refused entry must not have touched.
async fn fingerprint(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    (
        app.count("entries", "true").await,
        app.count("entry_payers", "true").await,
        app.count("allocations", "true").await,
        app.count("member_balances", "true").await,
        app.count("activity_log", "true").await,
    )
}

/// The id of the first category `book` offers (a global one).
async fn first_category(
    app: &TestApp,
    user: &crate::helpers::TestUser,
    book: &str,
) -> serde_json::Value {
    let response = app
        .gql_user(
            user,
            "query($id: ID!) { book(id: $id) { categories { id } } }",
            json!({ "id": book }),
        )
        .await;
    let id = response["data"]["book"]["categories"][0]["id"].clone();
    assert!(id.is_string(), "{response}");
    id
}

/// Two split entries in two books, each mirrored into the same two personal books but listing
/// their members in opposite orders, written at the same time: the personal books are locked
/// in id order, so the writes queue and both succeed (on PostgreSQL, with row locks, the other
/// order would deadlock one of them).
#[tokio::test]
async fn concurrent_writes_mirroring_into_the_same_books_queue_instead_of_deadlocking() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (first, a) = split_book(&app, &alice, &[&bob], "TWD").await;
    let (second, b) = split_book(&app, &bob, &[&alice], "TWD").await;
    let document = with_fields(CREATE_ENTRY);
    for round in 0..10 {
        let input = |book: &str, seats: [&String; 2]| {
            json!({ "input": { "bookId": book, "amount": format!("{}.00", 10 + round),
                "occurredOn": "2026-11-20", "description": format!("Round {round}"),
                "split": { "mode": "EQUAL", "members": [
                    { "memberId": seats[0] }, { "memberId": seats[1] } ] } } })
        };
        let (one, two) = tokio::join!(
            app.gql_user(&alice, &document, input(&first, [&a[0], &a[1]])),
            app.gql_user(&bob, &document, input(&second, [&b[0], &b[1]])),
        );
        assert!(one["errors"].is_null(), "round {round}: {one}");
        assert!(two["errors"].is_null(), "round {round}: {two}");
    }
    assert_eq!(
        app.count("entries", "source_entry_id IS NOT NULL").await,
        40
    );
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn a_guest_with_a_balance_stays_until_settled_by_a_payment() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let (book, s) = split_book(&app, &alice, &[], "JPY").await;
    let guest = app
        .gql_user(
            &alice,
            "mutation($b: ID!) { addGuest(bookId: $b, name: \"Kenji\") { id } }",
            json!({ "b": book }),
        )
        .await["data"]["addGuest"]["id"]
        .clone();
    create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "1001", "occurredOn": "2026-11-20", "description": "Ramen" }),
    )
    .await;
    let balances_now = balances(&app, &alice, &book).await;
    let owed = net_of(&balances_now, guest.as_str().unwrap());
    assert!(
        owed == "-500" || owed == "-501",
        "JPY has no decimals: {balances_now:?}"
    );
    let remove = "mutation($b: ID!, $m: ID) { removeMember(bookId: $b, memberId: $m) }";
    let response = app
        .gql_user(&alice, remove, json!({ "b": book, "m": guest }))
        .await;
    assert_refused(&response, "CONFLICT", None);

    // Kenji pays Alice back: a TRANSFER from him to her settles both.
    let paid_back = owed.trim_start_matches('-').to_owned();
    create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "kind": "TRANSFER", "amount": paid_back, "occurredOn": "2026-11-21",
                "description": "Kenji paid Alice back",
                "payers": [{ "memberId": guest, "amount": paid_back }],
                "split": { "mode": "EQUAL", "members": [{ "memberId": s[0] }] } }),
    )
    .await;
    assert!(
        balances(&app, &alice, &book)
            .await
            .iter()
            .all(|b| b["net"] == "0")
    );
    let response = app
        .gql_user(&alice, remove, json!({ "b": book, "m": guest }))
        .await;
    assert_eq!(response["data"]["removeMember"], true, "{response}");
    assert_eq!(seats(&app, &alice, &book).await.len(), 1);
    // The entries still name the removed guest.
    let page = app
        .gql_user(&alice, "query($id: ID!) { book(id: $id) { entries { nodes { payers { member { name removedAt } } } } } }", json!({ "id": book }))
        .await;
    let payer = &page["data"]["book"]["entries"]["nodes"][0]["payers"][0]["member"];
    assert_eq!(payer["name"], "Kenji", "{page}");
    assert!(payer["removedAt"].is_string());
}

#[tokio::test]
async fn the_auditor_finds_a_tampered_balance_and_an_expired_key_is_free_again() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let input = json!({ "bookId": book, "amount": "20", "occurredOn": "2026-11-20", "description": "Snacks" });
    let first = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": input, "key": "snacks" }),
    )
    .await;
    assert!(first["errors"].is_null(), "{first}");

    // A key older than 24 hours is expired: the same key with another input is a new request.
    use sea_orm::ConnectionTrait;
    let backdate = "UPDATE idempotency_keys SET created_at = created_at - INTERVAL '25 hours'";
    let backdate = if app.is_postgres() {
        backdate.to_owned()
    } else {
        "UPDATE idempotency_keys SET created_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', created_at, '-25 hours')".to_owned()
    };
    app.db.execute_unprepared(&backdate).await.unwrap();
    let mut other = input.clone();
    other["amount"] = json!("21");
    let second = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": other, "key": "snacks" }),
    )
    .await;
    assert!(second["errors"].is_null(), "{second}");
    assert_ne!(
        second["data"]["createEntry"]["id"],
        first["data"]["createEntry"]["id"]
    );
    assert_eq!(app.count("idempotency_keys", "true").await, 1);

    // Someone edits a stored balance behind the ledger's back: the auditor says so.
    app.db
        .execute_unprepared("UPDATE member_balances SET paid_e4 = paid_e4 + 1, net_e4 = net_e4 + 1 WHERE paid_e4 > 0")
        .await
        .unwrap();
    let report = tally::check::run(&app.db).await.unwrap();
    assert!(!report.is_clean(), "{report}");
    assert!(report.to_string().contains("must total zero"), "{report}");
    assert!(!report.mismatches.is_empty(), "{report}");
}

/// A stop signal (as SIGTERM) under a write load loses no committed write and leaves no
/// partial one: every entry a client was told about is there, whole, after a restart, and the
/// books balance.
#[tokio::test]
async fn a_stop_under_write_load_loses_no_committed_write() {
    let mut app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let other = app.register("Other").await;
    let (book, _) = split_book(&app, &owner, &[&other], "TWD").await;
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = [&owner, &other]
        .into_iter()
        .flat_map(|user| [user.access_token.clone(), user.access_token.clone()])
        .enumerate()
        .map(|(client, token)| {
            let (http, address, book) = (app.client.clone(), app.address.clone(), book.clone());
            let answered = answered.clone();
            tokio::spawn(async move {
                let mut written = Vec::new();
                for n in 0..500 {
                    let input = json!({
                        "bookId": book, "kind": "EXPENSE", "amount": "10.00",
                        "occurredOn": "2026-11-20", "description": format!("Load {client}-{n}"),
                    });
                    let sent = http
                        .post(format!("{address}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({
                            "query": "mutation($i: CreateEntryInput!) { createEntry(input: $i) { id } }",
                            "variables": { "i": input },
                        }))
                        .send()
                        .await;
                    // The server is gone: what was not answered is not known to be written.
                    let Ok(response) = sent else { break };
                    let Ok(answer) = response.json::<Value>().await else {
                        break;
                    };
                    if let Some(id) = answer["data"]["createEntry"]["id"].as_str() {
                        written.push(id.to_owned());
                        answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                written
            })
        })
        .collect();
    // Stop in the middle of the load: once some writes were answered, with more in flight.
    let some_answered = async {
        while answered.load(std::sync::atomic::Ordering::Relaxed) < 8 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), some_answered)
        .await
        .expect("writes are answered under load");
    app.restart_with(&[]).await;
    let mut confirmed = Vec::new();
    for client in clients {
        confirmed.extend(client.await.unwrap());
    }
    assert!(
        !confirmed.is_empty(),
        "the load wrote something before the stop"
    );

    for id in &confirmed {
        let entry = app
            .gql_user(
                &owner,
                "query($id: ID!) { entry(id: $id) { id payers { amount } split { allocations { amount } } } }",
                json!({ "id": id }),
            )
            .await;
        let entry = &entry["data"]["entry"];
        assert_eq!(entry["payers"][0]["amount"], "10.00", "{entry}");
        assert_eq!(
            entry["split"]["allocations"].as_array().unwrap().len(),
            2,
            "{entry}"
        );
    }
    // Whatever was written is whole: balances match the entries, payers and shares add up.
    assert_books_balance(&app).await;
    let stored = app
        .count(
            "entries",
            "source_entry_id IS NULL AND description LIKE 'Load %'",
        )
        .await;
    assert!(
        stored >= i64::try_from(confirmed.len()).unwrap(),
        "{stored} stored, {} confirmed",
        confirmed.len()
    );
}

/// A change that would take a balance past the largest amount money is stored in is refused
/// as the client's input, on either database, and leaves nothing of itself behind: a new entry
/// and an edit alike.
#[tokio::test]
async fn a_change_that_would_overflow_a_balance_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "EUR").await;
    // Each fits (the largest amount is 922337203685477.5807); Alice's paid is their sum.
    let input = |amount: &str| {
        json!({ "bookId": book, "amount": amount, "occurredOn": "2026-11-20",
                "description": "Huge" })
    };
    create_entry(&app, &alice, input("900000000000000")).await;
    let small = create_entry(&app, &alice, input("20000000000000")).await;
    let before = balances(&app, &alice, &book).await;

    let created = mutate(
        &app,
        &alice,
        CREATE_ENTRY,
        json!({ "input": input("900000000000000") }),
    )
    .await;
    assert_refused(&created, "BAD_USER_INPUT", Some("amount"));
    let edited = mutate(
        &app,
        &alice,
        UPDATE_ENTRY,
        json!({ "id": small["id"], "version": 1, "input": {
            "amount": "50000000000000", "occurredOn": "2026-11-20", "description": "Huge" } }),
    )
    .await;
    assert_refused(&edited, "BAD_USER_INPUT", Some("amount"));

    assert_eq!(balances(&app, &alice, &book).await, before);
    assert_eq!(
        app.count(
            "entries",
            "description = 'Huge' AND source_entry_id IS NULL"
        )
        .await,
        2
    );
    let unchanged = app
        .gql_user(
            &alice,
            "query($id: ID!) { entry(id: $id) { version amount } }",
            json!({ "id": small["id"] }),
        )
        .await;
    assert_eq!(
        unchanged["data"]["entry"],
        json!({ "version": 1, "amount": "20000000000000.00" })
    );
}
