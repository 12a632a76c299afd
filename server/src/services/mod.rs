//! The domain: every rule (authorization, validation, quota, audit) is enforced here.
pub mod audit;
pub mod auth;
pub mod hosts;
pub mod inventory;
pub mod profile;
pub mod quota;
pub mod tokens;
pub mod users;
pub mod validate;
pub mod vm_actions;
pub mod vm_edit;
pub mod vm_list;
pub mod vms;
