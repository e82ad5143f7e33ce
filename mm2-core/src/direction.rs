//! Replication directions: `proxmox->aws` and the other spellings operators type.
//!
//! Accepted: `proxmox->aws`, `proxmox→aws`, `proxmox:aws`, `proxmox-to-aws`, `proxmox_to_aws`,
//! `proxmox=>aws` and the KafkaMirrorMaker2 name `mm2-proxmox-to-aws`.
//!
//! The shell trap: typed unquoted, `kubectl mm2 pause proxmox->aws` reaches us as `proxmox-`
//! because bash reads `>aws` as "redirect stdout to the file aws". We recognise that shape and
//! explain it instead of saying "unknown direction".

use std::fmt;

/// One direction of replication: records flow from `source` to `target`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Direction {
    pub source: String,
    pub target: String,
}

impl Direction {
    pub fn new(source: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            target: target.into(),
        }
    }

    /// The runbook's KafkaMirrorMaker2 name for this direction.
    pub fn mm2_name(&self) -> String {
        format!("mm2-{}-to-{}", self.source, self.target)
    }

    /// The prefix MM2 gives its connector names: `proxmox->aws`.
    pub fn connector_prefix(&self) -> String {
        format!("{}->{}", self.source, self.target)
    }

    /// A spelling that survives any shell unquoted.
    pub fn shell_safe(&self) -> String {
        format!("{}:{}", self.source, self.target)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.source, self.target)
    }
}

/// Why a direction was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectionError {
    /// The argument looks like the left half of an unquoted `a->b`.
    #[error(
        "got '{got}': the shell took '>' as a redirect, so this command's output went to a file{}",
        file.as_ref().map(|f| format!(" (probably ./{f}, which you may want to delete)")).unwrap_or_default()
    )]
    ShellRedirect {
        got: String,
        alias: String,
        file: Option<String>,
    },

    /// Not a direction at all.
    #[error("'{got}' is not a replication direction")]
    Malformed { got: String, known: Vec<String> },

    /// Syntactically fine, but a cluster alias is not part of the clusterset.
    #[error("unknown cluster alias '{alias}' in '{got}'")]
    UnknownAlias {
        got: String,
        alias: String,
        suggestions: Vec<String>,
        known: Vec<String>,
    },

    /// Source and target are the same cluster.
    #[error("'{got}' replicates a cluster into itself")]
    SameCluster { got: String },
}

impl DirectionError {
    /// What to type instead.
    pub fn hint(&self) -> Option<String> {
        match self {
            DirectionError::ShellRedirect { alias, file, .. } => {
                let target = file.clone().unwrap_or_else(|| "TARGET".into());
                Some(format!(
                    "quote it: '{alias}->{target}', or write {alias}:{target} or {alias}-to-{target}"
                ))
            }
            DirectionError::Malformed { known, .. } => Some(if known.is_empty() {
                "write SOURCE->TARGET (quoted), SOURCE:TARGET or SOURCE-to-TARGET".to_string()
            } else {
                format!("valid directions: {}", known.join(", "))
            }),
            DirectionError::UnknownAlias {
                suggestions, known, ..
            } => Some(if !suggestions.is_empty() {
                format!(
                    "did you mean {}? known aliases: {}",
                    suggestions.join(" or "),
                    known.join(", ")
                )
            } else {
                format!("known aliases: {}", known.join(", "))
            }),
            DirectionError::SameCluster { .. } => None,
        }
    }
}

/// Parse a direction; `aliases` are the cluster aliases of the clusterset (empty: accept any).
pub fn parse(input: &str, aliases: &[String]) -> Result<Direction, DirectionError> {
    let raw = input.trim();
    let known_dirs = known_directions(aliases);
    let malformed = || DirectionError::Malformed {
        got: raw.to_string(),
        known: known_dirs.clone(),
    };

    if let Some(trap) = shell_trap(raw, aliases) {
        return Err(trap);
    }
    let body = raw
        .strip_prefix("mm2-")
        .filter(|b| b.contains("-to-"))
        .unwrap_or(raw);
    let (source, target) = split(body).ok_or_else(malformed)?;
    if !valid_alias(source) || !valid_alias(target) {
        return Err(malformed());
    }
    if source == target {
        return Err(DirectionError::SameCluster { got: raw.to_string() });
    }
    for alias in [source, target] {
        if !aliases.is_empty() && !aliases.iter().any(|a| a == alias) {
            return Err(DirectionError::UnknownAlias {
                got: raw.to_string(),
                alias: alias.to_string(),
                suggestions: did_you_mean(alias, aliases),
                known: aliases.to_vec(),
            });
        }
    }
    Ok(Direction::new(source, target))
}

/// Every ordered pair of distinct aliases, spelled `a->b`.
pub fn known_directions(aliases: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in aliases {
        for t in aliases {
            if s != t {
                out.push(format!("{s}->{t}"));
            }
        }
    }
    out
}

