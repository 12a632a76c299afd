//! The image library: ISOs and templates with their facts and copies, and resumable uploads into it.
pub mod detail;
pub mod list;
pub mod upload;
