//! Hot reload: edit a flow file while the server runs, and the next call
//! follows the edit.
//!
//! The [`FlowStore`] owns the flow set the server answers with. A reload
//! checks the whole folder, as start-up and `callflow check` do, but reads,
//! parses and compiles only the files that changed (see the loader), and
//! only a set that checks is swapped in, in one atomic store:
//! a webhook sees the old set or the new one, never a mix. A set that does
//! not check changes nothing for callers; the store keeps its report for
//! `GET /flows` and logs it.
//!
//! [`spawn_watcher`] watches the folder (subfolders too) and runs a reload
//! once the folder has been quiet for a moment, so that an editor's save
//! (temp file and rename), a `git checkout` of many files or a Kubernetes
//! ConfigMap update (an atomic swap of the `..data` symlink) is one reload
//! and is never read half-written. SIGHUP asks for a reload too.
//!
//! A watch follows the folder it was set on, not its name: once the folder
//! is deleted (and made again), or `FLOWS_DIR`'s link re-pointed, nothing
//! more would be seen. So the watcher looks every [`REARM_CHECK`] whether
//! the folder at `FLOWS_DIR` is still the one it watches, and if not,
//! watches the new one and reloads; SIGHUP re-arms it too. A folder that is
//! gone is a refused reload, so `GET /flows` says so, and the report goes
//! once the files are back.
//!
//! Calls in progress stay on the version of the flows they started with:
//! callback URLs name it (`v=` in the call's state), and the store keeps the
//! last few versions ([`KEPT_VERSIONS`]) to answer them, each until no
//! webhook has used it for [`VERSION_IDLE`]. Versions share every flow an
//! edit did not change (the same `Arc`), so a kept version costs the flows
//! its reload changed and a pointer per flow; both limits bound that. A call
//! whose version has been dropped (or that another instance answers) moves
//! to the current set; the engine sends it on quietly if its step is gone.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jiff::Timestamp;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::engine::EngineSettings;
use crate::flow::diagnostic::Position;
use crate::flow::load::{Digest, Input, Loader, with_environment_secrets};
use crate::flow::{Diagnostic, FlowSet, MaxFileBytes, Report};

/// The flow set now serving. A webhook takes one atomic load of it; a
/// reload swaps in a new set without ever blocking a request.
pub type SharedFlows = Arc<ArcSwap<FlowSet>>;

/// How many versions of the flow set the store keeps, the serving one
/// included, for calls that started on an earlier one. Each holds the
/// flows its reload changed, so this bounds the memory reloads can hold on
/// to.
pub const KEPT_VERSIONS: usize = 8;

/// How long a replaced version is kept after its last webhook. Calls answer
/// a prompt within seconds; a dial or a recording reports back when it
/// ends, which can take longer, and a call that misses its version is
/// still answered, on the serving one.
pub const VERSION_IDLE: Duration = Duration::from_secs(15 * 60);

/// The flow set being served, the versions calls in progress still use,
/// and how the last reload went.
pub struct FlowStore {
    /// The folder reloads read; `None` for a set handed over in code.
    dir: Option<PathBuf>,
    flows: SharedFlows,
    /// Recent sets, newest (the serving one) first.
    recent: ArcSwap<Vec<Arc<Kept>>>,
    kept: usize,
    idle: Duration,
    /// What `Kept::last_used` counts from.
    epoch: Instant,
    status: ArcSwap<Status>,
    /// Flows the settings route calls to (`DEFAULT_FLOW`, `OUTBOUND_FLOW`).
    routed: Vec<String>,
    /// Held for a whole reload, so two reloads never interleave.
    files: Mutex<Files>,
    reloads: AtomicU64,
    counts: ReloadCounts,
}

/// How a reload went, as the metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    Swapped,
    Unchanged,
    Refused,
    Superseded,
}

