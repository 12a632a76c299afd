//! Virtual machines: the list across hosts (live), and one VM's page.
pub mod actions;
pub mod console;
pub mod create;
mod delete;
pub mod detail;
mod devices;
mod edit;
pub mod list;
