//! Which files of a flows folder are read, and how.
//!
//! Anyone who can put a file in the flows folder can already change what
//! callers hear, but the folder should not let them do more than that: make
//! `callflow check` or a reload hang, exhaust memory, or read a file from
//! elsewhere on the machine into an error report. So:
//!
//! - only regular files are read. A named pipe, socket or device with a
//!   flow's name is an error naming it; files are opened without blocking
//!   (`O_NONBLOCK`) and their type is checked again on the opened handle,
//!   so a pipe swapped in after the first look cannot hang a read either;
//! - a link is followed only when it resolves inside the folder. A
//!   Kubernetes ConfigMap's files (`main.yaml -> ..data/main.yaml`, with
//!   `..data` a link to a timestamped folder beside it) resolve inside, and
//!   the hidden `..` entries themselves are never walked, so nothing is read
//!   twice;
//! - a file over [`MaxFileBytes`] is an error, and no read takes more than
//!   the limit and one byte, whatever the file claims its size is.
//!
//! Flow files and flow test files are found and read here alike.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

use super::diagnostic::{Diagnostic, Position, Report};

/// The largest flow (or flow test) file read, in bytes. The default, 1 MiB,
/// is hundreds of times the size of a large flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxFileBytes(u64);

impl MaxFileBytes {
    pub const DEFAULT: MaxFileBytes = MaxFileBytes(1024 * 1024);

    /// A limit of `bytes`; `None` for 0, which would refuse every file.
    pub fn new(bytes: u64) -> Option<MaxFileBytes> {
        (bytes > 0).then_some(MaxFileBytes(bytes))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl Default for MaxFileBytes {
    fn default() -> Self {
        MaxFileBytes::DEFAULT
    }
}

impl fmt::Display for MaxFileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&size(self.0))
    }
}

/// A size as a person reads it: `1 MiB`, `300 KiB`, `1500000 bytes`.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB", b / (KIB * KIB)),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// One file found and read.
#[derive(Debug)]
pub(crate) struct Found {
    /// The folder's path joined with `relative`: how diagnostics name it.
    pub path: PathBuf,
    /// Its path below the folder.
    pub relative: PathBuf,
    pub text: String,
}

/// One file found, and read unless the caller holds it already.
#[derive(Debug)]
pub(crate) struct Listed {
    pub path: PathBuf,
    pub relative: PathBuf,
    pub stamp: Stamp,
    /// `None` for a file the caller said is unchanged.
    pub text: Option<String>,
}

/// What the file system says of a file without reading it: a file whose
/// stamp is the same as when it was read has not changed since, as `git
/// status` and `make` assume. Any write changes the modification time or
/// the size, a save by rename or a ConfigMap swap the inode, and setting a
/// time back changes the change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(metadata: &Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            inode: (
                metadata.dev(),
                metadata.ino(),
                metadata.ctime(),
                metadata.ctime_nsec(),
            ),
        }
    }

    /// Whether a file read at `read_at` with this stamp can be trusted not
    /// to have changed while its stamp stays the same. A file modified
    /// within [`STAMP_GRAIN`] of being read may be written again within the
    /// file system's clock tick, same size, same time; such a file is read
    /// again until it has been still for longer.
    pub(crate) fn settled(&self, read_at: SystemTime) -> bool {
        self.modified
            .and_then(|modified| modified.checked_add(STAMP_GRAIN))
            .is_some_and(|settled| settled <= read_at)
    }
}

/// Coarser than any file system clock a flows folder is likely to sit on
/// (ext4 and tmpfs tick in milliseconds, FAT in two seconds).
const STAMP_GRAIN: std::time::Duration = std::time::Duration::from_secs(3);

/// A file a caller already holds, as `unchanged` is asked about it.
pub(crate) type Unchanged<'a> = &'a dyn Fn(&Path, &Stamp) -> bool;

/// Every file below `dir` whose name `wanted` accepts, read, in name order;
/// hidden files and folders are skipped. A file the rules refuse is left
/// out with an error in the report; the `Err` side is a folder that cannot
/// be read at all.
pub(crate) fn read_folder(
    dir: &Path,
    max: MaxFileBytes,
    wanted: fn(&str) -> bool,
) -> io::Result<(Vec<Found>, Report)> {
    let (listed, report) = read_folder_since(dir, max, wanted, &|_, _| false)?;
    let found = listed
        .into_iter()
        .map(|listed| Found {
            path: listed.path,
            relative: listed.relative,
            text: listed.text.unwrap_or_default(),
        })
        .collect();
    Ok((found, report))
}

