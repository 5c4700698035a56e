//! Limits on the shape of a GraphQL document that the schema's own limits cannot enforce.
//!
//! - **Nesting**, checked on the raw text *before* parsing. async-graphql's parser is recursive:
//!   a value (`[[[[…]]]]`, `{a:{a:{…}}}`), a list type (`[[[Int]]]`) or a selection nested a few
//!   thousand levels deep overflows its stack and aborts the whole process, before any depth
//!   limit (which counts selections only, after parsing) can look at it. [`check_nesting`] scans
//!   the text once, iteratively, and refuses any document whose brackets of any kind (`{`, `[`,
//!   `(`) nest deeper than [`MAX_NESTING`]. Fragment spreads cannot nest in the text: a
//!   fragment may spread another, which spreads another, in a chain as long as the document
//!   (or in a cycle), and spread several times each, expand to exponentially many selections.
//!   [`check_fragments`] bounds both right after parsing, before any walk that follows spreads.
//! - **Single-use fields**, checked on the parsed document: the fields that run argon2 or guess
//!   at a secret ([`SINGLE_USE_FIELDS`]) may appear once in a mutation, so one request cannot
//!   multiply them with aliases (600 `register` aliases once cost 600 hashes).
//! - **Aliases per field**, checked on the parsed document: one field may be selected under at
//!   most [`MAX_ALIASES_PER_FIELD`] response keys in one selection set (fragments merged in), so
//!   aliases cannot multiply an expensive resolver (`a1: balances … a500: balances`) past what
//!   any client needs.
//! - **Selection depth**, checked on the parsed document: [`MAX_DEPTH`] for data, and its own
//!   bound, [`MAX_INTROSPECTION_DEPTH`], inside `__schema` and `__type`. The standard
//!   introspection query of GraphiQL and the code generators (graphql-js's
//!   `getIntrospectionQuery`) nests `ofType` nine levels deep; counted against the data limit
//!   it was refused, and no tool could read the schema.

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use std::collections::{HashMap, HashSet};

/// Deepest bracket nesting a document may have. Real documents (GraphiQL's introspection query
/// included) stay below 20; the parser's stack lasts for well over a thousand.
pub const MAX_NESTING: usize = 64;

/// Longest chain of fragments spreading fragments. async-graphql bounds the same chains by 32,
/// but only after the checks here, which follow spreads too.
pub const MAX_FRAGMENT_CHAIN: usize = 32;
/// Most selections an operation may hold with its fragments expanded. Every walk after this
/// check (async-graphql's recursion bound, validation, complexity, execution) expands each
/// spread again, so a chain of fragments that each spread the next twice costs 2^length: 24 of
/// them, a kilobyte of text, took four seconds of CPU. Real documents hold a few hundred.
pub const MAX_EXPANDED_SELECTIONS: usize = 10_000;

/// Deepest selection nesting accepted for data; real client documents stay well below it.
pub const MAX_DEPTH: usize = 12;
/// Deepest nesting inside an introspection field (`__schema`, `__type`), counted from it. The
/// standard introspection query needs 14.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

/// Response keys one field may have in one selection set; a client shows a field a few times
/// at most (`paid: entries(…) owed: entries(…)`).
pub const MAX_ALIASES_PER_FIELD: usize = 16;

/// Mutation fields that may appear at most once per document, counted together: each costs a
/// password hash or is a guess at a secret, and each is throttled per attempt.
pub const SINGLE_USE_FIELDS: [&str; 5] = [
    "register",
    "login",
    "refreshToken",
    "changePassword",
    "joinBook",
];

/// Why a document was refused before execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    TooDeep,
    FragmentChain,
    ExpandsTooFar,
    UnknownVariableType(String),
    NestedTooDeep,
    RepeatedSingleUseField(String),
    TooManyAliases(String),
}

