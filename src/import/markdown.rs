//! Small Markdown and time helpers shared by the importers.

/// A fenced code block that the content cannot close early (the fence is longer than
/// any run of backticks inside).
pub fn fence(code: &str, language: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in code.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let ticks = "`".repeat(longest.max(2) + 1);
    let code = code.strip_suffix('\n').unwrap_or(code);
    format!("{ticks}{language}\n{code}\n{ticks}")
}

/// Quotes text as a Markdown blockquote, line by line.
pub fn blockquote(text: &str) -> String {
    text.trim_matches('\n')
        .lines()
        .map(|line| if line.is_empty() { ">".to_owned() } else { format!("> {line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Joins the non-empty pieces with a blank line.
pub fn join_blocks<I: IntoIterator<Item = String>>(blocks: I) -> String {
    blocks.into_iter().filter(|b| !b.trim().is_empty()).collect::<Vec<_>>().join("\n\n")
}

/// Seconds since the epoch (ChatGPT's float times) to milliseconds.
pub fn ms_from_secs(secs: f64) -> i64 {
    if secs.is_finite() {
        (secs * 1000.0).round() as i64
    } else {
        0
    }
}

/// An RFC 3339 time (`2024-10-18T05:30:20.458713Z`, or with an offset such as
/// `+02:00`) to milliseconds since the epoch; `None` when it is not one.
pub fn ms_from_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" | "" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_to_epoch_milliseconds() {
        assert_eq!(ms_from_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ms_from_rfc3339("2024-10-18T05:30:20.458713Z"), Some(1_729_229_420_458));
        assert_eq!(ms_from_rfc3339("2024-10-18T07:30:20.4+02:00"), Some(1_729_229_420_400));
        assert_eq!(ms_from_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(ms_from_rfc3339("yesterday"), None);
        assert_eq!(ms_from_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(ms_from_secs(1_686_142_873.878_251), 1_686_142_873_878);
    }

    #[test]
    fn fences_outlast_the_backticks_inside() {
        assert_eq!(fence("let x = 1;\n", "rust"), "```rust\nlet x = 1;\n```");
        assert_eq!(fence("a ```` b", ""), "`````\na ```` b\n`````");
        assert_eq!(blockquote("one\n\ntwo\n"), "> one\n>\n> two");
    }
}
