//! The sorted-set member of a user: it carries the tie-breaks of the leaderboard order.
//!
//! The board orders `score DESC, reached_at ASC, user_id ASC`. A Redis sorted set orders by score, and
//! `ZREVRANGE` returns equal scores by member in *reverse* byte order; so the member is built to be
//! larger for whoever ranks first among equal scores:
//!
//! 1. 16 lowercase hex digits of `i64::MAX - reached_at` (microseconds since the epoch, the precision
//!    PostgreSQL keeps): an earlier `reached_at` gives a larger number, fixed width keeps byte order equal
//!    to numeric order;
//! 2. every byte `b` of the user id as the two lowercase hex digits of `255 - b`: a smaller byte gives
//!    larger digits;
//! 3. the terminator `z`, larger than any hex digit: when one user id is a prefix of another (`ab`,
//!    `abc`), the shorter one's member is larger at the first differing position, so it ranks first, as
//!    it does in PostgreSQL.
//!
//! User ids therefore compare by bytes, which is PostgreSQL's order under the `C` (and `C.UTF-8`)
//! collation.

use chrono::{DateTime, Utc};

use crate::CacheError;

const HEX: &[u8; 16] = b"0123456789abcdef";
const TIME_DIGITS: usize = 16;
const TERMINATOR: char = 'z';

/// The largest magnitude a score may have: every integer up to 2^53 is exact as an `f64`.
pub const MAX_EXACT_SCORE: i64 = 1 << 53;

/// The member of `user_id`, who reached their score at `reached_at` (sub-microsecond digits dropped).
pub fn encode(user_id: &str, reached_at: DateTime<Utc>) -> String {
    // i64::MAX - micros, never negative for any i64 micros; abs_diff keeps it overflow-free.
    let inverted_time = i64::MAX.abs_diff(reached_at.timestamp_micros());
    let mut member = String::with_capacity(TIME_DIGITS + 2 * user_id.len() + 1);
    member.push_str(&format!("{inverted_time:016x}"));
    for byte in user_id.bytes() {
        let inverted = 255 - byte;
        member.push(char::from(HEX[usize::from(inverted >> 4)]));
        member.push(char::from(HEX[usize::from(inverted & 0x0f)]));
    }
    member.push(TERMINATOR);
    member
}

/// The user id and `reached_at` a member was built from; [`CacheError::CorruptMember`] for anything
/// [`encode`] cannot have produced.
pub fn decode(member: &str) -> Result<(String, DateTime<Utc>), CacheError> {
    let corrupt = || CacheError::CorruptMember(member.to_owned());
    let body = member.strip_suffix(TERMINATOR).ok_or_else(corrupt)?;
    let well_formed = body.len() >= TIME_DIGITS
        && body.len() % 2 == 0
        && body.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return Err(corrupt());
    }
    // Only ASCII from here on, so every split below is on a character boundary.
    let (time_hex, user_hex) = body.split_at(TIME_DIGITS);
    let inverted_time = u64::from_str_radix(time_hex, 16).map_err(|_| corrupt())?;
    let micros = i64::MAX.checked_sub_unsigned(inverted_time).ok_or_else(corrupt)?;
    let reached_at = DateTime::from_timestamp_micros(micros).ok_or_else(corrupt)?;
    let bytes = user_hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).map_err(|_| corrupt())?;
            let inverted = u8::from_str_radix(digits, 16).map_err(|_| corrupt())?;
            Ok(255 - inverted)
        })
        .collect::<Result<Vec<u8>, CacheError>>()?;
    let user_id = String::from_utf8(bytes).map_err(|_| corrupt())?;
    Ok((user_id, reached_at))
}

/// The sorted-set score of `score`, refused beyond ±[`MAX_EXACT_SCORE`] where `f64` loses integers.
pub fn check_score(user_id: &str, score: i64) -> Result<i64, CacheError> {
    if score.unsigned_abs() > MAX_EXACT_SCORE.unsigned_abs() {
        return Err(CacheError::ScoreOutOfRange {
            user_id: user_id.to_owned(),
            score,
        });
    }
    Ok(score)
}