impl ReloadResult {
    pub const ALL: [ReloadResult; 4] = [
        ReloadResult::Swapped,
        ReloadResult::Unchanged,
        ReloadResult::Refused,
        ReloadResult::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Swapped => "swapped",
            ReloadResult::Unchanged => "unchanged",
            ReloadResult::Refused => "refused",
            ReloadResult::Superseded => "superseded",
        }
    }

    fn of(reload: &Reload) -> ReloadResult {
        match reload {
            Reload::Swapped { .. } => ReloadResult::Swapped,
            Reload::Unchanged { .. } => ReloadResult::Unchanged,
            Reload::Refused(_) => ReloadResult::Refused,
            Reload::Superseded => ReloadResult::Superseded,
        }
    }
}

/// Reloads since start-up, by how they went.
#[derive(Debug, Default)]
pub struct ReloadCounts([AtomicU64; 4]);

impl ReloadCounts {
    pub fn get(&self, result: ReloadResult) -> u64 {
        self.0[result as usize].load(Ordering::Relaxed)
    }

    fn count(&self, result: ReloadResult) {
        self.0[result as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// A version kept for calls in progress.
struct Kept {
    set: Arc<FlowSet>,
    /// Milliseconds after the store's epoch when a webhook last used it.
    last_used: AtomicU64,
}

/// What the store remembers of the files behind the serving set.
#[derive(Default)]
struct Files {
    fingerprints: Fingerprints,
    /// So a reload reads, parses and compiles only what an edit touched.
    loader: Loader,
    /// The files of the last refused reload, so that the same mistake is
    /// not checked and reported again and again.
    refused: Option<(Fingerprints, Report)>,
}

/// Flow name → a hash of its file's text: tells which flows an edit touched.
type Fingerprints = HashMap<String, Digest>;

/// What `GET /flows` reports: the set being served and the last failure.
#[derive(Debug, Clone)]
pub struct Status {
    pub serving: Arc<FlowSet>,
    /// When the serving set was swapped in.
    pub loaded_at: Timestamp,
    /// The last reload that was refused, until a later one succeeds.
    pub last_error: Option<ReloadError>,
}

/// A refused reload: when, and every diagnostic.
#[derive(Debug, Clone)]
pub struct ReloadError {
    pub at: Timestamp,
    pub report: Report,
}

/// How one reload went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// A new set is serving.
    Swapped {
        from: String,
        to: String,
        changes: Changes,
    },
    /// The files are what is serving already.
    Unchanged { version: String },
    /// The files do not check; the last good set keeps serving.
    Refused(Report),
    /// The files changed while they were read; a newer reload follows.
    Superseded,
}

/// Which flows a reload added, removed and changed, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Changes {
    fn between(old: &Fingerprints, new: &Fingerprints) -> Changes {
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names
        };
        Changes {
            added: sorted(
                new.keys()
                    .filter(|name| !old.contains_key(*name))
                    .cloned()
                    .collect(),
            ),
            removed: sorted(
                old.keys()
                    .filter(|name| !new.contains_key(*name))
                    .cloned()
                    .collect(),
            ),
            changed: sorted(
                new.iter()
                    .filter(|(name, print)| old.get(*name).is_some_and(|old| old != *print))
                    .map(|(name, _)| name.clone())
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
        ];
        let mut first = true;
        for (what, names) in parts.into_iter().filter(|(_, names)| !names.is_empty()) {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{what} {}", names.join(", "))?;
        }
        if first {
            f.write_str("no flow changed")?;
        }
        Ok(())
    }
}

/// The flow set one webhook runs on; see [`FlowStore::for_call`].
pub enum CallFlows {
    Serving(arc_swap::Guard<Arc<FlowSet>>),
    Kept(Arc<FlowSet>),
}

impl std::ops::Deref for CallFlows {
    type Target = FlowSet;

    fn deref(&self) -> &FlowSet {
        match self {
            CallFlows::Serving(guard) => guard,
            CallFlows::Kept(set) => set,
        }
    }
}

impl FlowStore {
    /// Loads `dir` for start-up: an error here should stop the server, as
    /// a server with no good flows has nothing to fall back on. The `Ok`
    /// side carries the warnings.
    pub fn open(dir: &Path, settings: &EngineSettings) -> Result<(FlowStore, Report), Report> {
        FlowStore::open_limited(dir, MaxFileBytes::default(), settings)
    }

