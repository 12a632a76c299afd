//! libvirt hosts: the list with their status (live) and a form to add one, and one host's facts.
pub mod detail;
pub mod list;
