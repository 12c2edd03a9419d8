//! Which local paths workflows may read and write: only on stdio, only below the directories
//! given with `--allow-dir` (or `DUVO_ALLOW_DIRS`).
//!
//! Each allowed directory is opened once at start, and every file or directory is then opened
//! *relative to that handle* with `cap-std`, which resolves the path beneath it
//! (`openat2(RESOLVE_BENEATH)` on Linux 5.6+, a checked component-by-component walk elsewhere):
//! `..` or a symlink that would leave the allowed directory fails the open itself, so nothing can
//! be swapped in between a check and the use. Files are opened non-blocking (a FIFO cannot stall
//! the open) and checked on the open handle (`fstat`): only regular files are read, and their
//! size is known before a byte is read. Paths outside every allowed directory all get the same
//! refusal, whether or not they exist.

use cap_fs_ext::OpenOptionsSyncExt;
use cap_std::fs::{Dir, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An allowed directory: its canonical path and a handle opened at start.
#[derive(Debug)]
struct Root {
    path: PathBuf,
    dir: Dir,
}

/// The local-file policy of a server.
#[derive(Clone, Debug, Default)]
pub struct LocalFiles {
    /// True on stdio (the server runs on the user's machine, as the user).
    enabled: bool,
    /// The allowed directories, canonical and opened.
    roots: Vec<Arc<Root>>,
}

/// A regular file opened below an allowed directory.
#[derive(Debug)]
pub struct LocalFile {
    /// The open handle; read only through it.
    pub file: std::fs::File,
    /// Its size when it was opened (from the handle).
    pub size: u64,
    /// The path for messages (the allowed directory joined with the relative path).
    pub shown: PathBuf,
}

/// A directory opened below an allowed directory.
#[derive(Debug)]
pub struct LocalDir {
    /// The open handle; everything inside is opened relative to it.
    pub dir: Dir,
    /// The path for messages.
    pub shown: PathBuf,
}

impl LocalFiles {
    /// No local paths at all (HTTP transports, tests).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// The stdio policy: paths below `dirs`, each canonicalized and opened now (a missing one is
    /// an error).
    pub fn stdio(dirs: &[PathBuf]) -> Result<Self, String> {
        let mut roots: Vec<Arc<Root>> = Vec::new();
        for dir in dirs {
            let canonical = dir
                .canonicalize()
                .map_err(|e| format!("--allow-dir {}: cannot be used ({e})", dir.display()))?;
            if !canonical.is_dir() {
                return Err(format!("--allow-dir {}: is not a directory", dir.display()));
            }
            if roots.iter().any(|r| r.path == canonical) {
                continue;
            }
            let handle = Dir::open_ambient_dir(&canonical, cap_std::ambient_authority())
                .map_err(|e| format!("--allow-dir {}: cannot be opened ({e})", dir.display()))?;
            roots.push(Arc::new(Root {
                path: canonical,
                dir: handle,
            }));
        }
        Ok(Self {
            enabled: true,
            roots,
        })
    }

    /// The allowed directories (canonical).
    pub fn allow_dirs(&self) -> Vec<&Path> {
        self.roots.iter().map(|r| r.path.as_path()).collect()
    }

    /// Why local paths cannot be used at all, if they cannot.
    pub fn unavailable(&self) -> Option<String> {
        if !self.enabled {
            return Some(
                "Local paths are disabled on this server: only `duvo-mcp stdio` started with \
                 --allow-dir <dir> reads or writes local files."
                    .to_owned(),
            );
        }
        if self.roots.is_empty() {
            return Some(
                "No local directory is allowed: start the server as `duvo-mcp stdio --allow-dir \
                 <dir>` (repeatable) or set DUVO_ALLOW_DIRS=<dir>:<dir>, then paths below those \
                 directories can be used."
                    .to_owned(),
            );
        }
        None
    }

    /// Opens a regular file below an allowed directory for reading, once: symlinks are followed
    /// only while they stay below it, a FIFO or device cannot block the open, and anything but a
    /// regular file is refused. A relative path is taken below the first allowed directory.
    pub fn open_file(&self, raw: &str) -> Result<LocalFile, String> {
        let (root, rel) = self.locate(raw)?;
        let mut options = OpenOptions::new();
        options.read(true).nonblock(true);
        let opened = root
            .dir
            .open_with(non_empty(&rel), &options)
            .map_err(|e| self.open_error(raw, &e))?;
        let file = opened.into_std();
        let meta = file
            .metadata()
            .map_err(|e| format!("{raw}: cannot be read ({})", describe(&e)))?;
        if !meta.is_file() {
            return Err(format!(
                "{raw}: is not a regular file (directories, FIFOs, sockets and devices are \
                 refused); give the path of a file"
            ));
        }
        Ok(LocalFile {
            file,
            size: meta.len(),
            shown: root.path.join(&rel),
        })
    }

    /// Opens an existing directory below an allowed directory (symlinks followed only while they
    /// stay below it).
    pub fn open_dir(&self, raw: &str) -> Result<LocalDir, String> {
        let (root, rel) = self.locate(raw)?;
        let dir = root
            .dir
            .open_dir(non_empty(&rel))
            .map_err(|e| self.open_error(raw, &e))?;
        Ok(LocalDir {
            dir,
            shown: root.path.join(&rel),
        })
    }

    /// A directory to write into, below an allowed directory; missing parts are created relative
    /// to the allowed directory's handle, never through a symlink that leads out of it.
    pub fn create_dir(&self, raw: &str) -> Result<LocalDir, String> {
        let (root, rel) = self.locate(raw)?;
        if rel.as_os_str().is_empty() {
            return self.open_dir(raw);
        }
        root.dir.create_dir_all(&rel).map_err(|e| {
            if is_escape(&e) {
                self.outside(raw)
            } else {
                format!("{raw}: cannot create the directory ({})", describe(&e))
            }
        })?;
        let dir = root
            .dir
            .open_dir(&rel)
            .map_err(|e| self.open_error(raw, &e))?;
        Ok(LocalDir {
            dir,
            shown: root.path.join(&rel),
        })
    }

    /// The allowed directory `raw` is below and the path relative to it. Paths not lexically below
    /// one are resolved through their nearest existing ancestor (a path given through a symlinked
    /// prefix, as `/var` → `/private/var`); anything else gets the one refusal for outside paths,
    /// whether it exists or not. The path is only opened later, beneath the handle.
    fn locate(&self, raw: &str) -> Result<(&Root, PathBuf), String> {
        let joined = self.absolute(raw)?;
        if let Some(found) = self.below(&joined) {
            return Ok(found);
        }
        let mut ancestor = joined.as_path();
        let mut rest = Vec::new();
        loop {
            if let Ok(mut resolved) = ancestor.canonicalize() {
                for part in rest.iter().rev() {
                    resolved.push(part);
                }
                return self.below(&resolved).ok_or_else(|| self.outside(raw));
            }
            match (ancestor.parent(), ancestor.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name);
                    ancestor = parent;
                }
                _ => return Err(self.outside(raw)),
            }
        }
    }

    /// The outermost allowed directory `path` lies below (lexically), and the rest of the path.
    fn below(&self, path: &Path) -> Option<(&Root, PathBuf)> {
        self.roots
            .iter()
            .filter_map(|r| {
                path.strip_prefix(&r.path)
                    .ok()
                    .map(|rel| (r.as_ref(), rel.to_path_buf()))
            })
            .min_by_key(|(r, _)| r.path.components().count())
    }

    fn absolute(&self, raw: &str) -> Result<PathBuf, String> {
        if let Some(why) = self.unavailable() {
            return Err(why);
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("the path is empty".to_owned());
        }
        let path = Path::new(trimmed);
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        match self.roots.first() {
            Some(first) => Ok(first.path.join(path)),
            None => Err("no allowed directory".to_owned()),
        }
    }

    /// The message for an open that failed below an allowed directory.
    fn open_error(&self, raw: &str, e: &io::Error) -> String {
        if is_escape(e) {
            return self.outside(raw);
        }
        match e.kind() {
            io::ErrorKind::NotADirectory => {
                format!("{raw}: is not a directory (or a part of the path is not)")
            }
            _ => format!("{raw}: {}", describe(e)),
        }
    }

    /// The one refusal for paths outside the allowed directories (the same whether they exist).
    fn outside(&self, raw: &str) -> String {
        let dirs: Vec<String> = self
            .roots
            .iter()
            .map(|r| r.path.display().to_string())
            .collect();
        format!(
            "{raw}: refused, it is outside the allowed directories ({}) or leads out of them \
             through `..` or a symlink. Move the file below an allowed directory or restart with \
             another --allow-dir.",
            dirs.join(", ")
        )
    }
}