    /// [`FlowStore::open`], refusing files over `max` now and on reloads.
    pub fn open_limited(
        dir: &Path,
        max: MaxFileBytes,
        settings: &EngineSettings,
    ) -> Result<(FlowStore, Report), Report> {
        let mut loader = Loader::new(max);
        let inputs = loader.read(dir)?;
        let fingerprints = fingerprints(&inputs);
        let loaded = with_environment_secrets(loader.load(inputs)?)?;
        let files = Files {
            fingerprints,
            loader,
            refused: None,
        };
        let mut store = FlowStore::fixed(loaded.flows);
        store.dir = Some(dir.to_owned());
        store.routed = vec![
            settings.default_flow.clone(),
            settings.outbound_flow.clone(),
        ];
        store.files = Mutex::new(files);
        Ok((store, loaded.warnings))
    }

    /// A store serving `flows` with no folder behind it: tests, simulated
    /// calls. It never reloads.
    pub fn fixed(flows: FlowSet) -> FlowStore {
        let serving = Arc::new(flows);
        FlowStore {
            dir: None,
            flows: Arc::new(ArcSwap::new(serving.clone())),
            recent: ArcSwap::from_pointee(vec![Arc::new(Kept {
                set: serving.clone(),
                last_used: AtomicU64::new(0),
            })]),
            kept: KEPT_VERSIONS,
            idle: VERSION_IDLE,
            epoch: Instant::now(),
            status: ArcSwap::from_pointee(Status {
                serving,
                loaded_at: Timestamp::now(),
                last_error: None,
            }),
            routed: Vec::new(),
            files: Mutex::new(Files::default()),
            reloads: AtomicU64::new(0),
            counts: ReloadCounts::default(),
        }
    }

    /// Keeps `count` versions (at least the serving one) for calls in
    /// progress instead of [`KEPT_VERSIONS`].
    pub fn with_kept_versions(mut self, count: usize) -> FlowStore {
        self.kept = count.max(1);
        self
    }

    /// Drops a replaced version once no webhook has used it for `idle`
    /// instead of [`VERSION_IDLE`].
    pub fn with_version_idle(mut self, idle: Duration) -> FlowStore {
        self.idle = idle;
        self
    }

    /// The folder reloads read.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The handle webhooks load the serving set from.
    pub fn flows(&self) -> &SharedFlows {
        &self.flows
    }

    /// The set serving new calls.
    pub fn current(&self) -> Arc<FlowSet> {
        self.flows.load_full()
    }

    /// The set a webhook runs on: the version its URL names while the store
    /// keeps it, else the serving set.
    ///
    /// The serving set is borrowed through arc-swap's guard rather than
    /// cloned: every webhook taking a reference count on the same `Arc`
    /// would make the server's threads fight over one cache line.
    pub fn for_call(&self, version: Option<&str>) -> CallFlows {
        let current = self.flows.load();
        match version {
            Some(version) if version != current.version() => {
                match self
                    .recent
                    .load()
                    .iter()
                    .find(|k| k.set.version() == version)
                {
                    Some(kept) => {
                        kept.last_used.store(self.millis(), Ordering::Relaxed);
                        CallFlows::Kept(kept.set.clone())
                    }
                    None => CallFlows::Serving(current),
                }
            }
            _ => CallFlows::Serving(current),
        }
    }

    /// The versions kept for calls in progress, newest first.
    pub fn kept_versions(&self) -> Vec<String> {
        self.recent
            .load()
            .iter()
            .map(|kept| kept.set.version().to_owned())
            .collect()
    }

    /// Drops the replaced versions no webhook has used for the idle time.
    /// The watcher calls it every minute, and every reload does. Skipped
    /// while a reload runs.
    pub fn drop_idle_versions(&self) {
        if let Ok(_reloading) = self.files.try_lock() {
            self.drop_idle();
        }
    }

