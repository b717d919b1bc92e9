//! Anonymous visitor ids: a keyed hash of (user agent, IP, site, the page's registrable domain, UTC
//! day) under a random daily salt. The registrable domain (Plausible hashes it too) keeps one
//! person on two sites that report to one dashboard apart, and subdomains of one together.
//!
//! Salts rotate at midnight UTC and are destroyed after 48 hours; once a salt is gone nobody, the
//! operator included, can recompute or link the ids made with it. The event's UTC day is hashed in
//! as well, so ids differ between days even in the seconds before the rotation job runs: the
//! distinct visitors of two days always add up, which the event store's day roll-ups rely on.
//! The id keeps 36 bits of the hash under the day number ([`tillit_store::visitor_id`]), which
//! halves what it costs on disk.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// How long a salt may exist.
pub const SALT_MAX_AGE_SECS: i64 = 48 * 3600;

/// The salt in use: today's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailySalt {
    pub current: [u8; 16],
}

impl DailySalt {
    /// A fresh random salt (imports use one per historic day, never stored).
    pub fn random() -> DailySalt {
        DailySalt { current: random_salt() }
    }
}

pub fn random_salt() -> [u8; 16] {
    rand::random()
}

/// The visitor id for this (site, IP, user agent, page host) at Unix second `ts`, under `salt`.
pub fn visitor_id(salt: &[u8; 16], ts: i64, site_id: u32, ip: IpAddr, user_agent: &str, host: &str) -> u64 {
    let mut h = SipHasher24::new_with_key(salt);
    h.write(user_agent.as_bytes());
    h.write_u8(0xff);
    match ip {
        IpAddr::V4(v4) => h.write(&v4.octets()),
        IpAddr::V6(v6) => h.write(&v6.octets()),
    }
    h.write_u32(site_id);
    h.write(registrable_domain(host).as_bytes());
    h.write_u8(0xff);
    let day = ts.div_euclid(86_400);
    h.write_i64(day);
    tillit_store::visitor_id(day, h.finish())
}

/// A host's registrable domain (`blog.example.co.uk` → `example.co.uk`), or the host itself when
/// it has none (an IP address, `localhost`).
pub fn registrable_domain(host: &str) -> &str {
    psl::domain_str(host).unwrap_or(host)
}

/// The visitor id for an identifier another analytics tool exported (imports of such events),
/// under `salt`: the identifier takes the place of the IP address and user agent.
pub fn visitor_id_for_key(salt: &[u8; 16], ts: i64, site_id: u32, key: &str) -> u64 {
    let mut h = SipHasher24::new_with_key(salt);
    // A tag no user agent hashes to first: keys and (user agent, IP) pairs never share an input.
    h.write(b"\0imported-visitor\0");
    h.write(key.as_bytes());
    h.write_u32(site_id);
    let day = ts.div_euclid(86_400);
    h.write_i64(day);
    tillit_store::visitor_id(day, h.finish())
}

/// Whether a salt created at `created_at` belongs to an earlier UTC day than `now`.
pub fn needs_rotation(created_at: i64, now: i64) -> bool {
    created_at.div_euclid(86_400) < now.div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_every_input() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let salt = [7u8; 16];
        let t = 1_764_028_800;
        let id = visitor_id(&salt, t, 1, ip, "UA", "a.test");
        assert_eq!(id, visitor_id(&salt, t + 86_399, 1, ip, "UA", "a.test"), "same UTC day, same id");
        assert_ne!(id, visitor_id(&salt, t + 86_400, 1, ip, "UA", "a.test"), "next UTC day, new id");
        assert_ne!(id, visitor_id(&[8u8; 16], t, 1, ip, "UA", "a.test"));
        assert_ne!(id, visitor_id(&salt, t, 2, ip, "UA", "a.test"));
        assert_ne!(id, visitor_id(&salt, t, 1, "203.0.113.8".parse().unwrap(), "UA", "a.test"));
        assert_ne!(id, visitor_id(&salt, t, 1, ip, "UA2", "a.test"));
        assert_ne!(id, visitor_id(&salt, t, 1, ip, "UA", "b.test"), "another registrable domain");
        assert_eq!(id, visitor_id(&salt, t, 1, ip, "UA", "www.shop.a.test"), "a subdomain");
    }

    #[test]
    fn ids_of_one_day_share_their_high_bits() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let t = 1_764_028_800;
        let high = |id: u64| id >> tillit_store::record::VISITOR_HASH_BITS;
        let today = visitor_id(&[7u8; 16], t, 1, ip, "UA", "a.test");
        assert_eq!(high(today), 20_417, "the UTC day");
        assert_eq!(high(visitor_id(&[9u8; 16], t + 600, 4, "198.51.100.1".parse().unwrap(), "B", "a.test")), 20_417);
        assert_eq!(high(visitor_id(&[7u8; 16], t + 86_400, 1, ip, "UA", "a.test")), 20_418);
    }

    #[test]
    fn rotation_follows_utc_days() {
        let midnight = 1_764_028_800; // 2025-11-25T00:00:00Z
        assert!(!needs_rotation(midnight, midnight + 86_399));
        assert!(needs_rotation(midnight - 1, midnight));
    }
}
