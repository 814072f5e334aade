//! The DNS server Berth runs for each user-defined network, so containers find each
//! other by container name, alias and compose service name.
//!
//! So far: the name table it answers from ([`Records`]).

mod records;

pub use records::Records;
