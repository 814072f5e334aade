//! The snapshotter conformance suite, as an outside crate sees it (feature `conformance`).
#![cfg(feature = "conformance")]

use berth_snapshot::{conformance, LayerStore};

#[test]
fn layer_store_conforms() {
    conformance::run_all(&|root| Box::new(LayerStore::open(root).expect("opening the store")));
}
