//! Skill folders on disk and Skill archives: SKILL.md frontmatter rules, packing a folder into a
//! zip (dotfiles skipped, symlinks refused) and unpacking a downloaded zip safely.

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsSyncExt};
use cap_std::fs::{Dir, OpenOptions};
use std::io::{Cursor, Read, Write};

/// Most files a Skill may hold.
pub const MAX_SKILL_FILES: usize = 500;
/// Largest total unpacked size of a Skill, in bytes (50 MB).
pub const MAX_UNPACKED_BYTES: u64 = 50 * 1024 * 1024;
/// Largest Skill upload the API takes, in bytes (10 MB).
pub const MAX_ZIP_BYTES: u64 = 10 * 1024 * 1024;

/// A validated, zipped Skill folder.
#[derive(Debug)]
pub struct PackedSkill {
    /// Frontmatter `name`.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Files in the archive, relative, `/`-separated, sorted.
    pub files: Vec<String>,
    /// Dotfiles and dot-directories left out.
    pub skipped: Vec<String>,
    /// Sum of the files' sizes.
    pub unpacked_bytes: u64,
    /// The zip archive.
    pub zip: Vec<u8>,
}

/// Problems with a Skill name per Duvo's rules: 1–64 lowercase letters, digits and hyphens, no
/// leading, trailing or consecutive hyphens. Empty when valid.
pub fn name_problems(name: &str) -> Vec<String> {
    let len = name.chars().count();
    if len == 0 {
        return vec!["must not be empty".to_owned()];
    }
    let mut out = Vec::new();
    if len > 64 {
        out.push(format!("must be at most 64 characters (got {len})"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        out.push("may contain only lowercase letters, digits and hyphens".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        out.push("must not start or end with a hyphen".to_owned());
    }
    if name.contains("--") {
        out.push("must not contain consecutive hyphens".to_owned());
    }
    out
}

/// Problems with a Skill description (1–1024 characters). Empty when valid.
pub fn description_problems(description: &str) -> Vec<String> {
    let len = description.chars().count();
    if description.trim().is_empty() {
        vec!["must not be empty".to_owned()]
    } else if len > 1024 {
        vec![format!("must be at most 1024 characters (got {len})")]
    } else {
        Vec::new()
    }
}

/// The top-level `key: value` pairs of a SKILL.md's YAML frontmatter (plain, quoted, folded and
/// literal scalars; nested values are kept as their raw text).
pub fn frontmatter(text: &str) -> Result<Vec<(String, String)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err("SKILL.md must start with a frontmatter block: a line `---`, `name: …`, `description: …`, then `---`".to_owned());
    }
    let mut block = Vec::new();
    let mut closed = false;
    for line in lines {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            closed = true;
            break;
        }
        block.push(line);
    }
    if !closed {
        return Err("SKILL.md frontmatter is not closed with a `---` line".to_owned());
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < block.len() {
        let line = block[i];
        i += 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            return Err(format!("frontmatter line {line:?} is not `key: value`"));
        };
        let mut cont = Vec::new();
        while i < block.len() && (block[i].starts_with([' ', '\t']) || block[i].trim().is_empty()) {
            cont.push(block[i]);
            i += 1;
        }
        out.push((
            key.trim().to_owned(),
            scalar(key.trim(), rest.trim(), &cont)?,
        ));
    }
    Ok(out)
}

fn scalar(key: &str, inline: &str, cont: &[&str]) -> Result<String, String> {
    let inline = strip_comment(inline);
    if let Some(indicator) = inline.strip_prefix(['|', '>']) {
        let literal = inline.starts_with('|');
        let keep = indicator.contains('+');
        let strip = indicator.contains('-');
        let indent = cont
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let body: Vec<&str> = cont
            .iter()
            .map(|l| if l.len() >= indent { &l[indent..] } else { "" })
            .collect();
        let mut text = if literal {
            body.join("\n")
        } else {
            let mut folded = String::new();
            for (n, l) in body.iter().enumerate() {
                if n > 0 {
                    folded.push(if l.is_empty() { '\n' } else { ' ' });
                }
                folded.push_str(l);
            }
            folded
        };
        if !keep {
            text = text.trim_end_matches('\n').to_owned();
            if !strip {
                text.push('\n');
            }
        }
        return Ok(text);
    }
    if let Some(rest) = inline.strip_prefix('"') {
        let joined = join_folded(rest, cont);
        let Some(end) = closing_double_quote(&joined) else {
            return Err(format!("frontmatter {key}: unclosed double quote"));
        };
        return Ok(unescape(&joined[..end]));
    }
    if let Some(rest) = inline.strip_prefix('\'') {
        let joined = join_folded(rest, cont);
        let mut out = String::new();
        let mut chars = joined.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                return Ok(out);
            }
            out.push(c);
        }
        return Err(format!("frontmatter {key}: unclosed single quote"));
    }
    Ok(join_folded(inline, cont).trim().to_owned())
}

