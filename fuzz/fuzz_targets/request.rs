//! Fuzzes Tally's GraphQL request path without a database: body decoding (JSON and multipart,
//! as the axum extractor does it), the gateway's policy (nesting, fragment chains, single-use
//! fields and the rest), the
//! parser, the schema's limits and validation, and execution up to the resolvers, which fail
//! because the schema has no application state.
//!
//! The first byte of an input chooses how the rest is read:
//!
//! | byte       | the rest is                                                            |
//! |------------|------------------------------------------------------------------------|
//! | `j` / `J`  | a JSON request body (`{"query": …, "variables": …, "operationName": …}`) |
//! | `m` / `M`  | a `multipart/form-data; boundary=fuzz` body (GraphQL multipart uploads) |
//! | other      | a raw GraphQL document (lossy UTF-8)                                    |
//!
//! An upper-case selector runs the request as a READ-scoped access token, any other byte as an
//! anonymous caller.
//!
//! Properties checked, beyond "no panic, no stack overflow, no hang" (libFuzzer's `-timeout`):
//!
//! 1. A document that `check_nesting` refuses is never executed: the response is one request
//!    error and no data.
//! 2. `check_nesting` never counts less nesting than the parser builds: if it lets a document
//!    through, the brackets the parsed document must contain nest no deeper than
//!    `MAX_NESTING`, and padding the text with exactly enough `(` to reach `MAX_NESTING + 1`
//!    together with those brackets makes it refuse. A document whose brackets the scanner and
//!    the parser read differently (strings, comments) fails this long before it is deep enough
//!    to overflow the parser's stack, so small inputs find such a gap.
//! 3. A READ access token never reaches a `Mutation` field resolver.

#![no_main]

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Executor, Request, Response, ServerResult, Value as ConstValue,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
    http::{MultipartOptions, receive_body},
    parser::{
        parse_query,
        types::{BaseType, Directive, ExecutableDocument, Selection, SelectionSet, Type},
    },
};
// The parser's values (with variables); `async_graphql::Value` is the constant kind.
use async_graphql_value::Value;
use entity::enums::TokenScope;
use libfuzzer_sys::fuzz_target;
use tally::{
    graphql::{
        gateway::Gateway,
        limits::{MAX_NESTING, check_nesting},
        schema_builder,
    },
    service::{Actor, Credential},
};
use uuid::Uuid;

/// Tokio's default worker stack, on which production executes every request (libFuzzer's main
/// thread has 8 MiB, so a recursion that fits there could still abort the server).
const WORKER_STACK_BYTES: usize = 2 << 20;

/// The multipart boundary of `m` inputs; the fuzzer learns it from the seeds.
const BOUNDARY: &str = "fuzz";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let read_only = selector.is_ascii_uppercase();
    let body = match selector.to_ascii_lowercase() {
        b'j' => Body::Json(payload),
        b'm' => Body::Multipart(payload),
        _ => Body::Document(String::from_utf8_lossy(payload).into_owned()),
    };
    // A scoped thread with production's stack size. A stack overflow there is reported with its
    // input only under AddressSanitizer (run.sh's default), whose handler runs on an alternate
    // stack; without a sanitizer the process just dies of SIGSEGV.
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .stack_size(WORKER_STACK_BYTES)
            .spawn_scoped(scope, || runtime().block_on(run(body, read_only)));
        // Failing to start a thread is the machine's problem, not the input's.
        #[allow(clippy::expect_used)]
        let worker = worker.expect("spawn a worker thread");
        // A panic on the worker already aborted the process (libfuzzer-sys's panic hook), so
        // there is nothing to propagate here.
        let _ = worker.join();
    });
});

