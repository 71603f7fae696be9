//! Templated text in flows (minijinja), compiled once when flows load.
//!
//! Most text in a flow is plain; it is kept as [`Text::Plain`] and never
//! touches the template engine. Text with `{{` or `{%` is compiled into one
//! environment of its own at load time, shared by every text with the same
//! source, so a webhook only renders.
//!
//! What a template can read is fixed and documented: `call` (Twilio's
//! parameters), `vars` (the call's variables), `now` (the time in the flow's
//! zone), `config` (public server settings such as the caller ID), `flow` and
//! `step`. Nothing else, in particular no environment variables, so a flow
//! can never read a secret out loud. The one exception is `secrets`, the
//! values a flow declares in its `secrets:` list: only the parts of a
//! `request` step that go to the far server may read them
//! ([`Templates::compile_request`]), and every other text that names them
//! is refused when the flows load.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::simple::Simple;

/// The names a template may use.
pub const CONTEXT_NAMES: &[&str] = &["call", "vars", "now", "config", "flow", "step"];

/// What a request's url, query, headers and body may read besides
/// [`CONTEXT_NAMES`]: the flow's declared secrets.
pub const SECRETS: &str = "secrets";

const SECRETS_OUTSIDE_REQUEST: &str = "secrets can only be read in a `request` step's url, query, headers and body, never in anything said or kept in the call";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Plain(String),
    /// A template of the common shape `Simple` renders, held as its
    /// pieces instead of a compiled minijinja template.
    Simple {
        pieces: Arc<Simple>,
        uses: Uses,
    },
    /// A template minijinja compiled, and what it reads.
    Template {
        template: Compiled,
        uses: Uses,
    },
}

/// The parts of the context a template reads. A webhook builds only these:
/// a greeting that reads `call.CallerName` needs no clock, no variables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uses {
    pub call: bool,
    pub vars: bool,
    pub now: bool,
    /// Reads `secrets.NAME`: only a request's parts may.
    pub secrets: bool,
}

impl Text {
    pub fn uses(&self) -> Uses {
        match self {
            Text::Plain(_) => Uses::default(),
            Text::Simple { uses, .. } | Text::Template { uses, .. } => *uses,
        }
    }

    pub fn is_template_source(source: &str) -> bool {
        source.contains("{{") || source.contains("{%")
    }

    /// The text for a call whose template context is `context`.
    pub fn render(&self, context: &Value) -> Result<Cow<'_, str>, String> {
        match self {
            Text::Plain(plain) => Ok(Cow::Borrowed(plain)),
            Text::Simple { pieces, .. } => Ok(Cow::Owned(pieces.render(context))),
            Text::Template { template, .. } => template.render(context).map(Cow::Owned),
        }
    }

    /// Whether a condition ([`Templates::compile_condition`]) holds.
    pub fn holds(&self, context: &Value) -> Result<bool, String> {
        Ok(self.render(context)? == "1")
    }
}

/// The name a compiled template has in its environment.
const NAME: &str = "text";

/// One template, compiled in an environment of its own, so that a flow's
/// compiled form holds everything it renders and can be shared, as it is,
/// by every version of the flow set it belongs to. Every text with the
/// same source shares one (see [`Templates`]), as do simple ones their
/// pieces.
#[derive(Clone)]
pub struct Compiled(Arc<Environment<'static>>);

impl Compiled {
    fn render(&self, context: &Value) -> Result<String, String> {
        let template = self.0.get_template(NAME).map_err(describe)?;
        template.render(context).map_err(describe)
    }

    fn source(&self) -> String {
        self.0
            .get_template(NAME)
            .map(|template| template.source().to_owned())
            .unwrap_or_default()
    }
}

impl PartialEq for Compiled {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.source() == other.source()
    }
}

impl Eq for Compiled {}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Compiled").field(&self.source()).finish()
    }
}

