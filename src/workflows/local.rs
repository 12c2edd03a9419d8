//! Which local paths workflows may read and write: only on stdio, only below the directories
//! given with `--allow-dir` (or `DUVO_ALLOW_DIRS`). Both sides are canonicalized, so `..` and
//! symlinks that lead outside are refused.

use std::io;
use std::path::{Component, Path, PathBuf};

/// The local-file policy of a server.
#[derive(Clone, Debug, Default)]
pub struct LocalFiles {
    /// True on stdio (the server runs on the user's machine, as the user).
    enabled: bool,
    /// Canonical directories below which paths are allowed.
    allow_dirs: Vec<PathBuf>,
}

impl LocalFiles {
    /// No local paths at all (HTTP transports, tests).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// The stdio policy: paths below `dirs`, each canonicalized now (a missing one is an error).
    pub fn stdio(dirs: &[PathBuf]) -> Result<Self, String> {
        let mut allow_dirs = Vec::new();
        for dir in dirs {
            let canonical = dir
                .canonicalize()
                .map_err(|e| format!("--allow-dir {}: cannot be used ({e})", dir.display()))?;
            if !canonical.is_dir() {
                return Err(format!("--allow-dir {}: is not a directory", dir.display()));
            }
            if !allow_dirs.contains(&canonical) {
                allow_dirs.push(canonical);
            }
        }
        Ok(Self {
            enabled: true,
            allow_dirs,
        })
    }

    /// The allowed directories (canonical).
    pub fn allow_dirs(&self) -> &[PathBuf] {
        &self.allow_dirs
    }

    /// Why local paths cannot be used at all, if they cannot.
    pub fn unavailable(&self) -> Option<String> {
        if !self.enabled {
            return Some(
                "Local paths are disabled on this server: only `duvo-mcp stdio` started with \
                 --allow-dir <dir> reads or writes local files. Pass the file as content_base64 \
                 or text instead."
                    .to_owned(),
            );
        }
        if self.allow_dirs.is_empty() {
            return Some(
                "No local directory is allowed: start the server as `duvo-mcp stdio --allow-dir \
                 <dir>` (repeatable) or set DUVO_ALLOW_DIRS=<dir>:<dir>, then paths below those \
                 directories can be used. Or pass the file as content_base64 or text instead."
                    .to_owned(),
            );
        }
        None
    }

    /// An existing path below an allowed directory, canonicalized (symlinks and `..` resolved).
    /// A relative path is taken below the first allowed directory.
    pub fn existing(&self, raw: &str) -> Result<PathBuf, String> {
        let joined = self.absolute(raw)?;
        let canonical = joined
            .canonicalize()
            .map_err(|e| format!("{raw}: {}", describe(&e)))?;
        self.check_inside(raw, &canonical)?;
        Ok(canonical)
    }

    /// A directory to write into, below an allowed directory; missing parts are created.
    /// Refused when its nearest existing ancestor resolves outside the allowed directories.
    pub fn writable_dir(&self, raw: &str) -> Result<PathBuf, String> {
        let joined = self.absolute(raw)?;
        let mut existing = joined.as_path();
        let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name);
                    existing = parent;
                }
                _ => return Err(format!("{raw}: no existing parent directory")),
            }
        }
        let mut canonical = existing
            .canonicalize()
            .map_err(|e| format!("{raw}: {}", describe(&e)))?;
        self.check_inside(raw, &canonical)?;
        for name in missing.iter().rev() {
            canonical.push(name);
        }
        std::fs::create_dir_all(&canonical)
            .map_err(|e| format!("{raw}: cannot create the directory ({})", describe(&e)))?;
        let created = canonical
            .canonicalize()
            .map_err(|e| format!("{raw}: {}", describe(&e)))?;
        self.check_inside(raw, &created)?;
        if !created.is_dir() {
            return Err(format!("{raw}: is not a directory"));
        }
        Ok(created)
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
        match self.allow_dirs.first() {
            Some(first) => Ok(first.join(path)),
            None => Err("no allowed directory".to_owned()),
        }
    }

    fn check_inside(&self, raw: &str, canonical: &Path) -> Result<(), String> {
        if self.allow_dirs.iter().any(|d| canonical.starts_with(d)) {
            return Ok(());
        }
        let dirs: Vec<String> = self
            .allow_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        Err(format!(
            "{raw}: refused, it resolves outside the allowed directories ({}); `..` and symlinks \
             are followed before the check. Move the file below an allowed directory or restart \
             with another --allow-dir.",
            dirs.join(", ")
        ))
    }
}

/// Joins a relative, slash-separated archive path below `root`; `None` when it could escape
/// (absolute, `..`, a drive prefix) or is empty.
pub fn join_inside(root: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    let mut out = root.to_path_buf();
    let mut depth = 0usize;
    for c in rel.components() {
        match c {
            Component::Normal(part) => {
                out.push(part);
                depth += 1;
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (depth > 0).then_some(out)
}

fn describe(e: &io::Error) -> String {
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
            .existing("/etc/hosts")
            .expect_err("off");
        assert!(off.contains("disabled"), "{off}");
        let none = LocalFiles::stdio(&[])
            .expect("empty")
            .existing("/etc/hosts");
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
        assert!(p.existing("a.txt").is_ok());
        let abs = root.path().join("a.txt");
        assert!(p.existing(&abs.display().to_string()).is_ok());
        let escape = format!(
            "{}/../{}/secret.txt",
            root.path().display(),
            outside
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("x")
        );
        let err = p.existing(&escape).expect_err("escape");
        assert!(err.contains("outside"), "{err}");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                outside.path().join("secret.txt"),
                root.path().join("link.txt"),
            )
            .expect("symlink");
            let err = p.existing("link.txt").expect_err("symlink escape");
            assert!(err.contains("outside"), "{err}");
        }
    }

    #[test]
    fn writable_dirs_are_created_inside_only() {
        let root = tempfile::tempdir().expect("tempdir");
        let p = policy(root.path());
        let made = p.writable_dir("out/skill").expect("created");
        assert!(made.is_dir());
        assert!(p.writable_dir("/").is_err());
        assert!(p.writable_dir("../elsewhere").is_err());
    }

    #[test]
    fn archive_paths_stay_below_the_root() {
        let root = Path::new("/r");
        assert_eq!(
            join_inside(root, "a/b.md"),
            Some(PathBuf::from("/r/a/b.md"))
        );
        assert!(join_inside(root, "../x").is_none());
        assert!(join_inside(root, "/etc/passwd").is_none());
        assert!(join_inside(root, "").is_none());
    }
}
