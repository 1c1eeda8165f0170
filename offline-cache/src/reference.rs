//! Receipt references: short, printable, typo-proof, unique per kiosk.
//!
//! A reference looks like `GE-K27-4F7Q9-X`: the town prefix, the kiosk id,
//! five characters derived from the kiosk's submission counter and one check
//! character. Every character comes from a 31-symbol alphabet without the
//! look-alikes `0 O 1 I L`. The check character is a Damm check over the
//! quasigroup `x * y = 2x + y (mod 31)`, which is totally anti-symmetric
//! because 31 is prime and 2 is neither 0 nor 1: every single wrong
//! character, every swap of two neighbours, every jump swap (`abc` -> `cba`)
//! and every twin error (`aa` -> `bb`) changes the check, so a citizen or a
//! clerk who mistypes a reference gets "not a valid reference" instead of
//! somebody else's application.

use std::fmt;

/// The 31 characters a reference may contain (no `0 O 1 I L`).
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

const BASE: u64 = 31;
/// Characters derived from the counter.
const CODE_LEN: usize = 5;
/// 31^5 distinct codes per kiosk.
const CODE_SPACE: u64 = BASE.pow(CODE_LEN as u32);
/// Multiplier that scrambles consecutive counters into unrelated-looking codes
/// (coprime with 31^5, so the mapping is a bijection: no two counters share a code).
const SCRAMBLE_MUL: u64 = 7_368_787;
const SCRAMBLE_ADD: u64 = 1_234_567;

/// A validated receipt reference such as `GE-K27-4F7Q9-X`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference(String);

impl Reference {
    /// The canonical printed form (`GE-K27-4F7Q9-X`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses what a person typed: case, spaces and missing hyphens do not
    /// matter, but every character must be from [`ALPHABET`] and the check
    /// character must match.
    pub fn parse(typed: &str) -> Result<Self, ReferenceError> {
        let groups: Vec<String> = typed
            .split(['-', ' '])
            .filter(|g| !g.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        if groups.len() != 4 {
            return Err(ReferenceError::Shape);
        }
        for group in &groups {
            if let Some(bad) = group.chars().find(|c| index_of(*c).is_none()) {
                return Err(ReferenceError::Character(bad));
            }
        }
        if groups[2].len() != CODE_LEN || groups[3].len() != 1 {
            return Err(ReferenceError::Shape);
        }
        if groups[0].is_empty()
            || groups[0].len() > 4
            || groups[1].is_empty()
            || groups[1].len() > 6
        {
            return Err(ReferenceError::Shape);
        }
        let body: String = groups[..3].concat();
        let check = groups[3].chars().next().ok_or(ReferenceError::Shape)?;
        if check_char(&body) != check {
            return Err(ReferenceError::CheckFailed);
        }
        Ok(Self(groups.join("-")))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not personal: a reference only identifies a submission on this kiosk.
        write!(f, "Reference({})", self.0)
    }
}

/// Why a typed reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Not four groups like `GE-K27-4F7Q9-X`.
    #[error("a reference has four groups like GE-K27-4F7Q9-X; please check the receipt")]
    Shape,
    /// A character that never appears in references (for example `0`, `O`, `1`, `I`, `L`).
    #[error("'{0}' never appears in a reference; please check the receipt")]
    Character(char),
    /// The check character does not match: at least one character is mistyped.
    #[error("this reference contains a typing error; please check the receipt")]
    CheckFailed,
}

/// How this kiosk builds references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceFormat {
    town_prefix: String,
    kiosk_id: String,
}

/// A town prefix or kiosk id that cannot appear in a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} '{value}' is not usable in receipt references: use 1 to {max} characters from \
     2-9 and A-Z without I, L and O"
)]
pub struct ReferenceFormatError {
    what: &'static str,
    value: String,
    max: usize,
}

impl ReferenceFormat {
    /// A format for one kiosk, e.g. `ReferenceFormat::new("GE", "K27")`.
    ///
    /// The town prefix has 1 to 4 characters, the kiosk id 1 to 6; both only
    /// use [`ALPHABET`] (so `K07` is refused: `0` looks like `O`).
    pub fn new(town_prefix: &str, kiosk_id: &str) -> Result<Self, ReferenceFormatError> {
        let check = |what, value: &str, max| {
            let upper = value.to_ascii_uppercase();
            if upper.is_empty() || upper.len() > max || upper.chars().any(|c| index_of(c).is_none())
            {
                Err(ReferenceFormatError {
                    what,
                    value: value.to_owned(),
                    max,
                })
            } else {
                Ok(upper)
            }
        };
        Ok(Self {
            town_prefix: check("the town prefix", town_prefix, 4)?,
            kiosk_id: check("the kiosk id", kiosk_id, 6)?,
        })
    }