enum Body<'a> {
    Document(String),
    Json(&'a [u8]),
    Multipart(&'a [u8]),
}

async fn run(body: Body<'_>, read_only: bool) {
    let request = match body {
        Body::Document(query) => Request::new(query),
        // The same decoding as async-graphql-axum's `GraphQLRequest` extractor, which runs
        // before the handler looks at the content type.
        Body::Json(bytes) => {
            match receive_body(Some("application/json"), bytes, MultipartOptions::default()).await {
                Ok(request) => request,
                Err(_) => return,
            }
        }
        Body::Multipart(bytes) => match receive_body(
            Some(format!("multipart/form-data; boundary={BOUNDARY}")),
            bytes,
            MultipartOptions::default(),
        )
        .await
        {
            Ok(request) => request,
            Err(_) => return,
        },
    };

    let query = request.query.clone();
    let nesting = check_nesting(&query);
    // Parsed only once `check_nesting` passed, as the schema does.
    let document = nesting.is_ok().then(|| parse_query(&query).ok()).flatten();

    let reached_mutation = Arc::new(AtomicBool::new(false));
    let mut request = request.data(MutationProbe(reached_mutation.clone()));
    if read_only {
        request = request.data(Actor {
            user_id: Uuid::nil(),
            credential: Credential::AccessToken {
                id: Uuid::nil(),
                scope: TokenScope::Read,
            },
            expires_at: None,
        });
    }
    let response = gateway().execute(request).await;
    if verbose() {
        eprintln!(
            "check_nesting: {nesting:?}\nresponse: {}",
            serde_json::to_string(&response).unwrap_or_default()
        );
    }

    if nesting.is_err() {
        assert!(
            is_refusal(&response),
            "a document check_nesting refuses was executed: {:?}",
            response.errors
        );
    }
    if let Some(document) = &document {
        check_scanner_against_parser(&query, document);
    }
    if read_only {
        assert!(
            !reached_mutation.load(Ordering::SeqCst),
            "a READ access token reached a Mutation resolver: {query:?}"
        );
    }
}

/// The gateway every input runs through, as production's does: the policy, then a schema built
/// once by `schema_builder()`, with every request limit; [`RecordMutations`] only observes.
fn gateway() -> &'static Gateway {
    static GATEWAY: OnceLock<Gateway> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let schema = schema_builder().extension(RecordMutations).finish();
        Gateway::over(schema.clone(), schema, None)
    })
}

/// One current-thread runtime for every input, built once; `block_on` may be called from any
/// thread, one at a time, which is how the target calls it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // Failing to build a runtime is the machine's problem, not the input's: a harness may
        // stop there.
        #[allow(clippy::expect_used)]
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a tokio runtime")
    })
}

/// `TALLY_FUZZ_VERBOSE=1` prints each input's verdicts and response, to see what a seed or a
/// reproducer does (`…/request FILE`); never set while fuzzing.
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("TALLY_FUZZ_VERBOSE").is_some_and(|v| v == "1"))
}

/// A request refused as a whole: errors and no data (a refused document never starts).
fn is_refusal(response: &Response) -> bool {
    !response.errors.is_empty() && response.data == ConstValue::Null
}

/// Property 2: `check_nesting` passed `query`, which parsed as `document`; the parser must not
/// have built more nesting than the scanner counted.
fn check_scanner_against_parser(query: &str, document: &ExecutableDocument) {
    let floor = document_nesting(document, MAX_NESTING + 1);
    assert!(
        floor <= MAX_NESTING,
        "check_nesting passed a document that parses {floor}+ brackets deep: {query:?}"
    );
    // `floor` brackets of the parsed document nest inside each other, so the scanner must count
    // at least `floor`; with `MAX_NESTING + 1 - floor` brackets in front it must refuse. The
    // padding cannot change how the scanner reads the rest: `(` opens no string or comment.
    let padded = format!("{}{query}", "(".repeat(MAX_NESTING + 1 - floor));
    assert!(
        check_nesting(&padded).is_err(),
        "check_nesting counts fewer than the {floor} nested brackets the parser built: {query:?}"
    );
}

/// A lower bound on the bracket nesting of the text `document` was parsed from, at most
/// `room`: every selection set is a `{`, every non-empty argument or variable list a `(`,
/// every list value or type a `[` and every object value a `{`, each inside its parent's.
/// Capping at `room` keeps the walk's own recursion bounded, whatever the parser built.
fn document_nesting(document: &ExecutableDocument, room: usize) -> usize {
    let operations = document.operations.iter().map(|(_, operation)| {
        let operation = &operation.node;
        let variables = operation
            .variable_definitions
            .iter()
            .map(|variable| {
                let variable = &variable.node;
                let inside = room.saturating_sub(1);
                type_nesting(&variable.var_type.node, inside)
                    .max(
                        variable
                            .default_value
                            .as_ref()
                            .map_or(0, |value| const_value_nesting(&value.node, inside)),
                    )
                    .max(directives_nesting(&variable.directives, inside))
            })
            .max()
            .map_or(0, |inside| capped(1 + inside, room));
        variables
            .max(directives_nesting(&operation.directives, room))
            .max(selection_set_nesting(&operation.selection_set.node, room))
    });
    let fragments = document.fragments.values().map(|fragment| {
        directives_nesting(&fragment.node.directives, room).max(selection_set_nesting(
            &fragment.node.selection_set.node,
            room,
        ))
    });
    operations.chain(fragments).max().unwrap_or(0)
}

