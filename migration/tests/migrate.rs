//! The migrations against real databases: SQLite always, and PostgreSQL as well when
//! `TEST_DATABASE_URL` names a server (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
//! There each test creates its own database, `tally_test_<uuid>`, and drops it afterwards.
//!
//! Rows are written through the `entity` crate, so these tests also check that the entities
//! and the migrations describe the same tables.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the helpers are test code too: a panic is the failure report (clippy's \
              allow-unwrap-in-tests covers only the #[test] functions themselves)"
)]

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{BookKind, EntryKind, Role, SplitMode, TokenScope};
use entity::{
    access_token, activity_log, allocation, book, category, entry, entry_payer, idempotency_key,
    invite, member_balance, membership, refresh_token, settlement, split, user,
};
use migration::{GLOBAL_CATEGORIES, Migrator, MigratorTrait, SchemaManager};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, Iterable, ModelTrait, PaginatorTrait, PrimaryKeyToColumn, QueryFilter, QueryOrder,
    Set, SqlErr, Statement,
};
use uuid::Uuid;

const TABLES: [&str; 16] = [
    "users",
    "books",
    "memberships",
    "categories",
    "entries",
    "entry_payers",
    "splits",
    "allocations",
    "member_balances",
    "settlements",
    "invites",
    "refresh_tokens",
    "access_tokens",
    "activity_log",
    "idempotency_keys",
    "throttle_counters",
];

/// 99 999 999 999 999.9999: the largest DECIMAL(19,4)-style amount with 14 integer digits, the
/// one a float column would round to 100 000 000 000 000.
const BIG_AMOUNT_E4: i64 = 999_999_999_999_999_999;

// ---------------------------------------------------------------------------------------------
// Schema life cycle

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    on_every_backend(|db| async move {
        // `on_every_backend` has already applied everything once.
        assert_schema_is_complete(&db).await;
        assert!(
            Migrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .is_empty()
        );

        Migrator::down(&db, None).await.unwrap();
        let manager = SchemaManager::new(&db);
        for table in TABLES {
            assert!(
                !manager.has_table(table).await.unwrap(),
                "{table} survived down"
            );
        }

        Migrator::up(&db, None).await.unwrap();
        assert_schema_is_complete(&db).await;
    })
    .await;
}

async fn assert_schema_is_complete(db: &DatabaseConnection) {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        assert!(
            manager.has_table(table).await.unwrap(),
            "{table} is missing"
        );
    }
    let globals = category::Entity::find()
        .filter(category::Column::BookId.is_null())
        .order_by_asc(category::Column::Id)
        .all(db)
        .await
        .unwrap();
    let names: Vec<&str> = globals.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "groceries",
            "food",
            "transport",
            "housing",
            "utilities",
            "entertainment",
            "travel",
            "other"
        ]
    );
    for (row, seed) in globals.iter().zip(GLOBAL_CATEGORIES) {
        assert_eq!(row.id, seed.id);
        assert_eq!(row.color.as_deref(), Some(seed.color));
        assert_eq!(row.icon.as_deref(), Some(seed.icon));
        assert_eq!(row.deleted_at, None);
    }
}