impl DocumentError {
    pub fn message(&self) -> String {
        match self {
            Self::TooDeep => {
                format!("the document nests brackets more than {MAX_NESTING} levels deep")
            }
            Self::FragmentChain => format!(
                "fragments spread each other in a cycle or in a chain longer than \
                 {MAX_FRAGMENT_CHAIN}"
            ),
            Self::ExpandsTooFar => format!(
                "the document's fragments expand to more than {MAX_EXPANDED_SELECTIONS} \
                 selections"
            ),
            Self::UnknownVariableType(name) => {
                format!("variables cannot have the type `{name}`: the schema has no such type")
            }
            Self::NestedTooDeep => format!(
                "the document is nested too deep: at most {MAX_DEPTH} levels of fields \
                 ({MAX_INTROSPECTION_DEPTH} inside __schema and __type)"
            ),
            Self::TooManyAliases(name) => format!(
                "`{name}` is selected under more than {MAX_ALIASES_PER_FIELD} aliases in one \
                 selection set"
            ),
            Self::RepeatedSingleUseField(name) => format!(
                "`{name}` cannot be combined with another {} in one document; send one per request",
                SINGLE_USE_FIELDS.join(", ")
            ),
        }
    }
}

/// Refuses a document whose `{`, `[` and `(` nest deeper than [`MAX_NESTING`], counting them
/// together (a value inside arguments inside a selection is as deep as all three). Brackets in
/// strings, block strings and comments do not count. Unbalanced text is left to the parser,
/// which reports it properly; this only guarantees the parser a bounded recursion.
pub fn check_nesting(document: &str) -> Result<(), DocumentError> {
    let bytes = document.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    // Every token that matters is ASCII and UTF-8 continuation bytes never are, so a byte scan
    // cannot mistake part of a multi-byte character for a bracket or a quote.
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(DocumentError::TooDeep);
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // The parser reads an unterminated `"""` as an empty string `""` followed by a
                // `"` string, and parses on after it; so must this scan, or the brackets that
                // follow would go uncounted (found by fuzzing).
                i = skip_block_string(bytes, i + 3).unwrap_or(i + 2);
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index after the block string whose body starts at `i` (`\"""` does not end it), or
/// `None` when it never ends.
fn skip_block_string(bytes: &[u8], mut i: usize) -> Option<usize> {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return Some(i + 3);
        } else {
            i += 1;
        }
    }
    None
}

/// The index after the string whose body starts at `i`; strings end at an unescaped quote or,
/// being single-line, at a line break (where the parser will report the error).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    i
}

/// Refuses a document whose fragments spread each other in a cycle or in a chain longer than
/// [`MAX_FRAGMENT_CHAIN`], or whose operations, fragments expanded, hold more than
/// [`MAX_EXPANDED_SELECTIONS`] selections. Each fragment is measured once, so many spreads of
/// one fragment cost one walk; the recursion follows one chain at a time and stops at the bound.
pub fn check_fragments(document: &ExecutableDocument) -> Result<(), DocumentError> {
    let mut measured = HashMap::new();
    for name in document.fragments.keys() {
        expansion(document, name.as_str(), &mut measured, 1)?;
    }
    for (_, operation) in document.operations.iter() {
        let (own, spreads) = contents(&operation.node.selection_set.node);
        let mut selections = own;
        for spread in spreads {
            let expanded = expansion(document, spread, &mut measured, 1)?.selections;
            selections = selections.saturating_add(expanded);
        }
        if selections > MAX_EXPANDED_SELECTIONS {
            return Err(DocumentError::ExpandsTooFar);
        }
    }
    Ok(())
}

/// What spreading one fragment brings: the longest chain of spreads from it (1: it spreads
/// none), and its selections with every spread in them expanded.
#[derive(Clone, Copy)]
struct Expansion {
    chain: usize,
    selections: usize,
}