fn selection_set_nesting(set: &SelectionSet, room: usize) -> usize {
    if room == 0 {
        return 0;
    }
    let inside = room - 1;
    let deepest =
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let subselection = if field.selection_set.node.items.is_empty() {
                        0
                    } else {
                        selection_set_nesting(&field.selection_set.node, inside)
                    };
                    arguments_nesting(field.arguments.iter().map(|(_, value)| &value.node), inside)
                        .max(directives_nesting(&field.directives, inside))
                        .max(subselection)
                }
                Selection::FragmentSpread(spread) => {
                    directives_nesting(&spread.node.directives, inside)
                }
                Selection::InlineFragment(fragment) => {
                    directives_nesting(&fragment.node.directives, inside).max(
                        selection_set_nesting(&fragment.node.selection_set.node, inside),
                    )
                }
            })
            .max()
            .unwrap_or(0);
    capped(1 + deepest, room)
}

fn directives_nesting(directives: &[async_graphql::Positioned<Directive>], room: usize) -> usize {
    directives
        .iter()
        .map(|directive| {
            arguments_nesting(
                directive
                    .node
                    .arguments
                    .iter()
                    .map(|(_, value)| &value.node),
                room,
            )
        })
        .max()
        .unwrap_or(0)
}

/// `(a: …, b: …)`: one `(` around the deepest value; nothing when there are no arguments.
fn arguments_nesting<'a>(values: impl Iterator<Item = &'a Value>, room: usize) -> usize {
    if room == 0 {
        return 0;
    }
    values
        .map(|value| value_nesting(value, room - 1))
        .max()
        .map_or(0, |deepest| capped(1 + deepest, room))
}

fn value_nesting(value: &Value, room: usize) -> usize {
    if room == 0 {
        return 0;
    }
    let deepest = match value {
        Value::List(items) => items.iter().map(|item| value_nesting(item, room - 1)).max(),
        Value::Object(fields) => fields
            .values()
            .map(|field| value_nesting(field, room - 1))
            .max(),
        _ => return 0,
    };
    capped(1 + deepest.unwrap_or(0), room)
}

fn const_value_nesting(value: &ConstValue, room: usize) -> usize {
    if room == 0 {
        return 0;
    }
    let deepest = match value {
        ConstValue::List(items) => items
            .iter()
            .map(|item| const_value_nesting(item, room - 1))
            .max(),
        ConstValue::Object(fields) => fields
            .values()
            .map(|field| const_value_nesting(field, room - 1))
            .max(),
        _ => return 0,
    };
    capped(1 + deepest.unwrap_or(0), room)
}

fn type_nesting(ty: &Type, room: usize) -> usize {
    match &ty.base {
        BaseType::Named(_) => 0,
        BaseType::List(_) if room == 0 => 0,
        BaseType::List(inner) => capped(1 + type_nesting(inner, room - 1), room),
    }
}

fn capped(depth: usize, room: usize) -> usize {
    depth.min(room)
}

/// Request data naming the flag [`RecordMutations`] sets.
struct MutationProbe(Arc<AtomicBool>);

/// Observes (never changes) execution: records that a field of `Mutation` was resolved, for
/// property 3.
struct RecordMutations;

impl ExtensionFactory for RecordMutations {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RecordMutationsExtension)
    }
}

struct RecordMutationsExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for RecordMutationsExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<ConstValue>> {
        if info.parent_type == "Mutation" {
            if let Some(probe) = ctx.data_opt::<MutationProbe>() {
                probe.0.store(true, Ordering::SeqCst);
            }
        }
        next.run(ctx, info).await
    }
}