    /// [`FlowStore::drop_idle_versions`], with the reload lock held.
    fn drop_idle(&self) {
        let recent = self.recent.load();
        let now = self.millis();
        let idle = u64::try_from(self.idle.as_millis()).unwrap_or(u64::MAX);
        let in_use =
            |kept: &&Arc<Kept>| now.saturating_sub(kept.last_used.load(Ordering::Relaxed)) < idle;
        if recent.iter().skip(1).all(|kept| in_use(&kept)) {
            return;
        }
        let kept: Vec<Arc<Kept>> = recent
            .iter()
            .take(1)
            .chain(recent.iter().skip(1).filter(in_use))
            .cloned()
            .collect();
        self.recent.store(Arc::new(kept));
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The serving set with when it went live and the last refused reload,
    /// read together.
    pub fn status(&self) -> Arc<Status> {
        self.status.load_full()
    }

    /// How many reloads have read the folder, for tests and measurements.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Reads and checks the folder and serves the result if it checks.
    /// Blocking: it reads and compiles the files that changed.
    pub fn reload(&self) -> Reload {
        self.reload_unless(|| false)
    }

    /// Reloads since start-up, by how they went.
    pub fn reload_counts(&self) -> &ReloadCounts {
        &self.counts
    }

    /// [`FlowStore::reload`], unless `superseded` says, once the folder has
    /// been read and checked, that it changed meanwhile.
    fn reload_unless(&self, superseded: impl Fn() -> bool) -> Reload {
        let reload = self.read_and_swap(superseded);
        self.counts.count(ReloadResult::of(&reload));
        reload
    }

    fn read_and_swap(&self, superseded: impl Fn() -> bool) -> Reload {
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let Some(dir) = &self.dir else {
            let mut report = Report::default();
            report.push(Diagnostic::error(
                Path::new("."),
                Position::START,
                "these flows were not loaded from a folder, so there is nothing to reload",
            ));
            return Reload::Refused(report);
        };
        let current = self.current();
        let began = Instant::now();
        let inputs = match files.loader.read(dir) {
            Ok(inputs) => inputs,
            Err(_) if superseded() => return Reload::Superseded,
            Err(report) => return self.refuse(report),
        };
        let new_files = fingerprints(&inputs);
        tracing::debug!(files = inputs.len(), took = ?began.elapsed(), "flows folder read");
        if new_files == files.fingerprints {
            files.refused = None;
            return self.unchanged(&current);
        }
        if let Some((_, report)) = files.refused.as_ref().filter(|(f, _)| *f == new_files) {
            tracing::warn!(
                "the flow files still have the errors reported before; version {} keeps serving",
                current.version()
            );
            // Reported before, but maybe not last: the folder may have been
            // gone in between.
            self.show_refusal(report);
            return Reload::Refused(report.clone());
        }
        let loaded = files.loader.load(inputs).and_then(with_environment_secrets);
        if superseded() {
            return Reload::Superseded;
        }
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(report) => {
                files.refused = Some((new_files, report.clone()));
                return self.refuse(report);
            }
        };
        if loaded.flows.version() == current.version() {
            files.fingerprints = new_files;
            files.refused = None;
            return self.unchanged(&current);
        }
        if let Some(report) = self.routed_flows_removed(&current, &loaded.flows) {
            files.refused = Some((new_files, report.clone()));
            return self.refuse(report);
        }
        if !loaded.warnings.is_empty() {
            tracing::warn!("the reloaded flows have warnings:\n{}", loaded.warnings);
        }
        let changes = Changes::between(&files.fingerprints, &new_files);
        files.fingerprints = new_files;
        files.refused = None;
        let serving = Arc::new(loaded.flows);
        self.flows.store(serving.clone());
        tracing::debug!(took = ?began.elapsed(), "flows read, loaded and serving");
        let now = self.millis();
        let previous = self.recent.load();
        // The version replaced served until now.
        if let Some(replaced) = previous.first() {
            replaced.last_used.store(now, Ordering::Relaxed);
        }
        let mut recent = vec![Arc::new(Kept {
            set: serving.clone(),
            last_used: AtomicU64::new(now),
        })];
        recent.extend(
            previous
                .iter()
                .filter(|kept| kept.set.version() != serving.version())
                .take(self.kept - 1)
                .cloned(),
        );
        drop(previous);
        self.recent.store(Arc::new(recent));
        self.drop_idle();
        self.status.store(Arc::new(Status {
            serving: serving.clone(),
            loaded_at: Timestamp::now(),
            last_error: None,
        }));
        tracing::info!(
            "flows reloaded: version {} → {}: {changes}",
            current.version(),
            serving.version()
        );
        Reload::Swapped {
            from: current.version().to_owned(),
            to: serving.version().to_owned(),
            changes,
        }
    }