/// Fragment `name`'s [`Expansion`], `depth` being its place in the chain being followed. A cycle
/// is a chain without end: it meets the bound.
fn expansion<'a>(
    document: &'a ExecutableDocument,
    name: &'a str,
    measured: &mut HashMap<&'a str, Expansion>,
    depth: usize,
) -> Result<Expansion, DocumentError> {
    if let Some(&known) = measured.get(name) {
        return Ok(known);
    }
    if depth > MAX_FRAGMENT_CHAIN {
        return Err(DocumentError::FragmentChain);
    }
    // A spread of an unknown fragment is validation's to report.
    let Some(fragment) = document.fragments.get(name) else {
        return Ok(Expansion {
            chain: 0,
            selections: 0,
        });
    };
    let (own, spreads) = contents(&fragment.node.selection_set.node);
    let mut this = Expansion {
        chain: 1,
        selections: own,
    };
    for spread in spreads {
        let below = expansion(document, spread, measured, depth + 1)?;
        this.chain = this.chain.max(below.chain + 1);
        this.selections = this.selections.saturating_add(below.selections);
    }
    if this.chain + depth - 1 > MAX_FRAGMENT_CHAIN {
        return Err(DocumentError::FragmentChain);
    }
    if this.selections > MAX_EXPANDED_SELECTIONS {
        return Err(DocumentError::ExpandsTooFar);
    }
    measured.insert(name, this);
    Ok(this)
}

/// How many selections `selections` holds, nested ones included, and the names of the
/// fragments it spreads (iteratively: the nesting is bounded, but need not be trusted here).
fn contents(selections: &SelectionSet) -> (usize, Vec<&str>) {
    let mut count = 0;
    let mut names = Vec::new();
    let mut pending = vec![selections];
    while let Some(set) = pending.pop() {
        count += set.items.len();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => pending.push(&field.node.selection_set.node),
                Selection::InlineFragment(fragment) => {
                    pending.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    names.push(spread.node.fragment_name.node.as_str());
                }
            }
        }
    }
    (count, names)
}

/// Refuses a document in which any mutation selects more than one of [`SINGLE_USE_FIELDS`]
/// (aliases and fragments included). Each fragment is expanded once, so a fragment spread many
/// times costs one walk; fragment chains are already bounded when this runs.
pub fn check_single_use_fields(document: &ExecutableDocument) -> Result<(), DocumentError> {
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        if operation.ty != OperationType::Mutation {
            continue;
        }
        let mut seen = HashSet::new();
        let mut keys = HashSet::new();
        collect_single_use(
            document,
            &operation.selection_set.node,
            &mut seen,
            &mut keys,
        );
        if keys.len() > 1 {
            let name = keys
                .into_iter()
                .map(|(_, name)| name)
                .min()
                .unwrap_or_default();
            return Err(DocumentError::RepeatedSingleUseField(name));
        }
    }
    Ok(())
}

/// Gathers the (response key, field name) pairs of single-use fields at the root of a mutation.
/// Two selections with one response key are merged by GraphQL and run once, so they count once.
fn collect_single_use<'a>(
    document: &'a ExecutableDocument,
    selections: &'a SelectionSet,
    seen_fragments: &mut HashSet<&'a str>,
    keys: &mut HashSet<(String, String)>,
) {
    for selection in &selections.items {
        match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if SINGLE_USE_FIELDS.contains(&name) {
                    let key = field.node.response_key().node.to_string();
                    keys.insert((key, name.to_owned()));
                }
            }
            Selection::InlineFragment(fragment) => {
                collect_single_use(
                    document,
                    &fragment.node.selection_set.node,
                    seen_fragments,
                    keys,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if !seen_fragments.insert(name) {
                    continue;
                }
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_single_use(
                        document,
                        &fragment.node.selection_set.node,
                        seen_fragments,
                        keys,
                    );
                }
            }
        }
    }
}

/// Refuses a document in which a selection set (with the fragments it spreads merged in) selects
/// one field under more than [`MAX_ALIASES_PER_FIELD`] response keys. Each fragment's own
/// fields are gathered once, and a set that spreads one fragment many times merges it once.
pub fn check_aliases(document: &ExecutableDocument) -> Result<(), DocumentError> {
    let mut aliases = AliasCheck {
        document,
        fragments: std::collections::HashMap::new(),
    };
    for (_, operation) in document.operations.iter() {
        aliases.check(&operation.node.selection_set.node)?;
    }
    Ok(())
}

