//! The passphrase-strength hint shown at onboarding.

use serde::Serialize;

use super::limits::MIN_PASSPHRASE_CHARS;

/// How strong a new passphrase looks, for the onboarding hint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PassphraseStrength {
    /// 0 (refused) to 4 (strong).
    pub score: u8,
    pub hint: String,
}

/// A rough strength estimate for the onboarding hint: length and variety of
/// characters, with a penalty for repeats. It is a hint, not a guarantee.
pub fn passphrase_strength(passphrase: &str) -> PassphraseStrength {
    let chars: Vec<char> = passphrase.chars().collect();
    if chars.len() < MIN_PASSPHRASE_CHARS {
        return PassphraseStrength {
            score: 0,
            hint: format!("Too short: use at least {MIN_PASSPHRASE_CHARS} characters."),
        };
    }
    let mut pool = 0u32;
    if chars.iter().any(|c| c.is_lowercase()) {
        pool += 26;
    }
    if chars.iter().any(|c| c.is_uppercase()) {
        pool += 26;
    }
    if chars.iter().any(|c| c.is_ascii_digit()) {
        pool += 10;
    }
    if chars.iter().any(|c| !c.is_alphanumeric()) {
        pool += 33;
    }
    if chars.iter().any(|c| !c.is_ascii()) {
        pool += 100;
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let effective = (distinct.len() as f64).max(chars.len() as f64 / 2.0);
    let bits = effective * (pool.max(1) as f64).log2();
    let (score, hint) = match bits {
        b if b < 40.0 => (1, "Weak: add more words or characters."),
        b if b < 60.0 => (2, "Fair: a few more words would make it strong."),
        b if b < 80.0 => (3, "Good."),
        _ => (4, "Strong."),
    };
    PassphraseStrength { score, hint: hint.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_hints_grow_with_the_passphrase() {
        assert_eq!(passphrase_strength("abc").score, 0);
        assert!(passphrase_strength("aaaaaaaa").score <= 1);
        assert!(passphrase_strength("correct horse battery staple").score >= 3);
    }
}
