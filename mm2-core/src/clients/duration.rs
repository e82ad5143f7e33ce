//! kubectl's duration syntax for `--timeout` and friends (`30s`, `2m`, `1h30m`).

use std::time::Duration;

/// Parse a kubectl-style duration: `30s`, `2m`, `1m30s`, `500ms`, `1h`, or plain seconds.
/// `--timeout`: a positive duration. kubectl reads `--request-timeout=0` as "no timeout"; here a
/// dead cluster must never hang the command, so 0 is refused rather than silently meaning
/// "forever" or "fail at once".
pub fn parse_timeout(s: &str) -> std::result::Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "'{s}': the timeout must be positive (e.g. 30s); there is no 'wait forever' so that one dead cluster cannot hang the command"
        ));
    }
    Ok(d)
}

pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return Err(format!("invalid duration '{s}' (use e.g. 30s, 2m, 1m30s)")),
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration '{s}' (use e.g. 30s, 2m, 1m30s)"))?;
        total += Duration::from_secs_f64(n * unit);
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!("invalid duration '{s}' (use e.g. 30s, 2m, 1m30s)"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5").is_ok());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
