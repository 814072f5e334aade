//! Installing a [`Ruleset`] as Berth's nftables table over netlink, in one batch the kernel
//! commits entirely or not at all: the whole table replaced, or, when only published ports
//! changed since the last apply, just the map elements that differ. A container's start or
//! removal then costs its own ports, whatever the others publish.

use std::collections::HashSet;
use std::path::Path;

use nlink::netlink::message::NLM_F_CREATE;
use nlink::netlink::nftables::{
    BaseChain, Chain, Family, FilterHook, NatHook, Policy, Priority, RawMessage, Rule, TableName,
    NFTA_TABLE_NAME, NFT_MSG_NEWTABLE,
};
use nlink::netlink::{Connection, ErrorDetail, Nftables};

use super::portmaps::{MapEntry, PortMap};
use super::ruleset::{plan_with_maps, ChainId, RuleDesc};
use super::{FirewallError, Result, Ruleset};

/// The largest table batch the socket may send: room for about 10,000 published ports.
const BATCH_LIMIT: usize = 16 << 20;

/// Berth's nftables table (family `inet`) in one network namespace.
pub struct Firewall {
    conn: Connection<Nftables>,
    table: String,
    /// An `ip` table of an older engine has been removed (by the first apply that went
    /// through): later batches need not carry its removal.
    legacy_gone: std::sync::atomic::AtomicBool,
    /// What the last apply that went through installed; none before the first, after a
    /// failed one and after a removal, when the next apply replaces the whole table. Held
    /// across an apply, which makes applies one at a time.
    installed: tokio::sync::Mutex<Option<Installed>>,
}