/// The response keys of each field name in one selection set.
type KeysByField<'a> = std::collections::HashMap<&'a str, HashSet<&'a str>>;

/// The alias walk, with each fragment's top-level keys computed once.
struct AliasCheck<'a> {
    document: &'a ExecutableDocument,
    fragments: std::collections::HashMap<&'a str, std::rc::Rc<KeysByField<'a>>>,
}

impl<'a> AliasCheck<'a> {
    /// Checks `selections` and every selection set below it.
    fn check(&mut self, selections: &'a SelectionSet) -> Result<(), DocumentError> {
        let keys = self.keys(selections)?;
        match keys
            .into_iter()
            .find(|(_, keys)| keys.len() > MAX_ALIASES_PER_FIELD)
        {
            Some((name, _)) => Err(DocumentError::TooManyAliases(name.to_owned())),
            None => Ok(()),
        }
    }

    /// The keys `selections` gives each field, fragments merged in; the sets below its fields
    /// are checked on the way.
    fn keys(&mut self, selections: &'a SelectionSet) -> Result<KeysByField<'a>, DocumentError> {
        let mut keys = KeysByField::new();
        let mut spread = HashSet::new();
        for selection in &selections.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    keys.entry(field.name.node.as_str())
                        .or_default()
                        .insert(field.response_key().node.as_str());
                    self.check(&field.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => {
                    merge(&mut keys, &self.keys(&fragment.node.selection_set.node)?);
                }
                Selection::FragmentSpread(fragment) => {
                    let name = fragment.node.fragment_name.node.as_str();
                    if spread.insert(name) {
                        let fragment_keys = self.fragment(name)?;
                        merge(&mut keys, &fragment_keys);
                    }
                }
            }
        }
        Ok(keys)
    }

    fn fragment(&mut self, name: &'a str) -> Result<std::rc::Rc<KeysByField<'a>>, DocumentError> {
        if let Some(keys) = self.fragments.get(name) {
            return Ok(keys.clone());
        }
        let keys = match self.document.fragments.get(name) {
            Some(fragment) => self.keys(&fragment.node.selection_set.node)?,
            None => KeysByField::new(),
        };
        let keys = std::rc::Rc::new(keys);
        self.fragments.insert(name, keys.clone());
        Ok(keys)
    }
}

fn merge<'a>(into: &mut KeysByField<'a>, from: &KeysByField<'a>) {
    for (name, keys) in from {
        into.entry(name).or_default().extend(keys.iter().copied());
    }
}

/// Refuses a document declaring a variable whose type (inside any list wrappers) the schema
/// does not have. async-graphql 7.2 checks this for a named type but not inside a list, and
/// `query($v: [X] = 1)` made its validation panic (found by fuzzing).
pub fn check_variable_types(
    document: &ExecutableDocument,
    type_exists: impl Fn(&str) -> bool,
) -> Result<(), DocumentError> {
    for (_, operation) in document.operations.iter() {
        for variable in &operation.node.variable_definitions {
            let mut ty = &variable.node.var_type.node;
            // Nesting is bounded by `check_nesting`, so this walk is short.
            let name = loop {
                match &ty.base {
                    BaseType::Named(name) => break name,
                    BaseType::List(inner) => ty = inner,
                }
            };
            if !type_exists(name.as_str()) {
                return Err(DocumentError::UnknownVariableType(name.to_string()));
            }
        }
    }
    Ok(())
}

/// Refuses a document any of whose operations selects fields nested deeper than [`MAX_DEPTH`],
/// or deeper than [`MAX_INTROSPECTION_DEPTH`] below an introspection field. Fragment spreads
/// count as the fields they bring; each fragment's depth is computed once, and fragment chains
/// are already bounded (and cycle-free) when this runs.
pub fn check_depth(document: &ExecutableDocument) -> Result<(), DocumentError> {
    let mut depths = DepthCache::new(document);
    for (_, operation) in document.operations.iter() {
        let depth = depths.of(&operation.node.selection_set.node)?;
        if depth > MAX_DEPTH {
            return Err(DocumentError::NestedTooDeep);
        }
    }
    Ok(())
}