    /// The reference for the kiosk's `counter`-th submission (counters start at 1).
    ///
    /// Distinct counters below 31^5 (28.6 million) give distinct references.
    pub fn reference(&self, counter: u64) -> Reference {
        let scrambled = (counter % CODE_SPACE)
            .wrapping_mul(SCRAMBLE_MUL)
            .wrapping_add(SCRAMBLE_ADD)
            % CODE_SPACE;
        let mut code = [b'2'; CODE_LEN];
        let mut rest = scrambled;
        for slot in code.iter_mut().rev() {
            *slot = ALPHABET[(rest % BASE) as usize];
            rest /= BASE;
        }
        let code = String::from_utf8_lossy(&code).into_owned();
        let body = format!("{}{}{}", self.town_prefix, self.kiosk_id, code);
        let check = check_char(&body);
        Reference(format!(
            "{}-{}-{}-{}",
            self.town_prefix, self.kiosk_id, code, check
        ))
    }
}

fn index_of(c: char) -> Option<u64> {
    ALPHABET
        .iter()
        .position(|a| char::from(*a) == c)
        .map(|i| i as u64)
}

/// Damm check character over `x * y = 2x + y (mod 31)`; `body` only has alphabet characters.
fn check_char(body: &str) -> char {
    let interim = body
        .chars()
        .filter_map(index_of)
        .fold(0, |acc, digit| (2 * acc + digit) % BASE);
    // The check c makes the whole word fold to 0: 2 * interim + c = 0 (mod 31).
    let check = (BASE - (2 * interim) % BASE) % BASE;
    char::from(ALPHABET[check as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format() -> ReferenceFormat {
        ReferenceFormat::new("GE", "K27").unwrap()
    }

    #[test]
    fn looks_like_the_documented_example() {
        let reference = format().reference(1);
        let text = reference.as_str();
        assert_eq!(text.len(), "GE-K27-4F7Q9-X".len(), "{text}");
        assert!(text.starts_with("GE-K27-"), "{text}");
        assert_eq!(Reference::parse(text).unwrap(), reference);
    }

    #[test]
    fn counters_map_to_distinct_references() {
        let f = format();
        let mut seen = std::collections::HashSet::new();
        for counter in 1..=50_000 {
            assert!(seen.insert(f.reference(counter)), "collision at {counter}");
        }
    }

    #[test]
    fn parsing_forgives_case_spaces_and_hyphens() {
        let reference = format().reference(42);
        let typed = reference.as_str().to_ascii_lowercase().replace('-', " ");
        assert_eq!(Reference::parse(&typed).unwrap(), reference);
    }

    #[test]
    fn every_single_substitution_and_adjacent_swap_is_caught() {
        let f = format();
        for counter in 1..=300 {
            let original = f.reference(counter).as_str().to_owned();
            let chars: Vec<char> = original.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                if *c == '-' {
                    continue;
                }
                for replacement in ALPHABET.iter().map(|a| char::from(*a)) {
                    if replacement == *c {
                        continue;
                    }
                    let mut typo = chars.clone();
                    typo[i] = replacement;
                    let typo: String = typo.into_iter().collect();
                    assert!(
                        Reference::parse(&typo).is_err(),
                        "{original} -> {typo} accepted"
                    );
                }
            }
            // Adjacent swaps of the characters, hyphens ignored (a person reads groups).
            let letters: Vec<char> = chars.iter().copied().filter(|c| *c != '-').collect();
            for i in 0..letters.len() - 1 {
                if letters[i] == letters[i + 1] {
                    continue;
                }
                let mut swapped = letters.clone();
                swapped.swap(i, i + 1);
                let typed = format!(
                    "{}-{}-{}-{}",
                    swapped[0..2].iter().collect::<String>(),
                    swapped[2..5].iter().collect::<String>(),
                    swapped[5..10].iter().collect::<String>(),
                    swapped[10..].iter().collect::<String>()
                );
                assert!(
                    Reference::parse(&typed).is_err(),
                    "{original} -> {typed} accepted"
                );
            }
        }
    }

    #[test]
    fn ambiguous_characters_are_named_in_the_error() {
        let reference = format().reference(7);
        let typed = reference
            .as_str()
            .replacen('2', "0", 1)
            .replacen('K', "O", 1);
        let err = Reference::parse(&typed).unwrap_err();
        assert!(
            matches!(err, ReferenceError::Character('0' | 'O')),
            "{err:?}"
        );
        assert_eq!(Reference::parse("GE-K27"), Err(ReferenceError::Shape));
    }

    #[test]
    fn kiosk_ids_with_look_alikes_are_refused() {
        let err = ReferenceFormat::new("GE", "K07").unwrap_err();
        assert!(err.to_string().contains("K07"), "{err}");
        assert!(ReferenceFormat::new("", "K27").is_err());
        assert!(ReferenceFormat::new("GE", "K2789AB").is_err());
    }
}
