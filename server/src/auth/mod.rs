//! Who is calling: sessions, API tokens, CSRF, passwords, login throttling and the one permission check.
pub mod caller;
pub mod password;
pub mod policy;
pub mod session;
pub mod throttle;
pub mod tokens;

pub use caller::{Caller, NoPrincipal, Principal};
pub use policy::{authorize, Action, Resource};