/// How the elements of same-shaped maps differ: per map, the entries that went and those
/// that came (a value changed is one of each).
struct ElementChanges<'a> {
    gone: Vec<(&'a PortMap, Vec<MapEntry>)>,
    added: Vec<(&'a PortMap, Vec<MapEntry>)>,
}

impl<'a> ElementChanges<'a> {
    fn between(before: &[PortMap], after: &'a [PortMap]) -> ElementChanges<'a> {
        let missing_from = |from: &PortMap, other: &PortMap| -> Vec<MapEntry> {
            let other: HashSet<&MapEntry> = other.entries.iter().collect();
            from.entries
                .iter()
                .filter(|e| !other.contains(e))
                .copied()
                .collect()
        };
        let mut changes = ElementChanges {
            gone: Vec::new(),
            added: Vec::new(),
        };
        for (old, new) in before.iter().zip(after) {
            let gone = missing_from(old, new);
            if !gone.is_empty() {
                changes.gone.push((new, gone));
            }
            let added = missing_from(new, old);
            if !added.is_empty() {
                changes.added.push((new, added));
            }
        }
        changes
    }

    /// Whether changing these elements costs the kernel less than making the table again
    /// with `maps`. Measured on Linux 6.x: a table made again costs about 0.2 ms and 1.8 µs
    /// an element; an element added or deleted about 1.4 µs. So a container's ports come
    /// and go as elements, except the last container's many, which are cheaper to drop
    /// with the table.
    fn cheaper_than_replacing(&self, maps: &[PortMap]) -> bool {
        let count = |list: &[(&PortMap, Vec<MapEntry>)]| -> usize {
            list.iter().map(|(_, entries)| entries.len()).sum()
        };
        let changed = count(&self.gone) + count(&self.added);
        let kept: usize = maps.iter().map(|m| m.entries.len()).sum();
        changed <= 150 + kept + kept / 2
    }
}

/// The table as an apply left it.
struct Installed {
    rules: Vec<RuleDesc>,
    maps: Vec<PortMap>,
}

impl Installed {
    /// The same chains, rules and maps: only elements may differ.
    fn same_shape(&self, rules: &[RuleDesc], maps: &[PortMap]) -> bool {
        self.rules == rules
            && self.maps.len() == maps.len()
            && self.maps.iter().zip(maps).all(|(a, b)| a.same_map(b))
    }
}

/// A rule read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRule {
    pub chain: String,
    /// As `nft list` prints it; `None` for a rule nlink cannot print (not one Berth makes).
    pub nft: Option<String>,
    pub handle: u64,
}

impl Firewall {
    /// The table `table`, in the network namespace of the calling thread.
    pub fn new(table: impl Into<String>) -> Result<Firewall> {
        let conn = Connection::<Nftables>::new().map_err(FirewallError::Connect)?;
        Firewall::with_connection(table, conn)
    }

    /// The table `table`, in the network namespace at `path` (`/proc/<pid>/ns/net`,
    /// `/run/netns/<name>`).
    pub fn in_namespace(table: impl Into<String>, path: impl AsRef<Path>) -> Result<Firewall> {
        let conn = Connection::<Nftables>::new_in(path.as_ref()).map_err(FirewallError::Connect)?;
        Firewall::with_connection(table, conn)
    }

    /// The table `table`, in whichever namespace `conn`'s socket was opened in.
    pub fn with_connection(
        table: impl Into<String>,
        conn: Connection<Nftables>,
    ) -> Result<Firewall> {
        let table = table.into();
        if let Err(source) = TableName::new(table.as_str()) {
            return Err(FirewallError::BadTable { table, source });
        }
        // The whole table goes in one message (the kernel commits a batch only as one), so
        // the socket's send limit is the limit on the table: the default (about 200 KiB)
        // holds some 300 published ports. With CAP_NET_ADMIN the limit can be raised past
        // `wmem_max`; it is a ceiling, not memory taken.
        if let Err(e) =
            rustix::net::sockopt::set_socket_send_buffer_size_force(conn.socket(), BATCH_LIMIT)
        {
            tracing::debug!(error = %e, "raising the nftables socket's send limit");
        }
        Ok(Firewall {
            conn,
            table,
            legacy_gone: std::sync::atomic::AtomicBool::new(false),
            installed: tokio::sync::Mutex::new(None),
        })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The netlink connection, for reading the table in other ways.
    pub fn connection(&self) -> &Connection<Nftables> {
        &self.conn
    }

    /// Makes the table hold exactly `rules`, whatever it held before (or if it did not exist),
    /// in one kernel transaction: a crash or a refusal leaves the previous table untouched.
    pub async fn apply(&self, rules: &Ruleset) -> Result<()> {
        let (planned, maps) = plan_with_maps(rules)?;
        let mut installed = self.installed.lock().await;
        let changes = installed
            .as_ref()
            .filter(|i| i.same_shape(&planned, &maps))
            .map(|i| ElementChanges::between(&i.maps, &maps))
            .filter(|c| c.cheaper_than_replacing(&maps));
        if let Some(changes) = changes {
            match self.update_elements(&changes).await {
                Ok(()) => {
                    *installed = Some(Installed {
                        rules: planned,
                        maps,
                    });
                    return Ok(());
                }
                // The table is not as it was left (somebody changed or deleted it): it is
                // made again whole.
                Err(e) => {
                    tracing::debug!(error = %e, "updating the port maps; replacing the table")
                }
            }
        }
        *installed = None;
        self.replace(&planned, &maps).await?;
        *installed = Some(Installed {
            rules: planned,
            maps,
        });
        Ok(())
    }

    /// One batch deleting the elements that went, then adding those that came. Nothing is
    /// sent when nothing changed.
    async fn update_elements(&self, changes: &ElementChanges<'_>) -> Result<()> {
        let table = self.table.as_str();
        let mut tx = self.conn.transaction();
        let mut ops = Vec::new();
        for (map, gone) in &changes.gone {
            let elements: Vec<_> = gone.iter().map(MapEntry::element).collect();
            tx = tx.del_set_elements(&map.set(table), &elements);
            ops.push(format!("{} elements out of map {}", gone.len(), map.name));
        }
        for (map, added) in &changes.added {
            let elements: Vec<_> = added.iter().map(MapEntry::element).collect();
            tx = tx.add_set_elements(&map.set(table), &elements);
            ops.push(format!("{} elements into map {}", added.len(), map.name));
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.commit(tx, &ops).await?;
        tracing::debug!(table, changes = ?ops, "port maps updated");
        Ok(())
    }

    /// The whole table deleted and made again.
    async fn replace(&self, planned: &[RuleDesc], maps: &[PortMap]) -> Result<()> {
        let table = self.table.as_str();
        // What each message of the batch is for, so a refusal can be told in Berth's terms.
        let mut ops = Vec::with_capacity(planned.len() + 8);

        // Create the table if it is missing (a NEWTABLE without NLM_F_EXCL is a no-op on an
        // existing one), so that the delete after it cannot fail; then delete it, contents
        // and all, and build it again. nlink's `Transaction::add_table` always sets
        // NLM_F_EXCL, and its `destroy_table` needs Linux 6.3, hence the raw message. The
        // same for a table of family `ip` by this name, which engines before IPv6 support
        // made: it goes in the same transaction.
        let mut tx = self.conn.transaction();
        let legacy_gone = self.legacy_gone.load(std::sync::atomic::Ordering::SeqCst);
        let families: &[Family] = if legacy_gone {
            &[Family::Inet]
        } else {
            &[Family::Ip, Family::Inet]
        };
        for &family in families {
            tx = tx.raw(
                RawMessage::new(NFT_MSG_NEWTABLE, family)
                    .flags(NLM_F_CREATE)
                    .attrs(string_attr(NFTA_TABLE_NAME, table)),
            );
            ops.push(format!("create table {} {table}", family_name(family)));
            tx = tx.del_table(table, family);
            ops.push(format!("delete table {} {table}", family_name(family)));
        }
        tx = tx.add_table(table, Family::Inet);
        ops.push(format!("add table inet {table}"));

        for map in maps {
            let set = map.set(table);
            tx = tx.add_set(set.clone());
            ops.push(format!("map {}", map.name));
            if !map.entries.is_empty() {
                tx = tx.add_set_elements(&set, &map.elements());
                ops.push(format!("elements of map {}", map.name));
            }
        }
        for id in ChainId::ALL {
            tx = tx.add_chain(chain(table, id)?);
            ops.push(format!("chain {}", id.name()));
        }
        for r in planned {
            let rule = Rule::from_spec(table, r.chain.name(), r.spec.clone()).family(Family::Inet);
            tx = tx.add_rule(rule);
            ops.push(format!("chain {}, rule for {}", r.chain.name(), r.origin));
        }
        let count = ops.len();
        self.commit(tx, &ops).await?;
        self.legacy_gone
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::debug!(table, messages = count, "firewall applied");
        Ok(())
    }

    /// Commits `tx`, whose messages `ops` describe, naming the one the kernel refused.
    async fn commit(
        &self,
        tx: nlink::netlink::nftables::Transaction,
        ops: &[String],
    ) -> Result<()> {
        tx.commit(&self.conn).await.map_err(|source| {
            let failed = first_refused(&source).and_then(|i| ops.get(i).cloned());
            FirewallError::Apply {
                table: self.table.clone(),
                failed,
                source,
            }
        })
    }

    /// Deletes the table (and an `ip` one of the same name an older engine left); nothing to
    /// do if there is none.
    pub async fn remove(&self) -> Result<()> {
        let mut installed = self.installed.lock().await;
        *installed = None;
        for family in [Family::Inet, Family::Ip] {
            self.conn
                .del_table_if_exists(self.table.as_str(), family)
                .await
                .map(drop)
                .map_err(|source| FirewallError::Remove {
                    table: self.table.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    pub async fn exists(&self) -> Result<bool> {
        let tables = self
            .conn
            .list_tables_in(Family::Inet)
            .await
            .map_err(|source| self.read_error(source))?;
        Ok(tables.iter().any(|t| t.name == self.table))
    }

    /// The table's rules as the kernel has them, chain by chain in evaluation order; none if
    /// there is no table.
    pub async fn installed(&self) -> Result<Vec<InstalledRule>> {
        if !self.exists().await? {
            return Ok(Vec::new());
        }
        let rules = self
            .conn
            .list_rules(&self.table, Family::Inet)
            .await
            .map_err(|source| self.read_error(source))?;
        Ok(rules
            .into_iter()
            .map(|r| InstalledRule {
                nft: r.nft_syntax(),
                chain: r.chain,
                handle: r.handle,
            })
            .collect())
    }

    fn read_error(&self, source: nlink::Error) -> FirewallError {
        FirewallError::Read {
            table: self.table.clone(),
            source,
        }
    }
}

/// The position in the batch of the first operation the kernel refused, if it named one.
fn first_refused(e: &nlink::Error) -> Option<usize> {
    match e.detail() {
        ErrorDetail::NftBatch { failures, .. } => failures.iter().find_map(|f| f.index),
        _ => None,
    }
}

fn chain(table: &str, id: ChainId) -> Result<Chain> {
    let base = match id {
        ChainId::Prerouting => Some(BaseChain::nat(NatHook::Prerouting, Priority::DstNat)),
        ChainId::Output => Some(BaseChain::nat(NatHook::Output, Priority::DstNat)),
        ChainId::Postrouting => Some(BaseChain::nat(NatHook::Postrouting, Priority::SrcNat)),
        ChainId::Forward => Some(BaseChain::filter(FilterHook::Forward, Priority::Filter)),
        ChainId::Isolate => None,
    };
    let chain = Chain::new(table, id.name())
        .map_err(|source| FirewallError::Rule {
            origin: format!("chain {}", id.name()),
            source,
        })?
        .family(Family::Inet);
    Ok(match base {
        Some(base) => chain.base(base.policy(Policy::Accept)),
        None => chain,
    })
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ip => "ip",
        _ => "inet",
    }
}

/// One netlink attribute holding a NUL-terminated string, padded to 4 bytes.
fn string_attr(kind: u16, value: &str) -> Vec<u8> {
    let len = 4 + value.len() + 1;
    let mut attr = Vec::with_capacity(len.next_multiple_of(4));
    // The table name was checked by `TableName::new` (at most 255 bytes), so this fits.
    attr.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
    attr.extend_from_slice(&kind.to_ne_bytes());
    attr.extend_from_slice(value.as_bytes());
    attr.push(0);
    attr.resize(len.next_multiple_of(4), 0);
    attr
}