/// The integer score back from a sorted-set score read from Redis.
pub fn score_from_f64(member: &str, score: f64) -> Result<i64, CacheError> {
    let limit = 9_007_199_254_740_992.0_f64; // 2^53, exact
    if !score.is_finite() || score.fract() != 0.0 || score.abs() > limit {
        return Err(CacheError::CorruptMember(format!("{member} (score {score})")));
    }
    // Integral and within ±2^53, so the conversion is exact.
    Ok(score as i64)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(micros).unwrap()
    }

    /// The order Redis gives a `ZREVRANGE`: score descending, then member bytes descending.
    fn redis_order(entries: &[(i64, DateTime<Utc>, &str)]) -> Vec<String> {
        let mut keyed: Vec<(i64, String, String)> = entries
            .iter()
            .map(|(score, reached_at, user)| (*score, encode(user, *reached_at), (*user).to_owned()))
            .collect();
        keyed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.as_bytes().cmp(a.1.as_bytes())));
        keyed.into_iter().map(|(_, _, user)| user).collect()
    }

    /// The leaderboard order, as PostgreSQL computes it under a byte-order collation.
    fn board_order(entries: &[(i64, DateTime<Utc>, &str)]) -> Vec<String> {
        let mut sorted = entries.to_vec();
        sorted.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.cmp(&b.1))
                .then_with(|| a.2.as_bytes().cmp(b.2.as_bytes()))
        });
        sorted.into_iter().map(|(_, _, user)| user.to_owned()).collect()
    }

    #[test]
    fn round_trips() {
        let times = [
            at(0),
            at(1),
            at(-1),
            at(1_764_201_600_123_456),
            Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
        ];
        let users = ["", "alice", "a.b-c|d", "ünïcødé", "z", "\u{7f}", "~~~"];
        for reached_at in times {
            for user in users {
                let member = encode(user, reached_at);
                assert_eq!(decode(&member).unwrap(), (user.to_owned(), reached_at), "{member}");
                assert!(member
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'z'));
            }
        }
    }

    #[test]
    fn drops_sub_microsecond_digits_like_postgresql() {
        let precise = Utc.timestamp_opt(1_764_201_600, 123_456_789).unwrap();
        let (_, decoded) = decode(&encode("u", precise)).unwrap();
        assert_eq!(decoded, Utc.timestamp_opt(1_764_201_600, 123_456_000).unwrap());
    }

    #[test]
    fn higher_score_ranks_first_whatever_the_member() {
        let entries = [(10, at(1), "a"), (20, at(999), "z"), (15, at(0), "b")];
        assert_eq!(redis_order(&entries), ["z", "b", "a"]);
    }

    #[test]
    fn equal_scores_rank_by_who_reached_them_first() {
        let entries = [(10, at(3), "a"), (10, at(1), "c"), (10, at(2), "b"), (10, at(-5), "d")];
        assert_eq!(redis_order(&entries), ["d", "c", "b", "a"]);
    }

    #[test]
    fn equal_score_and_time_rank_by_user_id_bytes() {
        let t = at(1_764_201_600_000_000);
        let entries = [
            (7, t, "abc"),
            (7, t, "ab"),
            (7, t, "a"),
            (7, t, "ab."),
            (7, t, "ab-"),
            (7, t, "ab|"),
            (7, t, "abd"),
            (7, t, "b"),
            (7, t, "A"),
            (7, t, ""),
            (7, t, "é"),
            (7, t, "e"),
        ];
        let expected = board_order(&entries);
        assert_eq!(
            expected,
            ["", "A", "a", "ab", "ab-", "ab.", "abc", "abd", "ab|", "b", "e", "é"]
        );
        assert_eq!(redis_order(&entries), expected);
    }

    #[test]
    fn matches_the_board_order_on_every_pair() {
        let users = ["", "a", "ab", "abc", "a-", "a.", "a|", "b", "~", "é"];
        let times = [at(-1), at(0), at(1), at(1_000_000)];
        let scores = [0, 1, 2];
        let mut all = Vec::new();
        for score in scores {
            for t in times {
                for user in users {
                    all.push((score, t, user));
                }
            }
        }
        assert_eq!(redis_order(&all), board_order(&all));
    }

    #[test]
    fn refuses_what_encode_cannot_produce() {
        let good = encode("alice", at(5));
        for bad in [
            "",
            "z",
            &good[..good.len() - 1],
            &good[1..],
            &good.to_uppercase(),
            "7ffffffffffffffa9z",
            // Inverted bytes that are not UTF-8 (0xff inverts to 0x00 fine; 0x3f inverts to 0xc0).
            "7ffffffffffffffa3fz",
        ] {
            assert!(
                matches!(decode(bad), Err(CacheError::CorruptMember(_))),
                "{bad:?} should be corrupt"
            );
        }
    }

    #[test]
    fn scores_beyond_two_to_the_53_are_refused() {
        assert_eq!(check_score("u", MAX_EXACT_SCORE).unwrap(), MAX_EXACT_SCORE);
        assert_eq!(check_score("u", -MAX_EXACT_SCORE).unwrap(), -MAX_EXACT_SCORE);
        assert!(matches!(
            check_score("u", MAX_EXACT_SCORE + 1),
            Err(CacheError::ScoreOutOfRange { score, .. }) if score == MAX_EXACT_SCORE + 1
        ));
        assert!(check_score("u", i64::MIN).is_err());
        assert_eq!(score_from_f64("m", 42.0).unwrap(), 42);
        assert!(score_from_f64("m", 1.5).is_err());
        assert!(score_from_f64("m", f64::NAN).is_err());
        assert!(score_from_f64("m", 2f64.powi(60)).is_err());
    }
}
