//! The names a network's DNS server answers for: container names, aliases and compose
//! service names mapped to the containers' addresses (IPv4, and IPv6 on networks with
//! `--ipv6`), and the way back for PTR
//! queries. One table per network, shared between the daemon (which edits it as
//! containers connect and leave) and the server tasks (which read it per query).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A shared name table; clones are handles to the same table.
#[derive(Clone, Default)]
pub struct Records {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    table: RwLock<Table>,
    /// Turns the answer order for names held by several containers, so clients that
    /// take the first address spread over them.
    rotation: AtomicUsize,
}

#[derive(Default)]
struct Table {
    /// Lowercased name → addresses, in insertion order.
    names: HashMap<String, Vec<IpAddr>>,
    /// Address → its names in insertion order; the first is the one PTR answers with.
    addrs: HashMap<IpAddr, Vec<String>>,
}

/// The form names are stored and looked up in: DNS names compare without regard to
/// ASCII case, and a trailing dot (the fully qualified form) names the same thing.
pub(crate) fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl Records {
    pub fn new() -> Records {
        Records::default()
    }

    /// Makes `name` resolve to `ip` (also). Inserting a pair that is already there
    /// changes nothing; an empty name is ignored.
    pub fn insert(&self, name: &str, ip: impl Into<IpAddr>) {
        let ip = ip.into();
        let name = normalize(name);
        if name.is_empty() {
            return;
        }
        let mut table = self.write();
        let ips = table.names.entry(name.clone()).or_default();
        if ips.contains(&ip) {
            return;
        }
        ips.push(ip);
        table.addrs.entry(ip).or_default().push(name);
    }

    /// Stops `name` resolving to `ip`; other addresses for the name stay.
    pub fn remove(&self, name: &str, ip: impl Into<IpAddr>) {
        let ip = ip.into();
        let name = normalize(name);
        let mut table = self.write();
        remove_from(&mut table.names, &name, |v| *v == ip);
        remove_from(&mut table.addrs, &ip, |n| *n == name);
    }

    /// Forgets every name of `ip`: the container holding it left the network.
    pub fn remove_ip(&self, ip: impl Into<IpAddr>) {
        let ip = ip.into();
        let mut table = self.write();
        let Some(names) = table.addrs.remove(&ip) else {
            return;
        };
        for name in names {
            remove_from(&mut table.names, &name, |v| *v == ip);
        }
    }

    /// The addresses `name` resolves to (any case, trailing dot or not), empty when the
    /// name is unknown. With several, the order turns from one call to the next.
    pub fn lookup(&self, name: &str) -> Vec<IpAddr> {
        let name = normalize(name);
        let mut ips = match self.read().names.get(&name) {
            Some(ips) => ips.clone(),
            None => return Vec::new(),
        };
        if ips.len() > 1 {
            let turn = self.inner.rotation.fetch_add(1, Ordering::Relaxed);
            let len = ips.len();
            ips.rotate_left(turn % len);
        }
        ips
    }

    /// Whether `name` is known, without the copy [`Records::lookup`] makes.
    pub fn contains(&self, name: &str) -> bool {
        self.read().names.contains_key(&normalize(name))
    }

    /// The name PTR queries for `ip` answer with: the first one inserted for it.
    pub fn reverse(&self, ip: impl Into<IpAddr>) -> Option<String> {
        let ip = ip.into();
        self.read()
            .addrs
            .get(&ip)
            .and_then(|names| names.first().cloned())
    }

    /// A poisoned lock only means a writer panicked between two map updates; the maps
    /// are still usable, and name service must go on.
    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.inner.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.inner.table.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.read().names.iter()).finish()
    }
}

/// Removes the entries of `key`'s list that match, and the key once its list is empty.
fn remove_from<K, V>(map: &mut HashMap<K, Vec<V>>, key: &K, matches: impl Fn(&V) -> bool)
where
    K: std::hash::Hash + Eq,
{
    if let Some(list) = map.get_mut(key) {
        list.retain(|v| !matches(v));
        if list.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(172, 18, 0, 3));
    const A6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2));

    #[test]
    fn a_name_holds_both_families() {
        let r = Records::new();
        r.insert("web", A);
        r.insert("web", A6);
        let mut got = r.lookup("web");
        got.sort();
        assert_eq!(got, vec![A, A6]);
        assert_eq!(r.reverse(A6).as_deref(), Some("web"));
        r.remove_ip(A6);
        assert_eq!(r.lookup("web"), vec![A]);
    }

    #[test]
    fn names_compare_without_case_or_trailing_dot() {
        let r = Records::new();
        r.insert("Web.", A);
        assert_eq!(r.lookup("web"), vec![A]);
        assert_eq!(r.lookup("WEB."), vec![A]);
        assert!(r.contains("wEb"));
        assert_eq!(r.reverse(A).as_deref(), Some("web"));
        assert!(r.lookup("web.example.com").is_empty());
    }

    #[test]
    fn shared_alias_returns_every_address_in_turning_order() {
        let r = Records::new();
        r.insert("db", A);
        r.insert("db", B);
        r.insert("db", B);
        let first = r.lookup("db");
        let second = r.lookup("db");
        assert_eq!(first.len(), 2);
        assert_ne!(first, second);
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, vec![A, B]);
    }

    #[test]
    fn remove_drops_one_pair() {
        let r = Records::new();
        r.insert("db", A);
        r.insert("db", B);
        r.remove("DB", A);
        assert_eq!(r.lookup("db"), vec![B]);
        assert!(r.reverse(A).is_none());
        r.remove("db", B);
        assert!(!r.contains("db"));
    }

    #[test]
    fn remove_ip_drops_every_name_of_the_address() {
        let r = Records::new();
        r.insert("c1", A);
        r.insert("web", A);
        r.insert("web", B);
        r.remove_ip(A);
        assert!(r.lookup("c1").is_empty());
        assert_eq!(r.lookup("web"), vec![B]);
        assert!(r.reverse(A).is_none());
        assert_eq!(r.reverse(B).as_deref(), Some("web"));
    }

    #[test]
    fn reverse_names_the_first_inserted() {
        let r = Records::new();
        r.insert("c1", A);
        r.insert("alias", A);
        assert_eq!(r.reverse(A).as_deref(), Some("c1"));
        let clone = r.clone();
        clone.remove("c1", A);
        assert_eq!(r.reverse(A).as_deref(), Some("alias"));
    }
}
