//! Skill files as ZIP archives: safe reading of uploads and writing of downloads, plus the
//! relative-path rules shared by every skill file operation.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;

/// Largest number of files a skill may hold.
pub const MAX_FILES: usize = 500;
/// Largest total unpacked size of a skill (bytes).
pub const MAX_UNPACKED: u64 = 50 * 1024 * 1024;

/// Normalize a relative skill file path (`references/guide.md`): `/` or `\` separators, no empty
/// or `.` segments; rejects absolute paths, drive letters, `..` and control characters.
pub fn clean_path(raw: &str) -> Result<String, String> {
    if raw.starts_with(['/', '\\']) {
        return Err(format!(
            "'{raw}' is absolute; use a path relative to the skill root"
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("contains control characters".to_string());
    }
    let mut parts = Vec::new();
    for seg in raw.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => return Err(format!("'{raw}' leaves the skill folder ('..')")),
            s if parts.is_empty() && s.len() == 2 && s.ends_with(':') => {
                return Err(format!("'{raw}' is an absolute Windows path"));
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return Err("must name a file".to_string());
    }
    let out = parts.join("/");
    if out.len() > 512 {
        return Err("is longer than 512 characters".to_string());
    }
    Ok(out)
}

/// Whether a zip entry is operating-system clutter (`__MACOSX/`, `.DS_Store`) to skip.
fn is_clutter(path: &str) -> bool {
    path.starts_with("__MACOSX/") || path.rsplit('/').next() == Some(".DS_Store")
}

/// Read an uploaded archive into `path → bytes`. `SKILL.md` must be at the root, or inside a
/// single top-level folder (as when a folder is zipped), which is then stripped.
pub fn read_zip(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a valid ZIP archive ({e})"))?;
    if archive.len() > MAX_FILES * 2 {
        return Err(format!("the archive has more than {MAX_FILES} files"));
    }
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("cannot read entry {i} ({e})"))?;
        let raw = entry.name().to_string();
        let path = clean_path(&raw).map_err(|e| format!("unsafe entry path {e}"))?;
        if entry.is_dir() || is_clutter(&path) {
            continue;
        }
        if files.len() >= MAX_FILES {
            return Err(format!("the archive has more than {MAX_FILES} files"));
        }
        let budget = MAX_UNPACKED - total;
        let mut data = Vec::new();
        (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("cannot unpack '{path}' ({e})"))?;
        total += data.len() as u64;
        if total > MAX_UNPACKED {
            return Err(format!(
                "the archive unpacks to more than {} MB",
                MAX_UNPACKED / 1024 / 1024
            ));
        }
        if files.insert(path.clone(), data).is_some() {
            return Err(format!("the archive holds '{path}' twice"));
        }
    }
    if files.contains_key("SKILL.md") {
        return Ok(files);
    }
    let top: Vec<&str> = files
        .keys()
        .filter_map(|p| p.split_once('/').map(|(t, _)| t))
        .collect();
    let single = top.first().copied().filter(|t| {
        top.len() == files.len()
            && top.iter().all(|x| x == t)
            && files.contains_key(&format!("{t}/SKILL.md"))
    });
    match single {
        Some(t) => {
            let prefix = format!("{t}/");
            Ok(files
                .into_iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|s| (s.to_string(), v)))
                .collect())
        }
        None => Err("the archive has no SKILL.md at its root".to_string()),
    }
}

/// Write `path → bytes` as a deflate-compressed ZIP archive (files at the root).
pub fn write_zip<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (path, data) in files {
        zip.start_file(path, opts).map_err(|e| e.to_string())?;
        zip.write_all(data).map_err(|e| e.to_string())?;
    }
    zip.finish()
        .map(Cursor::into_inner)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        write_zip(entries.iter().map(|(p, d)| (*p, d.as_bytes()))).expect("writes")
    }

    #[test]
    fn clean_path_rules() {
        assert_eq!(
            clean_path("references//./guide.md").as_deref(),
            Ok("references/guide.md")
        );
        assert_eq!(clean_path("a\\b.md").as_deref(), Ok("a/b.md"));
        assert!(clean_path("../etc/passwd").is_err());
        assert!(clean_path("a/../../b").is_err());
        assert!(clean_path("/abs").is_err());
        assert!(clean_path("C:/x").is_err());
        assert!(clean_path("").is_err());
    }

    #[test]
    fn round_trip_and_folder_stripping() {
        let z = zip_of(&[("SKILL.md", "x"), ("references/a.md", "y")]);
        let files = read_zip(&z).expect("reads");
        assert_eq!(
            files.get("references/a.md").map(Vec::as_slice),
            Some(&b"y"[..])
        );
        let z = zip_of(&[
            ("my-skill/SKILL.md", "x"),
            ("my-skill/b.txt", "z"),
            ("__MACOSX/._b", ""),
        ]);
        let files = read_zip(&z).expect("reads");
        assert_eq!(files.keys().collect::<Vec<_>>(), ["SKILL.md", "b.txt"]);
    }

    #[test]
    fn rejects_traversal_and_missing_skill_md() {
        assert!(read_zip(&zip_of(&[("SKILL.md", "x"), ("../evil", "y")])).is_err());
        assert!(read_zip(&zip_of(&[("SKILL.md", "x"), ("/etc/evil", "y")])).is_err());
        assert!(read_zip(&zip_of(&[("README.md", "x")])).is_err());
        assert!(read_zip(b"PK\x03\x04garbage").is_err());
    }
}
