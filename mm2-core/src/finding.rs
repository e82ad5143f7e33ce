//! How bad a diagnosis' finding is: one scale for `doctor` and `clusterset resolve`, so a script
//! reads `"severity": "error"` the same way in both documents. (`lag` keeps its own Nagios scale,
//! OK/WARNING/CRITICAL/UNKNOWN, because its exit codes follow that convention.)

use serde::Serialize;

/// How bad a finding is; ordered worst first, so sorting findings puts errors on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_sorts_first_and_serializes_as_its_name() {
        let mut s = vec![Severity::Info, Severity::Error, Severity::Warning];
        s.sort();
        assert_eq!(s, vec![Severity::Error, Severity::Warning, Severity::Info]);
        for v in s {
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
    }
}
