//! Live subscriptions over `/graphql/ws`: `balancesChanged` and `entryEvents` hear every
//! committed change (and nothing of a failed one), stop for a member who leaves, stay bounded for
//! a subscriber that reads nothing, and, with PostgreSQL, cross instances.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{MaybeTlsStream, tungstenite::Message};

use crate::{
    helpers::{TestApp, TestUser, error_code, socket_request},
    ledger_helpers::{DELETE_ENTRY, RESTORE_ENTRY, create_entry, split_book, with_fields},
    sockets::{Reply, Socket, acknowledged, next, subscribe, wait_for_listeners},
};

const BALANCES_CHANGED: &str = r#"subscription($book: ID!) {
    balancesChanged(bookId: $book) {
        kind bookId version
        balances { member { id name user { id name } } paid owed net }
        settlementSuggestions { balanceVersion transfers { from { id } to { id } amount } }
    }
}"#;

const ENTRY_EVENTS: &str = r#"subscription($book: ID!) {
    entryEvents(bookId: $book) {
        kind balanceVersion
        entry { id description version deletedAt payers { member { id } amount } }
    }
}"#;

/// A committed change reaches a subscriber within this long.
const DELIVERY: Duration = Duration::from_secs(1);

/// The next message, which must arrive within `within`.
async fn message_within(socket: &mut Socket, within: Duration) -> Value {
    let message = tokio::time::timeout(within, socket.next())
        .await
        .unwrap_or_else(|_| panic!("nothing arrived within {within:?}"));
    match message {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The payload of the next `next` message of operation `id`, within `within`.
async fn event_within(socket: &mut Socket, id: &str, within: Duration) -> Value {
    let message = message_within(socket, within).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    message["payload"].clone()
}

/// Starts `query` on `book` as operation `id` and returns its first event (CURRENT or
/// SUBSCRIBED).
async fn started(socket: &mut Socket, id: &str, query: &str, book: &str) -> Value {
    subscribe(socket, id, query, json!({ "book": book })).await;
    event_within(socket, id, DELIVERY).await
}

/// Fails if anything arrives within `quiet`.
async fn assert_silent(socket: &mut Socket, quiet: Duration) {
    if let Ok(message) = tokio::time::timeout(quiet, socket.next()).await {
        panic!("expected silence, got {message:?}");
    }
}

/// A two-member SPLIT book in EUR: Alice owns it, Bob writes.
struct Fixture {
    app: TestApp,
    alice: TestUser,
    bob: TestUser,
    book: String,
    seats: Vec<String>,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    let (book, seats) = split_book(&app, &alice, &[&bob], "EUR").await;
    if app.is_postgres() {
        // Until the instance listens, it may miss other instances' events, and subscribers
        // from before then are told to resync: start listening first.
        wait_for_listeners(&app, 1).await;
    }
    Fixture {
        app,
        alice,
        bob,
        book,
        seats,
    }
}

impl Fixture {
    /// A socket of `user` following the book's balances as operation "b", past its CURRENT
    /// event (returned).
    async fn follow_balances(&self, user: &TestUser) -> (Socket, Value) {
        let mut socket = acknowledged(&self.app.address, &user.access_token).await;
        let current = started(&mut socket, "b", BALANCES_CHANGED, &self.book).await;
        (socket, current)
    }

    fn expense(&self, amount: &str, description: &str) -> Value {
        json!({
            "bookId": self.book, "kind": "EXPENSE", "amount": amount,
            "occurredOn": "2026-11-20", "description": description,
        })
    }
}

fn balances_of(event: &Value) -> &Value {
    &event["data"]["balancesChanged"]
}

#[tokio::test]
async fn a_committed_entry_reaches_balance_subscribers_within_a_second_and_a_failed_one_never() {
    let f = fixture().await;
    let (mut socket, current) = f.follow_balances(&f.bob).await;
    let current = balances_of(&current);
    assert_eq!(current["kind"], "CURRENT", "{current}");
    let start = current["version"].as_i64().unwrap();
    assert_eq!(
        current["balances"].as_array().unwrap().len(),
        2,
        "{current}"
    );

    // Refused (the payers do not add up to the amount): nothing was committed, nothing is heard.
    let mut refused = f.expense("30.00", "Refused");
    refused["payers"] = json!([{ "memberId": f.seats[0], "amount": "10.00" }]);
    let answer = f
        .app
        .gql_user(&f.alice, CREATE_ENTRY_PLAIN, json!({ "input": refused }))
        .await;
    assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
    assert_silent(&mut socket, Duration::from_millis(500)).await;

    create_entry(&f.app, &f.alice, f.expense("30.00", "Dinner")).await;
    let changed = event_within(&mut socket, "b", DELIVERY).await;
    let changed = balances_of(&changed);
    assert_eq!(changed["kind"], "CHANGED", "{changed}");
    assert_eq!(
        changed["version"],
        start + 1,
        "one change, one version: {changed}"
    );
    let nets: Vec<&str> = changed["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["net"].as_str().unwrap())
        .collect();
    assert_eq!(nets, ["15.00", "-15.00"], "{changed}");
    assert_eq!(
        changed["balances"][0]["member"]["user"]["name"], "Alice",
        "{changed}"
    );
    let plan = &changed["settlementSuggestions"];
    assert_eq!(plan["balanceVersion"], start + 1, "{plan}");
    assert_eq!(
        plan["transfers"][0]["from"]["id"],
        f.seats[1].as_str(),
        "{plan}"
    );
    assert_eq!(plan["transfers"][0]["amount"], "15.00", "{plan}");
}

/// `createEntry` without the fragment the ledger helpers add.
const CREATE_ENTRY_PLAIN: &str =
    "mutation($input: CreateEntryInput!) { createEntry(input: $input) { id } }";

#[tokio::test]
async fn entry_events_tell_what_happened_to_each_entry() {
    let f = fixture().await;
    let mut socket = acknowledged(&f.app.address, &f.bob.access_token).await;
    let subscribed = started(&mut socket, "e", ENTRY_EVENTS, &f.book).await;
    let subscribed = &subscribed["data"]["entryEvents"];
    assert_eq!(subscribed["kind"], "SUBSCRIBED", "{subscribed}");
    assert!(subscribed["entry"].is_null(), "{subscribed}");
    let start = subscribed["balanceVersion"].as_i64().unwrap();

    let entry = create_entry(&f.app, &f.alice, f.expense("12.00", "Taxi")).await;
    let id = entry["id"].as_str().unwrap();
    let created = event_within(&mut socket, "e", DELIVERY).await;
    let created = &created["data"]["entryEvents"];
    assert_eq!(created["kind"], "CREATED", "{created}");
    assert_eq!(created["entry"]["id"], id, "{created}");
    assert_eq!(
        created["entry"]["payers"][0]["amount"], "12.00",
        "{created}"
    );
    assert_eq!(created["balanceVersion"], start + 1, "{created}");

    let deleted = f
        .app
        .gql_user(
            &f.alice,
            &with_fields(DELETE_ENTRY),
            json!({ "id": id, "version": 1 }),
        )
        .await;
    assert!(deleted["data"]["deleteEntry"].is_object(), "{deleted}");
    let event = event_within(&mut socket, "e", DELIVERY).await;
    assert_eq!(event["data"]["entryEvents"]["kind"], "DELETED", "{event}");
    assert!(event["data"]["entryEvents"]["entry"]["deletedAt"].is_string());

    let restored = f
        .app
        .gql_user(&f.alice, &with_fields(RESTORE_ENTRY), json!({ "id": id }))
        .await;
    assert!(restored["data"]["restoreEntry"].is_object(), "{restored}");
    let event = event_within(&mut socket, "e", DELIVERY).await;
    assert_eq!(event["data"]["entryEvents"]["kind"], "RESTORED", "{event}");
    assert_eq!(
        event["data"]["entryEvents"]["entry"]["version"], 3,
        "{event}"
    );
    assert_eq!(
        event["data"]["entryEvents"]["balanceVersion"],
        start + 3,
        "{event}"
    );
}

#[tokio::test]
async fn a_non_member_cannot_subscribe_to_a_book() {
    let f = fixture().await;
    let carol = f.app.register("Carol").await;
    let mut socket = acknowledged(&f.app.address, &carol.access_token).await;
    for (id, query) in [("b", BALANCES_CHANGED), ("e", ENTRY_EVENTS)] {
        subscribe(&mut socket, id, query, json!({ "book": f.book })).await;
        let answer = event_within(&mut socket, id, DELIVERY).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "{answer}");
        let complete = message_within(&mut socket, DELIVERY).await;
        assert_eq!(complete["type"], "complete", "{complete}");
    }
}

#[tokio::test]
async fn a_removed_member_stops_hearing_the_book_at_once() {
    let f = fixture().await;
    let (mut socket, _) = f.follow_balances(&f.bob).await;
    let subscribed = started(&mut socket, "e", ENTRY_EVENTS, &f.book).await;
    assert_eq!(subscribed["data"]["entryEvents"]["kind"], "SUBSCRIBED");

    let removed = f
        .app
        .gql_user(
            &f.alice,
            "mutation($b: ID!, $m: ID!) { removeMember(bookId: $b, memberId: $m) }",
            json!({ "b": f.book, "m": f.seats[1] }),
        )
        .await;
    assert!(removed["errors"].is_null(), "{removed}");
    // Both streams end with NOT_FOUND, in whichever order.
    let mut ended = Vec::new();
    while ended.len() < 2 {
        let message = message_within(&mut socket, DELIVERY).await;
        let id = message["id"].as_str().unwrap().to_owned();
        match message["type"].as_str() {
            Some("next") => {
                assert_eq!(
                    error_code(&message["payload"]),
                    Some("NOT_FOUND"),
                    "{message}"
                );
            }
            Some("complete") => ended.push(id),
            _ => panic!("{message}"),
        }
    }
    ended.sort();
    assert_eq!(ended, ["b", "e"]);

    // The book goes on; Bob hears nothing of it.
    create_entry(&f.app, &f.alice, f.expense("8.00", "After Bob left")).await;
    assert_silent(&mut socket, Duration::from_millis(500)).await;
}

/// A socket whose reads are held back by a small receive buffer.
async fn slow_socket(app: &TestApp, token: &str) -> Socket {
    let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(address).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(
        socket_request(&app.address),
        MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    let init = json!({ "type": "connection_init",
                       "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let ack = next(&mut socket).await;
    assert!(
        matches!(&ack, Reply::Json(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    socket
}

#[tokio::test]
async fn a_subscriber_that_reads_nothing_gets_a_resync_instead_of_a_growing_queue() {
    let f = fixture().await;
    let mut socket = slow_socket(&f.app, &f.bob.access_token).await;
    // Aliases inside the payload make each event large (about 75 KB), so the kernel's buffers
    // fill after a few of them: a socket's send buffer grows to `net.ipv4.tcp_wmem`'s maximum,
    // 4 MiB on some machines, which 60 events of 7 KB never filled.
    let aliased = |fields: &[&str]| {
        (0..16)
            .flat_map(|i| {
                fields
                    .iter()
                    .map(move |field| format!("{field}{i}: {field}"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let fields = format!(
        "balances {{ member {{ {} user {{ {} }} }} paid owed net status }} \
         settlementSuggestions {{ balanceVersion optimal transfers {{ from {{ id name }} to {{ id name }} amount }} }}",
        aliased(&["id", "name"]),
        aliased(&["id", "name", "email"])
    );
    let query = format!(
        "subscription($book: ID!) {{ balancesChanged(bookId: $book) {{ kind version {} }} }}",
        (0..16)
            .map(|i| format!("x{i}: {fields}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let current = started(&mut socket, "b", &query, &f.book).await;
    let start = balances_of(&current)["version"].as_i64().unwrap();

    // Reads nothing while many changes land.
    const CHANGES: i64 = 60;
    for i in 0..CHANGES {
        let answer = f
            .app
            .gql_user(
                &f.alice,
                CREATE_ENTRY_PLAIN,
                json!({ "input": f.expense("1.00", &format!("Coffee {i}")) }),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let last = start + CHANGES;

    // Then reads: fewer events than changes, a RESYNC among them, ending at the last version.
    let mut events = Vec::new();
    loop {
        let event = event_within(&mut socket, "b", Duration::from_secs(5)).await;
        let event = balances_of(&event).clone();
        let version = event["version"].as_i64().unwrap();
        events.push(event);
        if version == last {
            break;
        }
    }
    assert!(
        (events.len() as i64) < CHANGES,
        "every change was queued for a subscriber that read nothing ({} events)",
        events.len()
    );
    assert!(
        events.iter().any(|event| event["kind"] == "RESYNC"),
        "no RESYNC after missed changes"
    );
    assert_silent(&mut socket, Duration::from_millis(300)).await;
}

/// With PostgreSQL, a change committed through one instance reaches subscribers on another,
/// also after the subscriber's instance lost its LISTEN connection and got it back.
#[tokio::test]
async fn balance_events_cross_instances_and_survive_a_lost_listen_connection() {
    let f = fixture().await;
    if !f.app.is_postgres() {
        return; // One SQLite file serves one instance.
    }
    let other = f.app.another_instance().await;
    wait_for_listeners(&f.app, 2).await;
    let (mut socket, current) = f.follow_balances(&f.bob).await;
    let start = balances_of(&current)["version"].as_i64().unwrap();

    let create_on_other = |description: &'static str| {
        let input = f.expense("4.00", description);
        let (app, token, address) = (&f.app, f.alice.access_token.clone(), other.address.clone());
        async move {
            let answer = app
                .gql_on(
                    &address,
                    Some(&token),
                    CREATE_ENTRY_PLAIN,
                    json!({ "input": input }),
                )
                .await;
            assert!(answer["errors"].is_null(), "{answer}");
        }
    };
    create_on_other("On the other instance").await;
    let event = event_within(&mut socket, "b", DELIVERY).await;
    assert_eq!(balances_of(&event)["version"], start + 1, "{event}");

    let killed = f
        .app
        .count(
            "(SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
              WHERE datname = current_database() AND query LIKE 'LISTEN%') AS listeners",
            "killed",
        )
        .await;
    assert_eq!(killed, 2);
    wait_for_listeners(&f.app, 2).await;
    create_on_other("After the reconnection").await;
    // The reconnection itself may announce a RESYNC first (events could have been missed).
    loop {
        let event = event_within(&mut socket, "b", Duration::from_secs(5)).await;
        let event = balances_of(&event);
        if event["version"] == start + 2 {
            break;
        }
        assert_eq!(event["kind"], "RESYNC", "{event}");
        assert_eq!(event["version"], start + 1, "{event}");
    }
}

/// Nothing one event read outlives it: a name changed between two events shows in the second.
#[tokio::test]
async fn each_event_is_read_afresh() {
    let f = fixture().await;
    let (mut socket, current) = f.follow_balances(&f.bob).await;
    assert_eq!(
        balances_of(&current)["balances"][0]["member"]["user"]["name"],
        "Alice"
    );
    let renamed = f
        .app
        .gql_user(
            &f.alice,
            r#"mutation { updateProfile(name: "Alice B.") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        renamed["data"]["updateProfile"]["name"], "Alice B.",
        "{renamed}"
    );
    create_entry(&f.app, &f.alice, f.expense("2.00", "Stamp")).await;
    let event = event_within(&mut socket, "b", DELIVERY).await;
    let event = balances_of(&event);
    assert_eq!(event["kind"], "CHANGED", "{event}");
    assert_eq!(
        event["balances"][0]["member"]["user"]["name"], "Alice B.",
        "{event}"
    );
    assert_eq!(
        event["balances"][0]["member"]["name"], "Alice B.",
        "{event}"
    );
}

/// A socket runs at most 100 operations at once: one more is refused with an error for its id,
/// and the socket keeps working.
#[tokio::test]
async fn a_socket_runs_at_most_a_hundred_operations_at_once() {
    let f = fixture().await;
    let mut socket = acknowledged(&f.app.address, &f.bob.access_token).await;
    for i in 0..100 {
        let subscribed = started(&mut socket, &format!("e{i}"), ENTRY_EVENTS, &f.book).await;
        assert_eq!(subscribed["data"]["entryEvents"]["kind"], "SUBSCRIBED");
    }
    subscribe(
        &mut socket,
        "one-more",
        ENTRY_EVENTS,
        json!({ "book": f.book }),
    )
    .await;
    let refused = message_within(&mut socket, DELIVERY).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "one-more", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");

    // Completing one makes room again.
    let complete = json!({ "id": "e0", "type": "complete" });
    socket
        .send(Message::text(complete.to_string()))
        .await
        .unwrap();
    let completed = message_within(&mut socket, DELIVERY).await;
    assert_eq!(completed, json!({ "id": "e0", "type": "complete" }));
    let subscribed = started(&mut socket, "one-more", ENTRY_EVENTS, &f.book).await;
    assert_eq!(subscribed["data"]["entryEvents"]["kind"], "SUBSCRIBED");
}