/// `books.live_entries` starts as the count of each book's live entries: migrating a database
/// that already holds entries counts them.
#[tokio::test]
async fn the_live_entry_count_starts_from_the_entries_already_there() {
    on_every_backend(|db| async move {
        let owner = insert_user(&db).await;
        let (counted, empty) = (
            insert_book(&db, &owner).await,
            insert_book(&db, &owner).await,
        );
        for deleted in [false, false, true] {
            let mut row = entry_row(&counted, &owner, 10_000);
            if deleted {
                row.deleted_at = Set(Some(at(1)));
            }
            row.insert(&db).await.unwrap();
        }
        Migrator::down(&db, Some(1)).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        for (book, live) in [(counted, 2), (empty, 0)] {
            let found = book::Entity::find_by_id(book.id)
                .one(&db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(found.live_entries, live);
        }
    })
    .await;
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    on_every_backend(|db| async move {
        if db.get_database_backend() == DbBackend::Sqlite {
            let row = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA foreign_keys",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get_by_index::<i32>(0).unwrap(), 1);
        }
        // Either way, a membership of a user who does not exist is refused.
        let owner = insert_user(&db).await;
        let book = insert_book(&db, &owner).await;
        let err = membership_row(&book, Uuid::new_v4(), Role::Reader)
            .insert(&db)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{err}"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Entities and columns agree

#[tokio::test]
async fn every_table_round_trips_through_its_entity() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let bob = insert_user(&db).await;
        assert_eq!(
            user::Entity::find_by_id(alice.id).one(&db).await.unwrap(),
            Some(alice.clone())
        );

        let book = insert_book(&db, &alice).await;
        assert_eq!(
            book::Entity::find_by_id(book.id).one(&db).await.unwrap(),
            Some(book.clone())
        );
        let personal = insert_book(&db, &bob).await;
        let alice_seat = insert_membership(&db, &book, &alice, Role::Owner).await;
        let member = insert_membership(&db, &book, &bob, Role::Writer).await;
        assert_round_trips(&db, member.clone()).await;
        let mut guest = guest_row(&book);
        guest.removed_at = Set(Some(at(30)));
        assert_round_trips(&db, guest.insert(&db).await.unwrap()).await;

        let groceries = GLOBAL_CATEGORIES[0].id;
        let custom = category::ActiveModel {
            id: Set(Uuid::new_v4()),
            book_id: Set(Some(book.id)),
            name: Set("小吃".to_owned()),
            color: Set(Some("#123456".to_owned())),
            icon: Set(None),
            deleted_at: Set(None),
            created_at: Set(at(0)),
            updated_at: Set(at(0)),
        }
        .insert(&db)
        .await
        .unwrap();
        assert_round_trips(&db, custom).await;

        // The largest amount survives exactly: BIGINT, not a float.
        let mut expense = entry_row(&book, &alice, BIG_AMOUNT_E4);
        expense.category_id = Set(Some(groceries));
        expense.original_amount_e4 = Set(Some(31_250_000));
        expense.original_currency = Set(Some("USD".to_owned()));
        expense.exchange_rate = Set(Some("0.000031999999".to_owned()));
        expense.note = Set(Some("two lines\nof note".to_owned()));
        let expense = expense.insert(&db).await.unwrap();
        assert_eq!(expense.amount_e4, BIG_AMOUNT_E4);
        assert_eq!(expense.version, 1);
        assert_round_trips(&db, expense.clone()).await;

        let mut mirror = entry_row(&personal, &bob, 5_000);
        mirror.source_entry_id = Set(Some(expense.id));
        assert_round_trips(&db, mirror.insert(&db).await.unwrap()).await;

        let payer = entry_payer::ActiveModel {
            id: Set(Uuid::new_v4()),
            entry_id: Set(expense.id),
            book_id: Set(book.id),
            member_id: Set(alice_seat.id),
            amount_e4: Set(BIG_AMOUNT_E4),
            created_at: Set(at(0)),
        };
        assert_round_trips(&db, payer.insert(&db).await.unwrap()).await;

        let split = insert_split(&db, &expense, SplitMode::Ratio).await;
        assert_round_trips(&db, split.clone()).await;
        let mut share = allocation_row(&split, &member, 0);
        share.ratio_e4 = Set(Some(1_000_000));
        share.shares_e4 = Set(Some(15_000));
        share.exact_e4 = Set(Some(0));
        share.adjustment_e4 = Set(Some(-12_345));
        share.calculated_e4 = Set(BIG_AMOUNT_E4);
        share.base_e4 = Set(BIG_AMOUNT_E4 - 300);
        share.remainder_units = Set(3);
        share.unit_e4 = Set(100);
        assert_round_trips(&db, share.insert(&db).await.unwrap()).await;

        let balance = member_balance::ActiveModel {
            member_id: Set(member.id),
            book_id: Set(book.id),
            paid_e4: Set(0),
            owed_e4: Set(BIG_AMOUNT_E4),
            net_e4: Set(-BIG_AMOUNT_E4),
            updated_at: Set(at(0)),
        };
        assert_round_trips(&db, balance.insert(&db).await.unwrap()).await;

        let snapshot = settlement::ActiveModel {
            id: Set(Uuid::new_v4()),
            book_id: Set(book.id),
            period_start: Set(day(1)),
            period_end: Set(day(30)),
            payload: Set(serde_json::json!({
                "balances": [{"userId": bob.id, "net": "-99999999999999.9999"}],
                "transfers": [],
            })),
            created_by: Set(alice.id),
            created_at: Set(at(0)),
        };
        assert_round_trips(&db, snapshot.insert(&db).await.unwrap()).await;

        let mut link = invite_row(&book, &alice, Role::Admin);
        link.member_id = Set(Some(member.id));
        link.max_uses = Set(Some(3));
        link.use_count = Set(3);
        link.revoked_at = Set(Some(at(60)));
        assert_round_trips(&db, link.insert(&db).await.unwrap()).await;

        let log = activity_log::ActiveModel {
            id: Set(Uuid::new_v4()),
            book_id: Set(book.id),
            actor_id: Set(Some(alice.id)),
            action: Set("entry.created".to_owned()),
            subject_type: Set("entry".to_owned()),
            subject_id: Set(Some(expense.id)),
            before: Set(None),
            after: Set(Some(serde_json::to_value(&expense).unwrap())),
            created_at: Set(at(0)),
        };
        assert_round_trips(&db, log.insert(&db).await.unwrap()).await;

        let key = idempotency_key::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(alice.id),
            operation: Set("createEntry".to_owned()),
            key: Set("k".repeat(255)),
            request_hash: Set(vec![7; 32]),
            result_id: Set(expense.id),
            created_at: Set(at(0)),
        };
        assert_round_trips(&db, key.insert(&db).await.unwrap()).await;

        let session = refresh_token::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(alice.id),
            family_id: Set(Uuid::new_v4()),
            token_hash: Set(random_hash()),
            expires_at: Set(at(3600)),
            family_expires_at: Set(Some(at(7200))),
            rotated_at: Set(Some(at(10))),
            revoked_at: Set(None),
            created_at: Set(at(0)),
        };
        assert_round_trips(&db, session.insert(&db).await.unwrap()).await;

        let pat = access_token::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(alice.id),
            name: Set("dashboard".to_owned()),
            scope: Set(TokenScope::Read),
            prefix: Set("tly_ab12".to_owned()),
            token_hash: Set(random_hash()),
            expires_at: Set(None),
            last_used_at: Set(Some(at(5))),
            revoked_at: Set(None),
            created_at: Set(at(0)),
        };
        assert_round_trips(&db, pat.insert(&db).await.unwrap()).await;

        let counter = entity::throttle_counter::ActiveModel {
            subject: Set(random_hash()),
            window_started_ms: Set(1_795_000_000_000),
            attempts: Set(3),
        };
        assert_round_trips(&db, counter.insert(&db).await.unwrap()).await;
    })
    .await;
}