/// A plain or quoted scalar continued on indented lines: lines join with a space.
fn join_folded(first: &str, cont: &[&str]) -> String {
    let mut out = first.to_owned();
    for l in cont {
        let t = strip_comment(l.trim());
        if t.is_empty() {
            out.push('\n');
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(t);
        }
    }
    out
}

fn strip_comment(s: &str) -> &str {
    if s.starts_with(['"', '\'']) {
        return s;
    }
    match s.find(" #") {
        Some(i) => s[..i].trim_end(),
        None => s,
    }
}

fn closing_double_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Checks a Skill folder (an open directory handle) and zips it: SKILL.md at the root with a
/// valid `name` and `description`; dotfiles skipped; symlinks and special files refused; size and
/// count limits. Sizes are checked from the listing before any file is read, and every file is
/// opened below `root` without following a symlink in its last part, checked on the handle
/// (regular file) and read with a limit. Every problem is reported at once.
pub fn pack(root: &Dir) -> Result<PackedSkill, Vec<String>> {
    let mut problems = Vec::new();
    let mut files: Vec<(String, u64)> = Vec::new();
    let mut skipped = Vec::new();
    walk(root, "", &mut files, &mut skipped, &mut problems);
    files.sort();
    if files.len() > MAX_SKILL_FILES {
        problems.push(format!(
            "the folder has {} files; a Skill holds at most {MAX_SKILL_FILES}",
            files.len()
        ));
    }
    let limit_mb = MAX_UNPACKED_BYTES / 1024 / 1024;
    for (rel, size) in &files {
        if *size > MAX_UNPACKED_BYTES {
            problems.push(format!(
                "{rel}: {} bytes, larger than a whole Skill may be ({limit_mb} MB unpacked);                  nothing was read (sizes are checked before reading)",
                size
            ));
        }
    }
    let listed: u64 = files.iter().map(|(_, size)| size).sum();
    if listed > MAX_UNPACKED_BYTES {
        problems.push(format!(
            "the folder holds {listed} bytes in files; a Skill is at most {limit_mb} MB unpacked \
             (sizes are checked before reading)"
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut identity = None;
    match files.iter().find(|(rel, _)| rel == "SKILL.md") {
        None => problems
            .push("no SKILL.md at the folder's root (the file name is case-sensitive)".to_owned()),
        Some(_) => match read_limited(root, "SKILL.md", MAX_UNPACKED_BYTES) {
            Err(e) => problems.push(format!("SKILL.md: {e}")),
            Ok(bytes) => match String::from_utf8(bytes) {
                Err(_) => problems.push("SKILL.md cannot be read as UTF-8 text".to_owned()),
                Ok(text) => match identity_of(&text) {
                    Ok(id) => identity = Some(id),
                    Err(mut p) => problems.append(&mut p),
                },
            },
        },
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut unpacked: u64 = 0;
    for (rel, _) in &files {
        let data = match read_limited(root, rel, MAX_UNPACKED_BYTES - unpacked) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{rel}: {e}"));
                continue;
            }
        };
        unpacked += data.len() as u64;
        let written = zip
            .start_file(rel.as_str(), opts)
            .map_err(|e| e.to_string())
            .and_then(|()| zip.write_all(&data).map_err(|e| e.to_string()));
        if let Err(e) = written {
            problems.push(format!("{rel}: cannot be zipped ({e})"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let zip = match zip.finish() {
        Ok(c) => c.into_inner(),
        Err(e) => {
            problems.push(format!("the archive could not be finished ({e})"));
            return Err(problems);
        }
    };
    if zip.len() as u64 > MAX_ZIP_BYTES {
        problems.push(format!(
            "the zipped Skill is {} bytes, over the API's {} MB upload limit",
            zip.len(),
            MAX_ZIP_BYTES / 1024 / 1024
        ));
    }
    let Some((name, description)) = identity else {
        problems.push("SKILL.md has no valid frontmatter".to_owned());
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PackedSkill {
        name,
        description,
        files: files.into_iter().map(|(rel, _)| rel).collect(),
        skipped,
        unpacked_bytes: unpacked,
        zip,
    })
}

/// Opens `rel` below `root` (its last part not followed if it is a symlink; non-blocking, so a
/// FIFO swapped in cannot stall), checks the handle is a regular file of at most `limit` bytes,
/// and reads at most `limit` bytes through it.
fn read_limited(root: &Dir, rel: &str, limit: u64) -> Result<Vec<u8>, String> {
    let mut options = OpenOptions::new();
    options.read(true).nonblock(true).follow(FollowSymlinks::No);
    let file = root
        .open_with(rel, &options)
        .map_err(|e| {
            if super::allowed_dirs::is_escape(&e) {
                "leads out of the folder (a symlink?); refused".to_owned()
            } else {
                format!(
                    "cannot be opened ({}); symlinks are refused",
                    super::allowed_dirs::describe(&e)
                )
            }
        })?
        .into_std();
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read ({})", super::allowed_dirs::describe(&e)))?;
    if !meta.is_file() {
        return Err("is not a regular file (it changed while the folder was read)".to_owned());
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot be read ({})", super::allowed_dirs::describe(&e)))?;
    if data.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(data)
}

fn too_large(limit: u64) -> String {
    format!(
        "grew past what is left of the {} MB a Skill may hold unpacked ({limit} bytes) while the \
         folder was read",
        MAX_UNPACKED_BYTES / 1024 / 1024
    )
}

/// `name` and `description` of a SKILL.md, validated; every problem at once.
pub fn identity_of(text: &str) -> Result<(String, String), Vec<String>> {
    let pairs = frontmatter(text).map_err(|e| vec![e])?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let mut problems = Vec::new();
    let name = get("name");
    let description = get("description");
    match &name {
        None => problems.push("SKILL.md frontmatter: name is required".to_owned()),
        Some(n) => problems.extend(
            name_problems(n)
                .into_iter()
                .map(|p| format!("SKILL.md frontmatter: name {n:?} {p}")),
        ),
    }
    match &description {
        None => problems.push("SKILL.md frontmatter: description is required".to_owned()),
        Some(d) => problems.extend(
            description_problems(d)
                .into_iter()
                .map(|p| format!("SKILL.md frontmatter: description {p}")),
        ),
    }
    match (name, description, problems.is_empty()) {
        (Some(n), Some(d), true) => Ok((n, d)),
        _ => Err(problems),
    }
}

fn walk(
    dir: &Dir,
    prefix: &str,
    files: &mut Vec<(String, u64)>,
    skipped: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    let entries = match dir.entries() {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("{}: cannot be listed ({e})", shown(prefix)));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            problems.push(format!(
                "{}: a file name is not UTF-8 ({})",
                shown(prefix),
                entry.file_name().to_string_lossy()
            ));
            continue;
        };
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if name.starts_with('.') {
            skipped.push(rel);
            continue;
        }
        // Neither the entry's type nor its metadata follows a symlink.
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{rel}: cannot be read ({e})"));
                continue;
            }
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            problems.push(format!(
                "{rel}: is a symlink; symlinks are refused (copy the file into the folder instead)"
            ));
        } else if kind.is_dir() {
            match dir.open_dir_nofollow(&name) {
                Ok(sub) => walk(&sub, &rel, files, skipped, problems),
                Err(e) => problems.push(format!(
                    "{rel}: cannot be opened as a directory ({}); symlinks are refused",
                    super::allowed_dirs::describe(&e)
                )),
            }
        } else if kind.is_file() {
            files.push((rel, meta.len()));
        } else {
            problems.push(format!("{rel}: is not a regular file"));
        }
    }
}

fn shown(prefix: &str) -> &str {
    if prefix.is_empty() { "." } else { prefix }
}

/// One file of a downloaded Skill archive.
#[derive(Debug)]
pub struct ArchiveFile {
    /// Relative, `/`-separated path.
    pub path: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What a downloaded archive held: safe files, and entries refused with the reason.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// Files with safe relative paths.
    pub files: Vec<ArchiveFile>,
    /// `(entry name, why)` for entries not taken (unsafe paths).
    pub refused: Vec<(String, String)>,
}

/// A safe relative path for an archive entry, or why not.
pub fn safe_entry_path(raw: &str) -> Result<String, String> {
    if raw.starts_with(['/', '\\']) {
        return Err("absolute path".to_owned());
    }
    if raw.chars().any(char::is_control) {
        return Err("control characters in the name".to_owned());
    }
    let mut parts = Vec::new();
    for seg in raw.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => return Err("leaves the folder ('..')".to_owned()),
            s if parts.is_empty() && s.len() == 2 && s.ends_with(':') => {
                return Err("absolute Windows path".to_owned());
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return Err("empty name".to_owned());
    }
    Ok(parts.join("/"))
}

/// Unpacks a Skill zip in memory: unsafe entry names are refused (listed, not unpacked);
/// at most [`MAX_SKILL_FILES`] × 2 entries and [`MAX_UNPACKED_BYTES`] unpacked.
pub fn unpack(bytes: &[u8]) -> Result<Unpacked, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("the download is not a valid zip archive ({e})"))?;
    if archive.len() > MAX_SKILL_FILES * 2 {
        return Err(format!(
            "the archive has {} entries, more than a Skill may hold",
            archive.len()
        ));
    }
    let mut out = Unpacked::default();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("archive entry {i} cannot be read ({e})"))?;
        let raw = entry.name().to_owned();
        if entry.is_dir() {
            continue;
        }
        let path = match safe_entry_path(&raw) {
            Ok(p) => p,
            Err(why) => {
                out.refused.push((raw, why));
                continue;
            }
        };
        if out.files.iter().any(|f| f.path == path) {
            out.refused
                .push((raw, "a second entry with the same path".to_owned()));
            continue;
        }
        let budget = MAX_UNPACKED_BYTES - total;
        let mut data = Vec::new();
        (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{path}: cannot be unpacked ({e})"))?;
        total += data.len() as u64;
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "the archive unpacks to more than {} MB",
                MAX_UNPACKED_BYTES / 1024 / 1024
            ));
        }
        out.files.push(ArchiveFile { path, data });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_duvo_rules() {
        assert!(name_problems("invoice-check-2").is_empty());
        assert!(!name_problems("").is_empty());
        assert!(!name_problems("Invoice").is_empty());
        assert!(!name_problems("-a").is_empty());
        assert!(!name_problems("a-").is_empty());
        assert!(!name_problems("a--b").is_empty());
        assert!(!name_problems("a_b").is_empty());
        assert!(name_problems(&"a".repeat(64)).is_empty());
        assert!(!name_problems(&"a".repeat(65)).is_empty());
        assert!(description_problems("x").is_empty());
        assert!(!description_problems("  ").is_empty());
        assert!(!description_problems(&"d".repeat(1025)).is_empty());
    }

    #[test]
    fn frontmatter_scalars() {
        let text = "---\nname: my-skill  # a comment\ndescription: >-\n  Folded\n  text.\nother: 'it''s'\nq: \"a\\\"b\"\n---\nBody";
        let fm = frontmatter(text).expect("parses");
        let get = |k: &str| fm.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("name"), Some("my-skill"));
        assert_eq!(get("description"), Some("Folded text."));
        assert_eq!(get("other"), Some("it's"));
        assert_eq!(get("q"), Some("a\"b"));
        assert!(frontmatter("no frontmatter").is_err());
        assert!(frontmatter("---\nname: x\n").is_err());
    }

    #[test]
    fn identity_reports_every_problem() {
        let err = identity_of("---\nname: Bad--Name\n---\n").expect_err("invalid");
        let text = err.join("\n");
        assert!(text.contains("lowercase"), "{text}");
        assert!(text.contains("consecutive"), "{text}");
        assert!(text.contains("description is required"), "{text}");
    }

    #[test]
    fn pack_skips_dotfiles_and_refuses_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(
            root.join("SKILL.md"),
            "---\nname: packer\ndescription: Packs.\n---\nBody\n",
        )
        .expect("write");
        std::fs::create_dir(root.join("references")).expect("mkdir");
        std::fs::write(root.join("references/guide.md"), "guide").expect("write");
        std::fs::write(root.join(".env"), "SECRET=1").expect("write");
        let handle = Dir::open_ambient_dir(root, cap_std::ambient_authority()).expect("open");
        let packed = pack(&handle).expect("packs");
        assert_eq!(packed.name, "packer");
        assert_eq!(packed.files, vec!["SKILL.md", "references/guide.md"]);
        assert_eq!(packed.skipped, vec![".env"]);
        let back = unpack(&packed.zip).expect("unpacks");
        assert_eq!(back.files.len(), 2);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hosts", root.join("hosts")).expect("symlink");
            let err = pack(&handle).expect_err("symlink refused").join("\n");
            assert!(err.contains("symlink"), "{err}");
        }
    }

    #[test]
    fn unsafe_archive_entries_are_refused() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["SKILL.md", "../evil.sh", "/abs.txt", "ok/./fine.md"] {
            zip.start_file(name, opts).expect("start");
            zip.write_all(b"x").expect("write");
        }
        let bytes = zip.finish().expect("finish").into_inner();
        let out = unpack(&bytes).expect("unpacks");
        let paths: Vec<&str> = out.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["SKILL.md", "ok/fine.md"]);
        assert_eq!(out.refused.len(), 2);
    }
}