/// The environment every template is compiled in: its settings and
/// filters, made once. Each template gets a clone, which shares them.
fn base() -> &'static Environment<'static> {
    static BASE: LazyLock<Environment<'static>> = LazyLock::new(|| {
        let mut env = Environment::new();
        // TwiML escaping happens when the document is written; escaping
        // here too would make callers hear "amp".
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // `call.CallerName` is simply empty when Twilio did not send it.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // A loop in a template cannot hold a webhook forever.
        env.set_fuel(Some(50_000));
        // Flow authors who know Jinja write `name.upper()` or
        // `account.startswith("9")`: support Python's string and list methods.
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // `vars.account | length == 6` must not break a call when the caller
        // entered nothing: a missing value has length 0.
        env.add_filter("length", length);
        env.add_filter("count", length);
        env
    });
    &BASE
}

/// Compiles the templates of flows. minijinja keeps a whole compiled
/// program per template, many times the size of its source, and flows of
/// one line repeat the same conditions and sentences, so every template
/// with the same source is compiled once and shared, by every flow and by
/// every version kept for calls in progress, while any of them holds it.
#[derive(Default)]
pub struct Templates {
    compiled: Mutex<HashMap<String, Shared>>,
}

/// A template compiled before, while anything holds it.
enum Shared {
    Simple(Weak<Simple>, Uses),
    Template(Weak<Environment<'static>>, Uses),
}

impl Shared {
    fn of(text: &Text) -> Option<Shared> {
        match text {
            Text::Plain(_) => None,
            Text::Simple { pieces, uses } => Some(Shared::Simple(Arc::downgrade(pieces), *uses)),
            Text::Template { template, uses } => {
                Some(Shared::Template(Arc::downgrade(&template.0), *uses))
            }
        }
    }

    fn text(&self) -> Option<Text> {
        match self {
            Shared::Simple(pieces, uses) => Some(Text::Simple {
                pieces: pieces.upgrade()?,
                uses: *uses,
            }),
            Shared::Template(env, uses) => Some(Text::Template {
                template: Compiled(env.upgrade()?),
                uses: *uses,
            }),
        }
    }

