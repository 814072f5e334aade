//! Installing a [`Ruleset`] as Berth's nftables table over netlink: the whole table replaced
//! in one batch, which the kernel commits entirely or not at all.

use std::path::Path;

use nlink::netlink::message::NLM_F_CREATE;
use nlink::netlink::nftables::{
    BaseChain, Chain, Family, FilterHook, NatHook, Policy, Priority, RawMessage, Rule, TableName,
    NFTA_TABLE_NAME, NFT_MSG_NEWTABLE,
};
use nlink::netlink::{Connection, ErrorDetail, Nftables};

use super::ruleset::{plan, port_maps, ChainId};
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
        let planned = plan(rules)?;
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

        for map in port_maps(rules)? {
            let set = map.set(table);
            tx = tx.add_set(set.clone());
            ops.push(format!("map {}", map.name));
            tx = tx.add_set_elements(&set, &map.elements);
            ops.push(format!("elements of map {}", map.name));
        }
        for id in ChainId::ALL {
            tx = tx.add_chain(chain(table, id)?);
            ops.push(format!("chain {}", id.name()));
        }
        for r in planned {
            let rule = Rule::from_spec(table, r.chain.name(), r.spec).family(Family::Inet);
            tx = tx.add_rule(rule);
            ops.push(format!("chain {}, rule for {}", r.chain.name(), r.origin));
        }
        let count = ops.len();
        tx.commit(&self.conn).await.map_err(|source| {
            let failed = first_refused(&source).and_then(|i| ops.get(i).cloned());
            FirewallError::Apply {
                table: self.table.clone(),
                failed,
                source,
            }
        })?;
        self.legacy_gone
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::debug!(table, messages = count, "firewall applied");
        Ok(())
    }

    /// Deletes the table (and an `ip` one of the same name an older engine left); nothing to
    /// do if there is none.
    pub async fn remove(&self) -> Result<()> {
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
