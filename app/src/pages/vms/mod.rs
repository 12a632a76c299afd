//! Virtual machines: the list across hosts (live), and one VM's page.
pub mod actions;
pub mod detail;
pub mod list;
