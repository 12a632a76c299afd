//! The API contract: wire types and a typed client for every endpoint, used by the UI in the browser and during SSR.
pub mod client;
pub mod types;
pub mod virt_types;

pub use types::*;
pub use virt_types::*;