async fn assert_round_trips<M>(db: &DatabaseConnection, model: M)
where
    M: ModelTrait + PartialEq + std::fmt::Debug,
    M::Entity: EntityTrait<Model = M>,
{
    // Find the row again by its primary key, read from the model itself.
    let mut find = M::Entity::find();
    for key in <M::Entity as EntityTrait>::PrimaryKey::iter() {
        let column = key.into_column();
        find = find.filter(column.eq(model.get(column)));
    }
    let stored = find.one(db).await.unwrap().expect("row was written");
    assert_eq!(stored, model);
}

// ---------------------------------------------------------------------------------------------
// Constraints the database enforces on its own

#[tokio::test]
async fn a_book_has_exactly_one_owner() {
    on_every_backend(|db| async move {
        let (alice, bob) = (insert_user(&db).await, insert_user(&db).await);
        let book = insert_book(&db, &alice).await;
        insert_membership(&db, &book, &alice, Role::Owner).await;

        let err = membership_row(&book, bob.id, Role::Owner)
            .insert(&db)
            .await
            .unwrap_err();
        assert_violates(
            &db,
            &err,
            "uq_memberships_one_owner",
            Some("memberships.book_id"),
        );

        // Other roles are not limited, and another book has its own owner.
        membership_row(&book, bob.id, Role::Admin)
            .insert(&db)
            .await
            .unwrap();
        let other = insert_book(&db, &bob).await;
        insert_membership(&db, &other, &bob, Role::Owner).await;
    })
    .await;
}