const SEPARATORS: [&str; 6] = ["->", "→", "=>", "-to-", "_to_", ":"];

fn split(body: &str) -> Option<(&str, &str)> {
    SEPARATORS.iter().find_map(|sep| {
        let (s, t) = body.split_once(sep)?;
        (!s.is_empty() && !t.is_empty()).then_some((s, t))
    })
}

/// Cluster aliases as Strimzi accepts them: DNS-label-ish, no separators inside.
fn valid_alias(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 63
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !a.starts_with('-')
        && !a.ends_with('-')
        && !a.contains("->")
}

/// `proxmox-` (from `proxmox->aws`) or `proxmox=` (from `proxmox=>aws`) unquoted.
fn shell_trap(raw: &str, aliases: &[String]) -> Option<DirectionError> {
    let source = raw.strip_suffix('-').or_else(|| raw.strip_suffix('='))?;
    if source.is_empty() || !valid_alias(source) {
        return None;
    }
    // With a known clusterset the file name is the only other alias, when there is exactly one.
    let others: Vec<&String> = aliases.iter().filter(|a| *a != source).collect();
    let file = (others.len() == 1 && aliases.iter().any(|a| a == source)).then(|| others[0].clone());
    Some(DirectionError::ShellRedirect {
        got: raw.to_string(),
        alias: source.to_string(),
        file,
    })
}

/// Aliases close to `alias` (edit distance ≤ 2 or a shared prefix).
pub fn did_you_mean(alias: &str, known: &[String]) -> Vec<String> {
    let lower = alias.to_lowercase();
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (levenshtein(&lower, &k.to_lowercase()), k))
        .filter(|(d, k)| {
            *d <= 2 || k.to_lowercase().starts_with(&lower) || lower.starts_with(&k.to_lowercase())
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, k)| k.clone()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn aliases() -> Vec<String> {
        vec!["aws".into(), "proxmox".into()]
    }

    #[test]
    fn every_spelling_parses_to_the_same_direction() {
        let want = Direction::new("proxmox", "aws");
        for s in [
            "proxmox->aws",
            "proxmox→aws",
            "proxmox:aws",
            "proxmox-to-aws",
            "proxmox_to_aws",
            "proxmox=>aws",
            "mm2-proxmox-to-aws",
            "  proxmox->aws ",
        ] {
            assert_eq!(parse(s, &aliases()).unwrap(), want, "{s}");
        }
    }

    #[test]
    fn unquoted_arrow_is_explained_as_a_shell_redirect() {
        let err = parse("proxmox-", &aliases()).unwrap_err();
        match &err {
            DirectionError::ShellRedirect { alias, file, .. } => {
                assert_eq!(alias, "proxmox");
                assert_eq!(file.as_deref(), Some("aws"));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("redirect"));
        assert!(err.to_string().contains("./aws"));
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("'proxmox->aws'") && hint.contains("proxmox:aws"),
            "{hint}"
        );
    }

    #[test]
    fn unknown_alias_gets_did_you_mean() {
        let err = parse("proxmx->aws", &aliases()).unwrap_err();
        assert!(matches!(err, DirectionError::UnknownAlias { ref alias, .. } if alias == "proxmx"));
        assert!(
            err.hint().unwrap().contains("did you mean proxmox"),
            "{:?}",
            err.hint()
        );
    }

    #[test]
    fn garbage_lists_the_valid_directions() {
        let err = parse("sideways", &aliases()).unwrap_err();
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("aws->proxmox") && hint.contains("proxmox->aws"),
            "{hint}"
        );
        assert!(matches!(
            parse("aws->aws", &aliases()),
            Err(DirectionError::SameCluster { .. })
        ));
        assert!(parse("->aws", &aliases()).is_err());
        assert!(parse("", &aliases()).is_err());
    }

    #[test]
    fn without_a_topology_any_wellformed_direction_is_accepted() {
        assert_eq!(parse("east:west", &[]).unwrap(), Direction::new("east", "west"));
    }

    #[test]
    fn names_derived_from_a_direction() {
        let d = Direction::new("proxmox", "aws");
        assert_eq!(d.mm2_name(), "mm2-proxmox-to-aws");
        assert_eq!(d.connector_prefix(), "proxmox->aws");
        assert_eq!(d.to_string(), "proxmox->aws");
        assert_eq!(parse(&d.shell_safe(), &aliases()).unwrap(), d);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s, &aliases());
            let _ = parse(&s, &[]);
        }

        #[test]
        fn parser_never_panics_on_arrowy_input(a in "[a-z>→:=_-]{0,12}", b in "[a-z>→:=_-]{0,12}") {
            let s = format!("{a}->{b}");
            if let Ok(d) = parse(&s, &[]) {
                // Whatever parses must round-trip through its canonical spelling.
                prop_assert_eq!(parse(&d.to_string(), &[]).unwrap(), d);
            }
        }
    }
}
