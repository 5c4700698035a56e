//! Text people type in: [`Name`]s (one line: a book, a category, an icon, a token, a person)
//! and [`Note`]s (free text over several lines: a book's description), each parsed once where
//! it enters the service.
//!
//! # Invariant
//! A `Name` or a `Note` is trimmed, holds 1 to its field's limit of characters, and contains
//! none of these:
//! - **control characters** (Unicode `Cc`: C0, DEL, C1). NUL cannot be stored in a PostgreSQL
//!   `text` at all (SQLite would keep it and hand it to every client), ESC drives the terminal
//!   of whoever reads a log or a CSV export, and the rest only ever hide or reorder text;
//! - **bidirectional embeddings, overrides and isolates** (U+202A–U+202E, U+2066–U+2069), which
//!   make text render in another order than it is stored ("Trojan Source": `exe.txt` shown as
//!   `txt.exe`); the marks U+200E/U+200F stay allowed, as mixed-script names need them;
//! - **U+2028 and U+2029**, which break lines like a newline but are not `Cc`.
//!
//! A `Name` also has no line break and no tab: it is shown on one line, in lists, titles and
//! log lines, where a newline would fake a line of its own. A `Note` keeps `\n` and `\t`, the
//! layout of a paragraph, and nothing else of that kind (a lone `\r` could overwrite a line in a
//! terminal, and one line-break form means what is stored is what is shown).
//!
//! Failures are a [`TextError`] naming the GraphQL argument, never repeating the input; it
//! becomes BAD_USER_INPUT with that `field`.

/// What a text may span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line: [`Name`].
    Line,
    /// Lines and tabs: [`Note`].
    Paragraphs,
}

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Nothing but whitespace.
    Empty,
    TooLong {
        max_chars: usize,
    },
    /// A character the invariant above excludes from this layout.
    HiddenCharacter(Layout),
}

/// A refused text: the argument it came in (`"name"`, `"description"`, …) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextError {
    pub field: &'static str,
    pub problem: Problem,
}

impl TextError {
    /// A sentence for the client; it never contains the input.
    pub fn message(&self) -> String {
        match self.problem {
            Problem::Empty => "must not be empty".into(),
            Problem::TooLong { max_chars } => format!("must be at most {max_chars} characters"),
            Problem::HiddenCharacter(Layout::Line) => {
                "must be one line without control or bidirectional formatting characters".into()
            }
            Problem::HiddenCharacter(Layout::Paragraphs) => {
                "must not contain control or bidirectional formatting characters \
                 (line breaks and tabs are fine)"
                    .into()
            }
        }
    }
}

/// A one-line name. See the module docs for what it never contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// `input` trimmed, if it is 1 to `max_chars` characters on one line with nothing hidden.
    pub fn parse(field: &'static str, input: &str, max_chars: usize) -> Result<Self, TextError> {
        clean(field, input, max_chars, Layout::Line).map(|name| Name(name.to_owned()))
    }

    /// [`Name::parse`] for an optional argument: absent or blank means none.
    pub fn parse_optional(
        field: &'static str,
        input: Option<&str>,
        max_chars: usize,
    ) -> Result<Option<Self>, TextError> {
        unless_blank(input, |text| Self::parse(field, text, max_chars))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        name.0
    }
}

