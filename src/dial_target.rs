//! Placeholder with the agreed interface; replaced by the guard branch.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Number,
    Client,
    Sip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTarget {
    kind: TargetKind,
    canonical: String,
}

impl DialTarget {
    pub fn kind(&self) -> TargetKind {
        self.kind
    }
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
    pub fn noun_text(&self) -> &str {
        match self.kind {
            TargetKind::Client => &self.canonical["client:".len()..],
            _ => &self.canonical,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(String);

pub fn parse(raw: &str, expected: Option<TargetKind>) -> Result<DialTarget, Refusal> {
    let raw = raw.trim();
    let kind = if raw.starts_with("client:") {
        TargetKind::Client
    } else if raw.starts_with("sip:") {
        TargetKind::Sip
    } else {
        TargetKind::Number
    };
    let raw = match (expected, kind) {
        (Some(TargetKind::Client), TargetKind::Number) => format!("client:{raw}"),
        (Some(e), k) if e != k => return Err(Refusal("wrong kind".into())),
        _ => raw.to_owned(),
    };
    let kind = expected.unwrap_or(kind);
    let ok = match kind {
        TargetKind::Number => {
            let cleaned: String = raw.chars().filter(|c| !" -.()".contains(*c)).collect();
            let digits = cleaned.strip_prefix('+').unwrap_or("");
            if digits.len() < 7 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(Refusal("not an E.164 number".into()));
            }
            return Ok(DialTarget {
                kind,
                canonical: cleaned,
            });
        }
        TargetKind::Client => raw["client:".len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        TargetKind::Sip => raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"&'".contains(&b)),
    };
    if !ok {
        return Err(Refusal("bad characters".into()));
    }
    Ok(DialTarget {
        kind,
        canonical: raw,
    })
}

#[derive(Debug, Clone)]
pub struct AllowList(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(String);

impl AllowList {
    pub fn parse(patterns: &[String]) -> Result<AllowList, PatternError> {
        Ok(AllowList(patterns.to_vec()))
    }
    pub fn permits(&self, target: &DialTarget) -> bool {
        self.0.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => target.as_str().starts_with(prefix),
            None => target.as_str() == p,
        })
    }
}