    fn in_use(&self) -> bool {
        match self {
            Shared::Simple(pieces, _) => pieces.strong_count() > 0,
            Shared::Template(env, _) => env.strong_count() > 0,
        }
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    pub fn new() -> Self {
        Templates::default()
    }

    /// Compiles `source`, or returns it as plain text when it has no
    /// template syntax. The error says what minijinja found wrong.
    pub fn compile(&self, source: &str) -> Result<Text, String> {
        self.compile_reading(source, false)
    }

    /// [`Templates::compile`] for the parts of a request that go to the
    /// far server, which may also read `secrets.NAME`. The names read are
    /// left for the caller to check against the flow's declared list
    /// ([`Templates::secret_names`]).
    pub fn compile_request(&self, source: &str) -> Result<Text, String> {
        self.compile_reading(source, true)
    }

    /// The `secrets.NAME` a compiled template reads; `Err` when it reads
    /// `secrets` other than by a written name (`secrets[x]`), which the
    /// checks could not follow.
    pub fn secret_names(&self, text: &Text) -> Result<Vec<String>, String> {
        let Text::Template { template, uses } = text else {
            return Ok(Vec::new());
        };
        if !uses.secrets {
            return Ok(Vec::new());
        }
        let template = template.0.get_template(NAME).map_err(describe)?;
        let mut names = Vec::new();
        for used in template.undeclared_variables(true) {
            if used == SECRETS {
                return Err("read a secret by its name, as `secrets.NAME`".into());
            }
            if let Some(secret) = used.strip_prefix("secrets.") {
                names.push(secret.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn compile_reading(&self, source: &str, secrets: bool) -> Result<Text, String> {
        let text = self.compile_shared(source, secrets)?;
        // A text compiled before for a request is shared; only a request
        // may read what it reads.
        if text.uses().secrets && !secrets {
            return Err(SECRETS_OUTSIDE_REQUEST.into());
        }
        Ok(text)
    }

    fn compile_shared(&self, source: &str, secrets: bool) -> Result<Text, String> {
        if !Text::is_template_source(source) {
            return Ok(Text::Plain(source.to_owned()));
        }
        if let Some(text) = self.shared(source) {
            return Ok(text);
        }
        let text = self.compile_new(source, secrets)?;
        if let Some(shared) = Shared::of(&text) {
            self.compiled
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(source.to_owned(), shared);
        }
        Ok(text)
    }

    /// The text compiled before from `source`, while anything holds it.
    fn shared(&self, source: &str) -> Option<Text> {
        let compiled = self.compiled.lock().unwrap_or_else(PoisonError::into_inner);
        compiled.get(source)?.text()
    }

    fn compile_new(&self, source: &str, secrets: bool) -> Result<Text, String> {
        let mut env = base().clone();
        env.add_template_owned(NAME, source.to_owned())
            .map_err(describe)?;
        let template = env.get_template(NAME).map_err(describe)?;
        let names = template.undeclared_variables(false);
        drop(template);
        let uses = Uses {
            call: names.contains("call"),
            vars: names.contains("vars"),
            now: names.contains("now"),
            secrets: names.contains(SECRETS),
        };
        if uses.secrets && !secrets {
            return Err(SECRETS_OUTSIDE_REQUEST.into());
        }
        let mut unknown: Vec<String> = names
            .into_iter()
            .filter(|v| !CONTEXT_NAMES.contains(&v.as_str()))
            .filter(|v| !(secrets && v == SECRETS))
            .filter(|v| env.globals().all(|(global, _)| global != v))
            .collect();
        unknown.sort();
        if let Some(first) = unknown.first() {
            return Err(format!(
                "the template uses `{first}`, which does not exist: templates can read {}",
                CONTEXT_NAMES
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // minijinja has checked the template; a simple one is then kept
        // as its pieces only.
        if let Some(pieces) = Simple::parse(source) {
            return Ok(Text::Simple {
                pieces: Arc::new(pieces),
                uses,
            });
        }
        Ok(Text::Template {
            template: Compiled(Arc::new(env)),
            uses,
        })
    }

    /// Compiles a condition (`vars.account | length == 6`) as a template
    /// that renders `1` when it holds.
    pub fn compile_condition(&self, condition: &str) -> Result<Text, String> {
        let source = format!("{{% if {condition} %}}1{{% endif %}}");
        self.compile(&source)
    }

    /// Forgets the templates nothing holds any more.
    pub(crate) fn forget_unused(&self) {
        let mut compiled = self.compiled.lock().unwrap_or_else(PoisonError::into_inner);
        compiled.retain(|_, shared| shared.in_use());
    }
}

fn length(value: Value) -> Result<usize, minijinja::Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(0);
    }
    value.len().ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot take the length of {}", value.kind()),
        )
    })
}

/// minijinja's message without the template name, which means nothing to
/// a flow author (the diagnostic names the file and field instead).
fn describe(error: minijinja::Error) -> String {
    let mut message = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    if let Some(line) = error.line().filter(|&l| l > 1) {
        message.push_str(&format!(" (line {line} of the text)"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn plain_text_is_not_compiled() {
        let templates = Templates::new();
        assert_eq!(
            templates.compile("Hello there").unwrap(),
            Text::Plain("Hello there".into())
        );
    }

    #[test]
    fn templates_render_call_parameters_and_tolerate_missing_ones() {
        let templates = Templates::new();
        let text = templates
            .compile("Hi{% if call.CallerName %} {{ call.CallerName }}{% endif %}.")
            .unwrap();
        let with_name = context! { call => context! { CallerName => "Ada & co" } };
        assert_eq!(text.render(&with_name).unwrap(), "Hi Ada & co.");
        let without = context! { call => context! {} };
        assert_eq!(text.render(&without).unwrap(), "Hi.");
    }

    #[test]
    fn unknown_names_and_syntax_errors_are_refused() {
        let templates = Templates::new();
        let unknown = templates.compile("{{ From }}").unwrap_err();
        assert!(unknown.contains("`From`"), "{unknown}");
        let broken = templates.compile("{% if x %}").unwrap_err();
        assert!(broken.contains("syntax error"), "{broken}");
    }

    #[test]
    fn python_string_methods_work_as_in_jinja() {
        let templates = Templates::new();
        let text = templates
            .compile("{{ vars.name.upper() }}{% if vars.account.startswith('9') %} vip{% endif %}")
            .unwrap();
        let context = context! { vars => context! { name => "ada", account => "9123" } };
        assert_eq!(text.render(&context).unwrap(), "ADA vip");
    }

    #[test]
    fn a_missing_value_has_length_zero() {
        let templates = Templates::new();
        let condition = templates
            .compile_condition("vars.account | length == 0")
            .unwrap();
        assert!(condition.holds(&context! { vars => context! {} }).unwrap());
        let text = templates.compile("{{ vars.name | length }}").unwrap();
        let name = context! { vars => context! { name => "Ada" } };
        assert_eq!(text.render(&name).unwrap(), "3");
    }

    #[test]
    fn conditions() {
        let templates = Templates::new();
        let condition = templates
            .compile_condition("vars.account | length == 6")
            .unwrap();
        let six = context! { vars => context! { account => "123456" } };
        let five = context! { vars => context! { account => "12345" } };
        assert!(condition.holds(&six).unwrap());
        assert!(!condition.holds(&five).unwrap());
    }

    #[test]
    fn simple_templates_are_not_kept_by_minijinja() {
        let templates = Templates::new();
        let text = templates.compile("Hello {{ call.CallerName }}.").unwrap();
        assert!(matches!(text, Text::Simple { .. }), "{text:?}");
        assert!(matches!(
            templates.compiled.lock().unwrap().values().next(),
            Some(Shared::Simple(..))
        ));
        let filtered = templates
            .compile("Hello {{ call.CallerName | upper }}.")
            .unwrap();
        assert!(matches!(filtered, Text::Template { .. }), "{filtered:?}");
    }

    #[test]
    fn a_template_is_compiled_once_for_every_text_with_its_source() {
        let templates = Templates::new();
        let first = templates.compile_condition("call.Digits == '1'").unwrap();
        let again = templates.compile_condition("call.Digits == '1'").unwrap();
        let (Text::Template { template: a, .. }, Text::Template { template: b, .. }) =
            (&first, &again)
        else {
            panic!("{first:?} is compiled by minijinja");
        };
        assert!(Arc::ptr_eq(&a.0, &b.0));
        drop((first, again));
        templates.forget_unused();
        assert!(templates.compiled.lock().unwrap().is_empty());
    }

    /// Templates of the shape `Simple` recognises.
    fn simple_template() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let lookup = prop::sample::select(vec![
            "call.CallerName",
            "call.From",
            "vars.name",
            "vars.account",
        ]);
        let value = (lookup.clone(), "[ \t]{0,2}", "[ \t]{0,2}")
            .prop_map(|(lookup, before, after)| format!("{{{{{before}{lookup}{after}}}}}"));
        let piece = prop_oneof!["[A-Za-z ,.!?&<]{0,8}", value];
        let condition =
            (lookup, prop::collection::vec(piece.clone(), 0..3)).prop_map(|(lookup, body)| {
                format!("{{% if {lookup} %}}{}{{% endif %}}", body.concat())
            });
        prop::collection::vec(prop_oneof![piece, condition], 1..5).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// Kept as pieces or compiled by minijinja, a simple template says
        /// the same, whichever values the call has and lacks.
        #[test]
        fn simple_templates_render_as_minijinja_does(
            template in simple_template(),
            call in proptest::collection::btree_map(
                proptest::sample::select(vec!["CallerName", "From"]), "[a-z ]{0,4}", 0..3),
            vars in proptest::collection::btree_map(
                proptest::sample::select(vec!["name", "account"]), "[a-z ]{0,4}", 0..3),
        ) {
            let templates = Templates::new();
            let simple = templates.compile(&template).unwrap();
            proptest::prop_assert!(!matches!(simple, Text::Template { .. }), "{}", template);
            let mut env = base().clone();
            env.add_template_owned(NAME, template.clone()).unwrap();
            let compiled = Text::Template { template: Compiled(Arc::new(env)), uses: simple.uses() };
            let context = context! { call => call, vars => vars };
            proptest::prop_assert_eq!(
                simple.render(&context).unwrap(),
                compiled.render(&context).unwrap(),
                "{}", template
            );
        }
    }
}