/// `.` for the allowed directory itself.
fn non_empty(rel: &Path) -> &Path {
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

/// True for cap-std's refusal of a path that would leave its directory (an `EXDEV` from
/// `openat2(RESOLVE_BENEATH)`, or the same check in its portable walk).
pub fn is_escape(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied && e.raw_os_error().is_none()
}

/// A short text for an I/O error.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(dir: &Path) -> LocalFiles {
        LocalFiles::stdio(&[dir.to_path_buf()]).expect("policy")
    }

    #[test]
    fn disabled_and_empty_policies_explain_the_fix() {
        let off = LocalFiles::disabled()
            .open_file("/etc/hosts")
            .expect_err("off");
        assert!(off.contains("disabled"), "{off}");
        let none = LocalFiles::stdio(&[])
            .expect("empty")
            .open_file("/etc/hosts");
        let none = none.expect_err("no dirs");
        assert!(
            none.contains("--allow-dir") && none.contains("DUVO_ALLOW_DIRS"),
            "{none}"
        );
    }

    #[test]
    fn paths_inside_pass_and_escapes_are_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("a.txt"), "a").expect("write");
        std::fs::write(outside.path().join("secret.txt"), "s").expect("write");
        let p = policy(root.path());
        assert_eq!(p.open_file("a.txt").expect("relative").size, 1);
        let abs = root.path().join("a.txt");
        assert!(p.open_file(&abs.display().to_string()).is_ok());
        let escape = format!(
            "{}/../{}/secret.txt",
            root.path().display(),
            outside
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("x")
        );
        let err = p.open_file(&escape).expect_err("escape");
        assert!(err.contains("outside"), "{err}");
        let dir = p.open_file(".").expect_err("a directory");
        assert!(dir.contains("not a regular file"), "{dir}");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                outside.path().join("secret.txt"),
                root.path().join("link.txt"),
            )
            .expect("symlink");
            let err = p.open_file("link.txt").expect_err("symlink escape");
            assert!(err.contains("outside"), "{err}");
            std::os::unix::fs::symlink("a.txt", root.path().join("inside.txt")).expect("symlink");
            assert!(
                p.open_file("inside.txt").is_ok(),
                "a symlink that stays inside"
            );
        }
    }

    #[test]
    fn outside_paths_get_one_answer_whether_they_exist_or_not() {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("there.txt"), "s").expect("write");
        let p = policy(root.path());
        let there = outside.path().join("there.txt").display().to_string();
        let missing = outside.path().join("missing.txt").display().to_string();
        let a = p.open_file(&there).expect_err("outside");
        let b = p.open_file(&missing).expect_err("outside");
        assert_eq!(a.replace(&there, "P"), b.replace(&missing, "P"));
    }

    #[test]
    fn writable_dirs_are_created_inside_only() {
        let root = tempfile::tempdir().expect("tempdir");
        let p = policy(root.path());
        let made = p.create_dir("out/skill").expect("created");
        assert!(made.shown.is_dir());
        assert!(p.create_dir("/").is_err());
        assert!(p.create_dir("../elsewhere").is_err());
    }
}