/// Free text that may span lines. See the module docs for what it never contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    /// `input` trimmed, if present, not blank, at most `max_chars` characters and nothing
    /// hidden; absent or blank means none.
    pub fn parse_optional(
        field: &'static str,
        input: Option<&str>,
        max_chars: usize,
    ) -> Result<Option<Self>, TextError> {
        unless_blank(input, |text| {
            clean(field, text, max_chars, Layout::Paragraphs).map(|note| Note(note.to_owned()))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Note> for String {
    fn from(note: Note) -> Self {
        note.0
    }
}

/// `None` for an absent or blank argument, else what `parse` makes of it.
fn unless_blank<T>(
    input: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, TextError>,
) -> Result<Option<T>, TextError> {
    input
        .filter(|text| !text.trim().is_empty())
        .map(parse)
        .transpose()
}

/// The one check behind every text type: trims `input` and enforces the module's invariant.
fn clean<'a>(
    field: &'static str,
    input: &'a str,
    max_chars: usize,
    layout: Layout,
) -> Result<&'a str, TextError> {
    let refuse = |problem| Err(TextError { field, problem });
    let text = input.trim();
    if text.is_empty() {
        return refuse(Problem::Empty);
    }
    if text.chars().count() > max_chars {
        return refuse(Problem::TooLong { max_chars });
    }
    if text.chars().any(|c| !allowed(c, layout)) {
        return refuse(Problem::HiddenCharacter(layout));
    }
    Ok(text)
}

/// Whether `c` may appear in a text of `layout`.
fn allowed(c: char, layout: Layout) -> bool {
    match c {
        '\n' | '\t' => layout == Layout::Paragraphs,
        _ => !(c.is_control() || is_bidi_control(c) || is_line_separator(c)),
    }
}

/// Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder the text that
/// follows them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// U+2028/U+2029 break lines like a newline but are not `char::is_control`.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_of(result: Result<impl std::fmt::Debug, TextError>) -> Problem {
        match result {
            Err(TextError { field, problem }) => {
                assert_eq!(field, "name");
                problem
            }
            Ok(accepted) => panic!("accepted: {accepted:?}"),
        }
    }

    #[test]
    fn names_are_trimmed_and_keep_any_script() {
        for (input, stored) in [
            ("  Zoë ", "Zoë"),
            ("東京旅行", "東京旅行"),
            ("\t Café & Bar\n", "Café & Bar"),
            ("שלום\u{200F} trip", "שלום\u{200F} trip"),
            ("👩‍👩‍👧 family", "👩‍👩‍👧 family"),
        ] {
            assert_eq!(Name::parse("name", input, 100).unwrap().as_str(), stored);
        }
    }

    #[test]
    fn names_refuse_hidden_characters() {
        for bad in [
            "Trip\u{0}",
            "Trip \u{202E}cod.exe",
            "Trip\u{2066}x\u{2069}",
            "Trip\u{1B}[2J",
            "Trip\u{7F}",
            "Trip\u{85}more",
            "Trip\nTwo",
            "Trip\r\nTwo",
            "Trip\tTwo",
            "Trip\u{2028}Two",
            "Trip\u{2029}Two",
        ] {
            assert_eq!(
                problem_of(Name::parse("name", bad, 100)),
                Problem::HiddenCharacter(Layout::Line),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_have_one_to_max_characters_after_trimming() {
        for blank in ["", "   ", "\n\t ", "\u{2028}"] {
            assert_eq!(
                problem_of(Name::parse("name", blank, 100)),
                Problem::Empty,
                "{blank:?}"
            );
        }
        // Characters, not bytes: 100 two-byte characters fit.
        assert!(Name::parse("name", &"é".repeat(100), 100).is_ok());
        assert_eq!(
            problem_of(Name::parse("name", &"é".repeat(101), 100)),
            Problem::TooLong { max_chars: 100 }
        );
        assert!(Name::parse("name", &format!("  {}  ", "x".repeat(50)), 50).is_ok());
    }

    #[test]
    fn optional_names_treat_absent_and_blank_as_none() {
        assert_eq!(Name::parse_optional("icon", None, 50), Ok(None));
        assert_eq!(Name::parse_optional("icon", Some("  "), 50), Ok(None));
        assert_eq!(
            Name::parse_optional("icon", Some(" paw "), 50).map(|n| n.map(String::from)),
            Ok(Some("paw".to_owned()))
        );
        assert_eq!(
            Name::parse_optional("icon", Some("paw\u{0}"), 50),
            Err(TextError {
                field: "icon",
                problem: Problem::HiddenCharacter(Layout::Line)
            })
        );
    }

    #[test]
    fn notes_keep_line_breaks_and_tabs_and_refuse_the_rest() {
        let note = Note::parse_optional("description", Some(" Food\n\tand drinks\n"), 1000);
        assert_eq!(
            note.map(|n| n.map(String::from)),
            Ok(Some("Food\n\tand drinks".to_owned()))
        );
        assert_eq!(
            Note::parse_optional("description", Some("\n \n"), 1000),
            Ok(None)
        );
        for bad in [
            "Food\u{0}",
            "Food \u{202E}txt.exe",
            "Food\u{1B}[2J",
            "Food\r\nDrinks",
            "Food\u{2028}Drinks",
        ] {
            assert_eq!(
                Note::parse_optional("description", Some(bad), 1000),
                Err(TextError {
                    field: "description",
                    problem: Problem::HiddenCharacter(Layout::Paragraphs)
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            Note::parse_optional("description", Some(&"x".repeat(11)), 10),
            Err(TextError {
                field: "description",
                problem: Problem::TooLong { max_chars: 10 }
            })
        );
    }

    #[test]
    fn messages_never_repeat_the_input() {
        let error = Name::parse("name", "secret\u{0}", 100).unwrap_err();
        assert!(!error.message().contains("secret"));
        assert_eq!(
            Name::parse("name", &"x".repeat(6), 5)
                .unwrap_err()
                .message(),
            "must be at most 5 characters"
        );
    }
}