#[tokio::test]
async fn an_email_registers_once() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let mut twin = user_row();
        twin.email_blind_index = Set(alice.email_blind_index.clone());
        let err = twin.insert(&db).await.unwrap_err();
        assert_violates(
            &db,
            &err,
            "uq_users_email_blind_index",
            Some("users.email_blind_index"),
        );
    })
    .await;
}

#[tokio::test]
async fn entry_amounts_are_positive() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let book = insert_book(&db, &alice).await;
        for amount_e4 in [0, -1] {
            let err = entry_row(&book, &alice, amount_e4)
                .insert(&db)
                .await
                .unwrap_err();
            assert_violates(&db, &err, "ck_entries_amount_positive", None);
        }
        let mut stale = entry_row(&book, &alice, 1);
        stale.version = Set(0);
        let err = stale.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_entries_version", None);
    })
    .await;
}

#[tokio::test]
async fn invites_never_grant_ownership_or_exceed_their_uses() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let book = insert_book(&db, &alice).await;

        let err = invite_row(&book, &alice, Role::Owner)
            .insert(&db)
            .await
            .unwrap_err();
        assert_violates(&db, &err, "ck_invites_role", None);

        let mut used_up = invite_row(&book, &alice, Role::Writer);
        used_up.max_uses = Set(Some(2));
        used_up.use_count = Set(3);
        let err = used_up.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_invites_use_count", None);

        let mut no_uses = invite_row(&book, &alice, Role::Writer);
        no_uses.max_uses = Set(Some(0));
        let err = no_uses.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_invites_max_uses_positive", None);

        let first = invite_row(&book, &alice, Role::Reader)
            .insert(&db)
            .await
            .unwrap();
        let mut same_code = invite_row(&book, &alice, Role::Reader);
        same_code.code = Set(first.code.clone());
        let err = same_code.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "uq_invites_code", Some("invites.code"));
    })
    .await;
}

#[tokio::test]
async fn a_seat_is_a_users_or_a_named_guests_and_live_seats_are_unique() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let book = insert_book(&db, &alice).await;

        let mut nobody = guest_row(&book);
        nobody.guest_name_ciphertext = Set(None);
        let err = nobody.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_memberships_user_or_guest", None);

        let mut both = guest_row(&book);
        both.user_id = Set(Some(alice.id));
        let err = both.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_memberships_user_or_guest", None);

        let mut powerful = guest_row(&book);
        powerful.role = Set(Role::Admin);
        let err = powerful.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_memberships_guest_reader", None);

        let guest = guest_row(&book).insert(&db).await.unwrap();
        let mut twin = guest_row(&book);
        twin.guest_name_index = Set(guest.guest_name_index.clone());
        let err = twin.insert(&db).await.unwrap_err();
        assert_violates(
            &db,
            &err,
            "uq_memberships_guest_name",
            Some("memberships.book_id, memberships.guest_name_index"),
        );

        // One live seat per user; after leaving, the user may take a new one.
        let first = insert_membership(&db, &book, &alice, Role::Writer).await;
        let err = membership_row(&book, alice.id, Role::Reader)
            .insert(&db)
            .await
            .unwrap_err();
        assert_violates(
            &db,
            &err,
            "uq_memberships_book_user",
            Some("memberships.book_id, memberships.user_id"),
        );
        let mut left: membership::ActiveModel = first.into();
        left.removed_at = Set(Some(at(60)));
        left.update(&db).await.unwrap();
        membership_row(&book, alice.id, Role::Reader)
            .insert(&db)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_balance_net_is_paid_minus_owed() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let book = insert_book(&db, &alice).await;
        let seat = insert_membership(&db, &book, &alice, Role::Owner).await;
        let balance = |paid_e4: i64, owed_e4: i64, net_e4: i64| member_balance::ActiveModel {
            member_id: Set(seat.id),
            book_id: Set(book.id),
            paid_e4: Set(paid_e4),
            owed_e4: Set(owed_e4),
            net_e4: Set(net_e4),
            updated_at: Set(at(0)),
        };

        let err = balance(100, 30, 71).insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_member_balances_net", None);

        let row = balance(100, 30, 70).insert(&db).await.unwrap();
        let mut drifted: member_balance::ActiveModel = row.into();
        drifted.paid_e4 = Set(200);
        let err = drifted.update(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_member_balances_net", None);
    })
    .await;
}