/// [`read_folder`], but a file for which `unchanged` (given its path below
/// `dir` and its stamp) says so is listed and not read: its text is `None`.
pub(crate) fn read_folder_since(
    dir: &Path,
    max: MaxFileBytes,
    wanted: fn(&str) -> bool,
    unchanged: Unchanged<'_>,
) -> io::Result<(Vec<Listed>, Report)> {
    let root = dir.canonicalize()?;
    if !root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "it is not a folder",
        ));
    }
    let mut walk = Walk {
        root: root.clone(),
        max,
        wanted,
        unchanged,
        found: Vec::new(),
        report: Report::default(),
        inside: vec![root.clone()],
    };
    let entries = sorted_entries(&root)?;
    walk.folder(dir, &root, Path::new(""), entries);
    Ok((walk.found, walk.report))
}

struct Walk<'u> {
    /// The folder, resolved: every file read is below it.
    root: PathBuf,
    max: MaxFileBytes,
    wanted: fn(&str) -> bool,
    unchanged: Unchanged<'u>,
    found: Vec<Listed>,
    report: Report,
    /// The folders being walked, resolved, so a link back to one of them
    /// cannot send the walk round in circles.
    inside: Vec<PathBuf>,
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<std::fs::DirEntry>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    // Each entry's name is a new string: made once, not at every comparison.
    entries.sort_by_cached_key(|entry| entry.file_name());
    Ok(entries)
}

impl Walk<'_> {
    /// Walks one folder: `shown` is how diagnostics name it, `real` where
    /// it resolved to.
    fn folder(
        &mut self,
        shown: &Path,
        real: &Path,
        relative: &Path,
        entries: Vec<std::fs::DirEntry>,
    ) {
        // Looking at each entry is a system call or more: on every core.
        let looked: Vec<_> = entries
            .into_par_iter()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    return None;
                }
                let resolved = resolve(&entry, real.join(&name));
                Some((name, resolved))
            })
            .collect();
        for (name, resolved) in looked {
            let path = shown.join(&name);
            let relative = relative.join(&name);
            let wanted = (self.wanted)(&name);
            let (target, metadata) = match resolved {
                Ok(found) => found,
                Err(error) => {
                    if wanted {
                        self.refuse(&path, Refused::Io(error));
                    }
                    continue;
                }
            };
            if !target.starts_with(&self.root) {
                if wanted || metadata.is_dir() {
                    self.refuse(&path, Refused::Outside);
                }
                continue;
            }
            if metadata.is_dir() {
                self.subfolder(&path, target, &relative);
            } else if wanted {
                let stamp = Stamp::of(&metadata);
                if check_kind(&metadata).is_ok() && (self.unchanged)(&relative, &stamp) {
                    self.found.push(Listed {
                        path,
                        relative,
                        stamp,
                        text: None,
                    });
                    continue;
                }
                match read_file(&target, &metadata, self.max) {
                    Ok((text, stamp)) => self.found.push(Listed {
                        path,
                        relative,
                        stamp,
                        text: Some(text),
                    }),
                    Err(refused) => self.refuse(&path, refused),
                }
            }
        }
    }

    fn subfolder(&mut self, path: &Path, target: PathBuf, relative: &Path) {
        if self.inside.contains(&target) {
            self.report.push(Diagnostic::warning(
                path,
                Position::START,
                "this link leads back to a folder that contains it, so it is skipped",
            ));
            return;
        }
        match sorted_entries(&target) {
            Ok(entries) => {
                self.inside.push(target.clone());
                self.folder(path, &target, relative, entries);
                self.inside.pop();
            }
            Err(error) => self.report.push(Diagnostic::error(
                path,
                Position::START,
                format!("cannot read this folder: {error}"),
            )),
        }
    }

    fn refuse(&mut self, path: &Path, refused: Refused) {
        self.report.push(refused.diagnostic(path, self.max));
    }
}

