//! Every human line the plugins print goes through here, so that text from a cluster (connector
//! traces, condition messages, names, annotations, echoed arguments) can never drive the terminal.
//!
//! An `ESC[2J` inside a connector trace would otherwise clear the screen and let the rest of the
//! trace pose as our output; kubectl escapes such characters since CVE-2021-25743. We go further
//! than kubectl's `ESC` and `CR`: every C0 and C1 control character except newline and tab, DEL,
//! and the Unicode bidirectional overrides (which reorder what a line appears to say) are shown
//! escaped. The only escape sequences left intact are the colour codes our own palette emits
//! (SGR with the parameters 0, 1, 2, 22, 31, 32, 33, 39), and only when colour is on — a foreign one of
//! those can at worst colour text, never move the cursor, erase, hide text or set a title.
//! JSON and YAML need nothing: serde escapes control characters in strings.

use std::borrow::Cow;
use std::io::Write as _;

/// SGR parameters our palette uses (console's green, yellow, red, bold, dim and their resets).
const OUR_SGR: [&str; 8] = ["0", "1", "2", "22", "31", "32", "33", "39"];

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The length of an SGR sequence of ours at the start of `s` (which starts with ESC), if any.
fn our_sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\x1b[")?;
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    if rest[end..].starts_with('m')
        && rest[..end]
            .split(';')
            .all(|p| p.is_empty() || OUR_SGR.contains(&p))
    {
        Some(2 + end + 1)
    } else {
        None
    }
}

/// `s` made safe for a terminal. `keep_colour`: leave our palette's colour codes intact.
pub fn safe(s: &str, keep_colour: bool) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        if c == '\x1b'
            && keep_colour
            && let Some(n) = our_sgr_len(&s[i..])
        {
            out.push_str(&s[i..i + n]);
            i += n;
            continue;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\x7f' => out.push_str("^?"),
            c if (c as u32) < 0x20 && needs_escape(c) => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
        i += c.len_utf8();
    }
    Cow::Owned(out)
}

/// Write human text to stdout, made safe (colour codes kept only when stdout shows colour).
pub fn out(s: &str) {
    let keep = crate::output::Palette::for_stdout().enabled;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(safe(s, keep).as_bytes());
    let _ = o.flush();
}

/// Write human text to stderr, made safe.
pub fn err(s: &str) {
    let keep = crate::output::Palette::for_stderr().enabled;
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(safe(s, keep).as_bytes());
}

/// `print!` for human text (see the module doc).
#[macro_export]
macro_rules! hprint {
    ($($t:tt)*) => { $crate::terminal::out(&format!($($t)*)) };
}

/// `println!` for human text.
#[macro_export]
macro_rules! hprintln {
    () => { $crate::terminal::out("\n") };
    ($($t:tt)*) => { $crate::terminal::out(&format!("{}\n", format_args!($($t)*))) };
}

/// `eprint!` for human text.
#[macro_export]
macro_rules! heprint {
    ($($t:tt)*) => { $crate::terminal::err(&format!($($t)*)) };
}

/// `eprintln!` for human text.
#[macro_export]
macro_rules! heprintln {
    () => { $crate::terminal::err("\n") };
    ($($t:tt)*) => { $crate::terminal::err(&format!("{}\n", format_args!($($t)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_screen_clearing_trace_is_shown_not_executed() {
        let trace = "java.lang.Exception: x\x1b[2J\x1b[Hall good\r\u{7}";
        assert_eq!(safe(trace, true), "java.lang.Exception: x^[[2J^[[Hall good\\r^G");
    }

    #[test]
    fn our_colours_survive_only_when_colour_is_on() {
        let red = "\x1b[31m\x1b[1mFAILED\x1b[0m";
        assert_eq!(safe(red, true), red);
        assert_eq!(safe(red, false), "^[[31m^[[1mFAILED^[[0m");
        // Conceal (8) and cursor moves are never ours.
        assert_eq!(safe("\x1b[8mhidden", true), "^[[8mhidden");
        assert_eq!(safe("\x1b[1;8m", true), "^[[1;8m");
    }

    #[test]
    fn bidi_overrides_and_c1_controls_are_escaped_plain_text_is_borrowed() {
        assert_eq!(safe("abc\u{202e}fed", true), "abc\\u{202e}fed");
        assert_eq!(safe("\u{9b}2J", true), "\\u{9b}2J");
        assert!(matches!(
            safe("plain → text\n\twith tabs", true),
            Cow::Borrowed(_)
        ));
    }

    proptest! {
        #[test]
        fn nothing_but_newline_tab_and_our_colours_reaches_the_terminal(s in any::<String>(), keep in any::<bool>()) {
            let out = safe(&s, keep);
            let mut rest: &str = &out;
            while let Some(c) = rest.chars().next() {
                if c == '\x1b' {
                    let n = our_sgr_len(rest);
                    prop_assert!(keep && n.is_some(), "foreign escape in {:?}", out);
                    rest = &rest[n.unwrap_or(1)..];
                    continue;
                }
                prop_assert!(!needs_escape(c), "{:?} in {:?}", c, out);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
}
