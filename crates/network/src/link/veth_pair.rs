//! The veth pair as the kernel is asked for it: nlink's `VethLink`, plus one transmit queue
//! asked for on each end.
//!
//! Why: a veth is allocated with a queue per possible CPU unless the request says otherwise,
//! and `veth_newlink` then cuts each end down to one real queue. Cutting the transmit queues
//! of a registered device waits for an expedited RCU grace period (`synchronize_net`), twice
//! per pair, with the kernel's network lock held; on a busy two-core VM that wait was most of
//! a 2.4 ms link creation. Asking for one transmit queue at creation gives the same devices
//! (one real transmit queue each, as before) with no cut and no wait. Receive queues are cut
//! without a wait, so they are left as the kernel makes them.

use std::os::fd::{AsRawFd, BorrowedFd};

use nlink::netlink::link::LinkConfig;
use nlink::netlink::types::link::{IfInfoMsg, IflaAttr, IflaInfo};
use nlink::netlink::MessageBuilder;

/// `VETH_INFO_PEER`, the nest holding the peer's `ifinfomsg` and attributes.
const VETH_INFO_PEER: u16 = 1;

/// A veth pair whose peer is made directly in another network namespace.
pub(super) struct VethPair<'a> {
    pub name: &'a str,
    pub peer_name: &'a str,
    /// Both ends' MTU.
    pub mtu: Option<u32>,
    pub peer_address: [u8; 6],
    pub peer_netns: BorrowedFd<'a>,
}

impl LinkConfig for VethPair<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn kind(&self) -> &str {
        "veth"
    }

    fn peer_name(&self) -> Option<&str> {
        Some(self.peer_name)
    }

    fn write_to(&self, builder: &mut MessageBuilder, _parent_index: Option<u32>) {
        builder.append_attr_str(IflaAttr::Ifname as u16, self.name);
        self.write_common(builder);
        let linkinfo = builder.nest_start(IflaAttr::Linkinfo as u16);
        builder.append_attr_str(IflaInfo::Kind as u16, "veth");
        let data = builder.nest_start(IflaInfo::Data as u16);
        let peer = builder.nest_start(VETH_INFO_PEER);
        // The peer cannot be made up here: it has no peer of its own yet when it is
        // configured (`veth_open` says ENOTCONN). It is brought up once the pair exists.
        builder.append(&IfInfoMsg::new());
        builder.append_attr_str(IflaAttr::Ifname as u16, self.peer_name);
        self.write_common(builder);
        builder.append_attr(IflaAttr::Address as u16, &self.peer_address);
        builder.append_attr_u32(IflaAttr::NetNsFd as u16, self.peer_netns.as_raw_fd() as u32);
        builder.nest_end(peer);
        builder.nest_end(data);
        builder.nest_end(linkinfo);
    }
}

impl VethPair<'_> {
    /// What both ends get: the MTU, and one transmit queue.
    fn write_common(&self, builder: &mut MessageBuilder) {
        if let Some(mtu) = self.mtu {
            builder.append_attr_u32(IflaAttr::Mtu as u16, mtu);
        }
        builder.append_attr_u32(IflaAttr::NumTxQueues as u16, 1);
    }
}
