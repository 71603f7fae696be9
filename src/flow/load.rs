//! Loading a set of flows: read, parse, compile, check, in that order.
//!
//! Loading never stops at the first mistake: every file is read, every step
//! compiled, and every problem reported with its file, line and column, so
//! an author fixes a whole edit in one go. A set with any error is refused
//! as a whole; the server then refuses to start (or, on a hot reload, keeps
//! serving the last good set).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use super::compile::{FlowSource, compile_flow, gather_names};
use super::compiler::valid_name;
use super::diagnostic::{Diagnostic, Position, Report};
use super::files::MaxFileBytes;
use super::model::{Flow, FlowSet};
use super::position::PositionIndex;
use super::prompt_files::{self, PromptFiles};
pub use super::read::Source;
pub(crate) use super::read::read_sources;
use super::secrets::{SecretSource, SecretValues};
use super::shape::checked_index;
use super::spec::FlowSpec;
use super::target::FlowId;
use super::template::Templates;
use super::yaml_error::structural_errors;

/// A flow set that loaded, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub flows: FlowSet,
    pub warnings: Report,
}

/// Loads every flow in `dir` (subfolders too). Files ending in `.test.yaml`
/// are flow tests, not flows, and files inside a folder named `prompts` are
/// shared prompt tables, not flows; hidden files and folders (editor swap files,
/// a Kubernetes ConfigMap's `..data`) are skipped. Files over the default
/// [`MaxFileBytes`] are refused.
pub fn load(dir: &Path) -> Result<Loaded, Report> {
    load_limited(dir, MaxFileBytes::default())
}

/// [`load()`], refusing files over `max`.
pub fn load_limited(dir: &Path, max: MaxFileBytes) -> Result<Loaded, Report> {
    load_sources(read_sources(dir, max)?)
}

/// A file that parsed, waiting to be compiled.
struct Parsed {
    source: Source,
    spec: Arc<FlowSpec>,
    index: Arc<PositionIndex>,
}

/// Files parsed by earlier loads, by flow name. Parsing is most of the cost
/// of a load, and an edit touches few files, so a hot reload hands the
/// same cache to every load and only edited files are parsed again; every
/// flow is still compiled and checked against the others.
#[derive(Default)]
pub(crate) struct ParseCache {
    files: HashMap<String, CachedParse>,
}

struct CachedParse {
    text: String,
    spec: Arc<FlowSpec>,
    index: Arc<PositionIndex>,
}

impl ParseCache {
    /// The file parsed, from the cache when its text is unchanged, or
    /// every mistake found in it.
    fn parse(
        &mut self,
        source: &Source,
    ) -> Result<(Arc<FlowSpec>, Arc<PositionIndex>), Vec<Diagnostic>> {
        if let Some(cached) = self.files.get(&source.name)
            && cached.text == source.text
        {
            return Ok((cached.spec.clone(), cached.index.clone()));
        }
        // Shape first: it is what keeps a deeply nested file from costing
        // serde's time.
        let index = Arc::new(checked_index(&source.file, &source.text)?);
        let spec = serde_yaml_ng::from_str::<FlowSpec>(&source.text)
            .map_err(|error| structural_errors(source, &error))?;
        let spec = Arc::new(spec);
        self.files.insert(
            source.name.clone(),
            CachedParse {
                text: source.text.clone(),
                spec: spec.clone(),
                index: index.clone(),
            },
        );
        Ok((spec, index))
    }
}

/// Loads flows from memory: the folder loader, hot reload and tests all end
/// up here.
pub fn load_sources(sources: Vec<Source>) -> Result<Loaded, Report> {
    load_sources_with(sources, &mut ParseCache::default())
}

