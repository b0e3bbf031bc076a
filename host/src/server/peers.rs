//! Sessions counted per client address: the key an address is counted under
//! ([`peer_key`]) and the per-address count of WebSocket sessions ([`PeerCounts`]), the
//! bound `--max-sessions-per-peer` sets for WebSocket and MCP sessions alike. A leaf.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The address sessions are counted under: IPv4 as it is (an IPv4-mapped IPv6 address as
/// its IPv4 one), IPv6 by its /64 prefix (what one host is usually given).
#[must_use]
pub fn peer_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// How many sessions each address holds, each at most `per_peer`; an address holding
/// none has no entry, so the table is bounded by the sessions themselves.
#[derive(Debug)]
pub struct PeerCounts {
    counts: Mutex<HashMap<IpAddr, usize>>,
    per_peer: usize,
}

/// One session counted against its address; dropping it frees the slot.
#[derive(Debug)]
pub struct PeerSlot {
    table: Arc<PeerCounts>,
    key: IpAddr,
}

impl PeerCounts {
    /// Create an empty table allowing `per_peer` sessions per address.
    #[must_use]
    pub fn new(per_peer: usize) -> PeerCounts {
        PeerCounts {
            counts: Mutex::new(HashMap::new()),
            per_peer,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counts are changed in one statement each: a poisoned lock holds whole counts.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count one more session for `address`; `None` when it already holds `per_peer`.
    #[must_use]
    pub fn enter(self: &Arc<Self>, address: IpAddr) -> Option<PeerSlot> {
        let key = peer_key(address);
        let mut counts = self.lock();
        let count = counts.entry(key).or_insert(0);
        if *count >= self.per_peer {
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            table: self.clone(),
            key,
        })
    }

    /// Return the number of sessions `address` holds.
    #[must_use]
    pub fn held(&self, address: IpAddr) -> usize {
        self.lock().get(&peer_key(address)).copied().unwrap_or(0)
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut counts = self.table.lock();
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_address_and_freed_on_drop() {
        // Goal: an address holds at most per_peer slots, another address is counted
        // apart, and dropping a slot frees it (the entry goes with the last one).
        let table = Arc::new(PeerCounts::new(2));
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let first = table.enter(a).expect("first slot");
        let _second = table.enter(a).expect("second slot");
        assert!(table.enter(a).is_none(), "a third slot for one address");
        let other = table.enter(b).expect("another address");
        drop(first);
        assert_eq!(table.held(a), 1);
        assert!(table.enter(a).is_some(), "a freed slot is reused");
        drop(other);
        assert!(table.lock().get(&b).is_none(), "an empty entry is kept");
    }

    #[test]
    fn ipv6_peers_count_by_their_64_prefix() {
        // Goal: two addresses of one /64 share a key, another /64 does not, and an
        // IPv4-mapped address counts as its IPv4 address.
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(peer_key(a), peer_key(b));
        assert_ne!(peer_key(a), peer_key(c));
        assert_eq!(peer_key(mapped), IpAddr::from([127, 0, 0, 1]));
    }
}
