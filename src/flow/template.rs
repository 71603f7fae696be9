//! Templated text in flows (minijinja), compiled once when flows load.
//!
//! Most text in a flow is plain; it is kept as [`Text::Plain`] and never
//! touches the template engine. Text with `{{` or `{%` is compiled into one
//! shared environment at load time, so a webhook only renders.
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

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::simple::Simple;

/// The names a template may use.
pub const CONTEXT_NAMES: &[&str] = &["call", "vars", "now", "config", "flow", "step"];

/// What a request's url, query, headers and body may read besides
/// [`CONTEXT_NAMES`]: the flow's declared secrets.
pub const SECRETS: &str = "secrets";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Plain(String),
    /// A template of the common shape `Simple` renders, held as its
    /// pieces instead of a compiled minijinja template.
    Simple {
        pieces: Simple,
        uses: Uses,
    },
    /// A compiled template of the flow set, and what it reads.
    Template {
        name: String,
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
}

/// Every template of a flow set, compiled.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

impl Templates {
    pub fn new() -> Self {
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
        Templates { env }
    }

    /// Compiles `source` under `name`, or returns it as plain text when it
    /// has no template syntax. The error says what minijinja found wrong.
    pub fn compile(&mut self, name: String, source: &str) -> Result<Text, String> {
        self.compile_reading(name, source, false)
    }

    /// [`Templates::compile`] for the parts of a request that go to the
    /// far server, which may also read `secrets.NAME`. The names read are
    /// left for the caller to check against the flow's declared list
    /// ([`secret_names`]).
    pub fn compile_request(&mut self, name: String, source: &str) -> Result<Text, String> {
        self.compile_reading(name, source, true)
    }

    /// The `secrets.NAME` a compiled template reads; `Err` when it reads
    /// `secrets` other than by a written name (`secrets[x]`), which the
    /// checks could not follow.
    pub fn secret_names(&self, text: &Text) -> Result<Vec<String>, String> {
        let Text::Template { name, uses } = text else {
            return Ok(Vec::new());
        };
        if !uses.secrets {
            return Ok(Vec::new());
        }
        let template = self.env.get_template(name).map_err(describe)?;
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

    fn compile_reading(
        &mut self,
        name: String,
        source: &str,
        secrets: bool,
    ) -> Result<Text, String> {
        if !Text::is_template_source(source) {
            return Ok(Text::Plain(source.to_owned()));
        }
        self.env
            .add_template_owned(name.clone(), source.to_owned())
            .map_err(describe)?;
        let template = self.env.get_template(&name).map_err(describe)?;
        let names = template.undeclared_variables(false);
        let uses = Uses {
            call: names.contains("call"),
            vars: names.contains("vars"),
            now: names.contains("now"),
            secrets: names.contains(SECRETS),
        };
        if uses.secrets && !secrets {
            return Err("secrets can only be read in a `request` step's url, query, headers and body, never in anything said or kept in the call".into());
        }
        let mut unknown: Vec<String> = names
            .into_iter()
            .filter(|v| !CONTEXT_NAMES.contains(&v.as_str()))
            .filter(|v| !(secrets && v == SECRETS))
            .filter(|v| self.env.globals().all(|(global, _)| global != v))
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
            self.env.remove_template(&name);
            return Ok(Text::Simple { pieces, uses });
        }
        Ok(Text::Template { name, uses })
    }

    /// Compiles a condition (`vars.account | length == 6`) as a template
    /// that renders `1` when it holds.
    pub fn compile_condition(&mut self, name: String, condition: &str) -> Result<Text, String> {
        let source = format!("{{% if {condition} %}}1{{% endif %}}");
        self.compile(name, &source)
    }

