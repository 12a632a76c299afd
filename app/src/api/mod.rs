//! The API contract, one file per resource: its wire types (with OpenAPI schemas under `ssr`) and its typed
//! client calls, used by the UI in the browser and during SSR and by the server's handlers. `client` is the
//! transport they share.
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod client;
pub mod consoles;
pub mod error;
pub mod events;
pub mod hosts;
pub mod images;
pub mod monitoring;
pub mod storage;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod vm_create;
pub mod vm_devices;
pub mod vms;

pub use alerts::*;
pub use audit::*;
pub use auth::*;
pub use consoles::*;
pub use error::*;
pub use events::*;
pub use hosts::*;
pub use images::*;
pub use monitoring::*;
pub use storage::*;
pub use tasks::*;
pub use tokens::*;
pub use users::*;
pub use vm_create::*;
pub use vm_devices::*;
pub use vms::*;