/// The data depth of each fragment, computed once.
struct DepthCache<'a> {
    document: &'a ExecutableDocument,
    fragments: std::collections::HashMap<&'a str, usize>,
}

impl<'a> DepthCache<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            document,
            fragments: std::collections::HashMap::new(),
        }
    }

    /// How many levels of data fields `selections` nests. An introspection field counts as one
    /// level here, and its own subtree is checked against the introspection bound.
    fn of(&mut self, selections: &'a SelectionSet) -> Result<usize, DocumentError> {
        let mut deepest = 0;
        for selection in &selections.items {
            let depth = match &selection.node {
                Selection::Field(field) => {
                    let inner = self.of(&field.node.selection_set.node)?;
                    let name = field.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        if inner + 1 > MAX_INTROSPECTION_DEPTH {
                            return Err(DocumentError::NestedTooDeep);
                        }
                        1
                    } else {
                        inner + 1
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.of(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.fragments.get(name) {
                        Some(depth) => *depth,
                        None => {
                            let depth = match self
                                .document
                                .fragments
                                .get(&spread.node.fragment_name.node)
                            {
                                Some(fragment) => self.of(&fragment.node.selection_set.node)?,
                                None => 0,
                            };
                            self.fragments.insert(name, depth);
                            depth
                        }
                    }
                }
            };
            deepest = deepest.max(depth);
        }
        Ok(deepest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!(
            "{{ books(first: {}1{}) {{ id }} }}",
            open.repeat(depth),
            close.repeat(depth)
        )
    }

    /// `{ ...F0 }` where fragment Fi spreads F(i+1) `width` times, and F(length-1) spreads none.
    fn fragment_chain(length: usize, width: usize) -> ExecutableDocument {
        let mut text = String::from("{ ...F0 }\n");
        for i in 0..length - 1 {
            let spread = format!(" ...F{}", i + 1);
            text += &format!("fragment F{i} on Query {{{} }}\n", spread.repeat(width));
        }
        text += &format!("fragment F{} on Query {{ __typename }}", length - 1);
        async_graphql::parser::parse_query(text).unwrap()
    }

    #[test]
    fn fragment_chains_are_bounded_and_cycles_refused() {
        assert_eq!(
            check_fragments(&fragment_chain(MAX_FRAGMENT_CHAIN, 1)),
            Ok(())
        );
        for length in [MAX_FRAGMENT_CHAIN + 1, 100_000] {
            assert_eq!(
                check_fragments(&fragment_chain(length, 1)),
                Err(DocumentError::FragmentChain),
                "{length}"
            );
        }
        let cycle = "{ ...A } fragment A on Query { me { ...B } } fragment B on Query { ...A }";
        assert_eq!(
            check_fragments(&async_graphql::parser::parse_query(cycle).unwrap()),
            Err(DocumentError::FragmentChain)
        );
    }

    #[test]
    fn fragments_that_multiply_are_refused_by_what_they_expand_to() {
        // Fragment k of n holds 3 * 2^(n-1-k) - 2 selections expanded; the operation one more.
        // 12 of them: 6,143 in all, under the bound.
        assert_eq!(check_fragments(&fragment_chain(12, 2)), Ok(()));
        // 13: 12,287, over it, however short the text.
        assert_eq!(
            check_fragments(&fragment_chain(13, 2)),
            Err(DocumentError::ExpandsTooFar)
        );
        // 20^31 (measured once per fragment, not walked).
        assert_eq!(
            check_fragments(&fragment_chain(MAX_FRAGMENT_CHAIN, 20)),
            Err(DocumentError::ExpandsTooFar)
        );
    }

    #[test]
    fn shallow_documents_pass() {
        assert_eq!(check_nesting("{ me { id name } }"), Ok(()));
        assert_eq!(check_nesting(&nested("[", "]", MAX_NESTING - 2)), Ok(()));
    }

    #[test]
    fn deep_values_are_refused_at_any_depth() {
        for depth in [MAX_NESTING, 1_000, 100_000] {
            assert_eq!(
                check_nesting(&nested("[", "]", depth)),
                Err(DocumentError::TooDeep)
            );
            assert_eq!(
                check_nesting(&nested("{a:", "}", depth)),
                Err(DocumentError::TooDeep)
            );
        }
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep = "[".repeat(1_000);
        assert_eq!(check_nesting(&format!("{{ a(s: \"{deep}\") }}")), Ok(()));
        assert_eq!(
            check_nesting(&format!("{{ a(s: \"\"\"{deep}\\\"\"\"{deep}\"\"\") }}")),
            Ok(())
        );
        assert_eq!(check_nesting(&format!("# {deep}\n{{ a }}")), Ok(()));
        assert_eq!(
            check_nesting(&format!("{{ a(s: \"\\\"{deep}\") }}")),
            Ok(())
        );
    }

    #[test]
    fn an_unterminated_block_string_hides_nothing() {
        // The fuzzer's case: the parser reads `"""` `"]) …` as "" then a string, and goes on.
        let hidden = "{ a(s: [\"\"\" \"]) { b { c { d } } } }";
        let depth = |document: &str| {
            (1..=MAX_NESTING)
                .find(|pad| check_nesting(&format!("{}{document}", "(".repeat(*pad))).is_err())
                .map(|pad| MAX_NESTING + 1 - pad)
        };
        assert_eq!(depth(hidden), Some(4));
        let deep = format!(
            "{{ a(s: [\"\"\" \"], t: {}1{}) }}",
            "[".repeat(2_000),
            "]".repeat(2_000)
        );
        assert_eq!(check_nesting(&deep), Err(DocumentError::TooDeep));
    }

    #[test]
    fn a_string_cannot_hide_brackets_past_its_line() {
        // An unterminated string ends at the line break, so what follows still counts.
        let document = format!("{{ a(s: \"open\n{}", "[".repeat(100));
        assert_eq!(check_nesting(&document), Err(DocumentError::TooDeep));
    }

    fn parse(document: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(document).expect("test documents parse")
    }

    #[test]
    fn one_single_use_field_passes() {
        let document = parse("mutation { login(email: \"a\", password: \"b\") { accessToken } }");
        assert_eq!(check_single_use_fields(&document), Ok(()));
        let query = parse("{ a: me { id } b: me { id } }");
        assert_eq!(check_single_use_fields(&query), Ok(()));
    }

    #[test]
    fn aliases_and_fragments_count() {
        for document in [
            "mutation { a: login(email: \"a\", password: \"b\") { accessToken } b: login(email: \"a\", password: \"c\") { accessToken } }",
            "mutation { login(email: \"a\", password: \"b\") { accessToken } register(input: {}) { accessToken } }",
            "mutation { ...F x: joinBook(code: \"c\") { id } } fragment F on Mutation { joinBook(code: \"d\") { id } }",
            "mutation { ... on Mutation { a: refreshToken(refreshToken: \"r\") { accessToken } } b: refreshToken(refreshToken: \"s\") { accessToken } }",
        ] {
            assert!(
                matches!(
                    check_single_use_fields(&parse(document)),
                    Err(DocumentError::RepeatedSingleUseField(_))
                ),
                "{document}"
            );
        }
    }

    fn nested_fields(name: &str, depth: usize) -> String {
        format!(
            "{{ {} id{} }}",
            format!("{name} {{ ").repeat(depth - 1),
            " }".repeat(depth - 1)
        )
    }

    #[test]
    fn data_may_nest_up_to_the_limit() {
        assert_eq!(check_depth(&parse(&nested_fields("a", MAX_DEPTH))), Ok(()));
        assert_eq!(
            check_depth(&parse(&nested_fields("a", MAX_DEPTH + 1))),
            Err(DocumentError::NestedTooDeep)
        );
    }

    #[test]
    fn fragments_count_as_the_fields_they_bring() {
        let inner = nested_fields("a", MAX_DEPTH);
        let document = format!("{{ b {{ ...F }} }} fragment F on T {inner}");
        assert_eq!(
            check_depth(&parse(&document)),
            Err(DocumentError::NestedTooDeep)
        );
    }

    #[test]
    fn introspection_has_its_own_bound() {
        let ok = format!(
            "{{ __schema {} }}",
            &nested_fields("ofType", MAX_INTROSPECTION_DEPTH - 1)
        );
        assert_eq!(check_depth(&parse(&ok)), Ok(()));
        let deep = format!(
            "{{ __schema {} }}",
            &nested_fields("ofType", MAX_INTROSPECTION_DEPTH)
        );
        assert_eq!(
            check_depth(&parse(&deep)),
            Err(DocumentError::NestedTooDeep)
        );
        let graphiql = include_str!("../../tests/fixtures/introspection.graphql");
        assert_eq!(check_depth(&parse(graphiql)), Ok(()));
    }

    #[test]
    fn variables_of_unknown_types_are_refused_inside_lists_too() {
        let known = |name: &str| name == "Int";
        let fine = parse("query($a: Int, $b: [[Int!]] = [[1]]) { __typename }");
        assert_eq!(check_variable_types(&fine, known), Ok(()));
        for document in [
            "query($v: X) { a }",
            "query($v: [X] = 1) { a }",
            "query($v: [[X!]!]) { a }",
        ] {
            assert_eq!(
                check_variable_types(&parse(document), known),
                Err(DocumentError::UnknownVariableType("X".into())),
                "{document}"
            );
        }
    }

    fn aliased(name: &str, count: usize) -> String {
        (0..count)
            .map(|i| format!("a{i}: {name} {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_field_may_have_a_few_aliases_in_one_set() {
        let fine = format!("{{ {} }}", aliased("me", MAX_ALIASES_PER_FIELD));
        assert_eq!(check_aliases(&parse(&fine)), Ok(()));
        let many = format!("{{ {} }}", aliased("me", MAX_ALIASES_PER_FIELD + 1));
        assert_eq!(
            check_aliases(&parse(&many)),
            Err(DocumentError::TooManyAliases("me".into()))
        );
        // The same key twice is one selection (GraphQL merges it).
        let repeated = format!(
            "{{ {} a0: me {{ id }} }}",
            aliased("me", MAX_ALIASES_PER_FIELD)
        );
        assert_eq!(check_aliases(&parse(&repeated)), Ok(()));
    }

    #[test]
    fn aliases_count_through_fragments_and_nested_sets() {
        let half = MAX_ALIASES_PER_FIELD / 2 + 1;
        let spread = format!(
            "{{ ...F ... on Query {{ {} }} }} fragment F on Query {{ {} }}",
            (0..half)
                .map(|i| format!("b{i}: me {{ id }}"))
                .collect::<Vec<_>>()
                .join(" "),
            aliased("me", half),
        );
        assert_eq!(
            check_aliases(&parse(&spread)),
            Err(DocumentError::TooManyAliases("me".into()))
        );
        let nested = format!(
            "{{ books(first: 1) {{ nodes {{ {} }} }} }}",
            aliased("members", MAX_ALIASES_PER_FIELD + 1)
        );
        assert_eq!(
            check_aliases(&parse(&nested)),
            Err(DocumentError::TooManyAliases("members".into()))
        );
        // Separate sets each have their own allowance.
        let apart = format!(
            "{{ x: books(first: 1) {{ nodes {{ {0} }} }} y: books(first: 1) {{ nodes {{ {0} }} }} }}",
            aliased("members", MAX_ALIASES_PER_FIELD)
        );
        assert_eq!(check_aliases(&parse(&apart)), Ok(()));
    }

    #[test]
    fn a_fragment_spread_twice_runs_once() {
        let document = parse(
            "mutation { ...F ...F } fragment F on Mutation { login(email: \"a\", password: \"b\") { accessToken } }",
        );
        assert_eq!(check_single_use_fields(&document), Ok(()));
    }
}
