//! Compile tests of the derives (`tests/ui.rs`), kept in a crate of their own so they build
//! `soa-persist` as a user does: its default features, without the `testing` support that the
//! facade's own tests turn on (its types would show up in the expected compiler messages).