    pub fn render<'a>(&self, text: &'a Text, context: &Value) -> Result<Cow<'a, str>, String> {
        match text {
            Text::Plain(plain) => Ok(Cow::Borrowed(plain)),
            Text::Simple { pieces, .. } => Ok(Cow::Owned(pieces.render(context))),
            Text::Template { name, .. } => {
                let template = self.env.get_template(name).map_err(describe)?;
                template.render(context).map(Cow::Owned).map_err(describe)
            }
        }
    }

    pub fn holds(&self, condition: &Text, context: &Value) -> Result<bool, String> {
        Ok(self.render(condition, context)? == "1")
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
        let mut templates = Templates::new();
        assert_eq!(
            templates.compile("a".into(), "Hello there").unwrap(),
            Text::Plain("Hello there".into())
        );
    }

    #[test]
    fn templates_render_call_parameters_and_tolerate_missing_ones() {
        let mut templates = Templates::new();
        let text = templates
            .compile(
                "t".into(),
                "Hi{% if call.CallerName %} {{ call.CallerName }}{% endif %}.",
            )
            .unwrap();
        let with_name = context! { call => context! { CallerName => "Ada & co" } };
        assert_eq!(templates.render(&text, &with_name).unwrap(), "Hi Ada & co.");
        let without = context! { call => context! {} };
        assert_eq!(templates.render(&text, &without).unwrap(), "Hi.");
    }

    #[test]
    fn unknown_names_and_syntax_errors_are_refused() {
        let mut templates = Templates::new();
        let unknown = templates.compile("u".into(), "{{ From }}").unwrap_err();
        assert!(unknown.contains("`From`"), "{unknown}");
        let broken = templates.compile("b".into(), "{% if x %}").unwrap_err();
        assert!(broken.contains("syntax error"), "{broken}");
    }

    #[test]
    fn python_string_methods_work_as_in_jinja() {
        let mut templates = Templates::new();
        let text = templates
            .compile(
                "p".into(),
                "{{ vars.name.upper() }}{% if vars.account.startswith('9') %} vip{% endif %}",
            )
            .unwrap();
        let context = context! { vars => context! { name => "ada", account => "9123" } };
        assert_eq!(templates.render(&text, &context).unwrap(), "ADA vip");
    }

    #[test]
    fn a_missing_value_has_length_zero() {
        let mut templates = Templates::new();
        let condition = templates
            .compile_condition("l".into(), "vars.account | length == 0")
            .unwrap();
        assert!(
            templates
                .holds(&condition, &context! { vars => context! {} })
                .unwrap()
        );
        let text = templates
            .compile("n".into(), "{{ vars.name | length }}")
            .unwrap();
        let name = context! { vars => context! { name => "Ada" } };
        assert_eq!(templates.render(&text, &name).unwrap(), "3");
    }

    #[test]
    fn conditions() {
        let mut templates = Templates::new();
        let condition = templates
            .compile_condition("c".into(), "vars.account | length == 6")
            .unwrap();
        let six = context! { vars => context! { account => "123456" } };
        let five = context! { vars => context! { account => "12345" } };
        assert!(templates.holds(&condition, &six).unwrap());
        assert!(!templates.holds(&condition, &five).unwrap());
    }

    #[test]
    fn simple_templates_are_not_kept_by_minijinja() {
        let mut templates = Templates::new();
        let text = templates
            .compile("s".into(), "Hello {{ call.CallerName }}.")
            .unwrap();
        assert!(matches!(text, Text::Simple { .. }), "{text:?}");
        assert!(templates.env.get_template("s").is_err());
        let filtered = templates
            .compile("f".into(), "Hello {{ call.CallerName | upper }}.")
            .unwrap();
        assert!(matches!(filtered, Text::Template { .. }), "{filtered:?}");
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
            let mut templates = Templates::new();
            let simple = templates.compile("t".into(), &template).unwrap();
            proptest::prop_assert!(!matches!(simple, Text::Template { .. }), "{}", template);
            templates.env.add_template_owned("m", template.clone()).unwrap();
            let compiled = Text::Template { name: "m".into(), uses: simple.uses() };
            let context = context! { call => call, vars => vars };
            proptest::prop_assert_eq!(
                templates.render(&simple, &context).unwrap(),
                templates.render(&compiled, &context).unwrap(),
                "{}", template
            );
        }
    }
}
