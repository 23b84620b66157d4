//! [`LikePattern`]: SQL `LIKE` matching, as ClickHouse defines it: `%` matches any run of
//! characters (including none), `_` exactly one character, `\` makes the next character
//! literal; the whole string must match. Characters are Unicode scalar values.

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    One,
    Any,
}

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    tokens: Vec<Token>,
}

impl LikePattern {
    /// Compiles a pattern. A trailing lone `\` matches a backslash.
    pub fn new(pattern: &str) -> LikePattern {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '%' => Token::Any,
                '_' => Token::One,
                '\\' => Token::Char(chars.next().unwrap_or('\\')),
                c => Token::Char(c),
            });
        }
        LikePattern { tokens }
    }

    /// Whether `s` matches the whole pattern. Greedy with backtracking to the last `%`:
    /// O(len(s) × len(pattern)) at worst.
    pub fn matches(&self, s: &str) -> bool {
        let text: Vec<char> = s.chars().collect();
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Char(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                Some(Token::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Token::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p.min(self.tokens.len())..]
            .iter()
            .all(|tok| *tok == Token::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_escapes_and_unicode() {
        let m = |p: &str, s: &str| LikePattern::new(p).matches(s);
        assert!(m("site-%.example.com", "site-12.example.com"));
        assert!(!m("site-%.example.com", "site-12.example.org"));
        assert!(m("%", ""));
        assert!(m("a_c", "abc"));
        assert!(m("a_c", "aéc"));
        assert!(!m("a_c", "abbc"));
        assert!(m("%b%b%", "abcbd"));
        assert!(!m("%b%b%", "abcd"));
        assert!(m("100\\%", "100%"));
        assert!(!m("100\\%", "1000"));
        assert!(m("a\\_b", "a_b"));
        assert!(!m("a\\_b", "axb"));
        assert!(!m("", "a"));
        assert!(m("", ""));
    }
}