/// [`load_sources`], parsing only the files `cache` has not seen as they
/// are now. The cache then holds this load's files.
pub(crate) fn load_sources_with(
    sources: Vec<Source>,
    cache: &mut ParseCache,
) -> Result<Loaded, Report> {
    let mut report = Report::default();
    let version = version_of(&sources);
    {
        let names: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        cache.files.retain(|name, _| names.contains(name.as_str()));
    }

    let (shared, sources): (Vec<Source>, Vec<Source>) = sources
        .into_iter()
        .partition(|source| prompt_files::is_prompt_file(&source.name));
    let mut prompt_files = PromptFiles::new();
    for source in &shared {
        match prompt_files::parse(source) {
            Ok(file) => {
                prompt_files.insert(source.name.clone(), file);
            }
            Err(diagnostics) => {
                for diagnostic in diagnostics {
                    report.push(diagnostic);
                }
            }
        }
    }

    let mut parsed = Vec::new();
    for source in sources {
        if !valid_name(&source.name, true) {
            report.push(Diagnostic::error(
                &source.file,
                Position::START,
                format!(
                    "`{}` cannot be a flow name: name flow files with letters, digits, `_` and `-` only",
                    source.name
                ),
            ));
            continue;
        }
        match cache.parse(&source) {
            Ok((spec, index)) => {
                parsed.push(Parsed {
                    source,
                    spec,
                    index,
                });
            }
            Err(diagnostics) => {
                for diagnostic in diagnostics {
                    report.push(diagnostic);
                }
            }
        }
    }

    let sources: Vec<FlowSource<'_>> = parsed
        .iter()
        .map(|parsed| FlowSource {
            name: &parsed.source.name,
            file: &parsed.source.file,
            index: &parsed.index,
            spec: &parsed.spec,
        })
        .collect();
    let names = gather_names(&sources, &mut report);
    let mut templates = Templates::new();
    let flows: Vec<Flow> = sources
        .iter()
        .enumerate()
        .map(|(id, source)| {
            compile_flow(
                &mut report,
                &mut templates,
                &names,
                id,
                source,
                &prompt_files,
            )
        })
        .collect();

    let by_number = claim_numbers(&flows, &parsed, &mut report);
    if !report.has_errors() {
        let indexes: Vec<&PositionIndex> = parsed.iter().map(|p| p.index.as_ref()).collect();
        super::check::check_steps(&flows, &indexes, &mut report);
    }
    report.sort();
    if report.has_errors() {
        return Err(report);
    }
    Ok(Loaded {
        flows: FlowSet {
            flows,
            by_name: names.flows,
            by_number,
            templates,
            version,
            secrets: SecretValues::default(),
        },
        warnings: report,
    })
}

/// What the server serves: [`load_sources_with`], then every declared
/// secret read from the environment. A missing one refuses the set, so the
/// server does not start (or a reload keeps the last good set).
pub(crate) fn load_serving(sources: Vec<Source>, cache: &mut ParseCache) -> Result<Loaded, Report> {
    let loaded = load_sources_with(sources, cache)?;
    Ok(Loaded {
        flows: loaded.flows.with_secrets(&SecretSource::Environment)?,
        warnings: loaded.warnings,
    })
}

/// A short content hash of every file: equal sets have equal versions.
fn version_of(sources: &[Source]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut sorted: Vec<&Source> = sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for source in sorted {
        context.update(source.name.as_bytes());
        context.update(&[0]);
        context.update(source.text.as_bytes());
        context.update(&[0]);
    }
    let digest = context.finish();
    digest.as_ref()[..6]
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Numbers that route calls: each may belong to one flow only.
fn claim_numbers(
    flows: &[Flow],
    parsed: &[Parsed],
    report: &mut Report,
) -> HashMap<String, FlowId> {
    let mut by_number: HashMap<String, FlowId> = HashMap::new();
    for (id, flow) in flows.iter().enumerate() {
        for (i, number) in flow.numbers.iter().enumerate() {
            if let Some(&owner) = by_number.get(number) {
                report.push(
                    Diagnostic::error(
                        &flow.file,
                        parsed[id].index.value(&format!("numbers.{i}")),
                        format!(
                            "{number} is already answered by flow `{}`",
                            flows[owner].name
                        ),
                    )
                    .with_help("a number can route to one flow only: remove it from one of them"),
                );
            } else {
                by_number.insert(number.clone(), id);
            }
        }
    }
    by_number
}
