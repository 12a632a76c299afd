//! Storage: pools per host with their usage and a form to create one; one pool's volumes.
pub mod create;
pub mod list;
pub mod pool;