#[tokio::test]
async fn an_entrys_children_stay_in_its_book() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let book = insert_book(&db, &alice).await;
        let elsewhere = insert_book(&db, &alice).await;
        let seat = insert_membership(&db, &book, &alice, Role::Owner).await;
        let seat_elsewhere = insert_membership(&db, &elsewhere, &alice, Role::Owner).await;
        let expense = entry_row(&book, &alice, 100).insert(&db).await.unwrap();
        let payer = |book: &book::Model, seat: &membership::Model| entry_payer::ActiveModel {
            id: Set(Uuid::new_v4()),
            entry_id: Set(expense.id),
            book_id: Set(book.id),
            member_id: Set(seat.id),
            amount_e4: Set(100),
            created_at: Set(at(0)),
        };

        let err = payer(&elsewhere, &seat_elsewhere)
            .insert(&db)
            .await
            .unwrap_err();
        assert_violates_foreign_key(&db, &err, "fk_entry_payers_entry");
        // A payer in the entry's book must hold a seat of that same book.
        let err = payer(&book, &seat_elsewhere).insert(&db).await.unwrap_err();
        assert_violates_foreign_key(&db, &err, "fk_entry_payers_member");
        payer(&book, &seat).insert(&db).await.unwrap();

        let mut misfiled = split_row(&expense, SplitMode::Equal);
        misfiled.book_id = Set(elsewhere.id);
        let err = misfiled.insert(&db).await.unwrap_err();
        assert_violates_foreign_key(&db, &err, "fk_splits_entry");

        let split = insert_split(&db, &expense, SplitMode::Equal).await;
        let err = split_row(&expense, SplitMode::Exact)
            .insert(&db)
            .await
            .unwrap_err();
        assert_violates(&db, &err, "splits_pkey", Some("splits.entry_id"));

        let mut unexplained = allocation_row(&split, &seat, 100);
        unexplained.base_e4 = Set(50);
        let err = unexplained.insert(&db).await.unwrap_err();
        assert_violates(&db, &err, "ck_allocations_explained", None);

        let mut misfiled = allocation_row(&split, &seat, 100);
        misfiled.book_id = Set(elsewhere.id);
        let err = misfiled.insert(&db).await.unwrap_err();
        assert_violates_foreign_key(&db, &err, "fk_allocations_entry");
    })
    .await;
}

