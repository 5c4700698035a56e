//! The statements the common reads cost, pinned: the README's performance section quotes
//! these numbers, and a change that adds a statement to a hot path must say so here. Each read
//! is made on a book with 2 entries and one with 30, and must cost the same; and twice on each,
//! right after a write to the book and then again: the first read of a book's new version
//! fills the instance's cache of its roster and balances, the second is served from it. Users'
//! profiles are cached too, and already were here (a profile is read again only after it
//! changed).

use serde_json::json;

use crate::{
    helpers::{TestApp, TestUser},
    ledger_helpers::{CREATE_ENTRY, split_book, with_fields},
};

/// Alice, who will own the books, and the three people she shares them with.
async fn four_people(app: &TestApp) -> (TestUser, [TestUser; 3]) {
    let alice = app.register("Alice").await;
    let others = [
        app.register("Bob").await,
        app.register("Carol").await,
        app.register("Dan").await,
    ];
    (alice, others)
}

/// Statements one request of `query` costs.
async fn statements(app: &TestApp, user: &TestUser, query: &str, book: &str) -> u64 {
    let before = app.statements.get();
    let response = app.gql_user(user, query, json!({ "id": book })).await;
    let spent = app.statements.get() - before;
    assert!(response["errors"].is_null(), "{response}");
    spent
}

#[tokio::test]
async fn the_common_reads_cost_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let (alice, others) = four_people(&app).await;
    let others: Vec<&TestUser> = others.iter().collect();
    let (small, _) = split_book(&app, &alice, &others, "EUR").await;
    let (large, _) = split_book(&app, &alice, &others, "EUR").await;
    let create = |book: String, n: usize| {
        let (app, alice) = (&app, &alice);
        async move {
            let input = json!({ "bookId": book, "amount": format!("{n}.25"),
                                "occurredOn": "2026-11-20", "description": format!("Entry {n}") });
            let created = app
                .gql_user(alice, &with_fields(CREATE_ENTRY), json!({ "input": input }))
                .await;
            assert!(created["errors"].is_null(), "{created}");
        }
    };
    for (book, count) in [(&small, 2), (&large, 30)] {
        for n in 0..count {
            create(book.clone(), n).await;
        }
    }
    let reads = [
        ("me", "{ me { id name } }", (1, 1)),
        (
            "roster",
            "query($id: ID!) { book(id: $id) { name myRole members { role user { id name } } } }",
            (3, 1),
        ),
        (
            "balances",
            "query($id: ID!) { book(id: $id) { balances { member { id name } paid owed net status } } }",
            (3, 1),
        ),
        (
            "entries page",
            "query($id: ID!) { book(id: $id) { entries(first: 20) { totalCount nodes {
                id amount description payers { amount member { name } }
                split { mode allocations { amount member { name } } } } } } }",
            // `totalCount` is the book's stored count of live entries, read with the book.
            (6, 6),
        ),
    ];
    let mut counted = Vec::new();
    for (name, query, _) in reads {
        let mut costs = Vec::new();
        for book in [&small, &large] {
            create(book.clone(), 99).await;
            let first = statements(&app, &alice, query, book).await;
            let again = statements(&app, &alice, query, book).await;
            costs.push((first, again));
        }
        assert_eq!(
            costs[0], costs[1],
            "{name}: the cost must not grow with entries"
        );
        counted.push((name, costs[0]));
    }
    let expected: Vec<_> = reads
        .iter()
        .map(|(name, _, count)| (*name, *count))
        .collect();
    assert_eq!(counted, expected, "statements per request");
}

/// A shared entry is one unit of work of a fixed number of statements, whether two or four
/// members share it (each sharer's mirror in their personal book is written with it): every
/// statement is a round trip made while the book is locked, so this is what bounds the rate of
/// writes to one book. The `{ id version }` answered costs nothing: the mutation answers with
/// the row it wrote (reading it back cost 2 more; and 24 in all before the writes were
/// batched).
#[tokio::test]
async fn a_shared_entry_costs_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let (alice, others) = four_people(&app).await;
    let others: Vec<&TestUser> = others.iter().collect();
    let (book, seats) = split_book(&app, &alice, &others, "EUR").await;
    let mut costs = Vec::new();
    // Each size twice: background work at start-up (the hourly sweep's first run, the event
    // listener's resync on PostgreSQL) shares the counter and may land in one measurement, so
    // each size's cheaper run is what the request costs.
    for sharers in [2, 4, 2, 4] {
        let members: Vec<_> = seats[..sharers]
            .iter()
            .map(|seat| json!({ "memberId": seat }))
            .collect();
        let input = json!({ "bookId": book, "amount": "10.00", "occurredOn": "2026-11-20",
                            "description": "Shared", "split": { "mode": "EQUAL", "members": members } });
        let before = app.statements.get();
        let created = app
            .gql_user(
                &alice,
                "mutation($input: CreateEntryInput!) { createEntry(input: $input) { id version } }",
                json!({ "input": input }),
            )
            .await;
        assert!(created["errors"].is_null(), "{created}");
        costs.push(app.statements.get() - before);
    }
    // Both send the inserts as one statement (SQLite: one script) and the balances with the
    // versions as one more. PostgreSQL also locks the sharers' personal books (SQLite's one
    // writer holds them already) and sends the statement that queues the entries'
    // notifications. SQLite counts the unit's release from its group's savepoint
    // (PostgreSQL's `COMMIT`, like SQLite's group commit, is the driver's and not counted).
    let expected = if app.is_postgres() { 7 } else { 6 };
    let cheaper = [costs[0].min(costs[2]), costs[1].min(costs[3])];
    assert_eq!(
        cheaper, [expected; 2],
        "statements per createEntry: {costs:?}"
    );
}
