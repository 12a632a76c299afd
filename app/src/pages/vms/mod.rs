//! Virtual machines: the list across hosts (live), and one VM's page.
pub mod actions;
mod delete;
pub mod detail;
mod edit;
pub mod list;
