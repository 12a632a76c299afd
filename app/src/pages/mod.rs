//! One module per area of the UI.
pub mod alerts;
pub mod audit;
pub mod dashboard;
pub mod hosts;
pub mod images;
pub mod login;
pub mod monitoring;
pub mod not_found;
pub mod profile;
pub mod storage;
pub mod tasks;
pub mod users;
pub mod vms;