/// Where an entry of a resolved folder leads, and what is there. Only a
/// link needs resolving: any other entry of a resolved folder is resolved
/// already, so one `lstat` stands for a `canonicalize` that would walk
/// every part of the path.
fn resolve(entry: &std::fs::DirEntry, path: PathBuf) -> io::Result<(PathBuf, Metadata)> {
    let metadata = entry.metadata()?;
    if !metadata.is_symlink() {
        return Ok((path, metadata));
    }
    let target = path.canonicalize()?;
    let metadata = std::fs::metadata(&target)?;
    Ok((target, metadata))
}

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum Refused {
    /// A link that resolves outside the folder.
    Outside,
    /// A named pipe, socket or device.
    NotAFile(&'static str),
    /// Over the limit; the size when the file said it.
    TooLarge(Option<u64>),
    NotText,
    Io(io::Error),
}

impl Refused {
    pub(crate) fn diagnostic(&self, path: &Path, max: MaxFileBytes) -> Diagnostic {
        let error = |message: String| Diagnostic::error(path, Position::START, message);
        match self {
            Refused::Outside => error(
                "this link leads outside the flows folder, so it is not read".into(),
            )
            .with_help(
                "a link in the flows folder is followed only to a file inside it (as a Kubernetes ConfigMap's are): copy the file into the folder instead",
            ),
            Refused::NotAFile(kind) => error(format!("this is {kind}, not a file, so it is not read"))
                .with_help("only regular files, or links to them inside the flows folder, are read"),
            Refused::TooLarge(Some(bytes)) => error(format!(
                "this file is {}, over the limit of {max} for one file, so it is not read",
                size(*bytes)
            ))
            .with_help("split it into several flows, or raise FLOW_FILE_MAX_BYTES"),
            Refused::TooLarge(None) => error(format!(
                "this file is over the limit of {max} for one file, so it is not read"
            ))
            .with_help("split it into several flows, or raise FLOW_FILE_MAX_BYTES"),
            Refused::NotText => error("this file is not UTF-8 text".into())
                .with_help("save it as UTF-8, as most editors do by default"),
            Refused::Io(error_) => error(format!("cannot read this file: {error_}")),
        }
    }
}

/// Reads one file again (a flow loaded earlier), under the same rules but
/// for the folder's bounds, which its load checked; `None` if it cannot be.
pub(crate) fn read_again(path: &Path, max: MaxFileBytes) -> Option<String> {
    let target = path.canonicalize().ok()?;
    let metadata = std::fs::metadata(&target).ok()?;
    read_file(&target, &metadata, max)
        .ok()
        .map(|(text, _)| text)
}

/// Reads one file that resolved to `target` inside the folder, with the
/// metadata that was found there; the stamp is the opened file's.
fn read_file(
    target: &Path,
    metadata: &Metadata,
    max: MaxFileBytes,
) -> Result<(String, Stamp), Refused> {
    check_kind(metadata)?;
    let file = open(target).map_err(Refused::Io)?;
    // The file may have been swapped since the first look: what counts is
    // what was opened.
    let metadata = file.metadata().map_err(Refused::Io)?;
    check_kind(&metadata)?;
    if metadata.len() > max.bytes() {
        return Err(Refused::TooLarge(Some(metadata.len())));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(max.bytes().saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Refused::Io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max.bytes() {
        return Err(Refused::TooLarge(None));
    }
    let text = String::from_utf8(bytes).map_err(|_| Refused::NotText)?;
    Ok((text, Stamp::of(&metadata)))
}

fn check_kind(metadata: &Metadata) -> Result<(), Refused> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(Refused::NotAFile(kind_of(metadata)))
}

#[cfg(unix)]
fn kind_of(metadata: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "something other than a file"
    }
}

#[cfg(not(unix))]
fn kind_of(metadata: &Metadata) -> &'static str {
    if metadata.is_dir() {
        "a folder"
    } else {
        "something other than a file"
    }
}

/// Opens for reading without ever waiting: on a named pipe with no writer
/// a plain open blocks until one comes, which may be never.
#[cfg(unix)]
fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_a_person_says_them() {
        assert_eq!(MaxFileBytes::DEFAULT.to_string(), "1 MiB");
        assert_eq!(size(300 * 1024), "300 KiB");
        assert_eq!(size(1_500_000), "1500000 bytes");
        assert_eq!(MaxFileBytes::new(0), None);
    }
}