    fn unchanged(&self, current: &Arc<FlowSet>) -> Reload {
        let status = self.status.load();
        if status.last_error.is_some() {
            tracing::info!(
                "the flow files are back to version {}, which is serving",
                current.version()
            );
            self.status.store(Arc::new(Status {
                last_error: None,
                ..Status::clone(&status)
            }));
        }
        Reload::Unchanged {
            version: current.version().to_owned(),
        }
    }

    fn refuse(&self, report: Report) -> Reload {
        tracing::error!(
            "flows not reloaded; version {} keeps serving:\n{report}",
            self.current().version()
        );
        self.show_refusal(&report);
        Reload::Refused(report)
    }

    /// Makes `report` the last error `GET /flows` shows, unless it is.
    fn show_refusal(&self, report: &Report) {
        let status = self.status.load();
        if status
            .last_error
            .as_ref()
            .is_some_and(|shown| shown.report == *report)
        {
            return;
        }
        self.status.store(Arc::new(Status {
            last_error: Some(ReloadError {
                at: Timestamp::now(),
                report: report.clone(),
            }),
            ..Status::clone(&status)
        }));
    }

    /// A flow the settings send calls to cannot vanish in a reload, just as
    /// a flow another flow's `goto` names cannot: every call it answered
    /// would hear an apology.
    fn routed_flows_removed(&self, current: &FlowSet, new: &FlowSet) -> Option<Report> {
        let mut report = Report::default();
        for name in &self.routed {
            if let (Some(flow), None) = (current.by_name(name), new.by_name(name)) {
                report.push(
                    Diagnostic::error(
                        &flow.file,
                        Position::START,
                        format!("flow `{name}` is gone, but the server routes calls to it"),
                    )
                    .with_help(
                        "put the file back, or point DEFAULT_FLOW or OUTBOUND_FLOW at another flow and restart",
                    ),
                );
            }
        }
        (!report.is_empty()).then_some(report)
    }
}

fn fingerprints(inputs: &[Input]) -> Fingerprints {
    inputs
        .iter()
        .map(|input| (input.name.clone(), input.digest))
        .collect()
}

/// How the watcher waits for a folder to settle.
#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    /// How long the folder must stay quiet before it is read. Editors,
    /// `git` and the kubelet finish a save well within it.
    pub quiet: Duration,
    /// The longest a stream of changes can hold a reload back.
    pub max_delay: Duration,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            quiet: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

/// Times a reload may be dropped because files changed while they were
/// read, before one is served anyway (a folder that never stops changing).
const MAX_SUPERSEDED: u32 = 5;

/// How often the watcher looks whether the folder at `FLOWS_DIR` is still
/// the one it watches: a deleted and recreated folder is watched again
/// within about this long. One `stat` each time.
pub const REARM_CHECK: Duration = Duration::from_secs(1);

/// Watches the store's folder and reloads it as it changes, and on SIGHUP,
/// until the returned [`Watching`] is dropped. Call it inside a tokio
/// runtime.
pub fn spawn_watcher(
    store: Arc<FlowStore>,
    settings: WatchSettings,
) -> Result<Watching, notify::Error> {
    let dir = store
        .dir()
        .ok_or_else(|| notify::Error::generic("these flows were not loaded from a folder"))?
        .to_owned();
    let trigger = Arc::new(Trigger::default());
    let folder = Arc::new(FolderWatch::arm(dir.clone(), trigger.clone())?);
    let mut tasks = vec![
        tokio::spawn(reload_when_settled(
            store.clone(),
            trigger.clone(),
            settings,
        )),
        tokio::spawn(drop_idle_versions(store)),
        tokio::spawn(rearm_when_replaced(folder.clone())),
    ];
    tasks.extend(reload_on_hangup(trigger, folder.clone()));
    tracing::info!("watching {} for flow edits", dir.display());
    Ok(Watching {
        _folder: folder,
        tasks,
    })
}

/// A running watcher; dropping it stops watching.
pub struct Watching {
    _folder: Arc<FolderWatch>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Signals from the watcher's thread and SIGHUP to the reload task.
#[derive(Default)]
struct Trigger {
    /// Counts relevant events, so a reload can tell it read a moving folder.
    changes: AtomicU64,
    wake: Notify,
    /// Set by SIGHUP: the operator asked, so an unchanged result is news.
    asked: AtomicBool,
    /// Set when the watched folder itself was removed: its watch is gone.
    lost: AtomicBool,
}

impl Trigger {
    fn fire(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// The watch on the folder at `FLOWS_DIR`, set again when that is no longer
/// the folder watched.
struct FolderWatch {
    dir: PathBuf,
    trigger: Arc<Trigger>,
    armed: Mutex<Armed>,
}

struct Armed {
    /// `None` while the folder is gone.
    watcher: Option<notify::RecommendedWatcher>,
    /// Which folder the watcher watches.
    identity: Option<Identity>,
}

impl FolderWatch {
    /// Watches `dir`, which must be there.
    fn arm(dir: PathBuf, trigger: Arc<Trigger>) -> Result<FolderWatch, notify::Error> {
        let identity = identity(&dir);
        let watcher = watch_folder(&dir, &trigger)?;
        Ok(FolderWatch {
            dir,
            trigger,
            armed: Mutex::new(Armed {
                watcher: Some(watcher),
                identity,
            }),
        })
    }

    /// Watches the folder at `FLOWS_DIR` again if it is not the one watched
    /// (or always, when `always`), and asks for a reload if it was not.
    fn rearm(&self, always: bool) {
        let now = identity(&self.dir);
        let lost = self.trigger.lost.swap(false, Ordering::SeqCst);
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        if !always && !lost && armed.identity == now {
            return;
        }
        // The old watch goes first: one watch at a time.
        armed.watcher = None;
        armed.identity = None;
        if now.is_some() {
            match watch_folder(&self.dir, &self.trigger) {
                Ok(watcher) => {
                    armed.watcher = Some(watcher);
                    armed.identity = now;
                    if !always {
                        tracing::info!("watching {} again for flow edits", self.dir.display());
                    }
                }
                Err(error) => tracing::warn!(
                    "cannot watch {} (trying again): {error}",
                    self.dir.display()
                ),
            }
        } else {
            tracing::warn!(
                "the flows folder {} is gone; the flows loaded keep serving",
                self.dir.display()
            );
        }
        self.trigger.fire();
    }
}

/// Watches `dir` and its subfolders, firing `trigger` on changes that
/// matter.
fn watch_folder(dir: &Path, trigger: &Arc<Trigger>) -> notify::Result<notify::RecommendedWatcher> {
    let on_event = trigger.clone();
    let root = dir.to_owned();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                if matches!(event.kind, EventKind::Remove(_)) && event.paths.contains(&root) {
                    on_event.lost.store(true, Ordering::SeqCst);
                }
                if matters(&event) {
                    on_event.fire();
                }
            }
            Err(error) => {
                tracing::warn!("watching the flows folder: {error}");
                on_event.fire();
            }
        })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// Tells one folder from another made at the same path: device, inode, and
/// (where the system keeps it) when it was made, as an inode number can be
/// used again at once.
type Identity = (u64, u64, Option<std::time::SystemTime>);

#[cfg(unix)]
fn identity(dir: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(dir).ok().filter(|m| m.is_dir())?;
    Some((metadata.dev(), metadata.ino(), metadata.created().ok()))
}

#[cfg(not(unix))]
fn identity(dir: &Path) -> Option<Identity> {
    let metadata = std::fs::metadata(dir).ok().filter(|m| m.is_dir())?;
    Some((0, 0, metadata.created().ok()))
}

async fn rearm_when_replaced(folder: Arc<FolderWatch>) {
    let mut every = tokio::time::interval(REARM_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        folder.rearm(false);
    }
}

/// Whether an event can change what a reload reads. Reads (the reload's
/// own among them) cannot, nor can files that are not flows: editors' swap
/// and backup files, a log written next to the flows.
fn matters(event: &notify::Event) -> bool {
    use notify::event::{AccessKind, AccessMode};
    if event.need_rescan() {
        return true;
    }
    if let EventKind::Access(kind) = event.kind
        && kind != AccessKind::Close(AccessMode::Write)
    {
        return false;
    }
    event.paths.is_empty() || event.paths.iter().any(|path| can_change_flows(path))
}

/// A flow file, a folder (new, gone or renamed), or a ConfigMap's `..data`
/// link and the `..2026_...` folders it points at.
fn can_change_flows(path: &Path) -> bool {
    let hidden_by_kubernetes = path
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with(".."));
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("yaml" | "yml") | None => true,
        Some(_) => hidden_by_kubernetes || path.is_dir(),
    }
}

