//! Codepoint classification as llama.cpp's `unicode.cpp` does it: one general-category
//! flag per codepoint, a fixed whitespace list, simple lowercase and first-codepoint NFD.

use crate::unicode_data::{FLAG_RANGES, LOWERCASE, NFD_RANGES, WHITESPACE};

/// Category flag bits, as in llama.cpp's `unicode_cpt_flags`.
pub(crate) const UNDEFINED: u16 = 0x0001;
pub(crate) const NUMBER: u16 = 0x0002;
pub(crate) const LETTER: u16 = 0x0004;
pub(crate) const ACCENT_MARK: u16 = 0x0010;
pub(crate) const PUNCTUATION: u16 = 0x0020;
pub(crate) const SYMBOL: u16 = 0x0040;
pub(crate) const CONTROL: u16 = 0x0080;
const WHITESPACE_BIT: u16 = 0x0100;

/// The flags of one codepoint. `Flags::default()` (all zero) stands for a position outside
/// the text, which llama.cpp's hand-written splitters use as a sentinel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags(u16);

impl Flags {
    pub(crate) fn is_number(self) -> bool {
        self.0 & NUMBER != 0
    }
    pub(crate) fn is_letter(self) -> bool {
        self.0 & LETTER != 0
    }
    pub(crate) fn is_whitespace(self) -> bool {
        self.0 & WHITESPACE_BIT != 0
    }
    pub(crate) fn is_accent_mark(self) -> bool {
        self.0 & ACCENT_MARK != 0
    }
    pub(crate) fn is_punctuation(self) -> bool {
        self.0 & PUNCTUATION != 0
    }
    pub(crate) fn is_symbol(self) -> bool {
        self.0 & SYMBOL != 0
    }
    pub(crate) fn is_control(self) -> bool {
        self.0 & CONTROL != 0
    }
    /// Whether any flag is set: false only for the out-of-text sentinel.
    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }
    /// The category part (one of the category bits above).
    pub(crate) fn category(self) -> u16 {
        self.0 & 0x00FF
    }
}

/// The flags of `cpt`. Codepoints past U+10FFFF are undefined.
pub(crate) fn flags(cpt: u32) -> Flags {
    if cpt >= 0x110000 {
        return Flags(UNDEFINED);
    }
    // FLAG_RANGES is sorted by start and begins at 0, so the partition point is >= 1.
    let idx = FLAG_RANGES.partition_point(|&(start, _)| start <= cpt);
    let cat = FLAG_RANGES.get(idx.wrapping_sub(1)).map_or(UNDEFINED, |&(_, f)| f);
    let ws = if is_whitespace(cpt) { WHITESPACE_BIT } else { 0 };
    Flags(cat | ws)
}

/// Whether llama.cpp counts `cpt` as whitespace.
pub(crate) fn is_whitespace(cpt: u32) -> bool {
    WHITESPACE.binary_search(&cpt).is_ok()
}

/// Simple (one-codepoint) lowercase mapping.
pub(crate) fn to_lower(cpt: u32) -> u32 {
    match LOWERCASE.binary_search_by_key(&cpt, |&(c, _)| c) {
        Ok(i) => LOWERCASE.get(i).map_or(cpt, |&(_, l)| l),
        Err(_) => cpt,
    }
}

/// The first codepoint of the canonical decomposition of `cpt` (llama.cpp's
/// `unicode_cpts_normalize_nfd`, which keeps only the base character).
pub(crate) fn nfd_first(cpt: u32) -> u32 {
    let idx = NFD_RANGES.partition_point(|&(first, _, _)| first <= cpt);
    match NFD_RANGES.get(idx.wrapping_sub(1)) {
        Some(&(first, last, nfd)) if first <= cpt && cpt <= last => nfd,
        _ => cpt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories() {
        assert!(flags('a' as u32).is_letter());
        assert!(flags('é' as u32).is_letter());
        assert!(flags('7' as u32).is_number());
        assert!(flags('½' as u32).is_number());
        assert!(flags(' ' as u32).is_whitespace());
        assert!(flags(0x3000).is_whitespace());
        assert!(flags('\n' as u32).is_control());
        assert!(flags('!' as u32).is_punctuation());
        assert!(flags('$' as u32).is_symbol());
        assert!(flags('~' as u32).is_symbol());
        assert!(flags(0x0301).is_accent_mark());
        assert_eq!(flags(0x0378).category(), UNDEFINED);
        assert_eq!(flags(0x2FFC).category(), SYMBOL, "Unicode 15.1 table");
        assert_eq!(flags(0x110000).category(), UNDEFINED);
    }

    #[test]
    fn case_and_nfd() {
        assert_eq!(to_lower('A' as u32), 'a' as u32);
        assert_eq!(to_lower('Ж' as u32), 'ж' as u32);
        assert_eq!(to_lower(0x130), 'i' as u32);
        assert_eq!(to_lower('a' as u32), 'a' as u32);
        assert_eq!(nfd_first('é' as u32), 'e' as u32);
        assert_eq!(nfd_first('a' as u32), 'a' as u32);
        assert_eq!(nfd_first(0), 0);
    }
}
