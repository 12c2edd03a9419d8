//! SKILL.md frontmatter: a small YAML-subset parser, Duvo's validation rules, and the writer
//! used by `createSkill`.
//!
//! Supported YAML: `key: value` lines at column 0 with plain, `'single'` or `"double"` quoted
//! scalars, `|`/`>` block scalars, plain scalars continued on indented lines, and nested blocks
//! or flow collections (kept as raw text). Comments and blank lines are ignored.

use serde_json::{Map, Value};

/// One per-field validation problem (`validationErrors` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The frontmatter field (`name`, `description`, `frontmatter` …).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// Build one error.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A frontmatter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FmValue {
    /// A scalar, unquoted and unescaped.
    Str(String),
    /// A nested block or flow collection, as written.
    Nested(String),
}

/// The frontmatter of a parsed SKILL.md (the Markdown body after it is not needed).
#[derive(Debug, Clone)]
pub struct SkillDoc {
    /// `key → value` in file order.
    pub entries: Vec<(String, FmValue)>,
}

impl SkillDoc {
    /// The scalar value of `key`, if present and a scalar.
    pub fn get(&self, key: &str) -> Option<&FmValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Validated identity of a skill: its `name` and `description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Skill name (1–64, lowercase letters, digits, single inner hyphens).
    pub name: String,
    /// Description (1–1024 characters).
    pub description: String,
}

/// Problems with a skill name, per Duvo's rules (empty when valid).
pub fn name_problems(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let len = name.chars().count();
    if len == 0 {
        out.push("must not be empty".to_string());
        return out;
    }
    if len > 64 {
        out.push(format!("must be at most 64 characters (got {len})"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        out.push("may contain only lowercase letters, digits and hyphens".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        out.push("must not start or end with a hyphen".to_string());
    }
    if name.contains("--") {
        out.push("must not contain consecutive hyphens".to_string());
    }
    out
}

/// Problems with a description (empty when valid).
pub fn description_problems(description: &str) -> Vec<String> {
    let len = description.chars().count();
    if description.trim().is_empty() {
        vec!["must not be empty".to_string()]
    } else if len > 1024 {
        vec![format!("must be at most 1024 characters (got {len})")]
    } else {
        Vec::new()
    }
}

/// Validate the frontmatter of a parsed SKILL.md; returns the skill's identity or every problem found.
pub fn validate(doc: &SkillDoc) -> Result<Identity, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut scalar = |key: &str, required: bool| -> Option<String> {
        match doc.get(key) {
            Some(FmValue::Str(s)) => Some(s.clone()),
            Some(FmValue::Nested(_)) => {
                errors.push(FieldError::new(key, "must be a string"));
                None
            }
            None if required => {
                errors.push(FieldError::new(key, "is required"));
                None
            }
            None => None,
        }
    };
    let name = scalar("name", true);
    let description = scalar("description", true);
    let compatibility = scalar("compatibility", false);
    let _ = scalar("license", false);
    let _ = scalar("allowed-tools", false);
    if let Some(n) = &name {
        errors.extend(
            name_problems(n)
                .into_iter()
                .map(|m| FieldError::new("name", m)),
        );
    }
    if let Some(d) = &description {
        errors.extend(
            description_problems(d)
                .into_iter()
                .map(|m| FieldError::new("description", m)),
        );
    }
    if let Some(c) = &compatibility {
        let len = c.chars().count();
        if len == 0 || len > 500 {
            errors.push(FieldError::new(
                "compatibility",
                format!("must be 1-500 characters (got {len})"),
            ));
        }
    }
    match (name, description) {
        (Some(name), Some(description)) if errors.is_empty() => Ok(Identity { name, description }),
        _ => Err(errors),
    }
}

/// Parse the frontmatter of SKILL.md text.
pub fn parse(text: &str) -> Result<SkillDoc, FieldError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let missing = || {
        FieldError::new(
            "frontmatter",
            "SKILL.md must start with a YAML frontmatter block between two '---' lines",
        )
    };
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "---" => {}
        _ => return Err(missing()),
    }
    let mut front = Vec::new();
    let mut offset = text.split_inclusive('\n').next().map_or(0, str::len);
    let mut closed = false;
    for line in lines {
        let end = offset + line.len();
        if matches!(line.trim_end(), "---" | "...") {
            closed = true;
            break;
        }
        front.push(line.trim_end_matches(['\n', '\r']));
        offset = end;
    }
    if !closed {
        return Err(FieldError::new(
            "frontmatter",
            "the frontmatter block is not closed by a '---' line",
        ));
    }
    let entries = parse_entries(&front)?;
    Ok(SkillDoc { entries })
}

fn parse_entries(lines: &[&str]) -> Result<Vec<(String, FmValue)>, FieldError> {
    let mut entries: Vec<(String, FmValue)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(FieldError::new(
                "frontmatter",
                format!("unexpected indented line: {trimmed}"),
            ));
        }
        let Some((key, rest)) = line.split_once(':') else {
            return Err(FieldError::new(
                "frontmatter",
                format!("expected 'key: value', got: {trimmed}"),
            ));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FieldError::new(
                "frontmatter",
                format!("invalid key '{key}'"),
            ));
        }
        if entries.iter().any(|(k, _)| k == key) {
            return Err(FieldError::new(key, "is defined more than once"));
        }
        // Indented continuation lines (and blank lines between them) belong to this key.
        let start = i;
        while i < lines.len() && (lines[i].starts_with([' ', '\t']) || lines[i].trim().is_empty()) {
            i += 1;
        }
        let mut cont = &lines[start..i];
        while let Some((last, head)) = cont.split_last() {
            if last.trim().is_empty() {
                cont = head;
            } else {
                break;
            }
        }
        let value = parse_value(key, rest.trim(), cont)?;
        entries.push((key.to_string(), value));
    }
    Ok(entries)
}

fn parse_value(key: &str, inline: &str, cont: &[&str]) -> Result<FmValue, FieldError> {
    let inline = strip_comment(inline);
    if inline.is_empty() {
        return Ok(if cont.is_empty() {
            FmValue::Str(String::new())
        } else {
            FmValue::Nested(cont.join("\n"))
        });
    }
    if let Some(ind) = inline.strip_prefix(['|', '>']) {
        if !ind.chars().all(|c| matches!(c, '-' | '+' | '0'..='9')) {
            return Err(FieldError::new(key, "invalid block scalar header"));
        }
        return Ok(FmValue::Str(block_scalar(inline.starts_with('|'), cont)));
    }
    if inline.starts_with('"') || inline.starts_with('\'') {
        let mut full = inline.to_string();
        for c in cont {
            full.push(' ');
            full.push_str(c.trim());
        }
        return quoted(key, &full).map(FmValue::Str);
    }
    if inline.starts_with('{') || inline.starts_with('[') {
        let mut raw = inline.to_string();
        for c in cont {
            raw.push('\n');
            raw.push_str(c);
        }
        return Ok(FmValue::Nested(raw));
    }
    let mut out = inline.to_string();
    for c in cont {
        let c = strip_comment(c.trim());
        if !c.is_empty() {
            out.push(' ');
            out.push_str(c);
        }
    }
    Ok(FmValue::Str(out))
}

/// Remove a trailing ` # comment` from a plain scalar (quoted values are handled elsewhere).
fn strip_comment(s: &str) -> &str {
    if s.starts_with('#') {
        return "";
    }
    if s.starts_with('"') || s.starts_with('\'') {
        return s;
    }
    match s.find(" #") {
        Some(i) => s[..i].trim_end(),
        None => s,
    }
}

fn quoted(key: &str, raw: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new(key, "has an unterminated or malformed quoted string");
    if raw.starts_with('"') {
        // A YAML double-quoted string with JSON escapes is valid JSON.
        let end = closing_double_quote(raw).ok_or_else(bad)?;
        let rest = strip_comment(raw[end + 1..].trim());
        if !rest.is_empty() {
            return Err(bad());
        }
        serde_json::from_str::<String>(&raw[..=end]).map_err(|_| bad())
    } else {
        let inner = &raw[1..];
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    let rest: String = chars.collect();
                    if !strip_comment(rest.trim()).is_empty() {
                        return Err(bad());
                    }
                    return Ok(out);
                }
            } else {
                out.push(c);
            }
        }
        Err(bad())
    }
}