async fn reload_when_settled(
    store: Arc<FlowStore>,
    trigger: Arc<Trigger>,
    settings: WatchSettings,
) {
    let mut superseded = 0;
    loop {
        trigger.wake.notified().await;
        settle(&trigger, settings).await;
        let before = trigger.changes.load(Ordering::SeqCst);
        let allowed = superseded < MAX_SUPERSEDED;
        let reloading = store.clone();
        let watched = trigger.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            reloading.reload_unless(|| allowed && watched.changes.load(Ordering::SeqCst) != before)
        })
        .await;
        let asked = trigger.asked.swap(false, Ordering::SeqCst);
        match outcome {
            Ok(Reload::Superseded) => {
                superseded += 1;
                tracing::debug!("the flow files changed while being read; reading them again");
            }
            Ok(Reload::Unchanged { version }) => {
                superseded = 0;
                if asked {
                    tracing::info!("flows unchanged: version {version} keeps serving");
                }
            }
            Ok(_) => superseded = 0,
            Err(error) => tracing::error!("the flow reload stopped: {error}"),
        }
    }
}

async fn drop_idle_versions(store: Arc<FlowStore>) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        store.drop_idle_versions();
    }
}

/// Returns once no change has come for `quiet`, or `max_delay` after the
/// first change.
async fn settle(trigger: &Trigger, settings: WatchSettings) {
    let deadline = Instant::now() + settings.max_delay;
    loop {
        let wait = settings
            .quiet
            .min(deadline.saturating_duration_since(Instant::now()));
        if wait.is_zero() {
            return;
        }
        if tokio::time::timeout(wait, trigger.wake.notified())
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(unix)]
fn reload_on_hangup(trigger: Arc<Trigger>, folder: Arc<FolderWatch>) -> Option<JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered before returning, so a SIGHUP from now on reloads rather
    // than ends the process.
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::warn!("SIGHUP will not reload the flows: {error}");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the flows");
            trigger.asked.store(true, Ordering::SeqCst);
            folder.rearm(true);
        }
    }))
}