#[tokio::test]
async fn category_names_are_unique_among_live_categories() {
    on_every_backend(|db| async move {
        let alice = insert_user(&db).await;
        let book = insert_book(&db, &alice).await;
        let named = |book_id: Option<Uuid>, name: &str| category::ActiveModel {
            id: Set(Uuid::new_v4()),
            book_id: Set(book_id),
            name: Set(name.to_owned()),
            color: Set(None),
            icon: Set(None),
            deleted_at: Set(None),
            created_at: Set(at(0)),
            updated_at: Set(at(0)),
        };

        // A book may reuse a global name, but not its own live one…
        let snacks = named(Some(book.id), "food").insert(&db).await.unwrap();
        let err = named(Some(book.id), "food").insert(&db).await.unwrap_err();
        assert_violates(
            &db,
            &err,
            "uq_categories_book_name",
            Some("categories.book_id, categories.name"),
        );
        // …until that one is deleted.
        let mut deleted: category::ActiveModel = snacks.into();
        deleted.deleted_at = Set(Some(at(1)));
        deleted.update(&db).await.unwrap();
        named(Some(book.id), "food").insert(&db).await.unwrap();

        let err = named(None, "travel").insert(&db).await.unwrap_err();
        assert_violates(
            &db,
            &err,
            "uq_categories_global_name",
            Some("categories.name"),
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_cascades_or_is_refused_as_declared() {
    on_every_backend(|db| async move {
        let (alice, bob) = (insert_user(&db).await, insert_user(&db).await);
        let book = insert_book(&db, &alice).await;
        let personal = insert_book(&db, &bob).await;
        insert_membership(&db, &book, &alice, Role::Owner).await;
        let bob_seat = insert_membership(&db, &book, &bob, Role::Writer).await;
        let expense = entry_row(&book, &bob, 100).insert(&db).await.unwrap();
        let split = insert_split(&db, &expense, SplitMode::Equal).await;
        allocation_row(&split, &bob_seat, 100)
            .insert(&db)
            .await
            .unwrap();
        let mut mirror = entry_row(&personal, &bob, 100);
        mirror.source_entry_id = Set(Some(expense.id));
        let mirror = mirror.insert(&db).await.unwrap();
        invite_row(&book, &alice, Role::Reader)
            .insert(&db)
            .await
            .unwrap();

        // Bob wrote an entry and owns a book: his account cannot simply vanish.
        let err = user::Entity::delete_by_id(bob.id)
            .exec(&db)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{err}"
        );

        // Deleting the book takes its ledger along, and the mirror with its source.
        book::Entity::delete_by_id(book.id).exec(&db).await.unwrap();
        assert_eq!(membership::Entity::find().count(&db).await.unwrap(), 0);
        assert_eq!(split::Entity::find().count(&db).await.unwrap(), 0);
        assert_eq!(allocation::Entity::find().count(&db).await.unwrap(), 0);
        assert_eq!(invite::Entity::find().count(&db).await.unwrap(), 0);
        assert_eq!(
            entry::Entity::find_by_id(mirror.id).one(&db).await.unwrap(),
            None
        );
        assert_eq!(entry::Entity::find().count(&db).await.unwrap(), 0);
    })
    .await;
}

/// Asserts that `err` reports the violation of `constraint`. PostgreSQL names every
/// constraint; SQLite names CHECK constraints but lists the columns of a UNIQUE one, given
/// as `sqlite_columns` (`Some` for a unique index, which must also classify as such).
fn assert_violates(
    db: &DatabaseConnection,
    err: &DbErr,
    constraint: &str,
    sqlite_columns: Option<&str>,
) {
    let message = err.to_string();
    match (db.get_database_backend(), sqlite_columns) {
        (DbBackend::Sqlite, Some(columns)) => assert!(
            message.contains(&format!("UNIQUE constraint failed: {columns}")),
            "expected {constraint} ({columns}), got: {message}"
        ),
        _ => assert!(
            message.contains(constraint),
            "expected {constraint}, got: {message}"
        ),
    }
    if sqlite_columns.is_some() {
        assert!(
            matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
            "not classified as a unique violation: {message}"
        );
    }
}

/// Asserts a foreign-key violation; PostgreSQL also names the key (SQLite names none).
fn assert_violates_foreign_key(db: &DatabaseConnection, err: &DbErr, constraint: &str) {
    assert!(
        matches!(
            err.sql_err(),
            Some(SqlErr::ForeignKeyConstraintViolation(_))
        ),
        "expected {constraint}, got: {err}"
    );
    if db.get_database_backend() == DbBackend::Postgres {
        assert!(
            err.to_string().contains(constraint),
            "expected {constraint}, got: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A fixed instant plus `seconds`: whole seconds survive both backends' precision.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + seconds, 0).expect("in range")
}

fn day(of_november: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, of_november).expect("a November day")
}

fn random_hash() -> Vec<u8> {
    [Uuid::new_v4().into_bytes(), Uuid::new_v4().into_bytes()].concat()
}

fn user_row() -> user::ActiveModel {
    user::ActiveModel {
        id: Set(Uuid::new_v4()),
        email_ciphertext: Set(vec![1; 40]),
        name_ciphertext: Set(vec![2; 30]),
        pii_key_id: Set(1),
        email_blind_index: Set(random_hash()),
        password_hash: Set("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        created_at: Set(at(0)),
        updated_at: Set(at(0)),
    }
}

async fn insert_user(db: &DatabaseConnection) -> user::Model {
    user_row().insert(db).await.unwrap()
}

async fn insert_book(db: &DatabaseConnection, owner: &user::Model) -> book::Model {
    book::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("花蓮旅遊".to_owned()),
        description: Set(None),
        kind: Set(BookKind::Split),
        currency: Set("TWD".to_owned()),
        owner_id: Set(owner.id),
        member_limit: Set(50),
        archived_at: Set(None),
        created_at: Set(at(0)),
        updated_at: Set(at(0)),
        balance_version: Set(7),
        live_entries: Set(0),
    }
    .insert(db)
    .await
    .unwrap()
}

fn membership_row(book: &book::Model, user_id: Uuid, role: Role) -> membership::ActiveModel {
    membership::ActiveModel {
        id: Set(Uuid::new_v4()),
        book_id: Set(book.id),
        user_id: Set(Some(user_id)),
        role: Set(role),
        guest_name_ciphertext: Set(None),
        guest_name_key_id: Set(None),
        guest_name_index: Set(None),
        joined_at: Set(at(0)),
        updated_at: Set(at(0)),
        removed_at: Set(None),
    }
}

/// A guest seat: a (fake) encrypted name, no user.
fn guest_row(book: &book::Model) -> membership::ActiveModel {
    membership::ActiveModel {
        id: Set(Uuid::new_v4()),
        book_id: Set(book.id),
        user_id: Set(None),
        role: Set(Role::Reader),
        guest_name_ciphertext: Set(Some(vec![3; 40])),
        guest_name_key_id: Set(Some(1)),
        guest_name_index: Set(Some(random_hash())),
        joined_at: Set(at(0)),
        updated_at: Set(at(0)),
        removed_at: Set(None),
    }
}

async fn insert_membership(
    db: &DatabaseConnection,
    book: &book::Model,
    user: &user::Model,
    role: Role,
) -> membership::Model {
    membership_row(book, user.id, role)
        .insert(db)
        .await
        .unwrap()
}

fn entry_row(book: &book::Model, creator: &user::Model, amount_e4: i64) -> entry::ActiveModel {
    entry::ActiveModel {
        id: Set(Uuid::new_v4()),
        book_id: Set(book.id),
        kind: Set(EntryKind::Expense),
        amount_e4: Set(amount_e4),
        currency: Set("TWD".to_owned()),
        original_amount_e4: Set(None),
        original_currency: Set(None),
        exchange_rate: Set(None),
        occurred_on: Set(day(21)),
        description: Set("dinner".to_owned()),
        note: Set(None),
        category_id: Set(None),
        creator_id: Set(creator.id),
        version: Set(1),
        source_entry_id: Set(None),
        deleted_at: Set(None),
        deleted_by: Set(None),
        created_at: Set(at(0)),
        updated_at: Set(at(0)),
    }
}

fn split_row(entry: &entry::Model, mode: SplitMode) -> split::ActiveModel {
    split::ActiveModel {
        entry_id: Set(entry.id),
        book_id: Set(entry.book_id),
        mode: Set(mode),
        created_at: Set(at(0)),
    }
}

async fn insert_split(
    db: &DatabaseConnection,
    entry: &entry::Model,
    mode: SplitMode,
) -> split::Model {
    split_row(entry, mode).insert(db).await.unwrap()
}

fn allocation_row(
    split: &split::Model,
    seat: &membership::Model,
    calculated_e4: i64,
) -> allocation::ActiveModel {
    allocation::ActiveModel {
        id: Set(Uuid::new_v4()),
        entry_id: Set(split.entry_id),
        book_id: Set(split.book_id),
        member_id: Set(seat.id),
        ratio_e4: Set(None),
        shares_e4: Set(None),
        exact_e4: Set(None),
        adjustment_e4: Set(None),
        calculated_e4: Set(calculated_e4),
        base_e4: Set(calculated_e4),
        remainder_units: Set(0),
        unit_e4: Set(1),
        created_at: Set(at(0)),
    }
}

fn invite_row(book: &book::Model, creator: &user::Model, role: Role) -> invite::ActiveModel {
    let code: String = Uuid::new_v4().simple().to_string()[..8].to_uppercase();
    invite::ActiveModel {
        id: Set(Uuid::new_v4()),
        book_id: Set(book.id),
        code: Set(code),
        token_hash: Set(random_hash()),
        role: Set(role),
        created_by: Set(creator.id),
        expires_at: Set(at(86_400)),
        max_uses: Set(None),
        use_count: Set(0),
        revoked_at: Set(None),
        member_id: Set(None),
        created_at: Set(at(0)),
        updated_at: Set(at(0)),
    }
}

// ---------------------------------------------------------------------------------------------
// Backends

/// Runs `test` against a freshly migrated SQLite file, then (when `TEST_DATABASE_URL` is set)
/// against a freshly created and migrated PostgreSQL database. Each database is removed after
/// its run, whether the test passed or panicked.
async fn on_every_backend<F, Fut>(test: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // `None` is SQLite; each database is created only when its turn comes, so an earlier
    // failure leaves nothing behind.
    let postgres = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    for server in std::iter::once(None).chain(postgres.map(Some)) {
        let backend = match server {
            None => Backend::sqlite(),
            Some(url) => Backend::postgres(&url).await,
        };
        let db = Database::connect(backend.url()).await.unwrap();
        // Futures are lazy: `run` migrates, then starts the test body. A panic in either
        // comes back from the spawned task as an error, so the cleanup below still runs.
        let (body, migrated) = (test(db.clone()), db.clone());
        let run = async move {
            Migrator::up(&migrated, None).await.unwrap();
            body.await;
        };
        let outcome = tokio::spawn(run).await;
        db.close().await.unwrap();
        backend.remove().await;
        if let Err(failure) = outcome {
            std::panic::resume_unwind(failure.into_panic());
        }
    }
}

enum Backend {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin: DatabaseConnection,
        name: String,
        url: String,
    },
}

impl Backend {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("tally.db").display()
        );
        Backend::Sqlite { dir, url }
    }

    async fn postgres(server_url: &str) -> Self {
        let admin = Database::connect(server_url).await.unwrap();
        let name = format!("tally_test_{}", Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        let url = with_database(server_url, &name);
        Backend::Postgres { admin, name, url }
    }

    fn url(&self) -> &str {
        match self {
            Backend::Sqlite { url, .. } | Backend::Postgres { url, .. } => url,
        }
    }

    async fn remove(self) {
        match self {
            Backend::Sqlite { dir, .. } => dir.close().unwrap(),
            Backend::Postgres { admin, name, .. } => {
                admin
                    .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
            }
        }
    }
}

/// `postgres://user@host:5432/postgres?sslmode=disable` with its database replaced by `name`.
fn with_database(server_url: &str, name: &str) -> String {
    let (scheme, rest) = server_url.split_once("://").expect("a URL with a scheme");
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, None), |(r, q)| (r, Some(q)));
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t"),
        "postgres://postgres@127.0.0.1:5432/t"
    );
    assert_eq!(
        with_database("postgres://u:p@db:5432?sslmode=disable", "t"),
        "postgres://u:p@db:5432/t?sslmode=disable"
    );
}