fn closing_double_quote(raw: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in raw.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn block_scalar(literal: bool, cont: &[&str]) -> String {
    let indent = cont
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = cont.iter().map(|l| l.get(indent..).unwrap_or("")).collect();
    if literal {
        return lines.join("\n");
    }
    let mut out = String::new();
    for l in lines {
        if l.trim().is_empty() {
            out.push('\n');
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(l.trim_end());
        }
    }
    out
}

/// Render a scalar for YAML: plain when unambiguous, otherwise double-quoted (JSON escapes).
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.contains([':', '#', '\n', '\r', '\t', '"', '\''])
        && !s.starts_with([
            '-', '?', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', '%', '@', '`',
        ])
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "null" | "on" | "off" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        Value::String(s.to_string()).to_string()
    }
}

/// Optional `createSkill` fields that go into the frontmatter.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// `license`.
    pub license: Option<String>,
    /// `compatibility`.
    pub compatibility: Option<String>,
    /// `metadata` object.
    pub metadata: Option<Map<String, Value>>,
    /// `allowed-tools`.
    pub allowed_tools: Option<String>,
}

/// Build SKILL.md from its fields: frontmatter, a blank line, then the body.
pub fn build(id: &Identity, extras: &Extras, body: &str) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("name: {}\n", scalar(&id.name)));
    out.push_str(&format!("description: {}\n", scalar(&id.description)));
    if let Some(l) = &extras.license {
        out.push_str(&format!("license: {}\n", scalar(l)));
    }
    if let Some(c) = &extras.compatibility {
        out.push_str(&format!("compatibility: {}\n", scalar(c)));
    }
    if let Some(m) = &extras.metadata {
        out.push_str(&format!("metadata: {}\n", Value::Object(m.clone())));
    }
    if let Some(t) = &extras.allowed_tools {
        out.push_str(&format!("allowed-tools: {}\n", scalar(t)));
    }
    out.push_str("---\n\n");
    out.push_str(body.trim_start_matches(['\n', '\r']));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(text: &str) -> Result<Identity, Vec<FieldError>> {
        let doc = parse(text).map_err(|e| vec![e])?;
        validate(&doc)
    }

    #[test]
    fn parses_plain_quoted_and_block_values() {
        let doc = parse(
            "---\nname: pdf-tools\ndescription: >\n  Extract text\n  from PDFs.\nlicense: 'MIT'\ncompatibility: \"needs \\\"python\\\" 3\" # why\nmetadata:\n  author: me\n---\n# Body\n",
        )
        .expect("parses");
        assert_eq!(doc.get("name"), Some(&FmValue::Str("pdf-tools".into())));
        assert_eq!(
            doc.get("description"),
            Some(&FmValue::Str("Extract text from PDFs.".into()))
        );
        assert_eq!(doc.get("license"), Some(&FmValue::Str("MIT".into())));
        assert_eq!(
            doc.get("compatibility"),
            Some(&FmValue::Str("needs \"python\" 3".into()))
        );
        assert!(matches!(doc.get("metadata"), Some(FmValue::Nested(_))));
    }

    #[test]
    fn name_rules() {
        assert!(name_problems("invoice-matching-2").is_empty());
        assert!(!name_problems("Invoice").is_empty());
        assert!(!name_problems("-x").is_empty());
        assert!(!name_problems("x-").is_empty());
        assert!(!name_problems("a--b").is_empty());
        assert!(!name_problems("").is_empty());
        assert!(!name_problems(&"a".repeat(65)).is_empty());
        assert!(name_problems(&"a".repeat(64)).is_empty());
    }

    #[test]
    fn validation_collects_every_problem() {
        let errs = ident("---\nname: Bad--Name\n---\nbody").expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"name"));
        assert!(fields.contains(&"description"));
        let long = "d".repeat(1025);
        let errs = ident(&format!("---\nname: ok\ndescription: {long}\n---\n")).expect_err("long");
        assert_eq!(errs[0].field, "description");
    }

    #[test]
    fn missing_or_unclosed_frontmatter() {
        assert_eq!(
            parse("# no frontmatter").expect_err("missing").field,
            "frontmatter"
        );
        assert_eq!(
            parse("---\nname: x\n").expect_err("unclosed").field,
            "frontmatter"
        );
    }

    #[test]
    fn build_round_trips() {
        let id = Identity {
            name: "csv-cleaner".into(),
            description: "Clean CSVs: trim, dedupe; \"quote\" safe".into(),
        };
        let extras = Extras {
            metadata: serde_json::from_str(r#"{"author":"dana","version":2}"#).ok(),
            allowed_tools: Some("Bash Read".into()),
            ..Extras::default()
        };
        let text = build(&id, &extras, "# Steps\n1. trim\n");
        let doc = parse(&text).expect("parses");
        assert_eq!(validate(&doc).expect("valid"), id);
        assert_eq!(
            doc.get("allowed-tools"),
            Some(&FmValue::Str("Bash Read".into()))
        );
        assert!(text.ends_with("---\n\n# Steps\n1. trim\n"));
    }
}