#[cfg(not(unix))]
fn reload_on_hangup(_trigger: Arc<Trigger>, _folder: Arc<FolderWatch>) -> Option<JoinHandle<()>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_changes_to_what_a_reload_reads_matter() {
        let write = EventKind::Modify(ModifyKind::Any);
        for path in [
            "flows/main.yaml",
            "flows/sales/desk.yml",
            "flows/sales",
            "flows/..data",
            "flows/..2026_01_01_00_00_00.1",
        ] {
            assert!(matters(&event(write, path)), "{path}");
        }
        for path in [
            "flows/.main.yaml.swp",
            "flows/main.yaml~",
            "flows/server.log",
            "flows/README.md",
        ] {
            assert!(!matters(&event(write, path)), "{path}");
        }
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        assert!(!matters(&event(open, "flows/main.yaml")));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(matters(&event(closed, "flows/main.yaml")));
        assert!(matters(&event(
            EventKind::Create(CreateKind::File),
            "flows/main.yaml"
        )));
    }

    #[test]
    fn changes_read_as_one_line() {
        let changes = Changes {
            added: vec!["sales".into()],
            removed: vec![],
            changed: vec!["main".into(), "support".into()],
        };
        assert_eq!(changes.to_string(), "added sales; changed main, support");
        assert_eq!(Changes::default().to_string(), "no flow changed");
    }
}
