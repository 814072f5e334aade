//! The Berth engine.
